/*
 * check_timer.c — the 4-ary timer heap against a sorted reference, and the
 * add/delete/run protocol on Ps of the test's own (the live Ps' heaps are
 * never touched: each case checks that at its end).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include "unit.h"

/* Heap order and index fields, everywhere. */
static void check_heap(const struct timer_heap *h)
{
	ck_assert_int_le(h->len, h->cap);
	for (int32_t i = 0; i < h->len; i++) {
		ck_check(h->v[i]->idx == i);
		ck_check(i == 0 || h->v[(i - 1) / 4]->when <= h->v[i]->when);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The live runtime's timer heaps are as the test found them: empty. */
static void assert_live_timers_untouched(void)
{
	for (int32_t i = 0; i < gomaxprocs; i++)
		ck_assert_int_eq(timers_next(allp[i]), 0);
}

START_TEST(test_timer__heap_random)
{
	enum { N = 1500, STEPS = 30000 };
	struct timer_heap h = { 0 };
	struct timer *ts = calloc(N, sizeof *ts);
	bool *in = calloc(N, sizeof *in);
	static int64_t ref[N];
	unsigned seed = 12345;
	int count = 0, maxlen = 0;

	ck_assert_ptr_null(timer_heap_top(&h));
	ck_assert_ptr_null(timer_heap_pop(&h));
	for (int step = 0; step < STEPS; step++) {
		int i = (int)(rand_r(&seed) % N);
		int op = (int)(rand_r(&seed) % 8);
		if (!in[i]) {
			/* A small range of whens: plenty of equal keys. */
			ts[i].when = rand_r(&seed) % 5000;
			ck_check(timer_heap_push(&h, &ts[i]) == 0);
			in[i] = true;
			count++;
		} else if (op < 3) {
			timer_heap_remove(&h, &ts[i]);
			ck_check(ts[i].idx == -1);
			in[i] = false;
			count--;
		} else if (op == 3 && count > 0) {
			struct timer *t = timer_heap_pop(&h);
			long k = t - ts;
			ck_check(k >= 0 && k < N && in[k]);
			ck_check(t->idx == -1);
			for (int j = 0; j < N; j++)
				ck_check(!in[j] || ts[j].when >= t->when);
			in[k] = false;
			count--;
		}
		ck_check(h.len == count);
		if (count > maxlen)
			maxlen = count;
		if (count) {
			int64_t min = INT64_MAX;
			for (int j = 0; j < N; j++)
				if (in[j] && ts[j].when < min)
					min = ts[j].when;
			ck_check(timer_heap_top(&h)->when == min);
		}
		if (step % 101 == 0)
			check_heap(&h);
	}
	check_heap(&h);
	ck_assert_int_gt(maxlen, 512); /* grew past its first array */
	ck_assert_int_gt(h.cap, 512);

	/* Popping everything gives the reference's sorted order. */
	int n = 0;
	for (int j = 0; j < N; j++)
		if (in[j])
			ref[n++] = ts[j].when;
	ck_assert_int_eq(n, count);
	qsort(ref, (size_t)n, sizeof ref[0], cmp_i64);
	for (int k = 0; k < n; k++) {
		struct timer *t = timer_heap_pop(&h);
		ck_check(t && in[t - ts]);
		in[t - ts] = false;
		ck_check(t->when == ref[k]);
	}
	ck_assert_int_eq(h.len, 0);
	ck_assert_ptr_null(timer_heap_pop(&h));
	ck_assert_ptr_null(timer_heap_top(&h));
}
END_TEST

/* Growth keeps every entry: descending pushes (each one sifts to the top)
 * well past the first array, then ascending pops. */
START_TEST(test_timer__heap_grows)
{
	enum { N = 5000 };
	struct timer_heap h = { 0 };
	struct timer *ts = calloc(N, sizeof *ts);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			ts[i].when = N - i;
			ck_check(timer_heap_push(&h, &ts[i]) == 0);
			ck_check(timer_heap_top(&h) == &ts[i]);
		}
		ck_assert_int_eq(h.len, N);
		ck_assert_int_ge(h.cap, N);
		check_heap(&h);
		for (int i = N - 1; i >= 0; i--)
			ck_check(timer_heap_pop(&h) == &ts[i]);
		ck_assert_int_eq(h.len, 0);
	}
}
END_TEST

/* Removing from every position of heaps of every shape up to three
 * levels deep keeps the order and the indexes. */
