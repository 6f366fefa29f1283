/*
 * check_runq.c — the local run queue (FIFO, runnext, index wrap-around,
 * overflow to the global queue, stealing half), the global queue's fair
 * share, and a concurrent put/steal that must hand out every G exactly once.
 *
 * The local queues here are private Ps the live scheduler never sees.  The
 * global queue is the live one: no other M of the test process holds a P
 * (each case runs in a forked child, which keeps only the forking M), so
 * none looks at it, and whatever a case puts there it takes back at once.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "unit.h"

START_TEST(test_runq__fifo)
{
	struct p *pp = private_p();
	struct g *gs = fake_gs(10);
	bool inh = true;
	ck_assert(runq_empty(pp));
	ck_assert_ptr_null(runq_get(pp, &inh));
	ck_assert(!inh);
	for (int i = 0; i < 10; i++)
		runq_put(pp, &gs[i], false);
	ck_assert_uint_eq(runq_size(pp), 10);
	ck_assert(!runq_empty(pp));
	for (int i = 0; i < 10; i++) {
		inh = true;
		ck_assert_ptr_eq(runq_get(pp, &inh), &gs[i]);
		ck_assert(!inh);
		ck_assert_uint_eq(runq_size(pp), (unsigned)(9 - i));
	}
	ck_assert_ptr_null(runq_get(pp, &inh));
	ck_assert(runq_empty(pp));
	ck_assert_ptr_null(runq_get(pp, NULL)); /* inherit_time is optional */
}
END_TEST

/* Head and tail are free-running 32-bit counters: FIFO order and sizes
 * hold across the ring's end and across the counters' wrap to 0. */
START_TEST(test_runq__fifo_across_wrap)
{
	enum { N = 3 * RUNQ_SIZE + 17, BURST = RUNQ_SIZE - 6 };
	struct p *pp = private_p();
	struct g *gs = fake_gs(N);
	atomic_store(&pp->runqhead, UINT32_MAX - 100);
	atomic_store(&pp->runqtail, UINT32_MAX - 100);
	int put = 0, got = 0;
	while (got < N) {
		for (int k = 0; k < BURST && put < N; k++)
			runq_put(pp, &gs[put++], false);
		ck_assert_uint_eq(runq_size(pp), (unsigned)(put - got));
		/* Take all but a few, so the next burst starts mid-ring. */
		int keep = put < N ? 5 : 0;
		while (put - got > keep) {
			ck_assert_ptr_eq(runq_get(pp, NULL), &gs[got]);
			got++;
		}
	}
	ck_assert(runq_empty(pp));
	uint32_t tail = atomic_load(&pp->runqtail);
	ck_assert_uint_lt(tail, 1000); /* it did wrap */
}
END_TEST

START_TEST(test_runq__runnext)
{
	struct p *pp = private_p();
	struct g *gs = fake_gs(4);
	bool inh;
	runq_put(pp, &gs[0], true);
	/* runnext alone: not in the ring, but the queue is not empty. */
	ck_assert_uint_eq(runq_size(pp), 0);
	ck_assert(!runq_empty(pp));
	ck_assert_ptr_eq(runq_get(pp, &inh), &gs[0]);
	ck_assert(inh);
	ck_assert(runq_empty(pp));

	runq_put(pp, &gs[0], false);
	runq_put(pp, &gs[1], true);
	runq_put(pp, &gs[2], true); /* kicks gs[1] to the tail */
	runq_put(pp, &gs[3], false);
	ck_assert_uint_eq(runq_size(pp), 3);
	ck_assert_ptr_eq(runq_get(pp, &inh), &gs[2]);
	ck_assert(inh);
	ck_assert_ptr_eq(runq_get(pp, &inh), &gs[0]);
	ck_assert(!inh);
	ck_assert_ptr_eq(runq_get(pp, &inh), &gs[1]);
	ck_assert(!inh);
	ck_assert_ptr_eq(runq_get(pp, &inh), &gs[3]);
	ck_assert_ptr_null(runq_get(pp, &inh));
	ck_assert(!inh);
}
END_TEST

