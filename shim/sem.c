/*
 * sem.c — POSIX semaphores: a waiter parks its G on the semaphore's value.
 *
 * The layout is glibc's (struct new_sem): the value in the low word of
 * data, the number of waiters in the high word, and "private", glibc's
 * futex flag to XOR in: 0 for a process-private semaphore,
 * FUTEX_PRIVATE_FLAG for a process-shared one or one from sem_open.  A waiter counts itself in
 * nwaiters before it parks on value == 0; sem_post raises the value first
 * and then wakes one waiter if the count says there may be one, so a post
 * is never lost.  Woken waiters compete with running ones for the value
 * (no hand-over, as glibc).
 *
 * sem_post is async-signal-safe: from a signal handler it leaves the wake
 * to the poller (sema_wake_deferred).
 *
 * Process-shared semaphores are used by other processes, which may not run
 * goshim: those go to glibc (sync.h), which also serves sem_open,
 * sem_close and sem_unlink unchanged.
 */
#include <limits.h>
#include <semaphore.h>

#include "sync.h"

struct sem {
	_Atomic uint32_t value;
	_Atomic uint32_t nwaiters;
	int32_t private;
	int32_t pad;
};
_Static_assert(sizeof(struct sem) <= sizeof(sem_t), "sem_t size");

#define SEM_SHARED 128 /* glibc's LLL_SHARED */

static inline struct sem *S(sem_t *s)
{
	return (struct sem *)s;
}

static inline bool pshared(const struct sem *s)
{
	return s->private == SEM_SHARED;
}

static inline int fail(int err)
{
	errno = err;
	return -1;
}

static bool try_take(struct sem *s)
{
	uint32_t v = atomic_load(&s->value);
	while (v > 0) {
		if (atomic_compare_exchange_weak(&s->value, &v, v - 1))
			return true;
	}
	return false;
}

static int pshared_wait(sem_t *ps, clockid_t clock, const struct timespec *abstime)
{
	if (real.sem_trywait(ps) == 0)
		return 0;
	if (errno != EAGAIN)
		return -1;
	struct g *gp = sync_block_begin();
	int r = abstime ? real.sem_clockwait(ps, clock, abstime) : real.sem_wait(ps);
	sync_block_end(gp);
	return r;
}

/* entry: a cancellation point even when the semaphore can be taken at
 * once (glibc's sem_wait and sem_timedwait, not sem_clockwait). */
static int sem_wait_common(sem_t *ps, clockid_t clock, const struct timespec *abstime,
			   bool entry)
{
	struct sem *s = S(ps);
	struct g *gp = shim_g();
	if (gp && entry)
		shim_testcancel(gp);
	int64_t deadline;
	int err = sync_deadline(clock, abstime, &deadline);
	if (err)
		return fail(err);
	if (pshared(s))
		return pshared_wait(ps, clock, abstime);
	if (try_take(s))
		return 0;
	atomic_fetch_add(&s->nwaiters, 1);
	int r = 0;
	while (!try_take(s)) {
		r = sema_wait_intr(&s->value, 0, deadline, WAIT_SEMAPHORE);
		if (r == -ETIMEDOUT && try_take(s))
			r = 0;
		/* A signal's EINTR stands even if its handler posted, as
		 * glibc's. */
		if (r == -ETIMEDOUT || r == -EINTR)
			break;
		r = 0;
	}
	atomic_fetch_sub(&s->nwaiters, 1);
	if (r == -EINTR && gp)
		shim_testcancel(gp);  /* a request, not a signal, ended it */
	return r ? fail(-r) : 0;
}

SHIM_EXPORT int sem_wait(sem_t *s)
{
	return sem_wait_common(s, CLOCK_REALTIME, NULL, true);
}

SHIM_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
	return sem_wait_common(s, CLOCK_REALTIME, abstime, true);
}

SHIM_EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
	if (!sync_clock_ok(clock))
		return fail(EINVAL);
	return sem_wait_common(s, clock, abstime, false);
}

SHIM_EXPORT int sem_trywait(sem_t *ps)
{
	struct sem *s = S(ps);
	if (pshared(s)) {
		shim_g();
		return real.sem_trywait(ps);
	}
	return try_take(s) ? 0 : fail(EAGAIN);
}

SHIM_EXPORT int sem_post(sem_t *ps)
{
	struct sem *s = S(ps);
	if (pshared(s)) {
		shim_g();
		return real.sem_post(ps);
	}
	uint32_t v = atomic_load(&s->value);
	do {
		if (v >= SEM_VALUE_MAX)
			return fail(EOVERFLOW);
	} while (!atomic_compare_exchange_weak(&s->value, &v, v + 1));
	/* Full barrier (the CAS): pairs with the waiter's count-then-check. */
	if (atomic_load(&s->nwaiters) == 0)
		return 0;
	if (shim_in_handler())
		sema_wake_deferred(&s->value);  /* async-signal-safe */
	else
		sema_wake(&s->value, 1);
	return 0;
}

SHIM_EXPORT int sem_getvalue(sem_t *ps, int *sval)
{
	struct sem *s = S(ps);
	if (pshared(s)) {
		shim_g();
		return real.sem_getvalue(ps, sval);
	}
	*sval = (int)atomic_load(&s->value);
	return 0;
}

SHIM_EXPORT int sem_init(sem_t *ps, int pshared_, unsigned value)
{
	if (value > SEM_VALUE_MAX)
		return fail(EINVAL);
	if (pshared_) {
		shim_g();
		return real.sem_init(ps, pshared_, value);
	}
	*S(ps) = (struct sem){ .value = value };
	return 0;
}

SHIM_EXPORT int sem_destroy(sem_t *ps)
{
	(void)ps;
	return 0;
}
