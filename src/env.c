/*
 * env.c — GOMAXPROCS and GODEBUG, read once at init.
 *
 * GOMAXPROCS: a positive integer (capped at MAX_GOMAXPROCS); unset means
 * the number of CPUs in the process's affinity mask.  GODEBUG: the comma
 * separated name=value list Go uses; goshim reads schedtrace=MS,
 * scheddetail=1 and tlsswitch=0 and ignores names it does not know (they
 * may be meant for a Go program started by this one).  A bad value is one line on stderr and
 * the default.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define MAX_GOMAXPROCS 1024

struct godebug godebug;

/* Parses a decimal integer in [0, max]; returns -1 if s is not one. */
static long parse_uint(const char *s, size_t len, long max)
{
	long v = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			v = max;
	}
	return v;
}

static int ncpu(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		int n = CPU_COUNT(&set);
		if (n > 0)
			return n;
	}
	return 1;
}

static void bad_value(const char *var, const char *val, size_t len, const char *why, long dflt)
{
	rt_printf("goshim: %s value \"%.*s\" %s; using %ld\n", var, (int)len, val, why, dflt);
}

void env_parse(void)
{
	int dflt = ncpu();
	const char *s = getenv("GOMAXPROCS");
	gomaxprocs = dflt;
	if (s && *s) {
		long n = parse_uint(s, strlen(s), 1L << 30);
		if (n <= 0)
			bad_value("GOMAXPROCS", s, strlen(s), "is not a positive integer", dflt);
		else
			gomaxprocs = (int32_t)(n > MAX_GOMAXPROCS ? MAX_GOMAXPROCS : n);
	}

	s = getenv("GODEBUG");
	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		if (eq) {
			size_t klen = (size_t)(eq - s);
			const char *v = eq + 1;
			size_t vlen = len - klen - 1;
			if (klen == 10 && memcmp(s, "schedtrace", 10) == 0) {
				long n = parse_uint(v, vlen, 1L << 30);
				if (n < 0)
					bad_value("GODEBUG schedtrace", v, vlen,
						  "is not a number of milliseconds", 0);
				else
					godebug.schedtrace = (int32_t)n;
			} else if (klen == 11 && memcmp(s, "scheddetail", 11) == 0) {
				long n = parse_uint(v, vlen, 1);
				if (n < 0)
					bad_value("GODEBUG scheddetail", v, vlen, "is not 0 or 1", 0);
				else
					godebug.scheddetail = n != 0;
			} else if (klen == 9 && memcmp(s, "tlsswitch", 9) == 0) {
				long n = parse_uint(v, vlen, 1);
				if (n < 0)
					bad_value("GODEBUG tlsswitch", v, vlen, "is not 0 or 1", 1);
				else
					godebug.notlsswitch = n == 0;
			}
		}
		s = end ? end + 1 : NULL;
	}
}
