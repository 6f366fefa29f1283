/*
 * check_sema.c — the address-keyed wait queues.  The test's own main
 * thread is G1 of the runtime: its waits park it, so these also drive
 * park/ready, timers and the idle netpoller.  Threads the test starts with
 * pthread_create are plain kernel threads the runtime does not manage:
 * their waits block in the kernel.
 */
#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#include "unit.h"

#define MS 1000000LL
/* Timing tolerance: the machine is shared, late wake-ups happen. */
#define SLACK_NS (200 * MS)

static _Atomic uint32_t word;

START_TEST(test_sema__value_changed_is_eagain)
{
	atomic_store(&word, 1);
	ck_assert_int_eq(sema_wait(&word, 0, -1, WAIT_SEMA), -EAGAIN);
	/* Also when the deadline has passed: the value is checked first. */
	ck_assert_int_eq(sema_wait(&word, 0, nanotime() - 1, WAIT_SEMA), -EAGAIN);
	ck_assert_int_eq(sema_wake(&word, 1), 0); /* nobody waits */
	ck_assert_int_eq(sema_wake(&word, INT_MAX), 0);
}
END_TEST

START_TEST(test_sema__deadline)
{
	atomic_store(&word, 0);
	ck_assert_ptr_nonnull(getg_user()); /* the test runs as G1 */
	ck_assert_int_eq(sema_wait(&word, 0, nanotime() - 1, WAIT_SEMA), -ETIMEDOUT);
	ck_assert_int_eq(sema_wait(&word, 0, 0, WAIT_SEMA), -ETIMEDOUT);
	int64_t t0 = nanotime();
	ck_assert_int_eq(sema_wait(&word, 0, t0 + 30 * MS, WAIT_SEMA), -ETIMEDOUT);
	int64_t waited = nanotime() - t0;
	ck_assert_int_ge(waited, 30 * MS);
	ck_assert_int_lt(waited, 30 * MS + SLACK_NS);
	/* The timeout's timer is gone once the wait returned. */
	for (int32_t i = 0; i < gomaxprocs; i++)
		ck_assert_int_eq(timers_next(allp[i]), 0);
}
END_TEST

/* A wake that comes before the wait is not lost: the waker changed the
 * word first, so the wait returns at once. */
static void *change_and_wake(void *arg)
{
	(void)arg;
	atomic_store(&word, 1);
	sema_wake(&word, 1);
	return NULL;
}

START_TEST(test_sema__wake_before_wait_not_lost)
{
	atomic_store(&word, 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, change_and_wake, NULL), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	int64_t t0 = nanotime();
	ck_assert_int_eq(sema_wait(&word, 0, t0 + 5000 * MS, WAIT_SEMA), -EAGAIN);
	ck_assert_int_lt(nanotime() - t0, SLACK_NS);
}
END_TEST

static void *waker(void *arg)
{
	(void)arg;
	/* A thread the runtime does not run: its wake readies G1 through
	 * the global queue. */
	while (sema_wake(&word, 1) == 0)
		usleep(1000);
	return NULL;
}

START_TEST(test_sema__g_woken_by_foreign_thread)
{
	atomic_store(&word, 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, waker, NULL), 0);
	int r;
	do
		r = sema_wait(&word, 0, nanotime() + 10000 * MS, WAIT_SEMA);
	while (r == -EAGAIN);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	/* The timeout's timer went with the wait. */
	for (int32_t i = 0; i < gomaxprocs; i++)
		ck_assert_int_eq(timers_next(allp[i]), 0);
}
END_TEST

/* Foreign waiters: they block in the kernel, and G1 wakes them. */
struct fwait {
	_Atomic uint32_t *addr;
	int64_t timeout_ns;     /* < 0: none */
	int result;
	int64_t waited;
	bool had_g;
	_Atomic bool returned;
};

static void *foreign_waiter(void *arg)
{
	struct fwait *w = arg;
	w->had_g = getg_user() != NULL;
	int64_t t0 = nanotime();
	w->result = sema_wait(w->addr, 0, w->timeout_ns < 0 ? -1 : t0 + w->timeout_ns,
			      WAIT_SEMA);
	w->waited = nanotime() - t0;
	atomic_store(&w->returned, true);
	return NULL;
}

