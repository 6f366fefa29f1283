/*
 * sleepers — many threads that each sleep, then exit.
 *
 *   sleepers [N [MS]]
 *
 * Starts N threads (default 10000) with default attributes; each sleeps MS
 * milliseconds (default 1000) with nanosleep and returns.  The main thread
 * looks at its kernel thread count a few times while they sleep, then joins
 * them all.  Prints one line:
 *   RESULT name=sleepers n=... sleep_ms=... total_ns=... wall_ms=...
 *          per_op_ns=... create_ns=... max_threads=... maxrss_kib=...
 * total_ns/wall_ms: first create to last join; create_ns: creating all N.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

static const char usage[] = "usage: sleepers [N [MS]]\n";

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *sleeper(void *arg)
{
	sleep_ns(*(const int64_t *)arg);
	return NULL;
}

int main(int argc, char **argv)
{
	long n = 10000, ms = 1000;

	if (argc > 3 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 1)
		n = parse_count(argv[1], "N", usage);
	if (argc > 2)
		ms = parse_count(argv[2], "MS", usage);

	static int64_t sleep_for;
	sleep_for = (int64_t)ms * 1000000;
	pthread_t *tids = calloc((size_t)n, sizeof *tids);
	if (!tids) {
		perror("sleepers: calloc");
		return 1;
	}

	int64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		int err = pthread_create(&tids[i], NULL, sleeper, &sleep_for);
		if (err) {
			fprintf(stderr, "sleepers: pthread_create #%ld: %s\n",
				i, strerror(err));
			return 1;
		}
	}
	int64_t created = now_ns() - t0;
	sample_threads();

	/* Samples at a quarter, half and three quarters of the sleep. */
	for (int q = 1; q <= 3; q++) {
		int64_t wait = t0 + sleep_for * q / 4 - now_ns();
		if (wait > 0)
			sleep_ns(wait);
		sample_threads();
	}

	for (long i = 0; i < n; i++) {
		int err = pthread_join(tids[i], NULL);
		if (err) {
			fprintf(stderr, "sleepers: pthread_join #%ld: %s\n",
				i, strerror(err));
			return 1;
		}
	}
	int64_t total = now_ns() - t0;
	free(tids);

	printf("RESULT name=sleepers n=%ld sleep_ms=%ld total_ns=%lld wall_ms=%.1f per_op_ns=%.1f create_ns=%lld max_threads=%ld maxrss_kib=%ld\n",
	       n, ms, (long long)total, (double)total / 1e6,
	       (double)total / (double)n, (long long)created, max_threads,
	       maxrss_kib());
	return 0;
}
