/*
 * main.c — runs every suite of the runtime's unit tests, each case in its
 * own process with a time limit (CK_FORK), so a deadlock fails a case
 * instead of hanging the run.
 */
#include <stdio.h>

#include "unit.h"

int main(void)
{
	SRunner *sr = srunner_create(runq_suite());
	srunner_add_suite(sr, timer_suite());
	srunner_add_suite(sr, stack_suite());
	srunner_add_suite(sr, sema_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
