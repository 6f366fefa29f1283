# libgoshim.so: the interposed POSIX names (shim/) over the runtime.
# Only the names in shim/exports.map are exported.
lib_LTLIBRARIES += libgoshim.la
libgoshim_la_SOURCES = \
	shim/attr.c \
	shim/attr.h \
	shim/barrier.c \
	shim/blocking.c \
	shim/c11.c \
	shim/cancel.c \
	shim/cleanup.c \
	shim/cond.c \
	shim/fd.c \
	shim/fdstate.c \
	shim/futex.c \
	shim/io.c \
	shim/io.h \
	shim/key.c \
	shim/mutex.c \
	shim/once.c \
	shim/poll.c \
	shim/rwlock.c \
	shim/sem.c \
	shim/shim.h \
	shim/signal.c \
	shim/sleep.c \
	shim/socket.c \
	shim/spin.c \
	shim/sync.c \
	shim/sync.h \
	shim/thread.c \
	shim/time.c
libgoshim_la_CPPFLAGS = $(AM_CPPFLAGS) -D_GNU_SOURCE -I$(top_srcdir)/src
libgoshim_la_CFLAGS = $(AM_CFLAGS) -std=gnu11 -fvisibility=hidden
libgoshim_la_LIBADD = src/libruntime.la -ldl -lpthread
libgoshim_la_LDFLAGS = -module -avoid-version -shared \
	-Wl,--version-script=$(srcdir)/shim/exports.map
EXTRA_libgoshim_la_DEPENDENCIES = shim/exports.map
EXTRA_DIST += shim/exports.map