static void start_waiter(pthread_t *th, struct fwait *w, _Atomic uint32_t *addr, int64_t timeout)
{
	memset(w, 0, sizeof *w);
	w->addr = addr;
	w->timeout_ns = timeout;
	ck_assert_int_eq(pthread_create(th, NULL, foreign_waiter, w), 0);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	/* A raw sleep, not a park: only the foreign threads should run. */
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

START_TEST(test_sema__foreign_waiter_woken)
{
	atomic_store(&word, 0);
	pthread_t th;
	struct fwait w;
	start_waiter(&th, &w, &word, -1);
	int64_t give_up = nanotime() + 5000 * MS;
	int n;
	while ((n = sema_wake(&word, 1)) == 0 && nanotime() < give_up)
		sleep_ms(1);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert(!w.had_g);
	ck_assert_int_eq(w.result, 0);
	ck_assert_int_eq(sema_wake(&word, 1), 0);
}
END_TEST

START_TEST(test_sema__foreign_waiter_timeout)
{
	atomic_store(&word, 0);
	pthread_t th;
	struct fwait w;
	start_waiter(&th, &w, &word, 30 * MS);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(w.result, -ETIMEDOUT);
	ck_assert_int_ge(w.waited, 30 * MS);
	ck_assert_int_lt(w.waited, 30 * MS + SLACK_NS);
	ck_assert_int_eq(sema_wake(&word, 1), 0); /* it left the queue */
}
END_TEST

/* Addresses sharing a hash bucket: a wake of one never wakes the other. */
static _Atomic uint32_t words[2 * 251 + 1];

START_TEST(test_sema__keyed_by_address)
{
	_Atomic uint32_t *a = &words[0], *b = &words[2 * 251]; /* 251 * 8 bytes apart */
	atomic_store(a, 0);
	atomic_store(b, 0);
	pthread_t th;
	struct fwait w;
	start_waiter(&th, &w, a, -1);
	sleep_ms(20); /* most likely queued by now; if not, this proves less */
	ck_assert_int_eq(sema_wake(b, INT_MAX), 0);
	sleep_ms(5);
	ck_assert(!atomic_load(&w.returned));
	int64_t give_up = nanotime() + 5000 * MS;
	int n;
	while ((n = sema_wake(a, 1)) == 0 && nanotime() < give_up)
		sleep_ms(1);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(w.result, 0);
}
END_TEST

/* sema_wake(addr, n) wakes at most n; every waiter is woken once. */
START_TEST(test_sema__wake_counts)
{
	enum { W = 3 };
	atomic_store(&word, 0);
	pthread_t th[W];
	struct fwait w[W];
	for (int i = 0; i < W; i++)
		start_waiter(&th[i], &w[i], &word, -1);
	sleep_ms(20);
	int total = 0;
	int64_t give_up = nanotime() + 5000 * MS;
	while (total < W && nanotime() < give_up) {
		int n = sema_wake(&word, 1);
		ck_assert_int_le(n, 1);
		total += n;
		if (n == 0)
			sleep_ms(1);
	}
	ck_assert_int_eq(total, W);
	for (int i = 0; i < W; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(w[i].result, 0);
	}
	ck_assert_int_eq(sema_wake(&word, INT_MAX), 0);
}
END_TEST

/* A waiter on a thread the runtime does not run (a kernel wait). */
struct kwaiter {
	pthread_t th;
	_Atomic uint32_t *addr;
	uint32_t bitset;
	int64_t deadline;
	_Atomic int result;
	_Atomic int done;
};

static void *kwait(void *arg)
{
	struct kwaiter *k = arg;
	atomic_store(&k->result, sema_wait_bitset(k->addr, 0, k->deadline, WAIT_SEMA, k->bitset));
	atomic_store(&k->done, 1);
	return NULL;
}

static void kwaiters_start(struct kwaiter *k, int n, _Atomic uint32_t *addr)
{
	for (int i = 0; i < n; i++) {
		k[i].addr = addr;
		if (!k[i].bitset)
			k[i].bitset = ~0u;
		if (!k[i].deadline)
			k[i].deadline = -1;
		ck_assert_int_eq(pthread_create(&k[i].th, NULL, kwait, &k[i]), 0);
	}
	while (sema_nwaiters(addr) < n)
		usleep(1000);
}

static void kwaiters_join(struct kwaiter *k, int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(k[i].th, NULL), 0);
}

