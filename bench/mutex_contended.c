/*
 * mutex_contended — THREADS threads each increment one shared counter N
 * times under one mutex.
 *
 *   mutex_contended [N [THREADS]]
 *
 * N defaults to 1000000, THREADS to 8.  Prints one line:
 *   RESULT name=mutex_contended n=... threads=... total_ns=... wall_ms=...
 *          per_op_ns=... max_threads=... maxrss_kib=...
 * per_op_ns is the wall time per increment.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

static const char usage[] = "usage: mutex_contended [N [THREADS]]\n";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter, per_thread;

static void *incrementer(void *arg)
{
	for (long i = 0; i < per_thread; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	return arg;
}

int main(int argc, char **argv)
{
	long threads = 8;
	per_thread = 1000000;
	if (argc > 3 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 1)
		per_thread = parse_count(argv[1], "N", usage);
	if (argc > 2)
		threads = parse_count(argv[2], "THREADS", usage);

	pthread_t tids[1024];
	if (threads > 1024) {
		fputs(usage, stderr);
		return 2;
	}
	int64_t t0 = now_ns();
	for (long i = 0; i < threads; i++) {
		int err = pthread_create(&tids[i], NULL, incrementer, NULL);
		if (err) {
			fprintf(stderr, "mutex_contended: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	sample_threads();
	for (long i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	int64_t total = now_ns() - t0;
	long ops = per_thread * threads;

	printf("RESULT name=mutex_contended n=%ld threads=%ld total_ns=%lld wall_ms=%.1f per_op_ns=%.1f max_threads=%ld maxrss_kib=%ld\n",
	       per_thread, threads, (long long)total, total / 1e6, (double)total / (double)ops,
	       max_threads, maxrss_kib());
	return counter == ops ? 0 : 1;
}
