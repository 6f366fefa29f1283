/*
 * lockrank.h — the order in which runtime locks may be taken.
 *
 * A lock may be acquired only while every lock held has a lower rank:
 *
 *   sigwaits < semroot < sched < timers < leaves
 *   polldesc (a leaf)
 *
 *   sigwaits the list of every G's wait that a signal may end (sigintr.c):
 *            ending a semaphore's waiter takes its root.
 *   semroot  sema.c's per-address queue roots: a waiter queues its timeout
 *            timer (timers) and timer_add may wake an M (sched) under it.
 *   sched    sched.lock: Ps, Ms, global run queue.
 *   timers   p.timers_lock.
 *   polldesc a pollDesc's lock (netpoll_epoll.c): an fd's waiter list; only
 *            epoll_ctl, a non-blocking call, is made under it.
 *   leaves   gflock, stack cache, rt_alloc, allglock, key table, default
 *            attr, the signal masks' counts (sigintr.c): no other lock is
 *            taken under them.
 *
 * No runtime lock is held across a park or a blocking system call, and
 * none while calling the program's malloc.  Built with --enable-debug,
 * lock() checks the order on every acquisition (lock.c).
 */
#ifndef GOSHIM_LOCKRANK_H
#define GOSHIM_LOCKRANK_H

enum lock_rank {
	RANK_NONE = 0,     /* zero-filled: must be given a rank before use */
	RANK_SIGWAITS,
	RANK_SEMROOT,
	RANK_SCHED,
	RANK_TIMERS,
	RANK_POLLDESC,
	RANK_GFREE,
	RANK_STACKCACHE,
	RANK_ALLOC,
	RANK_ALLG,
	RANK_KEYS,
	RANK_DEFAULT_ATTR,
	RANK_SIGMASKS,
};

#endif