/* Takes every G off the global queue into out (in queue order), checking
 * that the list, its tail and sched.runqsize agree.  sched.lock held. */
static int drain_global_locked(struct g **out, int max)
{
	int n = 0;
	struct g *last = NULL;
	int32_t size = atomic_load(&sched.runqsize);
	for (struct g *gp = sched.runqhead; gp; gp = gp->schedlink) {
		ck_assert_int_lt(n, max);
		out[n++] = gp;
		last = gp;
	}
	ck_assert_ptr_eq(sched.runqtail, last);
	ck_assert_int_eq(size, n);
	sched.runqhead = sched.runqtail = NULL;
	atomic_store(&sched.runqsize, 0);
	return n;
}

static int drain_global(struct g **out, int max)
{
	lock(&sched.lock);
	int n = drain_global_locked(out, max);
	unlock(&sched.lock);
	return n;
}

static int32_t pstatus_of(struct p *pp)
{
	return atomic_load(&pp->status);
}

/* No M but the test's holds a P, so none looks at the global queue. */
static void assert_no_other_p_running(void)
{
	struct p *mine = getg_user()->m->p;
	for (int32_t i = 0; i < gomaxprocs; i++)
		if (allp[i] != mine)
			ck_assert_int_eq(pstatus_of(allp[i]), P_IDLE);
}

static int32_t global_size(void)
{
	return atomic_load(&sched.runqsize);
}

static void assert_global_empty(void)
{
	lock(&sched.lock);
	int32_t size = atomic_load(&sched.runqsize);
	struct g *head = sched.runqhead;
	unlock(&sched.lock);
	ck_assert_int_eq(size, 0);
	ck_assert_ptr_null(head);
}

/* A full queue moves its older half plus the new G to the global queue, in
 * order, and keeps the younger half. */
START_TEST(test_runq__overflow_to_global)
{
	enum { N = RUNQ_SIZE + 1, HALF = RUNQ_SIZE / 2 };
	struct p *pp = private_p();
	struct g *gs = fake_gs(N);
	struct g *global[N];
	assert_no_other_p_running();
	assert_global_empty();
	for (int i = 0; i < RUNQ_SIZE; i++)
		runq_put(pp, &gs[i], false);
	ck_assert_uint_eq(runq_size(pp), RUNQ_SIZE);
	ck_assert_int_eq(global_size(), 0);
	runq_put(pp, &gs[RUNQ_SIZE], false);
	int ng = drain_global(global, N);

	ck_assert_int_eq(ng, HALF + 1);
	for (int i = 0; i < HALF; i++)
		ck_assert_ptr_eq(global[i], &gs[i]);
	ck_assert_ptr_eq(global[HALF], &gs[RUNQ_SIZE]);
	ck_assert_uint_eq(runq_size(pp), HALF);
	for (int i = HALF; i < RUNQ_SIZE; i++)
		ck_assert_ptr_eq(runq_get(pp, NULL), &gs[i]);
	ck_assert(runq_empty(pp));
}
END_TEST

/* Many overflows, some through runnext kicks, on a ring whose counters
 * wrap: no G is lost or doubled between the local and global queues. */
START_TEST(test_runq__overflow_conserves_gs)
{
	enum { N = 5 * RUNQ_SIZE + 3 };
	struct p *pp = private_p();
	struct g *gs = fake_gs(N);
	static struct g *global[N];
	static int seen[N];
	atomic_store(&pp->runqhead, UINT32_MAX - 300);
	atomic_store(&pp->runqtail, UINT32_MAX - 300);
	assert_no_other_p_running();
	assert_global_empty();
	for (int i = 0; i < N; i++)
		runq_put(pp, &gs[i], i % 7 == 0);
	int ng = drain_global(global, N);
	ck_assert_int_gt(ng, 0);
	ck_assert_int_eq(ng % (RUNQ_SIZE / 2 + 1), 0); /* whole batches */
	for (int i = 0; i < ng; i++) {
		ck_check(global[i] >= gs && global[i] < gs + N);
		seen[global[i] - gs]++;
	}
	int nl = 0;
	for (struct g *gp; (gp = runq_get(pp, NULL)); nl++) {
		ck_check(gp >= gs && gp < gs + N);
		seen[gp - gs]++;
	}
	ck_assert_int_eq(ng + nl, N);
	for (int i = 0; i < N; i++)
		if (seen[i] != 1)
			ck_abort_msg("G %d seen %d times", i, seen[i]);
}
END_TEST

