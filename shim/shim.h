/*
 * shim.h — what every interposed function needs: the export attribute, the
 * init guard, and the real glibc table.  Exported names are listed in
 * shim/exports.map; everything else in libgoshim is hidden.
 */
#ifndef GOSHIM_SHIM_H
#define GOSHIM_SHIM_H

#include <errno.h>
#include <pthread.h>

#include "../src/libc_real.h"
#include "../src/runtime.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
/* Another exported name of the function name, with its attributes. */
#define SHIM_ALIAS(name) __attribute__((alias(#name), copy(name)))

/* Entry guard: initializes the runtime on first use and returns the calling
 * program G, or NULL when the call must go to glibc (foreign thread, g0,
 * re-entry during init). */
static inline struct g *shim_g(void)
{
	if (unlikely(rt_init() != 0))
		return NULL;
	return getg_user();
}

/* For a call that goes to glibc's own whoever calls: resolves the real
 * table first (a library's constructor may call it before goshim's runs,
 * as libselinux's does with stdio under ls). */
static inline void shim_real(void)
{
	(void)rt_init();
}

/* The program's signal handlers running on this thread: signal.c's
 * trampoline records the stack address of its frame for each, innermost
 * last, in the running G's TLS (its M's when no G runs). */
#define SHIM_SIGFRAMES 8
struct shim_sigframes {
	unsigned depth;
	uint32_t clean;  /* bit i: frame i's handler was raised by goshim
			    where the runtime holds nothing of the G */
	uintptr_t frame[SHIM_SIGFRAMES];
	uint64_t hmask[SHIM_SIGFRAMES];  /* the G's hmask before frame i */
};
extern __thread struct shim_sigframes shim_sigframes __attribute__((tls_model("initial-exec")));
bool shim_in_handler_slow(void);

/* A program's signal handler runs on this thread.  It may have stopped
 * the thread anywhere in goshim, a runtime lock held or a run queue half
 * changed: what it calls must wait for neither (its blocking calls block
 * the kernel thread, as natively). */
static inline bool shim_in_handler(void)
{
	return unlikely(shim_sigframes.depth != 0) && shim_in_handler_slow();
}

/* The calling G when it may park: shim_g's, but none in a handler. */
static inline struct g *shim_g_waits(void)
{
	struct g *gp = shim_g();
	return gp && !shim_in_handler() ? gp : NULL;
}

/* The calling G when a call that blocks its kernel thread may hand the P
 * off meanwhile: shim_g_waits's, and in a handler goshim raised where the
 * runtime holds nothing of the G (a signal pthread_kill sent it) too.
 * Such a handler still parks nothing (its frame is on the kernel thread's
 * signal state), but the thread-stopping handlers of garbage collectors
 * (sigsuspend until the collector is done) must not keep the P from the
 * collector. */
static inline struct g *shim_g_syscall(void)
{
	struct g *gp = shim_g();
	if (!gp || !shim_in_handler())
		return gp;
	const struct shim_sigframes *f = &shim_sigframes;
	return f->depth <= SHIM_SIGFRAMES && (f->clean >> (f->depth - 1) & 1) ? gp : NULL;
}

/* Monotonic deadline for a relative time from now (clamped far ahead). */
int64_t shim_rel_deadline(const struct timespec *rel);
/* Monotonic deadline for an absolute time on clock, or -1 on error. */
int64_t shim_deadline(clockid_t clock, const struct timespec *abstime);
bool shim_timespec_valid(const struct timespec *ts);
/* What is left until a monotonic deadline, as a relative timespec (zero
 * once it has passed). */
struct timespec shim_remaining(int64_t deadline);

/* Acts upon gp's due cancellation request: gp exits with
 * PTHREAD_CANCELED (cancel.c). */
void cancel_act(struct g *gp) __attribute__((noreturn));

/* A cancellation point: acts upon a due request. */
static inline void shim_testcancel(struct g *gp)
{
	if (unlikely(g_cancel_due(gp)))
		cancel_act(gp);
}

/* Around a cancellation point's system call on gp's M (a hand-off): a
 * request ends it with EINTR.  cancel_enter acts upon a due request. */
void cancel_enter(struct g *gp, struct intrhook *h);
void cancel_leave(struct g *gp, struct intrhook *h);

/* The G behind a pthread_t, or NULL if it names no live thread. */
static inline struct g *shim_thread(pthread_t th)
{
	struct g *gp = (struct g *)th;
	return g_valid(gp) ? gp : NULL;
}

/* Declares gp, the G th names.  A pthread_t that names no G is ESRCH when
 * a G asks, and glibc's own business (foreign_call) when a thread goshim
 * does not run asks about one of its peers. */
#define THREAD_OR_RETURN(gp, th, foreign_call)			\
	struct g *gp = shim_thread(th);				\
	if (!gp)						\
		return shim_g() ? ESRCH : (foreign_call)

#endif