START_TEST(test_timer__heap_remove_each_position)
{
	enum { MAXN = 30 };
	struct timer ts[MAXN];
	unsigned seed = 7;
	for (int n = 1; n <= MAXN; n++) {
		for (int pos = 0; pos < n; pos++) {
			struct timer_heap h = { 0 };
			memset(ts, 0, sizeof ts);
			for (int i = 0; i < n; i++) {
				ts[i].when = rand_r(&seed) % 20;
				ck_check(timer_heap_push(&h, &ts[i]) == 0);
			}
			struct timer *victim = h.v[pos];
			timer_heap_remove(&h, victim);
			ck_check(victim->idx == -1);
			ck_check(h.len == n - 1);
			check_heap(&h);
			int64_t last = INT64_MIN;
			for (struct timer *t; (t = timer_heap_pop(&h));) {
				ck_check(t != victim);
				ck_check(t->when >= last);
				last = t->when;
			}
			munmap(h.v, (size_t)h.cap * sizeof *h.v);
		}
	}
}
END_TEST

static int32_t state_of(struct timer *t)
{
	return atomic_load(&t->state);
}

static int fired[16], nfired;

static void record(struct timer *t)
{
	ck_assert_int_eq(state_of(t), TIMER_RUNNING);
	ck_assert_int_eq(t->idx, -1);
	ck_assert_int_lt(nfired, 16);
	fired[nfired++] = (int)(intptr_t)t->arg;
}

static void set_timer(struct timer *t, int64_t when, int id)
{
	memset(t, 0, sizeof *t);
	t->when = when;
	t->f = record;
	t->arg = (void *)(intptr_t)id;
}

START_TEST(test_timer__fire_when_due_in_order)
{
	struct p *pp = private_p();
	struct timer t[6];
	int64_t whens[6] = { 3000, 1000, 4000, 2000, 2000, 1500 };
	for (int i = 0; i < 6; i++)
		set_timer(&t[i], whens[i], i);

	/* The return value says whether the timer became the earliest. */
	ck_assert(timer_add_nowake(pp, &t[0]));
	ck_assert_int_eq(timers_next(pp), 3000);
	ck_assert(timer_add_nowake(pp, &t[1]));
	ck_assert_int_eq(timers_next(pp), 1000);
	ck_assert(!timer_add_nowake(pp, &t[2]));
	ck_assert(!timer_add_nowake(pp, &t[3]));
	ck_assert(!timer_add_nowake(pp, &t[4]));
	ck_assert_int_eq(timers_next(pp), 1000);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(state_of(&t[i]), TIMER_WAITING);
		ck_assert_ptr_eq(t[i].pp, pp);
	}

	bool ran = false;
	int64_t now = 999;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 1000);
	ck_assert(!ran);
	ck_assert_int_eq(nfired, 0);

	/* Due exactly at now: fires. */
	now = 1000;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 2000);
	ck_assert(ran);
	ck_assert_int_eq(nfired, 1);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(state_of(&t[1]), TIMER_IDLE);

	/* An earlier timer added late goes first. */
	timer_add(pp, &t[5]);
	ck_assert_int_eq(timers_next(pp), 1500);
	ran = false;
	now = 2500;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 3000);
	ck_assert(ran);
	ck_assert_int_eq(now, 2500);
	ck_assert_int_eq(nfired, 4);
	ck_assert_int_eq(fired[1], 5);
	ck_assert((fired[2] == 3 && fired[3] == 4) || (fired[2] == 4 && fired[3] == 3));
	ck_assert_int_eq(timers_next(pp), 3000);

	/* *now == 0: read from the clock, by which all are due. */
	now = 0;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 0);
	ck_assert_int_gt(now, 4000);
	ck_assert_int_eq(nfired, 6);
	ck_assert_int_eq(fired[4], 0);
	ck_assert_int_eq(fired[5], 2);
	ck_assert_int_eq(timers_next(pp), 0);
	ck_assert_int_eq(pp->timers.len, 0);

	/* No timers: nothing runs, and the clock is not read. */
	ran = false;
	now = 0;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 0);
	ck_assert_int_eq(now, 0);
	ck_assert(!ran);
	assert_live_timers_untouched();
}
END_TEST

