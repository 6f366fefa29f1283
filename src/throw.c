/*
 * throw.c — fatal errors and raw diagnostics output.  Everything here writes
 * with the write system call: no stdio, no malloc, safe under any lock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

static void write_all(const char *s, size_t n)
{
	while (n > 0) {
		long w = rt_syscall3(SYS_write, 2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void rt_print(const char *s)
{
	write_all(s, strlen(s));
}

void rt_write(const char *s, size_t n)
{
	write_all(s, n);
}

/* vsnprintf into a stack buffer: glibc's does not allocate for the
 * conversions the runtime uses (%d %ld %s %u %x). */
void rt_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	write_all(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void rt_throw(const char *msg)
{
	rt_print("goshim: fatal error: ");
	rt_print(msg);
	rt_print("\n");
	abort();
}
