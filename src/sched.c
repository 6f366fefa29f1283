/*
 * sched.c — the scheduler: schedule, find_runnable, park/ready, start_m,
 * stop_m, wake_p, acquire_p/release_p.
 *
 * Concepts (as in Go's proc.go).  A G is a thread of the program; an M is a
 * kernel thread; a P is the right to run one G at a time, and there are
 * gomaxprocs of them.  An M must hold a P to run a G.  Each M has a g0, the
 * context the scheduler itself runs in: a G never runs scheduler code on its
 * own stack beyond the switch, so a G's stack can be handed to another M the
 * moment its context is saved.
 *
 * Switching.  A G gives up its M through mcall(fn, arg): its context is
 * saved and the M continues either directly in the next G of its P's local
 * queue or, when there is none (or the P owes the global queue a look, or a
 * timer is due), on g0, which runs find_runnable.  Whichever context comes
 * next first runs fn(gp, arg) (finish_switch): park_m, gosched_m, goexit0.
 * Whatever must happen only once the G is off its stack — releasing the
 * lock that protects the wait queue it joined, queuing its timer, putting
 * it back on a run queue, freeing it — happens in fn, which is why park
 * takes an unlock function: a waker that takes the same lock can never see
 * a G that is queued but still running (the submit-then-wake rule from the
 * waker's side).  Going G to G directly halves the switches of a yield or
 * a hand-off between two threads on one P; the scheduler proper, which may
 * block the M, still only ever runs on g0.
 *
 * Run queues.  A new or readied G goes to its P's runnext, so a pair of
 * threads that hand work to each other stays on one P and inherits the time
 * slice; the previous runnext moves to the local queue.  find_runnable looks
 * at: the P's timers, the global queue every SCHED_GLOBAL_EVERY ticks
 * (fairness), runnext and the local queue, the global queue, then steals
 * half of a random victim's queue (timers and runnext of victims only on the
 * last of STEAL_TRIES passes).
 *
 * Spinning Ms.  An M with a P but no G "spins": it looks for work to steal.
 * At most half of the busy Ps' worth of Ms spin at once.  wake_p starts a
 * spinning M only when there is an idle P and no spinning M, so bursts of
 * new work do not wake one thread per G; a spinning M that finds work wakes
 * the next spinner (reset_spinning), which fans work out to every idle P.
 *
 * The spinning <-> idle hand-shake.  The submitter stores its work (runq
 * tail, timer heap), then a full barrier, then reads nmspinning/npidle in
 * wake_p.  An M going idle releases its P, decrements nmspinning (a full
 * barrier), then re-checks every run queue and every timer.  One of the two
 * always sees the other, so work is never stranded with all Ms asleep.
 *
 * Rejected: a G handing its P directly to the G it readies (thrashes Ms and
 * destroys locality); one global queue (a single lock for every switch);
 * running the scheduler on the G's stack (a G could then not migrate until
 * the scheduler returned).
 *
 * Idle Ms.  The first M to find no work and see timers pending or Gs
 * waiting for fds or semaphores (a signal handler's sem_post wakes
 * through the poller) blocks in netpoll until the earliest timer, or for
 * good when there is none (sched.lastpoll == 0 while it does); the others
 * sleep on their note in stop_m.  timer_add breaks the poller when it must wake
 * earlier.  An M with a P polls without blocking before it steals, and
 * sysmon polls when nobody has for 10 ms; what a poll readies goes through
 * injectglist.
 */
#include <errno.h>

#include "libc_real.h"
#include "runtime.h"

static inline uint32_t fastrand(struct m *mp)
{
	uint32_t x = mp->fastrand;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	mp->fastrand = x;
	return x;
}

/* ---------------------------------------------------------------- P and M lists */

/* sched.lock held. */
void pidle_put(struct p *pp)
{
	rt_assert(runq_empty(pp), "pidle_put: P has work");
	if (pp->spare && atomic_load(&pp->retire)) {
		atomic_store(&pp->status, P_SPARE);  /* retired while it ran */
		return;
	}
	pp->link = sched.pidle;
	sched.pidle = pp;
	atomic_fetch_add(&sched.npidle, 1);
}

