/*
 * thread.c — thread life cycle and identity: create, join (all variants),
 * detach, exit, self, equal, getattr_np, names, scheduling parameters,
 * affinity, and the pthread_t-taking calls glibc would otherwise apply to a
 * struct pthread that a G does not have.
 *
 * A pthread_t is the address of the thread's struct g.  Calls from threads
 * goshim does not run (glibc's helper threads) on their own pthread_t go to
 * glibc.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "shim.h"

SHIM_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			       void *(*start)(void *), void *arg)
{
	if (rt_init() != 0)
		return real.pthread_create(thread, attr, start, arg);
	struct g_attr ga = { 0 };
	pthread_attr_t dflt;
	const pthread_attr_t *a = attr;
	int err;
	if (!a && attr_default_is_initial()) {
		attr_initial_g_attr(&ga);
	} else {
		if (!a) {
			if ((err = pthread_getattr_default_np(&dflt)))
				return err;
			a = &dflt;
		}
		attr_to_g_attr(a, &ga);
	}
	sysmon_start();
	err = newproc(&ga, start, arg, (uintptr_t *)thread);
	if (a == &dflt)
		pthread_attr_destroy(&dflt);
	return -err;
}

/* Joins gp: deadline < 0 waits forever, try fails with EBUSY unless it has
 * exited.  Error order as glibc's __pthread_clockjoin_ex. */
static int join(pthread_t th, void **retval, int64_t deadline, bool try)
{
	struct g *me = shim_g();
	struct g *gp = shim_thread(th);
	if (!gp)
		return ESRCH;
	uint32_t js = atomic_load(&gp->join_state);
	if (try && js != J_EXITED)
		return EBUSY;
	if (js == J_DETACHED)
		return EINVAL;
	if (gp == me || (me && atomic_load(&me->joiner) == gp))
		return EDEADLK;
	/* A cancellation point where it waits (as glibc's, not when the
	 * thread has exited already): a cancelled joiner leaves the thread
	 * joinable. */
	struct g *none = NULL;
	/* Foreign threads join too; any non-NULL marker will do for them. */
	if (!atomic_compare_exchange_strong(&gp->joiner, &none, me ? me : gp))
		return EINVAL;
	while ((js = atomic_load(&gp->join_state)) == J_JOINABLE) {
		int r = sema_wait_intr(&gp->join_state, J_JOINABLE, deadline, WAIT_JOIN);
		if (r < 0 && atomic_load(&gp->join_state) == J_JOINABLE) {
			atomic_store(&gp->joiner, NULL);
			if (r == -EINTR)
				cancel_act(me);  /* the request that ended the wait */
			return ETIMEDOUT;
		}
	}
	if (js != J_EXITED) {
		atomic_store(&gp->joiner, NULL);
		return EINVAL;
	}
	if (retval)
		*retval = gp->retval;
	g_reap_exited(gp);
	return 0;
}

SHIM_EXPORT int pthread_join(pthread_t th, void **retval)
{
	return join(th, retval, -1, false);
}

SHIM_EXPORT int pthread_tryjoin_np(pthread_t th, void **retval)
{
	return join(th, retval, -1, true);
}

SHIM_EXPORT int pthread_clockjoin_np(pthread_t th, void **retval, clockid_t clock,
				     const struct timespec *abstime)
{
	if (!abstime)
		return join(th, retval, -1, false);
	if (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME)
		return EINVAL;
	if (!shim_timespec_valid(abstime))
		return EINVAL;
	if (abstime->tv_sec < 0)
		return ETIMEDOUT;
	return join(th, retval, shim_deadline(clock, abstime), false);
}

SHIM_EXPORT int pthread_timedjoin_np(pthread_t th, void **retval, const struct timespec *abstime)
{
	return pthread_clockjoin_np(th, retval, CLOCK_REALTIME, abstime);
}

SHIM_EXPORT int pthread_detach(pthread_t th)
{
	shim_g();
	struct g *gp = shim_thread(th);
	if (!gp)
		return ESRCH;
	uint32_t js = J_JOINABLE;
	if (atomic_load(&gp->joiner) != NULL)
		return atomic_load(&gp->join_state) == J_DETACHED ? EINVAL : 0;
	if (atomic_compare_exchange_strong(&gp->join_state, &js, J_DETACHED))
		return 0;
	if (js == J_DETACHED)
		return EINVAL;
	/* Exited and not joined: detaching frees it, as in glibc. */
	struct g *none = NULL;
	if (js == J_EXITED && atomic_compare_exchange_strong(&gp->joiner, &none, gp))
		g_reap_exited(gp);
	return 0;
}

SHIM_EXPORT void pthread_exit(void *retval)
{
	struct g *gp = shim_g();
	if (!gp)
		real.pthread_exit(retval);
	g_exit_unwind(gp, retval);
}

SHIM_EXPORT pthread_t pthread_self(void)
{
	struct g *gp = shim_g();
	return gp ? (pthread_t)gp : real.pthread_self();
}

SHIM_EXPORT int pthread_equal(pthread_t a, pthread_t b)
{
	return a == b;
}

SHIM_EXPORT int pthread_getattr_np(pthread_t th, pthread_attr_t *attr)
{
	THREAD_OR_RETURN(gp, th, real.pthread_getattr_np(th, attr));
	return attr_from_g(gp, attr);
}

SHIM_EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
	THREAD_OR_RETURN(gp, th, real.pthread_setname_np(th, name));
	size_t len = strlen(name);
	if (len >= sizeof gp->name)
		return ERANGE;
	memcpy(gp->name, name, len + 1);
	return 0;
}

