# Integration test programs: plain pthread programs, built without any
# knowledge of goshim, run by tests/programs/run.sh under the preload with
# several GOMAXPROCS values.
#
# Each program NAME is a check program tests/programs/NAME and a test
# tests/programs/NAME.ptest: a stamp file made here, so that automake's
# harness (which needs the test to exist) runs
# "run.sh tests/programs/NAME.ptest"; run.sh strips .ptest to find the
# program.

tests_programs_cflags = $(AM_CFLAGS) -std=gnu11 -pthread
tests_programs_ldflags = -pthread

check_PROGRAMS += tests/programs/attr
tests_programs_attr_SOURCES = tests/programs/attr.c
tests_programs_attr_CFLAGS = $(tests_programs_cflags)
tests_programs_attr_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/cancel
tests_programs_cancel_SOURCES = tests/programs/cancel.c
tests_programs_cancel_CFLAGS = $(tests_programs_cflags)
tests_programs_cancel_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/create_join_batches
tests_programs_create_join_batches_SOURCES = tests/programs/create_join_batches.c
tests_programs_create_join_batches_CFLAGS = $(tests_programs_cflags)
tests_programs_create_join_batches_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/deep_recursion
tests_programs_deep_recursion_SOURCES = tests/programs/deep_recursion.c
tests_programs_deep_recursion_CFLAGS = $(tests_programs_cflags)
tests_programs_deep_recursion_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/exit_from_main
tests_programs_exit_from_main_SOURCES = tests/programs/exit_from_main.c
tests_programs_exit_from_main_CFLAGS = $(tests_programs_cflags)
tests_programs_exit_from_main_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/join_errors
tests_programs_join_errors_SOURCES = tests/programs/join_errors.c
tests_programs_join_errors_CFLAGS = $(tests_programs_cflags)
tests_programs_join_errors_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/many_waiters_exit
tests_programs_many_waiters_exit_SOURCES = tests/programs/many_waiters_exit.c
tests_programs_many_waiters_exit_CFLAGS = $(tests_programs_cflags)
tests_programs_many_waiters_exit_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/once
tests_programs_once_SOURCES = tests/programs/once.c
tests_programs_once_CFLAGS = $(tests_programs_cflags)
tests_programs_once_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/self_equal
tests_programs_self_equal_SOURCES = tests/programs/self_equal.c
tests_programs_self_equal_CFLAGS = $(tests_programs_cflags)
tests_programs_self_equal_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/sleep_semantics
tests_programs_sleep_semantics_SOURCES = tests/programs/sleep_semantics.c
tests_programs_sleep_semantics_CFLAGS = $(tests_programs_cflags)
tests_programs_sleep_semantics_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/sleepers
tests_programs_sleepers_SOURCES = tests/programs/sleepers.c
tests_programs_sleepers_CFLAGS = $(tests_programs_cflags)
tests_programs_sleepers_LDFLAGS = $(tests_programs_ldflags)


check_PROGRAMS += tests/programs/tsd_destructors
tests_programs_tsd_destructors_SOURCES = tests/programs/tsd_destructors.c
tests_programs_tsd_destructors_CFLAGS = $(tests_programs_cflags)
tests_programs_tsd_destructors_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/yield_pingpong
tests_programs_yield_pingpong_SOURCES = tests/programs/yield_pingpong.c
tests_programs_yield_pingpong_CFLAGS = $(tests_programs_cflags)
tests_programs_yield_pingpong_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/stack_exhaustion
tests_programs_stack_exhaustion_SOURCES = tests/programs/stack_exhaustion.c
tests_programs_stack_exhaustion_CFLAGS = $(tests_programs_cflags)
tests_programs_stack_exhaustion_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/yield_fairness
tests_programs_yield_fairness_SOURCES = tests/programs/yield_fairness.c
tests_programs_yield_fairness_CFLAGS = $(tests_programs_cflags)
tests_programs_yield_fairness_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/syscall_handoff
tests_programs_syscall_handoff_SOURCES = tests/programs/syscall_handoff.c
tests_programs_syscall_handoff_CFLAGS = $(tests_programs_cflags)
tests_programs_syscall_handoff_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/pshared_handoff
tests_programs_pshared_handoff_SOURCES = tests/programs/pshared_handoff.c
tests_programs_pshared_handoff_CFLAGS = $(tests_programs_cflags)
tests_programs_pshared_handoff_LDFLAGS = $(tests_programs_ldflags)

