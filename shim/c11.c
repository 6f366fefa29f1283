/*
 * c11.c — <threads.h>: threads, once, TSS, mutexes and condition
 * variables.  glibc builds them on its internal pthread calls, past any
 * interposed name, so they are interposed here in terms of goshim's own,
 * with glibc's mapping of types and errors.
 */
#include <threads.h>
#include <time.h>

#include "shim.h"

/* glibc's mapping of pthread error numbers onto thrd_ results. */
static int thrd_err(int err)
{
	switch (err) {
	case 0:
		return thrd_success;
	case ENOMEM:
		return thrd_nomem;
	case ETIMEDOUT:
		return thrd_timedout;
	case EBUSY:
		return thrd_busy;
	default:
		return thrd_error;
	}
}

SHIM_EXPORT int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
	/* An int-returning start routine, its result carried in the void *
	 * as glibc does. */
	return thrd_err(pthread_create(thr, NULL, (void *(*)(void *))(void (*)(void))func, arg));
}

SHIM_EXPORT int thrd_join(thrd_t thr, int *res)
{
	void *r;
	int err = pthread_join(thr, &r);
	if (!err && res)
		*res = (int)(intptr_t)r;
	return thrd_err(err);
}

SHIM_EXPORT int thrd_detach(thrd_t thr)
{
	return thrd_err(pthread_detach(thr));
}

SHIM_EXPORT thrd_t thrd_current(void)
{
	return pthread_self();
}

SHIM_EXPORT int thrd_equal(thrd_t a, thrd_t b)
{
	return a == b;
}

SHIM_EXPORT void thrd_exit(int res)
{
	pthread_exit((void *)(intptr_t)res);
}

SHIM_EXPORT int thrd_sleep(const struct timespec *dur, struct timespec *rem)
{
	int err = clock_nanosleep(CLOCK_REALTIME, 0, dur, rem);
	return err == 0 ? 0 : err == EINTR ? -1 : -2;
}

SHIM_EXPORT void thrd_yield(void)
{
	sched_yield();
}

SHIM_EXPORT void call_once(once_flag *flag, void (*func)(void))
{
	_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "once_flag size");
	pthread_once((pthread_once_t *)flag, func);
}

SHIM_EXPORT int tss_create(tss_t *key, tss_dtor_t dtor)
{
	_Static_assert(sizeof(tss_t) == sizeof(pthread_key_t), "tss_t size");
	return thrd_err(pthread_key_create((pthread_key_t *)key, dtor));
}

SHIM_EXPORT void tss_delete(tss_t key)
{
	pthread_key_delete(key);
}

SHIM_EXPORT void *tss_get(tss_t key)
{
	return pthread_getspecific(key);
}

SHIM_EXPORT int tss_set(tss_t key, void *value)
{
	return thrd_err(pthread_setspecific(key, value));
}

SHIM_EXPORT int mtx_init(mtx_t *m, int type)
{
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	if (type == (mtx_plain | mtx_recursive) || type == (mtx_timed | mtx_recursive))
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	return thrd_err(pthread_mutex_init((pthread_mutex_t *)m, &attr));
}

SHIM_EXPORT int mtx_lock(mtx_t *m)
{
	return thrd_err(pthread_mutex_lock((pthread_mutex_t *)m));
}

SHIM_EXPORT int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict abstime)
{
	return thrd_err(pthread_mutex_timedlock((pthread_mutex_t *)m, abstime));
}

SHIM_EXPORT int mtx_trylock(mtx_t *m)
{
	return thrd_err(pthread_mutex_trylock((pthread_mutex_t *)m));
}

SHIM_EXPORT int mtx_unlock(mtx_t *m)
{
	return thrd_err(pthread_mutex_unlock((pthread_mutex_t *)m));
}

SHIM_EXPORT void mtx_destroy(mtx_t *m)
{
	pthread_mutex_destroy((pthread_mutex_t *)m);
}

SHIM_EXPORT int cnd_init(cnd_t *c)
{
	return thrd_err(pthread_cond_init((pthread_cond_t *)c, NULL));
}

SHIM_EXPORT int cnd_signal(cnd_t *c)
{
	return thrd_err(pthread_cond_signal((pthread_cond_t *)c));
}

SHIM_EXPORT int cnd_broadcast(cnd_t *c)
{
	return thrd_err(pthread_cond_broadcast((pthread_cond_t *)c));
}

SHIM_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
	return thrd_err(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

SHIM_EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
			      const struct timespec *restrict abstime)
{
	return thrd_err(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, abstime));
}

SHIM_EXPORT void cnd_destroy(cnd_t *c)
{
	pthread_cond_destroy((pthread_cond_t *)c);
}
