/*
 * c11.c — the <threads.h> thread, once and TSS functions.  glibc builds
 * them on its internal pthread calls, past any interposed name, so they are
 * interposed here in terms of goshim's own; mtx_ and cnd_ arrive with the
 * synchronization step.
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
