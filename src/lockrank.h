/*
 * lockrank.h — the order in which runtime locks may be taken.
 * "a < b" means: b may be acquired while a is held, never the reverse.
 * No runtime lock is ever held across a park or a blocking system call,
 * and none is held while calling the program's malloc.
 *
 *   semroot.lock < sched.lock
 *   semroot.lock < p.timers_lock
 *   sched.lock   < p.timers_lock      (schedtrace reads timer counts)
 *   sched.gflock                      (leaf)
 *   stackcache.lock                   (leaf)
 *   allglock                          (leaf)
 *   rt_alloc lock                     (leaf)
 *   keys lock                         (leaf)
 */
#ifndef GOSHIM_LOCKRANK_H
#define GOSHIM_LOCKRANK_H
#endif