/* globrunq_get takes a fair share (size / gomaxprocs + 1), bounded by max,
 * by half a local queue and by the room left in the local queue; one G is
 * returned, the rest go to the local queue in global order.  sched.lock is
 * held throughout, so no M of the runtime can see the fake Gs. */
START_TEST(test_runq__globrunq_get_share)
{
	enum { N = 300 };
	struct p *pp = private_p();
	struct g *gs = fake_gs(N);
	struct g *filler = fake_gs(RUNQ_SIZE);
	static struct g *rest[N];

	lock(&sched.lock);
	ck_assert_int_eq(global_size(), 0);
	ck_assert_ptr_null(globrunq_get(pp, 0));

	/* 10 one by one, then 290 as one batch. */
	for (int i = 0; i < 10; i++)
		globrunq_put(&gs[i]);
	for (int i = 10; i < N - 1; i++)
		gs[i].schedlink = &gs[i + 1];
	globrunq_put_batch(&gs[10], &gs[N - 1], N - 10);
	ck_assert_int_eq(global_size(), N);
	ck_assert_ptr_eq(sched.runqtail, &gs[N - 1]);
	ck_assert_ptr_null(gs[N - 1].schedlink);

	int next = 0;
	int32_t size = N;
	/* Unbounded: the fair share, at most half a local queue. */
	int32_t want = size / gomaxprocs + 1;
	if (want > size)
		want = size;
	if (want > RUNQ_SIZE / 2)
		want = RUNQ_SIZE / 2;
	ck_assert_ptr_eq(globrunq_get(pp, 0), &gs[next++]);
	ck_assert_uint_eq(runq_size(pp), (unsigned)(want - 1));
	for (int i = 1; i < want; i++)
		ck_assert_ptr_eq(runq_get(pp, NULL), &gs[next++]);
	size -= want;
	ck_assert_int_eq(global_size(), size);

	/* Bounded by max (1: the scheduler's fairness check). */
	ck_assert_ptr_eq(globrunq_get(pp, 1), &gs[next++]);
	ck_assert(runq_empty(pp));
	size -= 1;
	ck_assert_int_eq(global_size(), size);
	ck_assert_ptr_eq(globrunq_get(pp, 3), &gs[next++]);
	ck_assert_uint_eq(runq_size(pp), 2);
	for (int i = 1; i < 3; i++)
		ck_assert_ptr_eq(runq_get(pp, NULL), &gs[next++]);
	size -= 3;
	ck_assert_int_eq(global_size(), size);

	/* Bounded by the room left: 3 free slots take 4 Gs (one returned),
	 * filling the local queue without spilling back. */
	for (int i = 0; i < RUNQ_SIZE - 3; i++)
		runq_put(pp, &filler[i], false);
	ck_assert_ptr_eq(globrunq_get(pp, 0), &gs[next++]);
	ck_assert_uint_eq(runq_size(pp), RUNQ_SIZE);
	size -= 4;
	ck_assert_int_eq(global_size(), size);
	for (int i = 0; i < RUNQ_SIZE - 3; i++)
		ck_assert_ptr_eq(runq_get(pp, NULL), &filler[i]);
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_eq(runq_get(pp, NULL), &gs[next++]);

	/* A full local queue still takes the one G to return. */
	for (int i = 0; i < RUNQ_SIZE; i++)
		runq_put(pp, &filler[i], false);
	ck_assert_ptr_eq(globrunq_get(pp, 0), &gs[next++]);
	ck_assert_uint_eq(runq_size(pp), RUNQ_SIZE);
	size -= 1;
	ck_assert_int_eq(global_size(), size);
	while (runq_get(pp, NULL))
		;

	/* What is left is the rest, in order. */
	int nr = drain_global_locked(rest, N);
	unlock(&sched.lock);
	ck_assert_int_eq(nr, size);
	ck_assert_int_eq(next + nr, N);
	for (int i = 0; i < nr; i++)
		ck_assert_ptr_eq(rest[i], &gs[next + i]);
}
END_TEST

