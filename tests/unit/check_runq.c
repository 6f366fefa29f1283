/*
 * check_runq.c — the local run queue (runnext, FIFO, overflow to the
 * global queue, stealing half) and a concurrent put/steal that must hand
 * out every G exactly once.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "unit.h"

START_TEST(test_runq__fifo)
{
	struct p *pp = private_p();
	struct g *gs = fake_gs(10);
	bool inh;
	for (int i = 0; i < 10; i++)
		runq_put(pp, &gs[i], false);
	ck_assert_uint_eq(runq_size(pp), 10);
	for (int i = 0; i < 10; i++) {
		ck_assert_ptr_eq(runq_get(pp, &inh), &gs[i]);
		ck_assert(!inh);
	}
	ck_assert_ptr_null(runq_get(pp, &inh));
	ck_assert(runq_empty(pp));
}
END_TEST

START_TEST(test_runq__runnext)
{
	struct p *pp = private_p();
	struct g *gs = fake_gs(3);
	bool inh;
	runq_put(pp, &gs[0], false);
	runq_put(pp, &gs[1], true);
	runq_put(pp, &gs[2], true); /* kicks gs[1] to the tail */
	ck_assert(!runq_empty(pp));
	ck_assert_ptr_eq(runq_get(pp, &inh), &gs[2]);
	ck_assert(inh);
	ck_assert_ptr_eq(runq_get(pp, &inh), &gs[0]);
	ck_assert(!inh);
	ck_assert_ptr_eq(runq_get(pp, &inh), &gs[1]);
	ck_assert_ptr_null(runq_get(pp, &inh));
}
END_TEST

/* Takes every G off the global queue; returns how many. */
static int drain_global(struct g *lo, struct g *hi)
{
	int n = 0;
	lock(&sched.lock);
	while (sched.runqhead) {
		struct g *gp = sched.runqhead;
		sched.runqhead = gp->schedlink;
		ck_assert(gp >= lo && gp < hi);
		n++;
	}
	sched.runqtail = NULL;
	atomic_store(&sched.runqsize, 0);
	unlock(&sched.lock);
	return n;
}

START_TEST(test_runq__overflow_to_global)
{
	struct p *pp = private_p();
	const int n = RUNQ_SIZE + 1;
	struct g *gs = fake_gs((size_t)n);
	for (int i = 0; i < n; i++)
		runq_put(pp, &gs[i], false);
	/* Full at RUNQ_SIZE: half of it plus the new one went global. */
	ck_assert_int_eq(atomic_load(&sched.runqsize), RUNQ_SIZE / 2 + 1);
	ck_assert_uint_eq(runq_size(pp), RUNQ_SIZE / 2);
	int global = drain_global(gs, gs + n);
	ck_assert_int_eq(global, RUNQ_SIZE / 2 + 1);
	int local = 0;
	bool inh;
	struct g *prev = NULL;
	for (struct g *gp; (gp = runq_get(pp, &inh)); local++) {
		ck_assert(prev == NULL || gp > prev); /* still FIFO */
		prev = gp;
	}
	ck_assert_int_eq(local + global, n);
}
END_TEST

START_TEST(test_runq__steal_half)
{
	struct p *victim = private_p(), *thief = private_p();
	struct g *gs = fake_gs(10);
	bool inh;
	for (int i = 0; i < 10; i++)
		runq_put(victim, &gs[i], false);
	struct g *gp = runq_steal(thief, victim, false);
	/* Half (5) moves: the last of them is returned, 4 are queued. */
	ck_assert_ptr_eq(gp, &gs[4]);
	ck_assert_uint_eq(runq_size(thief), 4);
	ck_assert_uint_eq(runq_size(victim), 5);
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_eq(runq_get(thief, &inh), &gs[i]);
	/* runnext is taken only when asked for, and only when the queue
	 * is empty. */
	struct p *v2 = private_p();
	runq_put(v2, &gs[9], true);
	ck_assert_ptr_null(runq_steal(thief, v2, false));
	ck_assert_ptr_eq(runq_steal(thief, v2, true), &gs[9]);
	ck_assert(runq_empty(v2));
}
END_TEST

#define CONC_GS 400000
#define CONC_THIEVES 3

static struct p *conc_victim;
static struct g *conc_gs;
static _Atomic int *conc_seen;
static _Atomic int conc_taken;
static _Atomic bool conc_done;

static void take(struct g *gp)
{
	long i = gp - conc_gs;
	ck_assert(i >= 0 && i < CONC_GS);
	atomic_fetch_add(&conc_seen[i], 1);
	atomic_fetch_add(&conc_taken, 1);
}

static void *thief(void *arg)
{
	struct p *mine = private_p();
	bool inh;
	(void)arg;
	while (atomic_load(&conc_taken) < CONC_GS) {
		struct g *gp = runq_steal(mine, conc_victim, false);
		if (gp)
			take(gp);
		while ((gp = runq_get(mine, &inh)))
			take(gp);
		if (atomic_load(&conc_done) && runq_empty(conc_victim) && !gp)
			sched_yield();
	}
	return NULL;
}

START_TEST(test_runq__concurrent_put_steal_exactly_once)
{
	conc_victim = private_p();
	conc_gs = fake_gs(CONC_GS);
	conc_seen = calloc(CONC_GS, sizeof *conc_seen);
	pthread_t th[CONC_THIEVES];
	for (int i = 0; i < CONC_THIEVES; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, thief, NULL), 0);
	bool inh;
	for (int i = 0; i < CONC_GS; i++) {
		/* Stay below the overflow: the global queue is the live
		 * scheduler's. */
		while (runq_size(conc_victim) > RUNQ_SIZE - 8) {
			struct g *gp = runq_get(conc_victim, &inh);
			if (gp)
				take(gp);
		}
		runq_put(conc_victim, &conc_gs[i], false);
		if (i % 7 == 0) {
			struct g *gp = runq_get(conc_victim, &inh);
			if (gp)
				take(gp);
		}
	}
	atomic_store(&conc_done, true);
	for (struct g *gp; (gp = runq_get(conc_victim, &inh));)
		take(gp);
	for (int i = 0; i < CONC_THIEVES; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&conc_taken), CONC_GS);
	for (int i = 0; i < CONC_GS; i++)
		ck_assert_msg(atomic_load(&conc_seen[i]) == 1, "G %d taken %d times", i,
			      atomic_load(&conc_seen[i]));
}
END_TEST

Suite *runq_suite(void)
{
	Suite *s = suite_create("runq");
	TCase *tc = tcase_create("runq");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_runq__fifo);
	tcase_add_test(tc, test_runq__runnext);
	tcase_add_test(tc, test_runq__overflow_to_global);
	tcase_add_test(tc, test_runq__steal_half);
	tcase_add_test(tc, test_runq__concurrent_put_steal_exactly_once);
	suite_add_tcase(s, tc);
	return s;
}
