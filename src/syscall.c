/*
 * syscall.c — the P hand-off around calls that block the kernel thread
 * (Go's entersyscallblock / exitsyscall).
 *
 * A G about to make a call that may block in the kernel (a process-shared
 * mutex or semaphore, a futex op goshim does not emulate) gives up its P
 * first, so the other Gs keep running on another M; afterwards it takes any
 * idle P, or, when there is none, queues itself globally and its M goes
 * idle.  The G keeps its M for the call itself: the kernel thread is what
 * blocks.
 *
 * handoffp decides what becomes of the P (Go's handoffp): an M runs it at
 * once if it has work, or work waits globally, or nobody is spinning and no
 * P is idle (someone must look for work), or it is the last P and nobody
 * polls (its timers need an M); otherwise it goes idle and the netpoller is
 * told about its earliest timer.
 */
#include "runtime.h"

static void handoffp(struct p *pp)
{
	if (!runq_empty(pp) || atomic_load(&sched.runqsize) > 0) {
		start_m(pp, false);
		return;
	}
	if (atomic_load(&sched.nmspinning) + atomic_load(&sched.npidle) == 0) {
		int32_t z = 0;
		if (atomic_compare_exchange_strong(&sched.nmspinning, &z, 1)) {
			start_m(pp, true);
			return;
		}
	}
	lock(&sched.lock);
	if (atomic_load(&sched.runqsize) > 0 ||
	    (atomic_load(&sched.npidle) == gomaxprocs - 1 && atomic_load(&sched.lastpoll) != 0)) {
		unlock(&sched.lock);
		start_m(pp, false);
		return;
	}
	int64_t when = timers_next(pp);
	pidle_put(pp);
	unlock(&sched.lock);
	if (when)
		timer_wake(when);
}

void entersyscallblock(void)
{
	struct g *gp = getg_user();
	rt_assert(gp && gp->m->p, "entersyscallblock: not a G with a P");
	atomic_store(&gp->status, G_SYSCALL);
	handoffp(release_p());
}

/* On g0 of an M that came back from a system call and found no P. */
static void exitsyscall0(struct g *gp, void *arg)
{
	(void)arg;
	struct m *mp = getg()->m;
	lock(&sched.lock);
	struct p *pp = pidle_get();
	atomic_store(&gp->status, G_RUNNABLE);
	if (!pp)
		globrunq_put(gp);
	unlock(&sched.lock);
	if (pp) {
		/* Got one after all: gp runs next, here. */
		acquire_p(pp);
		runq_put(pp, gp, true);
		return;
	}
	stop_m(mp);
}

void exitsyscall(void)
{
	struct g *gp = getg_user();
	lock(&sched.lock);
	struct p *pp = pidle_get();
	unlock(&sched.lock);
	if (pp) {
		acquire_p(pp);
		atomic_store(&gp->status, G_RUNNING);
		return;
	}
	/* No P: give up the M (mcall goes to g0 when the M has no P). */
	mcall(exitsyscall0, NULL);
}
