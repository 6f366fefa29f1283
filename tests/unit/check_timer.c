/*
 * check_timer.c — the 4-ary timer heap against a sorted reference, and the
 * add/delete/run protocol on a P of the test's own.
 */
#include "unit.h"

static void check_heap(struct timer_heap *h)
{
	for (int32_t i = 0; i < h->len; i++) {
		ck_assert_int_eq(h->v[i]->idx, i);
		if (i > 0)
			ck_assert_int_le(h->v[(i - 1) / 4]->when, h->v[i]->when);
	}
}

START_TEST(test_timer__heap_random)
{
	enum { N = 2000 };
	struct timer_heap h = { 0 };
	struct timer *ts = calloc(N, sizeof *ts);
	bool *in = calloc(N, sizeof *in);
	unsigned seed = 12345;
	int count = 0;
	for (int step = 0; step < 20000; step++) {
		int i = (int)(rand_r(&seed) % N);
		if (!in[i]) {
			ts[i].when = rand_r(&seed) % 100000;
			ck_assert_int_eq(timer_heap_push(&h, &ts[i]), 0);
			in[i] = true;
			count++;
		} else if (rand_r(&seed) % 2) {
			timer_heap_remove(&h, &ts[i]);
			ck_assert_int_eq(ts[i].idx, -1);
			in[i] = false;
			count--;
		}
		ck_assert_int_eq(h.len, count);
		if (step % 997 == 0)
			check_heap(&h);
	}
	ck_assert_int_gt(h.cap, 512); /* grew past its first array */
	/* The top is always the minimum of what is in. */
	int64_t min = INT64_MAX;
	for (int i = 0; i < N; i++)
		if (in[i] && ts[i].when < min)
			min = ts[i].when;
	ck_assert_int_eq(timer_heap_top(&h)->when, min);
	int64_t last = -1;
	for (struct timer *t; (t = timer_heap_pop(&h)); count--) {
		ck_assert_int_ge(t->when, last);
		last = t->when;
	}
	ck_assert_int_eq(count, 0);
}
END_TEST

static int fired[8], nfired;

static void record(struct timer *t)
{
	fired[nfired++] = (int)(intptr_t)t->arg;
}

START_TEST(test_timer__fire_when_due_in_order)
{
	struct p *pp = private_p();
	struct timer t[4] = { 0 };
	int64_t whens[4] = { 3000, 1000, 4000, 2000 };
	for (int i = 0; i < 4; i++) {
		t[i].when = whens[i];
		t[i].f = record;
		t[i].arg = (void *)(intptr_t)i;
		timer_add(pp, &t[i]);
	}
	ck_assert_int_eq(timers_next(pp), 1000);
	bool ran = false;
	int64_t now = 999;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 1000);
	ck_assert(!ran);
	now = 2500;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 3000);
	ck_assert(ran);
	ck_assert_int_eq(nfired, 2);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(fired[1], 3);
	/* A pending timer deleted never fires; a fired one reports so. */
	ck_assert(timer_del(&t[2]));
	ck_assert(!timer_del(&t[1]));
	ck_assert_int_eq(timers_next(pp), 3000);
	now = 10000;
	ck_assert_int_eq(timers_check(pp, &now, &ran), 0);
	ck_assert_int_eq(nfired, 3);
	ck_assert_int_eq(fired[2], 0);
	ck_assert_int_eq(timers_next(pp), 0);
	/* A fired timer can be queued again. */
	t[0].when = 20000;
	timer_add(pp, &t[0]);
	ck_assert_int_eq(timers_next(pp), 20000);
	ck_assert(timer_del(&t[0]));
}
END_TEST

Suite *timer_suite(void)
{
	Suite *s = suite_create("timer");
	TCase *tc = tcase_create("timer");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_timer__heap_random);
	tcase_add_test(tc, test_timer__fire_when_due_in_order);
	suite_add_tcase(s, tc);
	return s;
}