START_TEST(test_timer__del)
{
	struct p *pp = private_p();
	struct timer t[4];
	for (int i = 0; i < 4; i++)
		set_timer(&t[i], 1000 * (i + 1), i);

	/* Never queued: will not fire. */
	ck_assert(timer_del(&t[3]));

	for (int i = 0; i < 3; i++)
		timer_add_nowake(pp, &t[i]);
	/* Deleting the earliest moves timer0when on. */
	ck_assert(timer_del(&t[0]));
	ck_assert_int_eq(state_of(&t[0]), TIMER_IDLE);
	ck_assert_int_eq(t[0].idx, -1);
	ck_assert_int_eq(timers_next(pp), 2000);
	/* Deleting a later one leaves it. */
	ck_assert(timer_del(&t[2]));
	ck_assert_int_eq(timers_next(pp), 2000);

	bool ran = false;
	int64_t now = 10000;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 0);
	ck_assert_int_eq(nfired, 1); /* only t[1]: the deleted never fire */
	ck_assert_int_eq(fired[0], 1);
	/* Fired already: reports so. */
	ck_assert(!timer_del(&t[1]));
	ck_assert_int_eq(timers_next(pp), 0);

	/* A fired or deleted timer can be queued again. */
	t[1].when = 20000;
	t[0].when = 30000;
	timer_add_nowake(pp, &t[1]);
	timer_add_nowake(pp, &t[0]);
	ck_assert_int_eq(timers_next(pp), 20000);
	ck_assert(timer_del(&t[1]));
	ck_assert_int_eq(timers_next(pp), 30000);
	now = 30000;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 0);
	ck_assert_int_eq(nfired, 2);
	ck_assert_int_eq(fired[1], 0);
	assert_live_timers_untouched();
}
END_TEST

/* A timer function runs without the heap's lock: it may delete another
 * timer, which then does not fire even though it was due in the same
 * check. */
static struct timer *to_delete;
static _Atomic bool deleted_ok;

static void delete_other(struct timer *t)
{
	record(t);
	atomic_store(&deleted_ok, timer_del(to_delete));
}

START_TEST(test_timer__f_deletes_due_timer)
{
	struct p *pp = private_p();
	struct timer a, b, c;
	set_timer(&a, 100, 0);
	a.f = delete_other;
	set_timer(&b, 200, 1);
	set_timer(&c, 300, 2);
	to_delete = &b;
	timer_add_nowake(pp, &a);
	timer_add_nowake(pp, &b);
	timer_add_nowake(pp, &c);
	bool ran = false;
	int64_t now = 1000;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 0);
	ck_assert(atomic_load(&deleted_ok));
	ck_assert_int_eq(nfired, 2);
	ck_assert_int_eq(fired[0], 0);
	ck_assert_int_eq(fired[1], 2);
	assert_live_timers_untouched();
}
END_TEST

/* timer_del of a timer whose function is running waits for it to return
 * (so the caller may free the timer), and reports that it fired. */
static _Atomic bool slow_started, slow_finished;

static void slow_f(struct timer *t)
{
	(void)t;
	atomic_store(&slow_started, true);
	struct timespec ts = { 0, 50 * 1000000 };
	nanosleep(&ts, NULL);
	atomic_store(&slow_finished, true);
}

static void *run_timers(void *arg)
{
	int64_t now = 1000;
	bool ran = false;
	timers_check(arg, &now, &ran);
	return NULL;
}

START_TEST(test_timer__del_waits_for_running_f)
{
	struct p *pp = private_p();
	struct timer t = { .when = 10, .f = slow_f };
	timer_add_nowake(pp, &t);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, run_timers, pp), 0);
	while (!atomic_load(&slow_started))
		sched_yield();
	ck_assert(!timer_del(&t));
	ck_assert(atomic_load(&slow_finished));
	ck_assert_int_eq(state_of(&t), TIMER_IDLE);
	pthread_join(th, NULL);
	assert_live_timers_untouched();
}
END_TEST

/* Ps of their own: a timer queued on one is not seen on another. */
START_TEST(test_timer__per_p)
{
	struct p *p1 = private_p(), *p2 = private_p();
	struct timer a, b;
	set_timer(&a, 500, 0);
	set_timer(&b, 700, 1);
	timer_add(p1, &a);
	timer_add(p2, &b);
	ck_assert_int_eq(timers_next(p1), 500);
	ck_assert_int_eq(timers_next(p2), 700);
	int64_t now = 1000;
	bool ran = false;
	ck_assert_int_eq(timers_check(p2, &now, &ran), 0);
	ck_assert_int_eq(nfired, 1);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(timers_next(p1), 500);
	ck_assert(timer_del(&a));
	ck_assert_int_eq(timers_next(p1), 0);
	assert_live_timers_untouched();
}
END_TEST

Suite *timer_suite(void)
{
	Suite *s = suite_create("timer");
	ADD_CASE(s, test_timer__heap_random, 10);
	ADD_CASE(s, test_timer__heap_grows, 5);
	ADD_CASE(s, test_timer__heap_remove_each_position, 5);
	ADD_CASE(s, test_timer__fire_when_due_in_order, 5);
	ADD_CASE(s, test_timer__del, 5);
	ADD_CASE(s, test_timer__f_deletes_due_timer, 5);
	ADD_CASE(s, test_timer__del_waits_for_running_f, 5);
	ADD_CASE(s, test_timer__per_p, 5);
	return s;
}