START_TEST(test_runq__steal_half)
{
	struct p *victim = private_p(), *thief = private_p();
	struct g *gs = fake_gs(10);
	bool inh;
	ck_assert_ptr_null(runq_steal(thief, victim, true)); /* nothing there */
	for (int i = 0; i < 10; i++)
		runq_put(victim, &gs[i], false);
	struct g *gp = runq_steal(thief, victim, false);
	/* Half (5) moves: the last of them is returned, 4 are queued. */
	ck_assert_ptr_eq(gp, &gs[4]);
	ck_assert_uint_eq(runq_size(thief), 4);
	ck_assert_uint_eq(runq_size(victim), 5);
	for (int i = 0; i < 4; i++) {
		ck_assert_ptr_eq(runq_get(thief, &inh), &gs[i]);
		ck_assert(!inh);
	}
	/* Odd counts round up: 5 -> 3, 2 -> 1, 1 -> 1. */
	ck_assert_ptr_eq(runq_steal(thief, victim, false), &gs[7]);
	ck_assert_ptr_eq(runq_get(thief, NULL), &gs[5]);
	ck_assert_ptr_eq(runq_get(thief, NULL), &gs[6]);
	ck_assert_ptr_null(runq_get(thief, NULL));
	ck_assert_ptr_eq(runq_steal(thief, victim, false), &gs[8]);
	ck_assert_ptr_eq(runq_steal(thief, victim, false), &gs[9]);
	ck_assert(runq_empty(thief));
	ck_assert(runq_empty(victim));
}
END_TEST

/* Stolen Gs land at the thief's tail, wherever its counters are. */
START_TEST(test_runq__steal_across_wrap)
{
	enum { N = RUNQ_SIZE - 10 };
	struct p *victim = private_p(), *thief = private_p();
	struct g *gs = fake_gs(N);
	atomic_store(&victim->runqhead, UINT32_MAX - 20);
	atomic_store(&victim->runqtail, UINT32_MAX - 20);
	atomic_store(&thief->runqhead, UINT32_MAX - 3);
	atomic_store(&thief->runqtail, UINT32_MAX - 3);
	for (int i = 0; i < N; i++)
		runq_put(victim, &gs[i], false);
	int half = N - N / 2;
	ck_assert_ptr_eq(runq_steal(thief, victim, false), &gs[half - 1]);
	ck_assert_uint_eq(runq_size(thief), (unsigned)(half - 1));
	ck_assert_uint_eq(runq_size(victim), (unsigned)(N - half));
	for (int i = 0; i < half - 1; i++)
		ck_assert_ptr_eq(runq_get(thief, NULL), &gs[i]);
	for (int i = half; i < N; i++)
		ck_assert_ptr_eq(runq_get(victim, NULL), &gs[i]);
	ck_assert(runq_empty(thief));
	ck_assert(runq_empty(victim));
}
END_TEST

/* runnext is taken only when asked for and only once the ring is empty;
 * a running victim gets a grace period first, after which the G is taken
 * if the victim has not switched meanwhile. */
START_TEST(test_runq__steal_runnext)
{
	struct p *victim = private_p(), *thief = private_p();
	struct g *gs = fake_gs(3);
	runq_put(victim, &gs[0], true);
	runq_put(victim, &gs[1], false);
	ck_assert_ptr_eq(runq_steal(thief, victim, false), &gs[1]);
	/* Only runnext is left. */
	ck_assert_ptr_null(runq_steal(thief, victim, false));
	ck_assert_ptr_eq(runq_steal(thief, victim, true), &gs[0]);
	ck_assert(runq_empty(victim));
	ck_assert(runq_empty(thief));

	atomic_store(&victim->status, P_RUNNING);
	runq_put(victim, &gs[2], true);
	int64_t t0 = nanotime();
	ck_assert_ptr_eq(runq_steal(thief, victim, true), &gs[2]);
	ck_assert_int_ge(nanotime() - t0, RUNNEXT_GRACE_NS);
	ck_assert(runq_empty(victim));
	ck_assert(runq_empty(thief));
}
END_TEST

