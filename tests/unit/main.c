/*
 * main.c — runs every suite of the runtime's unit tests, each case in its
 * own process with a time limit (CK_FORK), so a deadlock fails a case
 * instead of hanging the run.  Exits non-zero if any case failed, for the
 * plain automake test harness.
 *
 * Check's environment applies: CK_VERBOSITY=verbose lists every case,
 * CK_RUN_SUITE / CK_RUN_CASE select (each case is a TCase of its own, named
 * after it), CK_TIMEOUT_MULTIPLIER stretches the limits (Valgrind).
 */
#include <stdio.h>

#include "unit.h"

int main(void)
{
	SRunner *sr = srunner_create(runq_suite());
	srunner_add_suite(sr, timer_suite());
	srunner_add_suite(sr, stack_suite());
	srunner_add_suite(sr, sema_suite());
	srunner_add_suite(sr, fdstate_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	int run = srunner_ntests_run(sr);
	srunner_free(sr);
	return failed || run == 0 ? 1 : 0;
}
