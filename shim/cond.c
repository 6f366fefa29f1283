/*
 * cond.c — condition variables: a waiter parks its G on the condvar's
 * sequence word.
 *
 * Protocol.  A waiter counts itself in nwaiters, reads seq, unlocks the
 * mutex and parks on seq while seq still holds what it read.  Signal and
 * broadcast (when nwaiters says someone may wait) advance seq, then wake one
 * or all of the Gs parked on it.  Every waiter that had released the mutex
 * before a signal advanced seq either is queued by then (and the wake-up
 * queue is FIFO, so a signal wakes the longest waiter) or reads the new seq
 * when it tries to park and returns at once: no wake-up is lost.  The price
 * is an occasional spurious return, which POSIX allows and every caller
 * re-checks its predicate for.  A waiter woken and a timeout that fired are
 * decided under the wait-queue lock (sema.c), so a signal is never consumed
 * by a waiter that then reports ETIMEDOUT.
 *
 * Fields (pthread_cond_t is 48 bytes; glibc names in brackets):
 *   seq       [__wseq low word]   wake sequence, the word waiters park on
 *   nwaiters  [__wseq high word]  waiters between counting themselves and
 *             leaving; SYNC_DESTROYING when pthread_cond_destroy waits for them
 *   mutex     [__g1_start]        the waiters' mutex, for wait morphing
 *   wrefs     [__wrefs]           glibc's attribute bits: bit 0 process-
 *             shared, bit 1 CLOCK_MONOTONIC
 * A zero-filled condvar is PTHREAD_COND_INITIALIZER: private, realtime.
 *
 * Wait morphing.  A broadcast does not wake every waiter only to have all
 * but one block again on the mutex: when the waiters' mutex is locked (by
 * the broadcaster, usually), it wakes one and moves the others onto the
 * mutex's word (sema_requeue), where each unlock wakes the next.  The
 * waiters record their mutex in the condvar (POSIX: all concurrent waiters
 * use the same one).
 *
 * Cancellation.  A wait is a cancellation point (sema_wait_intr): a
 * request dequeues the waiter, which locks the mutex again and acts upon
 * it; a waiter a broadcast moved onto the mutex was woken already, and
 * returns normally, the request still pending.
 *
 * Destroy.  A woken waiter still touches nwaiters after it was woken, so
 * pthread_cond_destroy (like glibc's) waits until every waiter has left.
 * Waiters still blocked make it EBUSY (glibc would wait forever).
 */
#include <limits.h>
#include <string.h>

#include "sync.h"

struct cond {
	_Atomic uint32_t seq;
	_Atomic uint32_t nwaiters;
	pthread_mutex_t *_Atomic mutex;
	uint32_t unused[5];
	uint32_t wrefs;
	uint32_t unused2[2];
};
_Static_assert(sizeof(struct cond) == sizeof(pthread_cond_t), "pthread_cond_t size");
_Static_assert(offsetof(struct cond, wrefs) == 36, "__wrefs offset");

enum { WREFS_PSHARED = 1, WREFS_MONOTONIC = 2 };

/* glibc's pthread_condattr_t: bit 0 pshared, the clock id above it. */
enum { CATTR_PSHARED = 1, CATTR_CLOCK_SHIFT = 1 };

static inline struct cond *C(pthread_cond_t *c)
{
	return (struct cond *)c;
}

static inline bool pshared(const struct cond *c)
{
	return c->wrefs & WREFS_PSHARED;
}

/* glibc's own wait, for a process-shared condvar (its mutex is one too). */
static int pshared_wait(pthread_cond_t *pc, pthread_mutex_t *m, clockid_t clock,
			const struct timespec *abstime)
{
	struct g *gp = sync_block_begin();
	int err = abstime ? real.pthread_cond_clockwait(pc, m, clock, abstime)
			  : real.pthread_cond_wait(pc, m);
	sync_block_end(gp);
	return err;
}

