/*
 * rwlock.c — read-write locks: waiters park their G on the lock's sequence
 * word.
 *
 * state holds the readers count and a writer bit.  A thread that cannot
 * take the lock reads seq, re-checks state, and parks on seq while it holds
 * what it read; every change that may let a waiter in (a release that
 * leaves the lock free, the last reader leaving, a waiting writer giving
 * up) advances seq and, if anyone waits, wakes all waiters, which retry.
 * Reading seq before state is what makes this race-free: any change after
 * the waiter's look at state also changes seq.
 *
 * Kinds (glibc's __flags): PTHREAD_RWLOCK_PREFER_READER_NP (the default)
 * and PTHREAD_RWLOCK_PREFER_WRITER_NP (which glibc treats as the same) let
 * readers in whenever no writer holds the lock, so a stream of readers can
 * starve writers, as glibc's do; PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
 * keeps new readers out while a writer waits (wwaiting).
 *
 * Fields (pthread_rwlock_t is 56 bytes; glibc's names in brackets):
 *   state      [__readers]        readers count | WRITER
 *   wwaiting   [__writers]        writers waiting
 *   seq        [__wrphase_futex]  wake sequence, the word waiters park on
 *   nwaiters   [__writers_futex]  threads parked or about to park
 *   cur_writer [__cur_writer]     owner id of the writer
 *   shared     [__shared]         non-zero: process-shared (glibc's)
 *   flags      [__flags]          the kind
 */
#include <limits.h>
#include <string.h>

#include "sync.h"

struct rwlock {
	_Atomic uint32_t state;
	_Atomic uint32_t wwaiting;
	_Atomic uint32_t seq;
	_Atomic uint32_t nwaiters;
	uint32_t unused[2];
	_Atomic int32_t cur_writer;
	int32_t shared;
	uint8_t unused2[16];
	uint32_t flags;
	uint32_t unused3;
};
_Static_assert(sizeof(struct rwlock) == sizeof(pthread_rwlock_t), "pthread_rwlock_t size");
_Static_assert(offsetof(struct rwlock, cur_writer) == 24, "__cur_writer offset");
_Static_assert(offsetof(struct rwlock, shared) == 28, "__shared offset");
_Static_assert(offsetof(struct rwlock, flags) == 48, "__flags offset");

#define WRITER 0x80000000u
#define READERS_MAX 0x7fffffffu

/* glibc's pthread_rwlockattr_t. */
struct rwlockattr {
	int lockkind;
	int pshared;
};

static inline struct rwlock *RW(pthread_rwlock_t *rw)
{
	return (struct rwlock *)rw;
}

/* Wakes every waiter after a change that may let one in. */
static void advance(struct rwlock *rw)
{
	atomic_fetch_add(&rw->seq, 1);
	if (atomic_load(&rw->nwaiters) != 0)
		sema_wake(&rw->seq, INT_MAX);
}

/* Parks until seq moves past seq0 or the deadline: 0 or ETIMEDOUT. */
static int wait_change(struct rwlock *rw, uint32_t seq0, int64_t deadline)
{
	atomic_fetch_add(&rw->nwaiters, 1);
	int r = sema_wait(&rw->seq, seq0, deadline, WAIT_RWLOCK);
	atomic_fetch_sub(&rw->nwaiters, 1);
	return r == -ETIMEDOUT ? ETIMEDOUT : 0;
}

enum op { OP_LOCK, OP_TRY, OP_TIMED };

static int pshared_call(pthread_rwlock_t *prw, bool write, enum op op, clockid_t clock,
			const struct timespec *abstime)
{
	int err = write ? real.pthread_rwlock_trywrlock(prw) : real.pthread_rwlock_tryrdlock(prw);
	if (err != EBUSY || op == OP_TRY)
		return err;
	struct g *gp = sync_block_begin();
	if (op == OP_TIMED)
		err = write ? real.pthread_rwlock_clockwrlock(prw, clock, abstime)
			    : real.pthread_rwlock_clockrdlock(prw, clock, abstime);
	else
		err = write ? real.pthread_rwlock_wrlock(prw) : real.pthread_rwlock_rdlock(prw);
	sync_block_end(gp);
	return err;
}

