/*
 * cond_broadcast — N threads wait on one condition variable; once all of
 * them wait, main broadcasts once, and joins them all.
 *
 *   cond_broadcast [THREADS]
 *
 * THREADS defaults to 10000.  Prints one line:
 *   RESULT name=cond_broadcast n=... total_ns=... wall_ms=... wake_ms=...
 *          max_threads=... maxrss_kib=...
 * wall_ms covers creating the threads, their waits, the broadcast and the
 * joins; wake_ms the broadcast and the joins only.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procstat.h"

static const char usage[] = "usage: cond_broadcast [THREADS]\n";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static pthread_cond_t all_waiting = PTHREAD_COND_INITIALIZER;
static long waiting, nthreads; /* mu */
static int released;           /* mu */

static void *waiter(void *arg)
{
	pthread_mutex_lock(&mu);
	if (++waiting == nthreads)
		pthread_cond_signal(&all_waiting);
	while (!released)
		pthread_cond_wait(&go, &mu);
	pthread_mutex_unlock(&mu);
	return arg;
}

int main(int argc, char **argv)
{
	nthreads = 10000;
	if (argc > 2 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 1)
		nthreads = parse_count(argv[1], "THREADS", usage);

	pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	int64_t t0 = now_ns();
	for (long i = 0; i < nthreads; i++) {
		int err = pthread_create(&tids[i], &attr, waiter, NULL);
		if (err) {
			fprintf(stderr, "cond_broadcast: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	pthread_mutex_lock(&mu);
	while (waiting < nthreads)
		pthread_cond_wait(&all_waiting, &mu);
	sample_threads();
	int64_t t1 = now_ns();
	released = 1;
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&mu);
	for (long i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	int64_t t2 = now_ns();

	printf("RESULT name=cond_broadcast n=%ld total_ns=%lld wall_ms=%.1f wake_ms=%.1f max_threads=%ld maxrss_kib=%ld\n",
	       nthreads, (long long)(t2 - t0), (t2 - t0) / 1e6, (t2 - t1) / 1e6,
	       max_threads, maxrss_kib());
	return 0;
}
