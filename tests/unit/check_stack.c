/*
 * check_stack.c — G stacks: usable size, the guard below, page rounding,
 * the exact-size cache, its cap, and its scavenger.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define KIB 1024u

static size_t ps;

static void setup(void)
{
	ps = (size_t)sysconf(_SC_PAGESIZE);
	stack_cache_flush();
	ck_assert_uint_eq(stack_cache_count(), 0);
}

/* Writes one byte at addr in a child process: returns the signal that
 * killed it, or 0 if the write went through. */
static int write_signal(char *addr)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		*(volatile char *)addr = 1;
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return WTERMSIG(st);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}

/* Whether every page of [lo, lo+len) is mapped (guard pages included). */
static bool mapped(char *lo, size_t len)
{
	unsigned char *vec = malloc(len / ps + 1);
	ck_assert_ptr_nonnull(vec);
	int r = mincore(lo, len, vec);
	int err = errno;
	free(vec);
	if (r != 0)
		ck_assert_int_eq(err, ENOMEM);
	return r == 0;
}

START_TEST(test_stack__usable_and_guarded)
{
	setup();
	struct stack s;
	ck_assert_int_eq(stack_alloc(&s, 256 * KIB, ps), 0);
	ck_assert_uint_eq((size_t)(s.hi - s.lo), 256 * KIB - ps);
	ck_assert_uint_eq(s.guard, ps);
	ck_assert(s.owned);
	ck_assert_uint_eq((uintptr_t)s.lo % ps, 0);
	memset(s.lo, 0xa5, (size_t)(s.hi - s.lo)); /* all of it writable */
	ck_assert_int_eq(write_signal(s.lo), 0);
	ck_assert_int_eq(write_signal(s.hi - 1), 0);
	/* Both ends of the guard fault. */
	ck_assert_int_eq(write_signal(s.lo - 1), SIGSEGV);
	ck_assert_int_eq(write_signal(s.lo - ps), SIGSEGV);
	ck_assert(mapped(s.lo - s.guard, (size_t)(s.hi - s.lo) + s.guard));
}
END_TEST

START_TEST(test_stack__multi_page_guard)
{
	setup();
	struct stack s;
	ck_assert_int_eq(stack_alloc(&s, 64 * KIB, 3 * ps), 0);
	ck_assert_uint_eq(s.guard, 3 * ps);
	ck_assert_uint_eq((size_t)(s.hi - s.lo), 64 * KIB - 3 * ps);
	memset(s.lo, 0x5a, (size_t)(s.hi - s.lo));
	for (size_t k = 1; k <= 3; k++)
		ck_assert_int_eq(write_signal(s.lo - k * ps), SIGSEGV);
}
END_TEST

/* Sizes and guards round up to whole pages; the guard must leave room. */
START_TEST(test_stack__rounding_and_einval)
{
	setup();
	struct stack s;
	size_t odd = 100000;
	size_t rounded = (odd + ps - 1) / ps * ps;
	ck_assert_int_eq(stack_alloc(&s, odd, 1), 0);
	ck_assert_uint_eq(s.guard, ps);
	ck_assert_uint_eq((size_t)(s.hi - s.lo), rounded - ps);
	ck_assert_int_eq(write_signal(s.lo - 1), SIGSEGV);
	memset(s.lo, 1, (size_t)(s.hi - s.lo));
	stack_free(&s);

	ck_assert_int_eq(stack_alloc(&s, ps, ps), -EINVAL);
	ck_assert_int_eq(stack_alloc(&s, ps, 2 * ps), -EINVAL);
	ck_assert_int_eq(stack_alloc(&s, 2 * ps, ps + 1), -EINVAL);

	/* No guard at all is allowed. */
	ck_assert_int_eq(stack_alloc(&s, 16 * KIB, 0), 0);
	ck_assert_uint_eq(s.guard, 0);
	ck_assert_uint_eq((size_t)(s.hi - s.lo), 16 * KIB);
	memset(s.lo, 2, (size_t)(s.hi - s.lo));
}
END_TEST

/* Many stacks of one size (more than one batch of them): disjoint, each
 * keeping what was written to it, each guarded. */
START_TEST(test_stack__many_disjoint)
{
	enum { N = 40 };
	setup();
	struct stack s[N];
	size_t usable = 32 * KIB - ps;
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(stack_alloc(&s[i], 32 * KIB, ps), 0);
		ck_assert_uint_eq((size_t)(s[i].hi - s[i].lo), usable);
		memset(s[i].lo, i + 1, usable);
	}
	for (int i = 0; i < N; i++) {
		for (int j = 0; j < N; j++)
			if (i != j)
				ck_assert(s[i].hi - s[i].guard <= s[j].lo - s[j].guard ||
					  s[j].hi <= s[i].lo - s[i].guard);
		ck_assert_int_eq(s[i].lo[0], i + 1);
		ck_assert_int_eq(s[i].hi[-1], i + 1);
	}
	for (int i = 0; i < N; i += 13)
		ck_assert_int_eq(write_signal(s[i].lo - 1), SIGSEGV);
}
END_TEST