static int rwlock_acquire(pthread_rwlock_t *prw, bool write, enum op op, clockid_t clock,
			  const struct timespec *abstime)
{
	struct rwlock *rw = RW(prw);
	if (op == OP_TIMED && !sync_clock_ok(clock))
		return EINVAL;
	int64_t deadline = -1;
	if (op == OP_TIMED) {
		int err = sync_deadline(clock, abstime, &deadline);
		if (err)
			return err;
	}
	if (rw->shared)
		return pshared_call(prw, write, op, clock, abstime);
	int32_t self = sync_self();
	if (atomic_load_explicit(&rw->cur_writer, memory_order_relaxed) == self &&
	    (atomic_load(&rw->state) & WRITER))
		return op == OP_TRY ? EBUSY : EDEADLK;
	bool prefer_writer = rw->flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
	bool counted = false; /* this writer is in wwaiting */
	int err = 0;
	for (;;) {
		uint32_t seq = atomic_load(&rw->seq);
		uint32_t s = atomic_load(&rw->state);
		if (write) {
			if (s == 0 && atomic_compare_exchange_strong(&rw->state, &s, WRITER)) {
				atomic_store_explicit(&rw->cur_writer, self, memory_order_relaxed);
				break;
			}
		} else if (!(s & WRITER) && !(prefer_writer && atomic_load(&rw->wwaiting))) {
			if (s == READERS_MAX) {
				err = EAGAIN;
				break;
			}
			if (atomic_compare_exchange_weak(&rw->state, &s, s + 1))
				break;
			continue;
		}
		if (op == OP_TRY) {
			err = EBUSY;
			break;
		}
		if (write && prefer_writer && !counted) {
			atomic_fetch_add(&rw->wwaiting, 1);
			counted = true;
			continue; /* readers now stay out: look again */
		}
		if ((err = wait_change(rw, seq, deadline)))
			break;
	}
	if (counted && atomic_fetch_sub(&rw->wwaiting, 1) == 1 && err)
		advance(rw); /* the last waiting writer gave up: readers may go */
	return err;
}

SHIM_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
	return rwlock_acquire(rw, false, OP_LOCK, CLOCK_REALTIME, NULL);
}

SHIM_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
	return rwlock_acquire(rw, false, OP_TRY, CLOCK_REALTIME, NULL);
}

SHIM_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *abstime)
{
	return rwlock_acquire(rw, false, OP_TIMED, CLOCK_REALTIME, abstime);
}

SHIM_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t clock,
					   const struct timespec *abstime)
{
	return rwlock_acquire(rw, false, OP_TIMED, clock, abstime);
}

SHIM_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
	return rwlock_acquire(rw, true, OP_LOCK, CLOCK_REALTIME, NULL);
}

SHIM_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
	return rwlock_acquire(rw, true, OP_TRY, CLOCK_REALTIME, NULL);
}

SHIM_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *abstime)
{
	return rwlock_acquire(rw, true, OP_TIMED, CLOCK_REALTIME, abstime);
}

SHIM_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t clock,
					   const struct timespec *abstime)
{
	return rwlock_acquire(rw, true, OP_TIMED, clock, abstime);
}

/* Unlocking a lock the caller does not hold is EPERM (POSIX allows it;
 * glibc would corrupt the lock). */
SHIM_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *prw)
{
	struct rwlock *rw = RW(prw);
	if (rw->shared) {
		shim_g();
		return real.pthread_rwlock_unlock(prw);
	}
	uint32_t s = atomic_load(&rw->state);
	if (s & WRITER) {
		if (atomic_load_explicit(&rw->cur_writer, memory_order_relaxed) != sync_self())
			return EPERM;
		atomic_store_explicit(&rw->cur_writer, 0, memory_order_relaxed);
		atomic_store(&rw->state, 0);
		advance(rw);
		return 0;
	}
	for (;;) {
		if (s == 0)
			return EPERM;
		if (atomic_compare_exchange_weak(&rw->state, &s, s - 1))
			break;
	}
	if (s == 1)
		advance(rw);
	return 0;
}

SHIM_EXPORT int pthread_rwlock_init(pthread_rwlock_t *prw, const pthread_rwlockattr_t *attr)
{
	const struct rwlockattr *a = (const struct rwlockattr *)attr;
	if (a && a->pshared != PTHREAD_PROCESS_PRIVATE) {
		shim_g();
		return real.pthread_rwlock_init(prw, attr);
	}
	struct rwlock *rw = RW(prw);
	memset(rw, 0, sizeof *rw);
	rw->flags = a ? (uint32_t)a->lockkind : PTHREAD_RWLOCK_DEFAULT_NP;
	return 0;
}

SHIM_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *prw)
{
	if (RW(prw)->shared) {
		shim_g();
		return real.pthread_rwlock_destroy(prw);
	}
	return 0;
}

/* glibc's older names of the same functions. */
SHIM_EXPORT int __pthread_rwlock_init(pthread_rwlock_t *, const pthread_rwlockattr_t *)
	SHIM_ALIAS(pthread_rwlock_init);
SHIM_EXPORT int __pthread_rwlock_destroy(pthread_rwlock_t *)
	SHIM_ALIAS(pthread_rwlock_destroy);
SHIM_EXPORT int __pthread_rwlock_rdlock(pthread_rwlock_t *)
	SHIM_ALIAS(pthread_rwlock_rdlock);
SHIM_EXPORT int __pthread_rwlock_tryrdlock(pthread_rwlock_t *)
	SHIM_ALIAS(pthread_rwlock_tryrdlock);
SHIM_EXPORT int __pthread_rwlock_wrlock(pthread_rwlock_t *)
	SHIM_ALIAS(pthread_rwlock_wrlock);
SHIM_EXPORT int __pthread_rwlock_trywrlock(pthread_rwlock_t *)
	SHIM_ALIAS(pthread_rwlock_trywrlock);
SHIM_EXPORT int __pthread_rwlock_unlock(pthread_rwlock_t *)
	SHIM_ALIAS(pthread_rwlock_unlock);