# Thread-local storage: of the program, of a linked library, of a library
# dlopened at run time (tls_vars finds .libs/libtls_dl.so next to itself;
# -no-install spares the program libtool's wrapper script).
check_LTLIBRARIES += tests/programs/libtls_dep.la tests/programs/libtls_dl.la
tests_programs_libtls_dep_la_SOURCES = tests/programs/tls_dep.c
tests_programs_libtls_dep_la_LDFLAGS = -rpath /nowhere -avoid-version
tests_programs_libtls_dl_la_SOURCES = tests/programs/tls_dl.c
tests_programs_libtls_dl_la_LDFLAGS = -module -rpath /nowhere -avoid-version

# A linked library whose constructor makes interposed calls, perhaps
# before goshim's constructor has run.
check_LTLIBRARIES += tests/programs/libctor_calls.la
tests_programs_libctor_calls_la_SOURCES = tests/programs/ctor_calls_lib.c
tests_programs_libctor_calls_la_LDFLAGS = -rpath /nowhere -avoid-version

check_PROGRAMS += tests/programs/ctor_calls
tests_programs_ctor_calls_SOURCES = tests/programs/ctor_calls.c
tests_programs_ctor_calls_CFLAGS = $(tests_programs_cflags)
tests_programs_ctor_calls_LDFLAGS = $(tests_programs_ldflags) -no-install
tests_programs_ctor_calls_LDADD = tests/programs/libctor_calls.la

check_PROGRAMS += tests/programs/tls_vars
tests_programs_tls_vars_SOURCES = tests/programs/tls_vars.c
tests_programs_tls_vars_CFLAGS = $(tests_programs_cflags)
tests_programs_tls_vars_LDFLAGS = $(tests_programs_ldflags) -no-install
tests_programs_tls_vars_LDADD = tests/programs/libtls_dep.la -ldl