/* sched.lock held. */
struct p *pidle_get(void)
{
	struct p *pp = sched.pidle;
	if (pp) {
		sched.pidle = pp->link;
		atomic_fetch_sub(&sched.npidle, 1);
	}
	return pp;
}

/* sched.lock held. */
static void mput(struct m *mp)
{
	mp->schedlink = sched.midle;
	sched.midle = mp;
	sched.nmidle++;
}

/* sched.lock held. */
static struct m *mget(void)
{
	struct m *mp = sched.midle;
	if (mp) {
		sched.midle = mp->schedlink;
		sched.nmidle--;
	}
	return mp;
}

void acquire_p(struct p *pp)
{
	struct m *mp = getg()->m;
	rt_assert(!mp->p && !pp->m, "acquire_p: already owned");
	mp->p = pp;
	pp->m = mp;
	atomic_store(&pp->status, P_RUNNING);
}

struct p *release_p(void)
{
	struct m *mp = getg()->m;
	struct p *pp = mp->p;
	rt_assert(pp && pp->m == mp, "release_p: not owner");
	pp->m = NULL;
	mp->p = NULL;
	atomic_store(&pp->status, P_IDLE);
	return pp;
}

/* ---------------------------------------------------------------- M start/stop */

/* Runs pp (an idle P if NULL) on an idle or new M.  With spinning, the
 * caller has already counted the M in sched.nmspinning. */
void start_m(struct p *pp, bool spinning)
{
	lock(&sched.lock);
	if (!pp) {
		pp = pidle_get();
		if (!pp) {
			unlock(&sched.lock);
			if (spinning)
				atomic_fetch_sub(&sched.nmspinning, 1);
			return;
		}
	}
	struct m *mp = mget();
	unlock(&sched.lock);
	if (mp) {
		mp->spinning = spinning;
		mp->nextp = pp;
		note_wakeup(&mp->park);
		return;
	}
	if (!newm(pp, spinning)) {
		static _Atomic int warned;
		if (!atomic_exchange(&warned, 1))
			rt_print("goshim: cannot create a kernel thread; running with fewer\n");
		lock(&sched.lock);
		pidle_put(pp);
		unlock(&sched.lock);
		if (spinning)
			atomic_fetch_sub(&sched.nmspinning, 1);
	}
}

/* Parks the M (no P held) until start_m hands it a P. */
void stop_m(struct m *mp)
{
	rt_assert(!mp->p, "stop_m: holding p");
	rt_assert(!mp->spinning, "stop_m: spinning");
	lock(&sched.lock);
	mput(mp);
	unlock(&sched.lock);
	note_sleep(&mp->park);
	note_clear(&mp->park);
	struct p *pp = mp->nextp;
	mp->nextp = NULL;
	acquire_p(pp);
}