/* ---------------------------------------------------------------- concurrent */

#define CONC_GS 1000000
#define CONC_THIEVES 3
#define CONC_TAIL 200                    /* put last, left for the thieves */
#define CONC_GLOBAL_MAX 20000            /* overflow rounds: cap on global Gs */
#define CONC_BUDGET_NS 1500000000LL      /* rounds start until this is spent */
#define CONC_ROUNDS_MAX 40
#define CONC_TAIL_NS 2000000000LL        /* time for the thieves to take the tail */

/* How the owner behaves in one round. */
struct conc_mode {
	int next_every;         /* put as runnext every n-th G (0: never) */
	int get_every;          /* take one itself after every n-th put (0: never) */
	bool overflow;          /* let the queue spill to the global queue */
};

static const struct conc_mode conc_modes[] = {
	{ 5, 3, false },
	{ 0, 0, false },
	{ 2, 7, false },
	{ 0, 0, true },
	{ 3, 0, true },
};

static struct {
	struct conc_mode mode;
	struct p *victim;
	struct g *gs;
	_Atomic uint8_t *seen;
	_Atomic long taken, stolen, foreign;
	_Atomic bool done;
} conc;

static void conc_take(struct g *gp, bool stolen)
{
	if (gp < conc.gs || gp >= conc.gs + CONC_GS) {
		atomic_fetch_add(&conc.foreign, 1);
		return;
	}
	atomic_fetch_add_explicit(&conc.seen[gp - conc.gs], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&conc.taken, 1, memory_order_relaxed);
	if (stolen)
		atomic_fetch_add_explicit(&conc.stolen, 1, memory_order_relaxed);
}

/* A stealer: its own P, into which it steals from the victim (runnext too,
 * every other time) and which it drains before stealing again.  It stops
 * once a steal started after the owner finished finds nothing. */
static void *conc_thief(void *arg)
{
	struct p *mine = arg;
	for (unsigned iter = 0;; iter++) {
		/* Read before stealing: a failed steal after the owner is done
		 * means the victim is empty for good. */
		bool done = atomic_load(&conc.done);
		struct g *gp = runq_steal(mine, conc.victim, done || (iter & 1));
		if (gp) {
			conc_take(gp, true);
			while ((gp = runq_get(mine, NULL)))
				conc_take(gp, true);
			continue;
		}
		if (done)
			break;
		if (iter % 64 == 0)
			sched_yield();
	}
	return NULL;
}

/* Puts gp as the owner.  Unless this round overflows (and the global queue
 * is not too long yet), keeps the victim below overflow by taking its own
 * Gs. */
static void conc_put(struct g *gp, bool next)
{
	if (!conc.mode.overflow || atomic_load(&sched.runqsize) >= CONC_GLOBAL_MAX) {
		while (runq_size(conc.victim) > RUNQ_SIZE - 8) {
			struct g *g1 = runq_get(conc.victim, NULL);
			if (g1)
				conc_take(g1, false);
		}
	}
	runq_put(conc.victim, gp, next);
}

/* One round: every G put is taken exactly once, by the owner, a thief, or
 * from the global queue afterwards. */
