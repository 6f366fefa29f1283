/*
 * check_stack.c — G stacks: usable size, the guard below, the cache and its
 * scavenger.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define KIB 1024u

START_TEST(test_stack__usable_and_guarded)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	struct stack s;
	ck_assert_int_eq(stack_alloc(&s, 256 * KIB, ps), 0);
	ck_assert_uint_eq((size_t)(s.hi - s.lo), 256 * KIB - ps);
	ck_assert(s.owned);
	memset(s.lo, 0xa5, (size_t)(s.hi - s.lo)); /* all of it writable */
	pid_t pid = fork();
	if (pid == 0) {
		s.lo[-1] = 1; /* into the guard: must fault */
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGSEGV);
	ck_assert_int_eq(stack_alloc(&s, ps, ps), -EINVAL); /* no room */
}
END_TEST

START_TEST(test_stack__cache_reuses_exact_size)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	stack_cache_flush();
	struct stack a, b, c;
	ck_assert_int_eq(stack_alloc(&a, 128 * KIB, ps), 0);
	char *lo = a.lo;
	stack_free(&a);
	ck_assert_uint_eq(stack_cache_count(), 1);
	ck_assert_int_eq(stack_alloc(&b, 64 * KIB, ps), 0); /* other size */
	ck_assert_ptr_ne(b.lo, lo);
	ck_assert_uint_eq(stack_cache_count(), 1);
	ck_assert_int_eq(stack_alloc(&c, 128 * KIB, ps), 0);
	ck_assert_ptr_eq(c.lo, lo);
	ck_assert_uint_eq(stack_cache_count(), 0);
	stack_free(&b);
	stack_free(&c);
	ck_assert_uint_eq(stack_cache_count(), 2);
	stack_cache_flush();
	ck_assert_uint_eq(stack_cache_count(), 0);
}
END_TEST

START_TEST(test_stack__scavenge_only_idle)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	stack_cache_flush();
	struct stack a, b;
	ck_assert_int_eq(stack_alloc(&a, 64 * KIB, ps), 0);
	ck_assert_int_eq(stack_alloc(&b, 64 * KIB, ps), 0);
	char *blo = b.lo;
	stack_free(&a);
	int64_t t0 = nanotime(), mid;
	while ((mid = nanotime()) == t0)
		;
	stack_free(&b);
	/* Nothing has been idle for an hour. */
	stack_scavenge(nanotime(), 3600 * 1000000000LL);
	ck_assert_uint_eq(stack_cache_count(), 2);
	/* Seen a second after mid, with a one-second limit: only what was
	 * freed before mid (a) is over the age. */
	stack_scavenge(mid + 1000000000LL, 1000000000LL);
	ck_assert_uint_eq(stack_cache_count(), 1);
	struct stack c;
	ck_assert_int_eq(stack_alloc(&c, 64 * KIB, ps), 0);
	ck_assert_ptr_eq(c.lo, blo); /* the survivor is b */
	ck_assert_uint_eq(stack_cache_count(), 0);
}
END_TEST

Suite *stack_suite(void)
{
	Suite *s = suite_create("stack");
	TCase *tc = tcase_create("stack");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stack__usable_and_guarded);
	tcase_add_test(tc, test_stack__cache_reuses_exact_size);
	tcase_add_test(tc, test_stack__scavenge_only_idle);
	suite_add_tcase(s, tc);
	return s;
}
