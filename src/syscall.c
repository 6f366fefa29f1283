/*
 * syscall.c — the P around calls that block the kernel thread (Go's
 * entersyscall, entersyscallblock, exitsyscall, and sysmon's retake).
 *
 * The G keeps its M for the call itself: the kernel thread is what blocks.
 * Two ways to let the other Gs run meanwhile:
 *
 * entersyscall, for calls that usually return at once: the P stays behind
 * in state P_SYSCALL, with no M.  If the call returns soon, exitsyscall
 * takes the same P back with one CAS.  If it lasts, sysmon's retake CASes
 * the P to idle and hands it off (after one of its rounds, 20 us or more,
 * when the P has work or no other P can take new work, or after 10 ms
 * anyway); exitsyscall then finds its P gone.
 *
 * entersyscallblock, for calls that are expected to block (a process-shared
 * mutex that is held, a wait for a child): the P is handed off at once.
 *
 * exitsyscall without its old P takes any idle P, or, when there is none,
 * queues the G globally and its M goes idle.
 *
 * handoffp decides what becomes of the P (Go's handoffp): an M runs it at
 * once if it has work, or work waits globally, or nobody is spinning and no
 * P is idle (someone must look for work), or it is the last P and nobody
 * polls (its timers need an M); otherwise it goes idle and the netpoller is
 * told about its earliest timer.
 */
#include "runtime.h"

static inline void tick(struct p *pp)
{
	atomic_store_explicit(&pp->syscalltick,
			      atomic_load_explicit(&pp->syscalltick, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

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

void entersyscall(void)
{
	struct g *gp = getg_user();
	struct m *mp = gp->m;
	struct p *pp = mp->p;
	rt_assert(pp, "entersyscall: no P");
	tick(pp);
	mp->oldp = pp;
	mp->p = NULL;
	pp->m = NULL;
	atomic_store(&gp->status, G_SYSCALL);
	/* store-release: retake sees the tick and the M gone */
	atomic_store_explicit(&pp->status, P_SYSCALL, memory_order_release);
}

void entersyscallblock(void)
{
	struct g *gp = getg_user();
	rt_assert(gp && gp->m->p, "entersyscallblock: not a G with a P");
	gp->m->oldp = NULL;
	atomic_store(&gp->status, G_SYSCALL);
	handoffp(release_p());
}

/* sysmon: hands off the Ps whose M has been in a system call since its
 * previous look.  last[] is sysmon's own record per P. */
int retake(int64_t now, struct retake_state *last)
{
	int n = 0;
	for (int32_t i = 0; i < nallp; i++) {
		struct p *pp = allp[i];
		struct retake_state *r = &last[i];
		if (atomic_load_explicit(&pp->status, memory_order_acquire) != P_SYSCALL)
			continue;
		uint32_t t = atomic_load_explicit(&pp->syscalltick, memory_order_relaxed);
		if (r->syscalltick != t) {
			r->syscalltick = t;
			r->syscallwhen = now;
			continue;
		}
		/* Leave a P with nothing to do alone while others can take new
		 * work, for up to 10 ms. */
		int64_t w = timers_next(pp);
		if (runq_empty(pp) && !(w && w <= now) &&
		    atomic_load(&sched.nmspinning) + atomic_load(&sched.npidle) > 0 &&
		    now - r->syscallwhen < RETAKE_IDLE_NS)
			continue;
		int32_t s = P_SYSCALL;
		if (atomic_compare_exchange_strong(&pp->status, &s, P_IDLE)) {
			n++;
			handoffp(pp);
		}
	}
	return n;
}

/* On g0 of an M that came back from a system call and found no P. */
static void exitsyscall0(struct g *gp, void *keepm)
{
	struct m *mp = getg()->m;
	lock(&sched.lock);
	struct p *pp = pidle_get();
	atomic_store(&gp->status, G_RUNNABLE);
	if (!pp) {
		/* With keepm, gp resumes on this M: whoever picks gp hands
		 * its P over (handoff_locked). */
		if (keepm)
			gp->lockedm = mp;
		globrunq_put(gp);
	}
	unlock(&sched.lock);
	if (pp) {
		/* Got one after all: gp runs next, here (with keepm out of
		 * any queue, where another M could take it). */
		acquire_p(pp);
		if (keepm)
			mp->nextg = gp;
		else
			runq_put(pp, gp, true);
		return;
	}
	if (!keepm) {
		stop_m(mp);
		return;
	}
	/* Not on the idle list: only gp's picker wakes this M. */
	note_sleep(&mp->park);
	note_clear(&mp->park);
	pp = mp->nextp;
	mp->nextp = NULL;
	acquire_p(pp);  /* gp is its nextg */
}

static void exitsyscall_(bool keepm)
{
	struct g *gp = getg_user();
	struct m *mp = gp->m;
	struct p *pp = mp->oldp;
	mp->oldp = NULL;
	int32_t s = P_SYSCALL;
	if (pp && atomic_compare_exchange_strong(&pp->status, &s, P_RUNNING)) {
		/* The fast path: nobody retook it. */
		mp->p = pp;
		pp->m = mp;
		tick(pp);
		atomic_store(&gp->status, G_RUNNING);
		return;
	}
	lock(&sched.lock);
	pp = pidle_get();
	unlock(&sched.lock);
	if (pp) {
		acquire_p(pp);
		atomic_store(&gp->status, G_RUNNING);
		return;
	}
	/* No P: give up the M (mcall goes to g0 when the M has no P). */
	mcall(exitsyscall0, keepm ? mp : NULL);
}

/* Signals sent to the G during the call that its kick did not raise
 * (it came before the call, or the G blocks them) are raised on the way
 * back to the program. */
void exitsyscall(void)
{
	exitsyscall_(false);
	sigintr_check(getg_user());
}

void exitsyscall_keepm(void)
{
	exitsyscall_(true);
	sigintr_check(getg_user());
}