static void conc_round(const struct conc_mode *mode)
{
	conc.mode = *mode;
	conc.victim = private_p();
	memset(conc.seen, 0, CONC_GS * sizeof *conc.seen);
	atomic_store(&conc.taken, 0);
	atomic_store(&conc.stolen, 0);
	atomic_store(&conc.foreign, 0);
	atomic_store(&conc.done, false);

	pthread_t th[CONC_THIEVES];
	for (int i = 0; i < CONC_THIEVES; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, conc_thief, private_p()), 0);

	int nput = 0;
	while (nput < CONC_GS - CONC_TAIL) {
		bool next = mode->next_every && nput % mode->next_every == 0;
		conc_put(&conc.gs[nput], next);
		nput++;
		if (mode->get_every && nput % mode->get_every == 0) {
			struct g *gp = runq_get(conc.victim, NULL);
			if (gp)
				conc_take(gp, false);
		}
	}
	/* The tail: put, not taken by the owner, so stealing is exercised
	 * however the threads were scheduled above. */
	for (int i = 0; i < CONC_TAIL; i++, nput++)
		conc_put(&conc.gs[nput], false);
	int64_t deadline = nanotime() + CONC_TAIL_NS;
	while (!runq_empty(conc.victim) && nanotime() < deadline)
		sched_yield();
	atomic_store(&conc.done, true);
	for (struct g *gp; (gp = runq_get(conc.victim, NULL));)
		conc_take(gp, false);
	for (int i = 0; i < CONC_THIEVES; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	int spilled = 0;
	lock(&sched.lock);
	for (struct g *gp = sched.runqhead; gp; gp = gp->schedlink, spilled++)
		conc_take(gp, false);
	int32_t size = atomic_load(&sched.runqsize);
	sched.runqhead = sched.runqtail = NULL;
	atomic_store(&sched.runqsize, 0);
	unlock(&sched.lock);

	ck_assert_int_eq(size, spilled);
	if (!mode->overflow)
		ck_assert_int_eq(spilled, 0);
	long foreign = atomic_load(&conc.foreign);
	ck_assert_int_eq(foreign, 0);
	for (int i = 0; i < CONC_GS; i++) {
		int want = i < nput ? 1 : 0, got = atomic_load(&conc.seen[i]);
		if (got != want)
			ck_abort_msg("mode %d/%d/%d: G %d of %d put taken %d times",
				     mode->next_every, mode->get_every, mode->overflow,
				     i, nput, got);
	}
	long taken = atomic_load(&conc.taken), stolen = atomic_load(&conc.stolen);
	ck_assert_int_eq(taken, nput);
	ck_assert_int_gt(stolen, 0);
	ck_assert(runq_empty(conc.victim));
}

/* One owner puts (and takes some) while CONC_THIEVES threads steal, in
 * rounds of several owner behaviours, some letting the queue overflow to
 * the global queue while being stolen from.  The global queue is safe to
 * use: no other M of this process holds a P to look at it. */
START_TEST(test_runq__concurrent_put_steal_exactly_once)
{
	assert_no_other_p_running();
	assert_global_empty();
	size_t bytes = (size_t)CONC_GS * sizeof(struct g);
	/* Only the addresses of these Gs are used (and the links of the few
	 * that spill): reserve, hardly touch. */
	conc.gs = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(conc.gs != MAP_FAILED);
	conc.seen = calloc(CONC_GS, sizeof *conc.seen);
	ck_assert_ptr_nonnull(conc.seen);

	const int nmodes = (int)(sizeof conc_modes / sizeof conc_modes[0]);
	int64_t budget_end = nanotime() + CONC_BUDGET_NS;
	int rounds = 0;
	while (rounds < CONC_ROUNDS_MAX && (rounds < nmodes || nanotime() < budget_end)) {
		conc_round(&conc_modes[rounds % nmodes]);
		rounds++;
	}
	munmap(conc.gs, bytes);
	free(conc.seen);
}
END_TEST

Suite *runq_suite(void)
{
	Suite *s = suite_create("runq");
	ADD_CASE(s, test_runq__fifo, 5);
	ADD_CASE(s, test_runq__fifo_across_wrap, 5);
	ADD_CASE(s, test_runq__runnext, 5);
	ADD_CASE(s, test_runq__overflow_to_global, 5);
	ADD_CASE(s, test_runq__overflow_conserves_gs, 5);
	ADD_CASE(s, test_runq__globrunq_get_share, 5);
	ADD_CASE(s, test_runq__steal_half, 5);
	ADD_CASE(s, test_runq__steal_across_wrap, 5);
	ADD_CASE(s, test_runq__steal_runnext, 5);
	ADD_CASE(s, test_runq__concurrent_put_steal_exactly_once, 30);
	return s;
}
