/*
 * netpoll.h — the interface between the scheduler and the network poller
 * backend (netpoll_epoll.c on Linux).  The prototypes live in runtime.h
 * with the other subsystems; this header names the backend's contract:
 *
 *   netpoll_init()   once, before any M may block in netpoll;
 *   netpoll(delay)   delay < 0 blocks until an event or netpoll_break,
 *                    0 polls, > 0 blocks at most delay ns; returns the list
 *                    (schedlink) of Gs made runnable by I/O readiness;
 *   netpoll_break()  makes a blocked or the next netpoll return at once.
 *
 * Only one M blocks in netpoll at a time: the one that swapped
 * sched.lastpoll to 0 (see findrunnable in sched.c).
 */
#ifndef GOSHIM_NETPOLL_H
#define GOSHIM_NETPOLL_H
#include "runtime.h"
#endif