static _Atomic uint32_t word2;

START_TEST(test_sema__bitset_selects_waiters)
{
	atomic_store(&word, 0);
	struct kwaiter k[2] = { { .bitset = 1 }, { .bitset = 6 } };
	kwaiters_start(k, 2, &word);
	ck_assert_int_eq(sema_wake_bitset(&word, INT_MAX, 8), 0);
	ck_assert_int_eq(sema_wake_bitset(&word, INT_MAX, 2), 1);
	while (!atomic_load(&k[1].done))
		usleep(1000);
	ck_assert_int_eq(atomic_load(&k[0].done), 0);
	ck_assert_int_eq(sema_nwaiters(&word), 1);
	ck_assert_int_eq(sema_wake(&word, INT_MAX), 1); /* plain wake: all bits */
	kwaiters_join(k, 2);
	ck_assert_int_eq(k[0].result, 0);
	ck_assert_int_eq(k[1].result, 0);
}
END_TEST

START_TEST(test_sema__requeue)
{
	atomic_store(&word, 0);
	atomic_store(&word2, 0);
	struct kwaiter k[4] = { 0 };
	kwaiters_start(k, 4, &word);
	uint32_t wrong = 1, right = 0;
	ck_assert_int_eq(sema_requeue(&word, &word2, 1, 2, &wrong, false), -EAGAIN);
	ck_assert_int_eq(sema_nwaiters(&word), 4);
	/* One woken, two moved, one left behind. */
	ck_assert_int_eq(sema_requeue(&word, &word2, 1, 2, &right, false), 3);
	ck_assert_int_eq(sema_nwaiters(&word), 1);
	ck_assert_int_eq(sema_nwaiters(&word2), 2);
	/* Requeued waiters answer wakes of their new address only. */
	ck_assert_int_eq(sema_wake(&word2, INT_MAX), 2);
	ck_assert_int_eq(sema_requeue(&word, &word2, 0, INT_MAX, NULL, false), 1);
	ck_assert_int_eq(sema_nwaiters(&word), 0);
	ck_assert_int_eq(sema_wake(&word2, 1), 1);
	kwaiters_join(k, 4);
	/* One was woken where it waited, the other three after a move. */
	ck_assert_int_eq(k[0].result + k[1].result + k[2].result + k[3].result,
			 3 * SEMA_REQUEUED);
}
END_TEST

/* A waiter moved by a requeue times out from its new queue. */
START_TEST(test_sema__requeued_waiter_times_out)
{
	atomic_store(&word, 0);
	atomic_store(&word2, 0);
	struct kwaiter k[1] = { { .deadline = nanotime() + 100 * MS } };
	kwaiters_start(k, 1, &word);
	ck_assert_int_eq(sema_requeue(&word, &word2, 0, 1, NULL, false), 1);
	kwaiters_join(k, 1);
	ck_assert_int_eq(k[0].result, -ETIMEDOUT);
	ck_assert_int_eq(sema_nwaiters(&word2), 0);
	ck_assert_int_eq(sema_wake(&word2, INT_MAX), 0);
}
END_TEST

/* The same with G1 as the waiter: its timeout timer runs on a P and must
 * find the G on the queue it was moved to. */
static void *requeue_g1(void *arg)
{
	(void)arg;
	while (sema_nwaiters(&word) == 0)
		usleep(1000);
	sema_requeue(&word, &word2, 0, 1, NULL, false);
	return NULL;
}

START_TEST(test_sema__requeued_g_times_out)
{
	atomic_store(&word, 0);
	atomic_store(&word2, 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, requeue_g1, NULL), 0);
	int64_t t0 = nanotime();
	ck_assert_int_eq(sema_wait(&word, 0, t0 + 200 * MS, WAIT_SEMA), -ETIMEDOUT);
	ck_assert_int_ge(nanotime() - t0, 200 * MS);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(sema_nwaiters(&word2), 0);
}
END_TEST