START_TEST(test_stack__cache_reuses_exact_size)
{
	setup();
	struct stack a, b, c, d;
	ck_assert_int_eq(stack_alloc(&a, 128 * KIB, ps), 0);
	char *lo = a.lo;
	stack_free(&a);
	ck_assert_ptr_null(a.lo);
	ck_assert_uint_eq(stack_cache_count(), 1);
	/* Another size, or the same usable size with another guard: not
	 * that one. */
	ck_assert_int_eq(stack_alloc(&b, 64 * KIB, ps), 0);
	ck_assert_ptr_ne(b.lo, lo);
	ck_assert_int_eq(stack_alloc(&d, 128 * KIB + ps, 2 * ps), 0);
	ck_assert_uint_eq((size_t)(d.hi - d.lo), 128 * KIB - ps);
	ck_assert_ptr_ne(d.lo, lo);
	ck_assert_uint_eq(stack_cache_count(), 1);
	/* The same size and guard: the cached one, usable again. */
	ck_assert_int_eq(stack_alloc(&c, 128 * KIB, ps), 0);
	ck_assert_ptr_eq(c.lo, lo);
	ck_assert_uint_eq((size_t)(c.hi - c.lo), 128 * KIB - ps);
	ck_assert_uint_eq(c.guard, ps);
	ck_assert(c.owned);
	ck_assert_uint_eq(stack_cache_count(), 0);
	memset(c.lo, 3, (size_t)(c.hi - c.lo));
	ck_assert_int_eq(write_signal(c.lo - 1), SIGSEGV);
	stack_free(&b);
	stack_free(&c);
	stack_free(&d);
	ck_assert_uint_eq(stack_cache_count(), 3);
}
END_TEST

/* The program's own stacks are not goshim's to cache. */
START_TEST(test_stack__free_ignores_foreign)
{
	setup();
	static char mem[16 * KIB];
	struct stack s = { .lo = mem, .hi = mem + sizeof mem, .owned = false };
	stack_free(&s);
	struct stack z = { 0 };
	z.owned = true;
	stack_free(&z);
	ck_assert_uint_eq(stack_cache_count(), 0);
}
END_TEST

START_TEST(test_stack__flush_unmaps)
{
	setup();
	struct stack a, b;
	ck_assert_int_eq(stack_alloc(&a, 64 * KIB, ps), 0);
	ck_assert_int_eq(stack_alloc(&b, 96 * KIB, ps), 0);
	char *abase = a.lo - a.guard, *bbase = b.lo - b.guard;
	stack_free(&a);
	stack_free(&b);
	ck_assert_uint_eq(stack_cache_count(), 2);
	ck_assert(mapped(abase, 64 * KIB));
	stack_cache_flush();
	ck_assert_uint_eq(stack_cache_count(), 0);
	ck_assert(!mapped(abase, ps));
	ck_assert(!mapped(abase + 64 * KIB - ps, ps));
	ck_assert(!mapped(bbase, ps));
	ck_assert(!mapped(bbase + 96 * KIB - ps, ps));
}
END_TEST

START_TEST(test_stack__scavenge_only_idle)
{
	setup();
	struct stack a, b;
	ck_assert_int_eq(stack_alloc(&a, 64 * KIB, ps), 0);
	ck_assert_int_eq(stack_alloc(&b, 64 * KIB, ps), 0);
	char *abase = a.lo - a.guard, *blo = b.lo;
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
	ck_assert(!mapped(abase, ps));
	struct stack c;
	ck_assert_int_eq(stack_alloc(&c, 64 * KIB, ps), 0);
	ck_assert_ptr_eq(c.lo, blo); /* the survivor is b */
	ck_assert_uint_eq(stack_cache_count(), 0);
	/* Far in the future everything is idle. */
	stack_free(&c);
	stack_scavenge(nanotime() + 1000000000LL, 0);
	ck_assert_uint_eq(stack_cache_count(), 0);
}
END_TEST

/* The cache holds at most STACK_CACHE_MAX stacks; the rest are unmapped. */
START_TEST(test_stack__cache_cap)
{
	enum { N = STACK_CACHE_MAX + 3 };
	setup();
	struct stack *s = calloc(N, sizeof *s);
	char **base = calloc(N, sizeof *base);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(base);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(stack_alloc(&s[i], 16 * KIB, ps), 0);
		base[i] = s[i].lo - s[i].guard;
	}
	for (int i = 0; i < N; i++)
		stack_free(&s[i]);
	ck_assert_uint_eq(stack_cache_count(), STACK_CACHE_MAX);
	for (int i = STACK_CACHE_MAX; i < N; i++)
		ck_assert(!mapped(base[i], ps));
	ck_assert(mapped(base[0], 16 * KIB));
	stack_cache_flush();
	ck_assert_uint_eq(stack_cache_count(), 0);
	ck_assert(!mapped(base[0], ps));
}
END_TEST

Suite *stack_suite(void)
{
	Suite *s = suite_create("stack");
	ADD_CASE(s, test_stack__usable_and_guarded, 5);
	ADD_CASE(s, test_stack__multi_page_guard, 5);
	ADD_CASE(s, test_stack__rounding_and_einval, 5);
	ADD_CASE(s, test_stack__many_disjoint, 5);
	ADD_CASE(s, test_stack__cache_reuses_exact_size, 5);
	ADD_CASE(s, test_stack__free_ignores_foreign, 5);
	ADD_CASE(s, test_stack__flush_unmaps, 5);
	ADD_CASE(s, test_stack__scavenge_only_idle, 5);
	ADD_CASE(s, test_stack__cache_cap, 10);
	return s;
}