check_PROGRAMS += tests/programs/tls_lifetimes
tests_programs_tls_lifetimes_SOURCES = tests/programs/tls_lifetimes.c
tests_programs_tls_lifetimes_CFLAGS = $(tests_programs_cflags)
tests_programs_tls_lifetimes_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/tls_libc
tests_programs_tls_libc_SOURCES = tests/programs/tls_libc.c
tests_programs_tls_libc_CFLAGS = $(tests_programs_cflags) -fstack-protector-all
tests_programs_tls_libc_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/tls_cxx
tests_programs_tls_cxx_SOURCES = tests/programs/tls_cxx.cc tests/programs/check.hh
tests_programs_tls_cxx_CXXFLAGS = -std=c++17 -Wall -Wextra -pthread
tests_programs_tls_cxx_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/prodcons
tests_programs_prodcons_SOURCES = tests/programs/prodcons.c
tests_programs_prodcons_CFLAGS = $(tests_programs_cflags)
tests_programs_prodcons_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/philosophers
tests_programs_philosophers_SOURCES = tests/programs/philosophers.c
tests_programs_philosophers_CFLAGS = $(tests_programs_cflags)
tests_programs_philosophers_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/sync_stress
tests_programs_sync_stress_SOURCES = tests/programs/sync_stress.c
tests_programs_sync_stress_CFLAGS = $(tests_programs_cflags)
tests_programs_sync_stress_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/mutex_kinds
tests_programs_mutex_kinds_SOURCES = tests/programs/mutex_kinds.c
tests_programs_mutex_kinds_CFLAGS = $(tests_programs_cflags)
tests_programs_mutex_kinds_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/cond_semantics
tests_programs_cond_semantics_SOURCES = tests/programs/cond_semantics.c
tests_programs_cond_semantics_CFLAGS = $(tests_programs_cflags)
tests_programs_cond_semantics_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/sem
tests_programs_sem_SOURCES = tests/programs/sem.c
tests_programs_sem_CFLAGS = $(tests_programs_cflags)
tests_programs_sem_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/futex
tests_programs_futex_SOURCES = tests/programs/futex.c
tests_programs_futex_CFLAGS = $(tests_programs_cflags)
tests_programs_futex_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/pshared
tests_programs_pshared_SOURCES = tests/programs/pshared.c
tests_programs_pshared_CFLAGS = $(tests_programs_cflags)
tests_programs_pshared_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/robust
tests_programs_robust_SOURCES = tests/programs/robust.c
tests_programs_robust_CFLAGS = $(tests_programs_cflags)
tests_programs_robust_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/sync_errors
tests_programs_sync_errors_SOURCES = tests/programs/sync_errors.c
tests_programs_sync_errors_CFLAGS = $(tests_programs_cflags)
tests_programs_sync_errors_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/cancel_stress
tests_programs_cancel_stress_SOURCES = tests/programs/cancel_stress.c
tests_programs_cancel_stress_CFLAGS = $(tests_programs_cflags)
tests_programs_cancel_stress_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/cancel_cxx
tests_programs_cancel_cxx_SOURCES = tests/programs/cancel_cxx.cc tests/programs/check.hh
tests_programs_cancel_cxx_CXXFLAGS = -std=c++17 -Wall -Wextra -pthread
tests_programs_cancel_cxx_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/cxx_sync
tests_programs_cxx_sync_SOURCES = tests/programs/cxx_sync.cc tests/programs/check.hh
tests_programs_cxx_sync_CXXFLAGS = -std=c++17 -Wall -Wextra -pthread
tests_programs_cxx_sync_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/blocking_errors
tests_programs_blocking_errors_SOURCES = tests/programs/blocking_errors.c
tests_programs_blocking_errors_CFLAGS = $(tests_programs_cflags)
tests_programs_blocking_errors_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/echo_tcp
tests_programs_echo_tcp_SOURCES = tests/programs/echo_tcp.c tests/programs/echo.h
tests_programs_echo_tcp_CFLAGS = $(tests_programs_cflags)
tests_programs_echo_tcp_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/echo_unix
tests_programs_echo_unix_SOURCES = tests/programs/echo_unix.c tests/programs/echo.h
tests_programs_echo_unix_CFLAGS = $(tests_programs_cflags)
tests_programs_echo_unix_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/echo_pipe
tests_programs_echo_pipe_SOURCES = tests/programs/echo_pipe.c tests/programs/echo.h
tests_programs_echo_pipe_CFLAGS = $(tests_programs_cflags)
tests_programs_echo_pipe_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/sigwait
tests_programs_sigwait_SOURCES = tests/programs/sigwait.c
tests_programs_sigwait_CFLAGS = $(tests_programs_cflags)
tests_programs_sigwait_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/pthread_kill
tests_programs_pthread_kill_SOURCES = tests/programs/pthread_kill.c
tests_programs_pthread_kill_CFLAGS = $(tests_programs_cflags)
tests_programs_pthread_kill_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/signal_stop
tests_programs_signal_stop_SOURCES = tests/programs/signal_stop.c
tests_programs_signal_stop_CFLAGS = $(tests_programs_cflags)
tests_programs_signal_stop_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/sigmask_moves
tests_programs_sigmask_moves_SOURCES = tests/programs/sigmask_moves.c
tests_programs_sigmask_moves_CFLAGS = $(tests_programs_cflags)
tests_programs_sigmask_moves_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/sem_signal
tests_programs_sem_signal_SOURCES = tests/programs/sem_signal.c
tests_programs_sem_signal_CFLAGS = $(tests_programs_cflags)
tests_programs_sem_signal_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/fd_shared
tests_programs_fd_shared_SOURCES = tests/programs/fd_shared.c
tests_programs_fd_shared_CFLAGS = $(tests_programs_cflags)
tests_programs_fd_shared_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/pselect_mask
tests_programs_pselect_mask_SOURCES = tests/programs/pselect_mask.c
tests_programs_pselect_mask_CFLAGS = $(tests_programs_cflags)
tests_programs_pselect_mask_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/io_eintr
tests_programs_io_eintr_SOURCES = tests/programs/io_eintr.c
tests_programs_io_eintr_CFLAGS = $(tests_programs_cflags)
tests_programs_io_eintr_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/io_semantics
tests_programs_io_semantics_SOURCES = tests/programs/io_semantics.c
tests_programs_io_semantics_CFLAGS = $(tests_programs_cflags)
tests_programs_io_semantics_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/io_wakeups
tests_programs_io_wakeups_SOURCES = tests/programs/io_wakeups.c
tests_programs_io_wakeups_CFLAGS = $(tests_programs_cflags)
tests_programs_io_wakeups_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/io_ticks
tests_programs_io_ticks_SOURCES = tests/programs/io_ticks.c
tests_programs_io_ticks_CFLAGS = $(tests_programs_cflags)
tests_programs_io_ticks_LDFLAGS = $(tests_programs_ldflags)

