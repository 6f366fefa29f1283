/*
 * sleep.c — sleeps and yields: nanosleep, clock_nanosleep, usleep, sleep,
 * sched_yield, pthread_yield.  A G sleeps on a timer of its P and gives the
 * M to other Gs meanwhile.  The sleeps are cancellation points: on entry,
 * and while they sleep; a signal's handler ends them with EINTR, as the
 * kernel's (sigintr_post picks the thread).
 */
#include <time.h>
#include <unistd.h>

#include "io.h"

/* Sleeps the calling G until the monotonic deadline: 0, or -EINTR when
 * a signal's handler ended the sleep (as the kernel's, whatever the
 * handler's SA_RESTART), with *rem (if rem) the time left. */
static int sleep_until(struct g *gp, int64_t deadline, struct timespec *rem)
{
	shim_testcancel(gp);
	if (rt_sleep_until(deadline) == 0)
		return 0;
	shim_testcancel(gp);
	if (rem)
		*rem = shim_remaining(deadline);
	return -EINTR;
}

static void yield_g(struct g *gp)
{
	if (sched_has_work(gp->m->p))
		gosched();
	sigintr_check(gp);  /* what pthread_kill sent it meanwhile */
}

SHIM_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	struct g *gp = shim_g_waits();
	if (!gp)
		return HANDOFF(true, real.nanosleep(req, rem));
	if (req->tv_sec < 0 || !shim_timespec_valid(req)) {
		errno = EINVAL;
		return -1;
	}
	if (sleep_until(gp, shim_rel_deadline(req), rem) == -EINTR) {
		errno = EINTR;
		return -1;
	}
	return 0;
}

/* Clocks a G can sleep on with the runtime's timers; CPU-time clocks and
 * the alarm clocks stay with the kernel. */
static bool timer_clock(clockid_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC ||
	       clock == CLOCK_BOOTTIME || clock == CLOCK_TAI;
}

SHIM_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
				struct timespec *rem)
{
	struct g *gp = shim_g_waits();
	if (clock == CLOCK_THREAD_CPUTIME_ID)
		return EINVAL;
	if (!gp || !timer_clock(clock))
		return HANDOFF(true, real.clock_nanosleep(clock, flags, req, rem));
	if (!shim_timespec_valid(req) || req->tv_sec < 0)
		return EINVAL;
	if (flags & TIMER_ABSTIME)
		return -sleep_until(gp, shim_deadline(clock, req), NULL);
	return -sleep_until(gp, shim_rel_deadline(req), rem);
}

SHIM_EXPORT int usleep(useconds_t usec)
{
	struct g *gp = shim_g_waits();
	if (!gp)
		return HANDOFF(true, real.usleep(usec));
	struct timespec ts = { usec / 1000000, (long)(usec % 1000000) * 1000 };
	if (sleep_until(gp, shim_rel_deadline(&ts), NULL) == -EINTR) {
		errno = EINTR;
		return -1;
	}
	return 0;
}

SHIM_EXPORT unsigned int sleep(unsigned int seconds)
{
	struct g *gp = shim_g_waits();
	if (!gp)
		return (unsigned int)HANDOFF(true, (long)real.sleep(seconds));
	struct timespec ts = { seconds, 0 };
	/* Interrupted: the whole seconds not slept, errno EINTR (glibc's). */
	if (sleep_until(gp, shim_rel_deadline(&ts), &ts) == -EINTR) {
		errno = EINTR;
		return (unsigned int)ts.tv_sec;
	}
	return 0;
}

SHIM_EXPORT int sched_yield(void)
{
	struct g *gp = shim_g_waits();
	if (!gp)
		return real.sched_yield();
	yield_g(gp);
	return 0;
}

/* glibc's header redirects pthread_yield to sched_yield; the exported
 * symbol still exists for programs built before that, so define it under
 * its own assembler name. */
SHIM_EXPORT int shim_pthread_yield(void) __asm__("pthread_yield");

SHIM_EXPORT int shim_pthread_yield(void)
{
	return sched_yield();
}
