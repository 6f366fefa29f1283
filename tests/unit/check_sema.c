/*
 * check_sema.c — the address-keyed wait queues, exercised by the test's
 * own main thread, which is G1 of the runtime: a wait parks it, so these
 * also drive park/ready, timers and the idle netpoller.
 */
#include <pthread.h>
#include <unistd.h>

#include "unit.h"

static _Atomic uint32_t word;

START_TEST(test_sema__value_changed_is_eagain)
{
	atomic_store(&word, 1);
	ck_assert_int_eq(sema_wait(&word, 0, -1, WAIT_SEMA), -EAGAIN);
	ck_assert_int_eq(sema_wake(&word, 1), 0);
}
END_TEST

START_TEST(test_sema__deadline)
{
	atomic_store(&word, 0);
	ck_assert_ptr_nonnull(getg_user()); /* the test runs as G1 */
	ck_assert_int_eq(sema_wait(&word, 0, nanotime() - 1, WAIT_SEMA), -ETIMEDOUT);
	int64_t t0 = nanotime();
	ck_assert_int_eq(sema_wait(&word, 0, t0 + 30000000, WAIT_SEMA), -ETIMEDOUT);
	int64_t waited = nanotime() - t0;
	ck_assert_int_ge(waited, 30000000);
	ck_assert_int_lt(waited, 30000000 + 200000000); /* tolerance, shared machine */
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

START_TEST(test_sema__woken_by_foreign_thread)
{
	atomic_store(&word, 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, waker, NULL), 0);
	int r;
	do
		r = sema_wait(&word, 0, nanotime() + 10000000000LL, WAIT_SEMA);
	while (r == -EAGAIN);
	ck_assert_int_eq(r, 0);
	pthread_join(th, NULL);
}
END_TEST

Suite *sema_suite(void)
{
	Suite *s = suite_create("sema");
	TCase *tc = tcase_create("sema");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sema__value_changed_is_eagain);
	tcase_add_test(tc, test_sema__deadline);
	tcase_add_test(tc, test_sema__woken_by_foreign_thread);
	suite_add_tcase(s, tc);
	return s;
}
