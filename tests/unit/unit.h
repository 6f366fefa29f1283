/*
 * unit.h — what the runtime's unit tests share: the suites, and fake Gs
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

/* A zeroed P of the test's own, not in allp: the live scheduler never
 * looks at it. */
static inline struct p *private_p(void)
{
	struct p *pp = aligned_alloc(CACHE_LINE, sizeof *pp);
	ck_assert_ptr_nonnull(pp);
	memset(pp, 0, sizeof *pp);
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
