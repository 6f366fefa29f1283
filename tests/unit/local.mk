# Check unit tests of runtime pieces: one program running every suite, each
# case forked with a time limit, linked with the runtime directly.  It exits
# non-zero when a case fails, for the plain test harness; CK_VERBOSITY=verbose
# lists every case in its log.
check_PROGRAMS += tests/unit/check_runtime
tests_unit_check_runtime_SOURCES = \
	tests/unit/main.c \
	tests/unit/unit.h \
	tests/unit/check_fdstate.c \
	tests/unit/check_runq.c \
	tests/unit/check_sema.c \
	tests/unit/check_stack.c \
	tests/unit/check_timer.c \
	shim/fdstate.c
tests_unit_check_runtime_CPPFLAGS = $(AM_CPPFLAGS) -D_GNU_SOURCE -I$(top_srcdir)/src
tests_unit_check_runtime_CFLAGS = $(AM_CFLAGS) -std=gnu11 $(CHECK_CFLAGS)
tests_unit_check_runtime_LDADD = src/libruntime.la $(CHECK_LIBS) -ldl -lpthread
TESTS += tests/unit/check_runtime
