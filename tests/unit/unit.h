/*
 * unit.h — what the runtime's unit tests share: the suites, a helper that
 * gives every case its own TCase and time limit, private Ps and fake Gs
 * (only their addresses and links matter to run queues).
 */
#ifndef GOSHIM_UNIT_H
#define GOSHIM_UNIT_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

Suite *runq_suite(void);
Suite *timer_suite(void);
Suite *stack_suite(void);
Suite *sema_suite(void);
Suite *fdstate_suite(void);

/* Adds test tf to suite s in a TCase of its own, named after the test (so
 * CK_RUN_CASE=test_runq__fifo runs just that one), limited to secs
 * seconds: a deadlock fails the case instead of hanging the run. */
#define ADD_CASE(s, tf, secs)                                   \
	do {                                                    \
		TCase *tc_ = tcase_create(#tf);                 \
		tcase_set_timeout(tc_, (secs));                 \
		tcase_add_test(tc_, tf);                        \
		suite_add_tcase((s), tc_);                      \
	} while (0)

/* ck_assert for hot loops: Check records the location of every passing
 * ck_assert (a write to its log), so loops of millions use this, which
 * calls into Check only on failure. */
#define ck_check(expr)                                                  \
	do {                                                            \
		if (!(expr))                                            \
			ck_abort_msg("Assertion '%s' failed", #expr);   \
	} while (0)

/* A zeroed P of the test's own, not in allp: the live scheduler never
 * looks at it. */
static inline struct p *private_p(void)
{
	struct p *pp = aligned_alloc(CACHE_LINE, sizeof *pp);
	ck_assert_ptr_nonnull(pp);
	memset(pp, 0, sizeof *pp);
	pp->id = -1;
	pp->timers_lock.rank = RANK_TIMERS;
	return pp;
}

static inline struct g *fake_gs(size_t n)
{
	struct g *gs = calloc(n, sizeof *gs);
	ck_assert_ptr_nonnull(gs);
	return gs;
}

#endif
