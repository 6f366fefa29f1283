/*
 * attr.h — pthread_attr_t as glibc 2.36 lays it out (nptl's struct
 * pthread_attr and struct pthread_attr_extension).  goshim's attr functions
 * write this exact layout, so an attr built by goshim and one built before
 * the preload took over (or passed to glibc-internal code, such as
 * SIGEV_THREAD timers) mean the same thing to both, and
 * pthread_attr_destroy from either frees the other's extension.
 */
#ifndef GOSHIM_ATTR_H
#define GOSHIM_ATTR_H

#include "shim.h"

struct glibc_attr_ext {
	cpu_set_t *cpuset;
	size_t cpusetsize;
	sigset_t sigmask;
	bool sigmask_set;
};

struct glibc_attr {
	struct sched_param schedparam;
	int schedpolicy;
	int flags;
	size_t guardsize;
	void *stackaddr;        /* the stack's top (highest address) */
	size_t stacksize;
	struct glibc_attr_ext *extension;  /* malloc'd, or NULL */
	void *unused;
};

_Static_assert(sizeof(struct glibc_attr) <= sizeof(pthread_attr_t),
	       "glibc_attr must fit pthread_attr_t");

/* glibc's own minimum stack size on x86-64 (PTHREAD_STACK_MIN is a
 * sysconf call under _GNU_SOURCE since 2.34; the checks use the constant). */
#define GLIBC_STACK_MIN 16384

#define ATTR_FLAG_DETACHSTATE     0x0001
#define ATTR_FLAG_NOTINHERITSCHED 0x0002
#define ATTR_FLAG_SCOPEPROCESS    0x0004
#define ATTR_FLAG_STACKADDR       0x0008
#define ATTR_FLAG_OLDATTR         0x0010
#define ATTR_FLAG_SCHED_SET       0x0020
#define ATTR_FLAG_POLICY_SET      0x0040

/* What pthread_create needs of attr; ga points into attr. */
void attr_to_g_attr(const pthread_attr_t *attr, struct g_attr *ga);
/* pthread_create's fast path for a NULL attr: true while the process
 * default is glibc's initial one, which attr_initial_g_attr describes. */
bool attr_default_is_initial(void);
void attr_initial_g_attr(struct g_attr *ga);
/* Fills attr (pthread_attr_init'ed here) with gp's actual attributes. */
int attr_from_g(struct g *gp, pthread_attr_t *attr);

#endif