void wake_p(void)
{
	/* Full barrier: the submitter's stores (run queue, timers) before the
	 * reads below; pairs with the idle M's decrement of nmspinning. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&sched.npidle) == 0 || atomic_load(&sched.nmspinning) != 0)
		return;
	int32_t z = 0;
	if (!atomic_compare_exchange_strong(&sched.nmspinning, &z, 1))
		return;
	start_m(NULL, true);
}

static void become_spinning(struct m *mp)
{
	mp->spinning = true;
	atomic_fetch_add(&sched.nmspinning, 1);
}

/* A spinning M found work: stop spinning and, if it was the last spinner
 * and Ps are idle, start another so work keeps fanning out. */
static void reset_spinning(struct m *mp)
{
	mp->spinning = false;
	int32_t n = atomic_fetch_sub(&sched.nmspinning, 1) - 1;
	rt_assert(n >= 0, "reset_spinning: negative nmspinning");
	if (n == 0 && atomic_load(&sched.npidle) > 0)
		wake_p();
}

/* ---------------------------------------------------------------- find_runnable */

/* A waiting G becomes runnable; anything else is a double wake. */
static void casg_runnable(struct g *gp)
{
	int32_t s = G_WAITING;
	if (!atomic_compare_exchange_strong(&gp->status, &s, G_RUNNABLE))
		rt_throw("ready: G not waiting");
}

void finish_switch(struct m *mp);

/* Steals a G from another P, running victims' timers on the last pass.
 * *new_work: timers made Gs runnable here (look at the local queue again). */
static struct g *steal_work(struct m *mp, int64_t *now, int64_t *poll_until, bool *new_work)
{
	struct p *pp = mp->p;
	*new_work = false;
	for (int i = 0; i < STEAL_TRIES; i++) {
		bool last = i == STEAL_TRIES - 1;
		uint32_t start = fastrand(mp) % (uint32_t)nallp;
		for (int32_t j = 0; j < nallp; j++) {
			struct p *p2 = allp[(start + (uint32_t)j) % (uint32_t)nallp];
			if (p2 == pp)
				continue;
			if (last) {
				bool ran = false;
				int64_t w = timers_check(p2, now, &ran);
				if (w && (*poll_until == 0 || w < *poll_until))
					*poll_until = w;
				if (ran) {
					bool inh;
					struct g *gp = runq_get(pp, &inh);
					if (gp)
						return gp;
					*new_work = true;
				}
			}
			int32_t s = atomic_load_explicit(&p2->status, memory_order_relaxed);
			if (s == P_IDLE || s == P_SPARE)
				continue;
			struct g *gp = runq_steal(pp, p2, last);
			if (gp)
				return gp;
		}
	}
	return NULL;
}

/* Earliest timer over all Ps, 0 if none. */
static int64_t timers_earliest(void)
{
	int64_t min = 0;
	for (int32_t i = 0; i < nallp; i++) {
		int64_t w = timers_next(allp[i]);
		if (w && (min == 0 || w < min))
			min = w;
	}
	return min;
}

/* The first G of what netpoll readied, to run here; the rest go to the
 * run queues. */
static struct g *polled_first(struct g *list)
{
	injectglist(list->schedlink);
	casg_runnable(list);
	return list;
}

/* Finds a G to run, blocking the M (and releasing its P) while there is
 * none.  Runs on g0; returns with a P held. */
static struct g *find_runnable(struct m *mp, bool *inherit_time)
{
	struct g *gp;
	struct p *pp;
	int64_t now, poll_until; /* now: 0 until read */

top:
	pp = mp->p;
	if (unlikely(atomic_load_explicit(&pp->retire, memory_order_relaxed))) {
		/* A retired spare: the M goes on with an idle P if there is
		 * one (it may be the only M that polls), else parks. */
		spare_retire(mp);
		lock(&sched.lock);
		pp = pidle_get();
		unlock(&sched.lock);
		if (pp)
			acquire_p(pp);
		else
			stop_m(mp);
		goto top;
	}
	now = 0;
	poll_until = timers_check(pp, &now, NULL);
	if (unlikely(netpoll_deliver_pending())) {
		struct g *list = netpoll_deliver();
		if (list)
			return polled_first(list);
	}

	if (pp->schedtick % SCHED_GLOBAL_EVERY == 0 &&
	    atomic_load_explicit(&sched.runqsize, memory_order_relaxed) > 0) {
		lock(&sched.lock);
		gp = globrunq_get(pp, 1);
		unlock(&sched.lock);
		if (gp) {
			*inherit_time = false;
			return gp;
		}
	}
	if ((gp = runq_get(pp, inherit_time)))
		return gp;
	if (atomic_load_explicit(&sched.runqsize, memory_order_relaxed) > 0) {
		lock(&sched.lock);
		gp = globrunq_get(pp, 0);
		unlock(&sched.lock);
		if (gp) {
			*inherit_time = false;
			return gp;
		}
	}

	*inherit_time = false;
	/* Ready I/O before stealing: it is this M's to run (Go's findrunnable
	 * does the same; an M blocked in netpoll makes lastpoll 0). */
	if (netpoll_anywaiters() && atomic_load(&sched.lastpoll) != 0) {
		struct g *list = netpoll(0);
		if (list)
			return polled_first(list);
	}
	if (mp->spinning ||
	    2 * atomic_load(&sched.nmspinning) < gomaxprocs - atomic_load(&sched.npidle)) {
		if (!mp->spinning)
			become_spinning(mp);
		bool new_work;
		gp = steal_work(mp, &now, &poll_until, &new_work);
		if (gp)
			return gp;
		if (new_work)
			goto top;
	}

	/* Nothing to do: give up the P. */
	lock(&sched.lock);
	if (atomic_load(&sched.runqsize) > 0) {
		gp = globrunq_get(pp, 0);
		unlock(&sched.lock);
		return gp;
	}
	pidle_put(release_p());
	unlock(&sched.lock);

	bool was_spinning = mp->spinning;
	if (mp->spinning) {
		mp->spinning = false;
		/* Full barrier (the hand-shake): decrement, then re-check. */
		int32_t n = atomic_fetch_sub(&sched.nmspinning, 1) - 1;
		rt_assert(n >= 0, "find_runnable: negative nmspinning");
		for (int32_t i = 0; i < nallp; i++) {
			if (runq_empty(allp[i]))
				continue;
			lock(&sched.lock);
			pp = pidle_get();
			unlock(&sched.lock);
			if (pp) {
				acquire_p(pp);
				become_spinning(mp);
				goto top;
			}
			break;
		}
	}

	poll_until = timers_earliest();
	/* A semaphore's waiter may be woken by a signal handler's post,
	 * which only the poller carries out. */
	if ((poll_until != 0 || netpoll_anywaiters() || sema_anywaiters()) &&
	    atomic_exchange(&sched.lastpoll, 0) != 0) {
		int64_t delay = -1;
		if (poll_until != 0) {
			atomic_store(&sched.polluntil, poll_until);
			delay = poll_until - nanotime();
			if (delay < 0)
				delay = 0;
		}
		struct g *list = netpoll(delay);
		atomic_store(&sched.polluntil, 0);
		atomic_store(&sched.lastpoll, nanotime());
		lock(&sched.lock);
		pp = pidle_get();
		unlock(&sched.lock);
		if (pp) {
			acquire_p(pp);
			if (was_spinning)
				become_spinning(mp);
			if (list)
				return polled_first(list);
			goto top;
		}
		injectglist(list);
	} else if (poll_until != 0) {
		int64_t until = atomic_load(&sched.polluntil);
		if (until == 0 || until > poll_until)
			netpoll_break();
	}
	stop_m(mp);
	goto top;
}

/* ---------------------------------------------------------------- schedule */

/* Finishes the switch that brought the M here: runs the leaving G's
 * after-function (see mcall).  Called by every context a switch lands in:
 * sched_loop on g0, mcall when a G resumes, g_start when a G starts. */
void finish_switch(struct m *mp)
{
	void (*fn)(struct g *, void *) = mp->after_fn;
	if (fn) {
		mp->after_fn = NULL;
		fn(mp->after_gp, mp->after_arg);
	}
}

/* Switches from the context saved into *save to gp, making it the M's
 * current G.  A G that never ran starts on its empty stack. */
static inline void switch_to(struct m *mp, struct ctx *save, struct g *gp, bool inherit_time)
{
	mp->curg = gp;
	gp->m = mp;
	atomic_store_explicit(&gp->status, G_RUNNING, memory_order_relaxed);
	struct p *pp = mp->p;
	if (!inherit_time)
		pp->schedtick++;
	atomic_store_explicit(&pp->nswitch, pp->nswitch + 1, memory_order_relaxed);
	/* A G's signal mask goes with it (system calls only when the G
	 * before it had another).  Across the FS switch, which makes gp the
	 * thread a handler runs in, the kernel thread blocks what either
	 * blocks: no handler runs in a G that blocks its signal. */
	uint64_t mask = atomic_load_explicit(&gp->sigmask, memory_order_relaxed);
	if (unlikely((mask | mp->kmask) != mp->kmask))
		m_setmask(mp, mask | mp->kmask);
	if (likely(!godebug.notlsswitch))
		tls_set(gp->tp);
	else
		g_cur = gp;
	if (unlikely(mask != mp->kmask))
		m_setmask(mp, mask);
	if (unlikely(!gp->ctx.sp))
		rt_ctx_start(save, gp->stack.hi, g_start, gp);
	else
		rt_ctx_switch(save, &gp->ctx);
}

/* gp must resume on the M it waits on (exitsyscall0): that M gets gp,
 * to run next, with this M's P, and this M goes idle (Go's startlockedm). */
static void handoff_locked(struct m *mp, struct g *gp)
{
	struct m *m2 = gp->lockedm;
	gp->lockedm = NULL;
	if (mp->spinning)
		reset_spinning(mp);
	m2->nextg = gp;  /* in no queue: no other M can take it */
	m2->nextp = release_p();
	note_wakeup(&m2->park);
	stop_m(mp);
}

void sched_loop(struct m *mp)
{
	for (;;) {
		finish_switch(mp);
		bool inherit_time = true;
		struct g *gp = mp->nextg;
		mp->nextg = NULL;
		if (likely(!gp))
			gp = find_runnable(mp, &inherit_time);
		if (unlikely(gp->lockedm && gp->lockedm != mp)) {
			handoff_locked(mp, gp);
			continue;
		}
		if (mp->spinning)
			reset_spinning(mp);
		switch_to(mp, &mp->g0->ctx, gp, inherit_time);
		/* Back on g0: a G called mcall and found no local G. */
	}
}

static void g0_main(void *mp)
{
	sched_loop(mp);
}

/* The G that mcall may switch to directly, without the round trip
 * through g0: the next local G, unless the P owes the global queue its
 * periodic look, has timers due, or a signal handler left work for the
 * poller (find_runnable handles all three). */
static struct g *next_local(struct p *pp, bool *inherit_time)
{
	if (unlikely(atomic_load_explicit(&pp->retire, memory_order_relaxed)))
		return NULL; /* a retired spare: find_runnable gives it back */
	if (pp->schedtick % SCHED_GLOBAL_EVERY == 0 &&
	    atomic_load_explicit(&sched.runqsize, memory_order_relaxed) > 0)
		return NULL; /* find_runnable's fairness look, same test */
	int64_t w = timers_next(pp);
	if (w && w <= nanotime())
		return NULL;
	if (unlikely(netpoll_deliver_pending()))
		return NULL; /* find_runnable delivers it */
	return runq_get(pp, inherit_time);
}

void mcall(void (*fn)(struct g *gp, void *arg), void *arg)
{
	struct g *gp = getg();
	struct m *mp = gp->m;
	rt_assert(!gp->is_g0, "mcall: on g0");
	mp->after_fn = fn;
	mp->after_gp = gp;
	mp->after_arg = arg;
	gp->m = NULL;
	bool inherit_time;
	/* Without a P (exitsyscall found none) there is nothing local. */
	struct g *next = mp->p ? next_local(mp->p, &inherit_time) : NULL;
	if (unlikely(next && next->lockedm)) {
		runq_put(mp->p, next, true);  /* for sched_loop's handoff_locked */
		next = NULL;
	}
	if (next) {
		switch_to(mp, &gp->ctx, next, inherit_time);
	} else {
		mp->curg = NULL;
		if (likely(!godebug.notlsswitch))
			tls_set(mp->g0->tp);
		else
			g_cur = mp->g0;
		if (unlikely(!mp->g0->ctx.sp)) /* M0's g0 runs for the first time */
			rt_ctx_start(&gp->ctx, mp->g0->stack.hi, g0_main, mp);
		else
			rt_ctx_switch(&gp->ctx, &mp->g0->ctx);
	}
	/* Resumed, maybe on another M, which set gp->m and the FS base. */
	finish_switch(gp->m);
}

struct park_args {
	bool (*unlockf)(struct g *gp, void *arg);
	void *arg;
};

static void park_m(struct g *gp, void *arg)
{
	struct park_args *pa = arg;
	/* store-release: wakers see it through unlockf's release (a lock, a
	 * timer queued under a lock) and CAS it in ready */
	atomic_store_explicit(&gp->status, G_WAITING, memory_order_release);
	if (pa->unlockf && !pa->unlockf(gp, pa->arg)) {
		/* Not parked after all: run it next. */
		atomic_store(&gp->status, G_RUNNABLE);
		runq_put(getg()->m->p, gp, true);
	}
}

void park(bool (*unlockf)(struct g *gp, void *arg), void *arg, enum wait_reason reason)
{
	struct g *gp = getg();
	struct park_args pa = { unlockf, arg };
	gp->waitreason = reason;
	int64_t now = atomic_load_explicit(&sched.coarsenow, memory_order_relaxed);
	gp->waitsince = now ? now : nanotime_coarse();
	mcall(park_m, &pa);
	gp->waitreason = WAIT_NONE;
}

void ready(struct g *gp)
{
	casg_runnable(gp);
	runq_put_here(gp);
}

/* Makes the waiting Gs of list (linked through schedlink; netpoll's) runnable.
 * Without a P they all go to the global queue; with one, as many as there
 * are idle Ps go there and the rest to the local queue, so a burst of
 * ready connections fans out over the Ps instead of queuing behind the
 * poller's P.  Either way an M starts for each idle P that has a G. */
void injectglist(struct g *list)
{
	if (!list)
		return;
	int32_t n = 0;
	struct g *tail = NULL;
	for (struct g *gp = list; gp; gp = gp->schedlink) {
		casg_runnable(gp);
		tail = gp;
		n++;
	}
	struct g *me = getg();
	struct p *pp = (me && me->m) ? me->m->p : NULL;
	int32_t nglob = n;
	if (pp) {
		int32_t idle = atomic_load(&sched.npidle);
		if (nglob > idle)
			nglob = idle;
	}
	if (nglob > 0) {
		struct g *head = list, *last = list;
		for (int32_t i = 1; i < nglob; i++)
			last = last->schedlink;
		list = last->schedlink;
		lock(&sched.lock);
		globrunq_put_batch(head, nglob == n ? tail : last, nglob);
		unlock(&sched.lock);
		for (int32_t i = 0; i < nglob && atomic_load(&sched.npidle) > 0; i++)
			start_m(NULL, false);
		if (nglob == n)
			return;
	}
	while (list) {
		struct g *gp = list;
		list = gp->schedlink;
		runq_put(pp, gp, false);
	}
	wake_p();
}

void runq_put_here(struct g *gp)
{
	struct g *me = getg();
	struct p *pp = (me && me->m) ? me->m->p : NULL;
	if (pp) {
		runq_put(pp, gp, true);
	} else {
		lock(&sched.lock);
		globrunq_put(gp);
		unlock(&sched.lock);
	}
	wake_p();
}

static void gosched_m(struct g *gp, void *arg)
{
	(void)arg;
	/* store-release: published by runq_put's own release */
	atomic_store_explicit(&gp->status, G_RUNNABLE, memory_order_release);
	runq_put(getg()->m->p, gp, false);
}

/* Whether yielding would run something else: a queued G, or a timer of
 * this P that is due (it readies a sleeper only once the scheduler runs). */
bool sched_has_work(struct p *pp)
{
	if (!runq_empty(pp) || atomic_load_explicit(&sched.runqsize, memory_order_relaxed) > 0)
		return true;
	int64_t w = timers_next(pp);
	return w && w <= nanotime();
}

void gosched(void)
{
	mcall(gosched_m, NULL);
}

/* ---------------------------------------------------------------- sleep */

/* A sleep is a netpoll wait for no fd: its deadline timer, and an end
 * that pthread_cancel (intr.c) or a signal's handler can bring forward. */
int rt_sleep_until(int64_t when)
{
	struct g *gp = getg_user();
	if (when <= nanotime()) {
		if (sched_has_work(gp->m->p))
			gosched();
		return 0;
	}
	return netpoll_wait(NULL, 0, when, WAIT_SLEEP) == -EINTR ? -EINTR : 0;
}