/* clock < 0: the condvar's own clock. */
static int cond_wait(pthread_cond_t *pc, pthread_mutex_t *m, clockid_t clock,
		     const struct timespec *abstime)
{
	struct cond *c = C(pc);
	if (clock < 0)
		clock = (c->wrefs & WREFS_MONOTONIC) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
	if (pshared(c))
		return pshared_wait(pc, m, clock, abstime);
	int64_t deadline;
	int err = sync_deadline(clock, abstime, &deadline);
	if (err)
		return err;
	struct g *gp = shim_g();
	if (gp)
		shim_testcancel(gp);  /* with the mutex held, as after a wait */

	atomic_fetch_add(&c->nwaiters, 1);
	atomic_store_explicit(&c->mutex, m, memory_order_relaxed);
	uint32_t seq = atomic_load(&c->seq);
	err = pthread_mutex_unlock(m);
	if (err) {
		sync_leave(&c->nwaiters);
		return err;
	}
	int r = sema_wait_intr(&c->seq, seq, deadline, WAIT_COND);
	/* A waiter moved onto the mutex left the condvar then (the
	 * broadcaster counted it out): it must not touch it again. */
	if (r != SEMA_REQUEUED)
		sync_leave(&c->nwaiters);
	/* A robust mutex's EOWNERDEAD (and the like) wins over ETIMEDOUT. */
	err = r == SEMA_REQUEUED ? mutex_lock_requeued(m) : pthread_mutex_lock(m);
	/* Cancelled while it waited: the cleanup handlers run with the mutex
	 * locked again, as POSIX has it.  The request took no wake-up. */
	if (r == -EINTR)
		shim_testcancel(gp);
	if (err)
		return err;
	return r == -ETIMEDOUT ? ETIMEDOUT : 0;
}

SHIM_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return cond_wait(c, m, -1, NULL);
}

SHIM_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				       const struct timespec *abstime)
{
	return cond_wait(c, m, -1, abstime);
}

SHIM_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
				       const struct timespec *abstime)
{
	if (!sync_clock_ok(clock))
		return EINVAL;
	return cond_wait(c, m, clock, abstime);
}

static int cond_wake(pthread_cond_t *pc, int n)
{
	struct cond *c = C(pc);
	if (pshared(c)) {
		shim_g();
		return n == 1 ? real.pthread_cond_signal(pc) : real.pthread_cond_broadcast(pc);
	}
	/* Full barrier (the RMW): pairs with the waiter's count-then-read. */
	if ((atomic_load(&c->nwaiters) & ~SYNC_DESTROYING) == 0)
		return 0;
	uint32_t seq = atomic_fetch_add(&c->seq, 1) + 1;
	if (n > 1) {
		pthread_mutex_t *m = atomic_load_explicit(&c->mutex, memory_order_relaxed);
		_Atomic uint32_t *w = m ? mutex_requeue_word(m) : NULL;
		int moved = w ? sema_requeue(&c->seq, w, 1, INT_MAX, &seq, true) : -1;
		if (moved >= 0) {
			/* One was woken, the rest left the condvar for the mutex:
			 * a destroy right after this broadcast need not wait for
			 * them (they may wait for the broadcaster's unlock). */
			if (moved > 1)
				sync_leave_n(&c->nwaiters, (uint32_t)moved - 1);
			mutex_requeue_done(w);
			return 0;
		}
	}
	sema_wake(&c->seq, n);
	return 0;
}

SHIM_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
	return cond_wake(c, 1);
}

SHIM_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
	return cond_wake(c, INT_MAX);
}

SHIM_EXPORT int pthread_cond_init(pthread_cond_t *pc, const pthread_condattr_t *attr)
{
	int a = attr ? *(const int *)attr : 0;
	if (a & CATTR_PSHARED) {
		shim_g();
		return real.pthread_cond_init(pc, attr);
	}
	struct cond *c = C(pc);
	memset(c, 0, sizeof *c);
	if ((a >> CATTR_CLOCK_SHIFT) != CLOCK_REALTIME)
		c->wrefs = WREFS_MONOTONIC;
	return 0;
}

SHIM_EXPORT int pthread_cond_destroy(pthread_cond_t *pc)
{
	struct cond *c = C(pc);
	if (pshared(c)) {
		shim_g();
		return real.pthread_cond_destroy(pc);
	}
	if (atomic_load(&c->nwaiters) == 0)
		return 0;
	if (sema_nwaiters(&c->seq) > 0)
		return EBUSY;
	/* Only waiters on their way in or out remain: advancing seq sends
	 * those on their way in back out (and wakes any that just queued),
	 * then wait for the last to leave. */
	atomic_fetch_add(&c->seq, 1);
	sema_wake(&c->seq, INT_MAX);
	sync_drain(&c->nwaiters, WAIT_COND);
	return 0;
}