/* Interruptible waits (intr.c): a request and one intr_fire end the
 * wait of G1, whether they come before the wait begins (it returns at
 * once) or while it waits; a disabled G waits on. */
static void *cancel_g(void *arg)
{
	struct g *gp = arg;
	atomic_fetch_or(&gp->cancelbits, CANCEL_PENDING);
	intr_fire(gp);
	return NULL;
}

static void cancel_reset(struct g *gp)
{
	atomic_store(&gp->cancelbits, 0);
	gp->cancel_state = PTHREAD_CANCEL_ENABLE;
}

START_TEST(test_sema__wait_intr_ended)
{
	struct g *g1 = getg_user();
	for (int i = 0; i < 20; i++) {
		atomic_store(&word, 0);
		pthread_t th;
		ck_assert_int_eq(pthread_create(&th, NULL, cancel_g, g1), 0);
		int64_t t0 = nanotime();
		ck_assert_int_eq(sema_wait_intr(&word, 0, t0 + 10000 * MS, WAIT_SEMA), -EINTR);
		ck_assert_int_lt(nanotime() - t0, SLACK_NS);
		ck_assert_int_eq(pthread_join(th, NULL), 0);
		ck_assert_int_eq(sema_nwaiters(&word), 0);
		cancel_reset(g1);
		/* The same for a sleep. */
		ck_assert_int_eq(pthread_create(&th, NULL, cancel_g, g1), 0);
		t0 = nanotime();
		ck_assert_int_eq(rt_sleep_until(t0 + 10000 * MS), -EINTR);
		ck_assert_int_lt(nanotime() - t0, SLACK_NS);
		ck_assert_int_eq(pthread_join(th, NULL), 0);
		cancel_reset(g1);
	}
	for (int32_t i = 0; i < gomaxprocs; i++)
		ck_assert_int_eq(timers_next(allp[i]), 0);
}
END_TEST

START_TEST(test_sema__wait_intr_disabled)
{
	struct g *g1 = getg_user();
	atomic_store(&word, 0);
	g1->cancel_state = PTHREAD_CANCEL_DISABLE;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, cancel_g, g1), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	int64_t t0 = nanotime();
	ck_assert_int_eq(sema_wait_intr(&word, 0, t0 + 30 * MS, WAIT_SEMA), -ETIMEDOUT);
	ck_assert_int_ge(nanotime() - t0, 30 * MS);
	/* Enabled: the pending request ends the next wait before it begins;
	 * plain waits never end for it. */
	g1->cancel_state = PTHREAD_CANCEL_ENABLE;
	ck_assert_int_eq(sema_wait_intr(&word, 0, -1, WAIT_SEMA), -EINTR);
	ck_assert_int_eq(sema_wait(&word, 0, nanotime() + 10 * MS, WAIT_SEMA), -ETIMEDOUT);
	cancel_reset(g1);
}
END_TEST

Suite *sema_suite(void)
{
	Suite *s = suite_create("sema");
	ADD_CASE(s, test_sema__value_changed_is_eagain, 10);
	ADD_CASE(s, test_sema__deadline, 10);
	ADD_CASE(s, test_sema__wake_before_wait_not_lost, 10);
	ADD_CASE(s, test_sema__g_woken_by_foreign_thread, 20);
	ADD_CASE(s, test_sema__foreign_waiter_woken, 10);
	ADD_CASE(s, test_sema__foreign_waiter_timeout, 10);
	ADD_CASE(s, test_sema__keyed_by_address, 10);
	ADD_CASE(s, test_sema__wake_counts, 10);
	ADD_CASE(s, test_sema__bitset_selects_waiters, 10);
	ADD_CASE(s, test_sema__requeue, 10);
	ADD_CASE(s, test_sema__requeued_waiter_times_out, 10);
	ADD_CASE(s, test_sema__requeued_g_times_out, 10);
	ADD_CASE(s, test_sema__wait_intr_ended, 20);
	ADD_CASE(s, test_sema__wait_intr_disabled, 10);
	return s;
}
