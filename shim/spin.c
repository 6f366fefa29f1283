/*
 * spin.c — spin locks.  A spinner that keeps finding the lock held yields
 * its P after a short spin: with fewer Ps than threads, the holder may be
 * waiting for this very P (always so with GOMAXPROCS=1), and without
 * preemption it would never get it.  The lock is a plain int, as glibc's,
 * so it works across processes too.
 */
#include <sched.h>

#include "sync.h"

#define SPIN_TRIES 100

static inline bool try_take(pthread_spinlock_t *l)
{
	return __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) == 0;
}

SHIM_EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
	for (;;) {
		if (try_take(l))
			return 0;
		for (int i = 0; i < SPIN_TRIES && __atomic_load_n(l, __ATOMIC_RELAXED); i++)
			__builtin_ia32_pause();
		if (__atomic_load_n(l, __ATOMIC_RELAXED))
			sched_yield();
	}
}

SHIM_EXPORT int pthread_spin_trylock(pthread_spinlock_t *l)
{
	return try_take(l) ? 0 : EBUSY;
}

SHIM_EXPORT int pthread_spin_unlock(pthread_spinlock_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
	return 0;
}

SHIM_EXPORT int pthread_spin_init(pthread_spinlock_t *l, int pshared)
{
	(void)pshared;
	*l = 0;
	return 0;
}

SHIM_EXPORT int pthread_spin_destroy(pthread_spinlock_t *l)
{
	(void)l;
	return 0;
}
