/*
 * mutex_uncontended — one thread locks and unlocks a default mutex N times.
 *
 *   mutex_uncontended [N]
 *
 * N defaults to 100000000.  Prints one line:
 *   RESULT name=mutex_uncontended n=... total_ns=... per_op_ns=...
 *          max_threads=... maxrss_kib=...
 * per_op_ns is the time of one lock/unlock pair.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

static const char usage[] = "usage: mutex_uncontended [N]\n";

/* Another thread exists, as in any program where locking matters. */
static void *idle(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	long n = 100000000;
	if (argc > 2 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 1)
		n = parse_count(argv[1], "N", usage);
	pthread_t t;
	pthread_create(&t, NULL, idle, NULL);
	pthread_join(t, NULL);

	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	volatile long counter = 0;
	sample_threads();
	int64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	int64_t total = now_ns() - t0;

	printf("RESULT name=mutex_uncontended n=%ld total_ns=%lld per_op_ns=%.2f max_threads=%ld maxrss_kib=%ld\n",
	       n, (long long)total, (double)total / (double)n, max_threads, maxrss_kib());
	return counter == n ? 0 : 1;
}
