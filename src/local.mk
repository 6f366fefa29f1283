# The runtime (src/arch -> src), as a convenience library: linked into
# libgoshim.la and directly into the unit tests.
noinst_LTLIBRARIES += src/libruntime.la
src_libruntime_la_SOURCES = \
	src/arch/x86_64/sigreturn.S \
	src/arch/x86_64/switch.S \
	src/blocked.c \
	src/env.c \
	src/fdtab.c \
	src/fork.c \
	src/intr.c \
	src/libc_real.c \
	src/libc_real.h \
	src/lock.c \
	src/lockrank.h \
	src/mem.c \
	src/netpoll.h \
	src/netpoll_epoll.c \
	src/proc.c \
	src/runq.c \
	src/runtime.h \
	src/sched.c \
	src/schedtrace.c \
	src/sema.c \
	src/sigintr.c \
	src/stack.c \
	src/syscall.c \
	src/sysmon.c \
	src/throw.c \
	src/timer.c \
	src/tls.c \
	src/tsd.c \
	src/unwind.c
src_libruntime_la_CPPFLAGS = $(AM_CPPFLAGS) -D_GNU_SOURCE -I$(top_srcdir)/src
src_libruntime_la_CFLAGS = $(AM_CFLAGS) -std=gnu11 -fvisibility=hidden
src_libruntime_la_LIBADD = -ldl -lpthread