SHIM_EXPORT int pthread_getname_np(pthread_t th, char *buf, size_t len)
{
	THREAD_OR_RETURN(gp, th, real.pthread_getname_np(th, buf, len));
	size_t n = strnlen(gp->name, sizeof gp->name - 1);
	if (len < sizeof gp->name && len <= n)
		return ERANGE;
	memcpy(buf, gp->name, n);
	buf[n] = 0;
	return 0;
}

/* ------------------------------------------------------- scheduling parameters */

/* Valid priority range of policy, as sched_get_priority_min/max say. */
static int check_sched(int policy, const struct sched_param *param)
{
	int lo = sched_get_priority_min(policy);
	int hi = sched_get_priority_max(policy);
	if (lo < 0 || hi < 0)
		return EINVAL;
	if (param->sched_priority < lo || param->sched_priority > hi)
		return EINVAL;
	return 0;
}

SHIM_EXPORT int pthread_setschedparam(pthread_t th, int policy, const struct sched_param *param)
{
	THREAD_OR_RETURN(gp, th, real.pthread_setschedparam(th, policy, param));
	int err = check_sched(policy, param);
	if (err)
		return err;
	/* A G shares its kernel thread with others: the policy is recorded
	 * and reported, not applied to the M. */
	gp->sched_policy = policy;
	gp->sched_param = *param;
	return 0;
}

SHIM_EXPORT int pthread_getschedparam(pthread_t th, int *policy, struct sched_param *param)
{
	THREAD_OR_RETURN(gp, th, real.pthread_getschedparam(th, policy, param));
	*policy = gp->sched_policy;
	*param = gp->sched_param;
	return 0;
}

SHIM_EXPORT int pthread_setschedprio(pthread_t th, int prio)
{
	THREAD_OR_RETURN(gp, th, real.pthread_setschedprio(th, prio));
	struct sched_param sp = { .sched_priority = prio };
	int err = check_sched(gp->sched_policy, &sp);
	if (err)
		return err;
	gp->sched_param = sp;
	return 0;
}

SHIM_EXPORT int pthread_setaffinity_np(pthread_t th, size_t size, const cpu_set_t *set)
{
	THREAD_OR_RETURN(gp, th, real.pthread_setaffinity_np(th, size, set));
	/* Validate as the kernel would: the set must contain an allowed CPU. */
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return errno;
	bool any = false;
	for (size_t c = 0; c < size * 8 && c < CPU_SETSIZE; c++)
		if (CPU_ISSET_S(c, size, set) && CPU_ISSET(c, &allowed))
			any = true;
	if (!any)
		return EINVAL;
	cpu_set_t *copy = malloc(size);
	if (!copy)
		return ENOMEM;
	memcpy(copy, set, size);
	free(gp->affinity);
	gp->affinity = copy;
	gp->affinity_size = size;
	return 0;
}

SHIM_EXPORT int pthread_getaffinity_np(pthread_t th, size_t size, cpu_set_t *set)
{
	THREAD_OR_RETURN(gp, th, real.pthread_getaffinity_np(th, size, set));
	if (!gp->affinity)
		return sched_getaffinity(0, size, set) == 0 ? 0 : errno;
	if (size < gp->affinity_size) {
		/* glibc: EINVAL if the set does not fit the buffer */
		for (size_t c = size * 8; c < gp->affinity_size * 8; c++)
			if (CPU_ISSET_S(c, gp->affinity_size, gp->affinity))
				return EINVAL;
	}
	memset(set, 0, size);
	memcpy(set, gp->affinity, size < gp->affinity_size ? size : gp->affinity_size);
	return 0;
}

/* ------------------------------------------------------- signals */

/* A signal for one thread: raised at once in the caller's own kernel
 * thread when it is the target (unless it blocks it), else left to the
 * target G, which raises it in its own (sigintr.c).  value: carried when
 * queued.  Async-signal-safe, as POSIX has pthread_kill. */
static int send_to(struct g *gp, int sig, const union sigval *value)
{
	/* glibc's own signals (SIGCANCEL, SIGSETXID) are not the program's
	 * to send. */
	if (sig < 0 || sig >= NSIG || sig == 32 || sig == 33)
		return EINVAL;
	if (sig == 0)
		return 0;
	bool in_handler = shim_in_handler();
	if (value) {
		int err = sigintr_value(gp, sig, *value, in_handler);
		if (err)
			return err;
	}
	if (gp == getg_user()) {
		sigintr_pend(gp, sig);
		sigintr_check(gp);
	} else {
		sigintr_kill(gp, sig, in_handler);
	}
	return 0;
}

SHIM_EXPORT int pthread_kill(pthread_t th, int sig)
{
	THREAD_OR_RETURN(gp, th, real.pthread_kill(th, sig));
	return send_to(gp, sig, NULL);
}

SHIM_EXPORT int pthread_sigqueue(pthread_t th, int sig, const union sigval value)
{
	THREAD_OR_RETURN(gp, th, real.pthread_sigqueue(th, sig, value));
	return send_to(gp, sig, &value);
}

/* A thread's CPU clock arrives in a later step: until then the call
 * fails with ENOSYS and says so once, rather than letting glibc
 * dereference a pthread_t that is not its own. */
static int unsupported(const char *what, _Atomic bool *warned)
{
	if (!atomic_exchange(warned, true))
		rt_printf("goshim: %s on a goshim thread is not supported yet (ENOSYS)\n", what);
	return ENOSYS;
}

SHIM_EXPORT int pthread_getcpuclockid(pthread_t th, clockid_t *clock)
{
	THREAD_OR_RETURN(gp, th, real.pthread_getcpuclockid(th, clock));
	static _Atomic bool warned;
	return unsupported("pthread_getcpuclockid", &warned);
}
