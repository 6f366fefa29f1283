/*
 * time.c — conversions of POSIX timespecs onto the runtime's monotonic
 * nanosecond clock, shared by sleeps and timed waits.
 */
#include "shim.h"

bool shim_timespec_valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

static int64_t ts_ns(const struct timespec *ts)
{
	if (ts->tv_sec > INT64_MAX / 1000000000 - 1)
		return INT64_MAX / 2;
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* A relative time (valid, not negative) from now, as a nanotime()
 * deadline; a time too far to represent waits "forever" (INT64_MAX / 4,
 * past any real clock). */
int64_t shim_rel_deadline(const struct timespec *rel)
{
	int64_t now = nanotime();
	if (rel->tv_sec > (INT64_MAX / 4 - now) / 1000000000)
		return INT64_MAX / 4;
	return now + (int64_t)rel->tv_sec * 1000000000 + rel->tv_nsec;
}

/* An absolute time on clock, as a nanotime() deadline: the distance from
 * now on that clock is added to now on the monotonic one.  A time already
 * past gives a deadline already past. */
int64_t shim_deadline(clockid_t clock, const struct timespec *abstime)
{
	struct timespec now;
	if (clock_gettime(clock, &now) != 0)
		return -1;
	int64_t mono = nanotime();
	int64_t left = ts_ns(abstime) - ts_ns(&now);
	if (left < 0)
		left = 0;
	if (left > INT64_MAX / 4)
		left = INT64_MAX / 4;
	return mono + left;
}

struct timespec shim_remaining(int64_t deadline)
{
	int64_t left = deadline - nanotime();
	if (left < 0)
		left = 0;
	return (struct timespec){ left / 1000000000, left % 1000000000 };
}
