/*
 * attr.c — pthread_attr_*, pthread_getattr_default_np/setattr_default_np,
 * with glibc's layout and error returns (see attr.h).
 */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"

#define A(attr) ((struct glibc_attr *)(attr))
#define CA(attr) ((const struct glibc_attr *)(attr))

/* The process default (pthread_setattr_default_np); stacksize lives in the
 * runtime (default_stack_size), the rest here under default_lock. */
static struct glibc_attr default_attr;
static struct rt_lock default_lock = RT_LOCK_INIT(RANK_DEFAULT_ATTR);
static bool default_inited;  /* default_attr.guardsize set: default_lock */
/* Set once pthread_setattr_default_np was called: until then the default
 * is glibc's initial one and pthread_create need not copy it. */
static _Atomic bool default_custom;

static size_t pagesize(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static struct glibc_attr_ext *ext(struct glibc_attr *a)
{
	if (!a->extension)
		a->extension = calloc(1, sizeof(struct glibc_attr_ext));
	return a->extension;
}

static int check_policy(int policy)
{
	return (policy == SCHED_OTHER || policy == SCHED_FIFO || policy == SCHED_RR) ? 0 : EINVAL;
}

static int check_priority(int policy, int prio)
{
	int lo = sched_get_priority_min(policy), hi = sched_get_priority_max(policy);
	return (lo >= 0 && hi >= 0 && prio >= lo && prio <= hi) ? 0 : EINVAL;
}

SHIM_EXPORT int pthread_attr_init(pthread_attr_t *attr)
{
	memset(attr, 0, sizeof *attr);
	A(attr)->guardsize = pagesize();
	return 0;
}

SHIM_EXPORT int pthread_attr_destroy(pthread_attr_t *attr)
{
	struct glibc_attr_ext *e = A(attr)->extension;
	if (e) {
		free(e->cpuset);
		free(e);
	}
	A(attr)->extension = NULL;
	return 0;
}

SHIM_EXPORT int pthread_attr_getdetachstate(const pthread_attr_t *attr, int *state)
{
	*state = (CA(attr)->flags & ATTR_FLAG_DETACHSTATE) ? PTHREAD_CREATE_DETACHED
							   : PTHREAD_CREATE_JOINABLE;
	return 0;
}

SHIM_EXPORT int pthread_attr_setdetachstate(pthread_attr_t *attr, int state)
{
	if (state == PTHREAD_CREATE_DETACHED)
		A(attr)->flags |= ATTR_FLAG_DETACHSTATE;
	else if (state == PTHREAD_CREATE_JOINABLE)
		A(attr)->flags &= ~ATTR_FLAG_DETACHSTATE;
	else
		return EINVAL;
	return 0;
}

SHIM_EXPORT int pthread_attr_getguardsize(const pthread_attr_t *attr, size_t *size)
{
	*size = CA(attr)->guardsize;
	return 0;
}

SHIM_EXPORT int pthread_attr_setguardsize(pthread_attr_t *attr, size_t size)
{
	A(attr)->guardsize = size;
	return 0;
}

SHIM_EXPORT int pthread_attr_getschedparam(const pthread_attr_t *attr, struct sched_param *param)
{
	*param = CA(attr)->schedparam;
	return 0;
}

SHIM_EXPORT int pthread_attr_setschedparam(pthread_attr_t *attr, const struct sched_param *param)
{
	int err = check_priority(A(attr)->schedpolicy, param->sched_priority);
	if (err)
		return err;
	A(attr)->schedparam = *param;
	A(attr)->flags |= ATTR_FLAG_SCHED_SET;
	return 0;
}

SHIM_EXPORT int pthread_attr_getschedpolicy(const pthread_attr_t *attr, int *policy)
{
	*policy = CA(attr)->schedpolicy;
	return 0;
}

SHIM_EXPORT int pthread_attr_setschedpolicy(pthread_attr_t *attr, int policy)
{
	int err = check_policy(policy);
	if (err)
		return err;
	A(attr)->schedpolicy = policy;
	A(attr)->flags |= ATTR_FLAG_POLICY_SET;
	return 0;
}

SHIM_EXPORT int pthread_attr_getinheritsched(const pthread_attr_t *attr, int *inherit)
{
	*inherit = (CA(attr)->flags & ATTR_FLAG_NOTINHERITSCHED) ? PTHREAD_EXPLICIT_SCHED
								 : PTHREAD_INHERIT_SCHED;
	return 0;
}

SHIM_EXPORT int pthread_attr_setinheritsched(pthread_attr_t *attr, int inherit)
{
	if (inherit == PTHREAD_EXPLICIT_SCHED)
		A(attr)->flags |= ATTR_FLAG_NOTINHERITSCHED;
	else if (inherit == PTHREAD_INHERIT_SCHED)
		A(attr)->flags &= ~ATTR_FLAG_NOTINHERITSCHED;
	else
		return EINVAL;
	return 0;
}

SHIM_EXPORT int pthread_attr_getscope(const pthread_attr_t *attr, int *scope)
{
	*scope = (CA(attr)->flags & ATTR_FLAG_SCOPEPROCESS) ? PTHREAD_SCOPE_PROCESS
							    : PTHREAD_SCOPE_SYSTEM;
	return 0;
}

SHIM_EXPORT int pthread_attr_setscope(pthread_attr_t *attr, int scope)
{
	if (scope == PTHREAD_SCOPE_SYSTEM) {
		A(attr)->flags &= ~ATTR_FLAG_SCOPEPROCESS;
		return 0;
	}
	return scope == PTHREAD_SCOPE_PROCESS ? ENOTSUP : EINVAL;
}

SHIM_EXPORT int pthread_attr_getstackaddr(const pthread_attr_t *attr, void **addr)
{
	*addr = CA(attr)->stackaddr;
	return 0;
}

SHIM_EXPORT int pthread_attr_setstackaddr(pthread_attr_t *attr, void *addr)
{
	A(attr)->stackaddr = addr;
	A(attr)->flags |= ATTR_FLAG_STACKADDR;
	return 0;
}

SHIM_EXPORT int pthread_attr_getstacksize(const pthread_attr_t *attr, size_t *size)
{
	size_t s = CA(attr)->stacksize;
	*size = s ? s : default_stack_size();
	return 0;
}

SHIM_EXPORT int pthread_attr_setstacksize(pthread_attr_t *attr, size_t size)
{
	if (size < GLIBC_STACK_MIN)
		return EINVAL;
	A(attr)->stacksize = size;
	return 0;
}

SHIM_EXPORT int pthread_attr_getstack(const pthread_attr_t *attr, void **addr, size_t *size)
{
	*addr = (char *)CA(attr)->stackaddr - CA(attr)->stacksize;
	*size = CA(attr)->stacksize;
	return 0;
}

SHIM_EXPORT int pthread_attr_setstack(pthread_attr_t *attr, void *addr, size_t size)
{
	if (size < GLIBC_STACK_MIN)
		return EINVAL;
	A(attr)->stacksize = size;
	A(attr)->stackaddr = (char *)addr + size;
	A(attr)->flags |= ATTR_FLAG_STACKADDR;
	return 0;
}

/* The header marks set nonnull, but glibc accepts NULL (clears the set). */
#pragma GCC diagnostic ignored "-Wnonnull-compare"
SHIM_EXPORT int pthread_attr_setaffinity_np(pthread_attr_t *attr, size_t size, const cpu_set_t *set)
{
	struct glibc_attr *a = A(attr);
	if (!set || size == 0) {
		if (a->extension) {
			free(a->extension->cpuset);
			a->extension->cpuset = NULL;
			a->extension->cpusetsize = 0;
		}
		return 0;
	}
	struct glibc_attr_ext *e = ext(a);
	if (!e)
		return ENOMEM;
	if (e->cpusetsize != size) {
		void *n = realloc(e->cpuset, size);
		if (!n)
			return ENOMEM;
		e->cpuset = n;
		e->cpusetsize = size;
	}
	memcpy(e->cpuset, set, size);
	return 0;
}

/* Copies a CPU set of from_size bytes into one of to_size: EINVAL if a set
 * CPU does not fit, zero fill otherwise. */
static int copy_cpuset(cpu_set_t *to, size_t to_size, const cpu_set_t *from, size_t from_size)
{
	for (size_t i = to_size; i < from_size; i++)
		if (((const char *)from)[i])
			return EINVAL;
	size_t n = to_size < from_size ? to_size : from_size;
	memcpy(to, from, n);
	memset((char *)to + n, 0, to_size - n);
	return 0;
}

SHIM_EXPORT int pthread_attr_getaffinity_np(const pthread_attr_t *attr, size_t size, cpu_set_t *set)
{
	const struct glibc_attr_ext *e = CA(attr)->extension;
	if (e && e->cpuset)
		return copy_cpuset(set, size, e->cpuset, e->cpusetsize);
	memset(set, 0xff, size);  /* no affinity given: every CPU */
	return 0;
}

SHIM_EXPORT int pthread_attr_setsigmask_np(pthread_attr_t *attr, const sigset_t *mask)
{
	struct glibc_attr *a = A(attr);
	if (!mask) {
		if (a->extension)
			a->extension->sigmask_set = false;
		return 0;
	}
	struct glibc_attr_ext *e = ext(a);
	if (!e)
		return ENOMEM;
	e->sigmask = *mask;
	/* glibc's internal signals (cancellation, setxid) never get blocked. */
	sigdelset(&e->sigmask, SIGRTMIN - 2);
	sigdelset(&e->sigmask, SIGRTMIN - 1);
	e->sigmask_set = true;
	return 0;
}

SHIM_EXPORT int pthread_attr_getsigmask_np(const pthread_attr_t *attr, sigset_t *mask)
{
	const struct glibc_attr_ext *e = CA(attr)->extension;
	if (!e || !e->sigmask_set) {
		sigemptyset(mask);
		return PTHREAD_ATTR_NO_SIGMASK_NP;
	}
	*mask = e->sigmask;
	return 0;
}

/* Deep copy of from into the uninitialized to. */
static int attr_copy(pthread_attr_t *to, const struct glibc_attr *from)
{
	memset(to, 0, sizeof *to);
	struct glibc_attr *t = A(to);
	*t = *from;
	t->extension = NULL;
	if (from->extension) {
		int err = 0;
		if (from->extension->cpuset)
			err = pthread_attr_setaffinity_np(to, from->extension->cpusetsize,
							  from->extension->cpuset);
		if (!err && from->extension->sigmask_set)
			err = pthread_attr_setsigmask_np(to, &from->extension->sigmask);
		if (err) {
			pthread_attr_destroy(to);
			return err;
		}
	}
	return 0;
}

SHIM_EXPORT int pthread_getattr_default_np(pthread_attr_t *attr)
{
	rt_init();
	lock(&default_lock);
	if (!default_inited) {
		default_attr.guardsize = pagesize();
		default_inited = true;
	}
	struct glibc_attr d = default_attr;
	unlock(&default_lock);
	d.stacksize = default_stack_size();
	/* The extension is shared read-only here and deep-copied. */
	return attr_copy(attr, &d);
}

SHIM_EXPORT int pthread_setattr_default_np(const pthread_attr_t *attr)
{
	rt_init();
	const struct glibc_attr *in = CA(attr);
	int err = check_policy(in->schedpolicy);
	if (err)
		return err;
	if (in->schedparam.sched_priority > 0 &&
	    (err = check_priority(in->schedpolicy, in->schedparam.sched_priority)))
		return err;
	if (in->stacksize != 0 && in->stacksize < GLIBC_STACK_MIN)
		return EINVAL;
	if (in->flags & ATTR_FLAG_STACKADDR)
		return EINVAL;
	pthread_attr_t copy;
	if ((err = attr_copy(&copy, in)))
		return err;
	lock(&default_lock);
	struct glibc_attr old = default_attr;
	default_attr = *A(&copy);
	default_inited = true;
	atomic_store(&default_custom, true);
	unlock(&default_lock);
	if (in->stacksize)
		set_default_stack_size(in->stacksize);
	pthread_attr_t o;
	memcpy(&o, &old, sizeof old);
	pthread_attr_destroy(&o);
	return 0;
}

bool attr_default_is_initial(void)
{
	return !atomic_load_explicit(&default_custom, memory_order_acquire);
}

void attr_initial_g_attr(struct g_attr *ga)
{
	ga->guard_size = pagesize();
}

void attr_to_g_attr(const pthread_attr_t *attr, struct g_attr *ga)
{
	const struct glibc_attr *a = CA(attr);
	ga->stack_size = a->stacksize;
	ga->guard_size = a->guardsize;
	ga->detached = a->flags & ATTR_FLAG_DETACHSTATE;
	if (a->flags & ATTR_FLAG_STACKADDR) {
		ga->stack_addr = a->stackaddr;
		/* glibc: a stack given without a size uses the default size */
		if (!ga->stack_size)
			ga->stack_size = default_stack_size();
		ga->guard_size = 0;
	}
	if (a->flags & ATTR_FLAG_NOTINHERITSCHED) {
		ga->explicit_sched = true;
		ga->sched_policy = a->schedpolicy;
		ga->sched_param = a->schedparam;
	}
	if (a->extension && a->extension->cpuset) {
		ga->affinity = a->extension->cpuset;
		ga->affinity_size = a->extension->cpusetsize;
	}
	if (a->extension && a->extension->sigmask_set)
		ga->sigmask = &a->extension->sigmask;
}

int attr_from_g(struct g *gp, pthread_attr_t *attr)
{
	pthread_attr_init(attr);
	struct glibc_attr *a = A(attr);
	a->stackaddr = gp->stack.hi;
	a->stacksize = (size_t)(gp->stack.hi - gp->stack.lo);
	a->guardsize = gp->guard_size;
	a->flags |= ATTR_FLAG_STACKADDR;
	if (atomic_load(&gp->join_state) == J_DETACHED)
		a->flags |= ATTR_FLAG_DETACHSTATE;
	a->schedpolicy = gp->sched_policy;
	a->schedparam = gp->sched_param;
	a->flags |= ATTR_FLAG_SCHED_SET | ATTR_FLAG_POLICY_SET;
	cpu_set_t set;
	if (gp->affinity)
		return pthread_attr_setaffinity_np(attr, gp->affinity_size, gp->affinity);
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return pthread_attr_setaffinity_np(attr, sizeof set, &set);
	return 0;
}