check_PROGRAMS += tests/programs/pipe_inherit
tests_programs_pipe_inherit_SOURCES = tests/programs/pipe_inherit.c
tests_programs_pipe_inherit_CFLAGS = $(tests_programs_cflags)
tests_programs_pipe_inherit_LDFLAGS = $(tests_programs_ldflags)

tests_programs_ptests = \
	tests/programs/attr.ptest \
	tests/programs/blocking_errors.ptest \
	tests/programs/cancel.ptest \
	tests/programs/cancel_cxx.ptest \
	tests/programs/cancel_stress.ptest \
	tests/programs/cond_semantics.ptest \
	tests/programs/ctor_calls.ptest \
	tests/programs/create_join_batches.ptest \
	tests/programs/cxx_sync.ptest \
	tests/programs/deep_recursion.ptest \
	tests/programs/echo_pipe.ptest \
	tests/programs/echo_tcp.ptest \
	tests/programs/echo_unix.ptest \
	tests/programs/exit_from_main.ptest \
	tests/programs/fd_shared.ptest \
	tests/programs/futex.ptest \
	tests/programs/io_eintr.ptest \
	tests/programs/io_semantics.ptest \
	tests/programs/io_ticks.ptest \
	tests/programs/io_wakeups.ptest \
	tests/programs/join_errors.ptest \
	tests/programs/many_waiters_exit.ptest \
	tests/programs/mutex_kinds.ptest \
	tests/programs/once.ptest \
	tests/programs/philosophers.ptest \
	tests/programs/pipe_inherit.ptest \
	tests/programs/prodcons.ptest \
	tests/programs/pselect_mask.ptest \
	tests/programs/pshared.ptest \
	tests/programs/pshared_handoff.ptest \
	tests/programs/pthread_kill.ptest \
	tests/programs/robust.ptest \
	tests/programs/self_equal.ptest \
	tests/programs/sigmask_moves.ptest \
	tests/programs/signal_stop.ptest \
	tests/programs/sigwait.ptest \
	tests/programs/sem.ptest \
	tests/programs/sem_signal.ptest \
	tests/programs/sleep_semantics.ptest \
	tests/programs/sleepers.ptest \
	tests/programs/stack_exhaustion.ptest \
	tests/programs/sync_errors.ptest \
	tests/programs/sync_stress.ptest \
	tests/programs/syscall_handoff.ptest \
	tests/programs/tls_cxx.ptest \
	tests/programs/tls_libc.ptest \
	tests/programs/tls_lifetimes.ptest \
	tests/programs/tls_vars.ptest \
	tests/programs/tsd_destructors.ptest \
	tests/programs/yield_fairness.ptest \
	tests/programs/yield_pingpong.ptest

# A Rust program (std's threads, Mutex, Condvar, park: raw futexes through
# syscall()), built when rustc is installed; a plain rule, as there are no
# C sources.
if HAVE_RUSTC
check_SCRIPTS += tests/programs/rust_sync
tests_programs_ptests += tests/programs/rust_sync.ptest
CLEANFILES += tests/programs/rust_sync
tests/programs/rust_sync: $(srcdir)/tests/programs/rust_sync.rs
	@$(MKDIR_P) tests/programs
	$(AM_V_GEN)$(RUSTC) --edition 2018 -O -o $@ $(srcdir)/tests/programs/rust_sync.rs
endif
EXTRA_DIST += tests/programs/rust_sync.rs

# The Boehm-Demers-Weiser collector's threads (GC_THREADS), built when
# libgc-dev is installed.
if HAVE_BDWGC
check_PROGRAMS += tests/programs/gc_threads
tests_programs_ptests += tests/programs/gc_threads.ptest
tests_programs_gc_threads_SOURCES = tests/programs/gc_threads.c
tests_programs_gc_threads_CFLAGS = $(tests_programs_cflags) $(BDWGC_CFLAGS)
tests_programs_gc_threads_LDFLAGS = $(tests_programs_ldflags)
tests_programs_gc_threads_LDADD = $(BDWGC_LIBS)
endif
EXTRA_DIST += tests/programs/gc_threads.c

TESTS += $(tests_programs_ptests)
TEST_EXTENSIONS += .ptest
PTEST_LOG_COMPILER = $(SHELL) $(srcdir)/tests/programs/run.sh

$(tests_programs_ptests):
	@$(MKDIR_P) tests/programs
	$(AM_V_GEN): > $@

CLEANFILES += $(tests_programs_ptests)
EXTRA_DIST += tests/programs/run.sh tests/programs/check.h
