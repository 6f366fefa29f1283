/*
 * create_join — cost of pthread_create + pthread_join of a trivial thread.
 *
 *   create_join [N [BATCH]]
 *
 * Creates N threads (default 100000) running a function that returns at
 * once.  BATCH 1 (default): create one, join it, repeat.  BATCH k: create k,
 * join the k, repeat, so k threads are outstanding at a time.
 * Prints one line:
 *   RESULT name=create_join n=... batch=... total_ns=... per_op_ns=...
 *          max_threads=... maxrss_kib=...
 * (name=create_join_bK when BATCH > 1).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

static const char usage[] = "usage: create_join [N [BATCH]]\n";

static void *trivial(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	long n = 100000, batch = 1;

	if (argc > 3 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 1)
		n = parse_count(argv[1], "N", usage);
	if (argc > 2)
		batch = parse_count(argv[2], "BATCH", usage);
	if (batch > n)
		batch = n;

	pthread_t *tids = calloc((size_t)batch, sizeof *tids);
	if (!tids) {
		perror("create_join: calloc");
		return 1;
	}
	/* About 100 samples of the thread count, taken with threads alive. */
	long rounds = (n + batch - 1) / batch;
	long sample_every = rounds / 100 > 0 ? rounds / 100 : 1;

	sample_threads();
	int64_t t0 = now_ns();
	long done = 0;
	for (long r = 0; done < n; r++) {
		long k = n - done < batch ? n - done : batch;
		for (long i = 0; i < k; i++) {
			int err = pthread_create(&tids[i], NULL, trivial, (void *)(done + i));
			if (err) {
				fprintf(stderr, "create_join: pthread_create #%ld: %s\n",
					done + i, strerror(err));
				return 1;
			}
		}
		if (r % sample_every == 0)
			sample_threads();
		for (long i = 0; i < k; i++) {
			void *ret;
			int err = pthread_join(tids[i], &ret);
			if (err) {
				fprintf(stderr, "create_join: pthread_join #%ld: %s\n",
					done + i, strerror(err));
				return 1;
			}
			if (ret != (void *)(done + i)) {
				fprintf(stderr, "create_join: thread #%ld returned %p\n",
					done + i, ret);
				return 1;
			}
		}
		done += k;
	}
	int64_t total = now_ns() - t0;
	sample_threads();
	free(tids);

	char name[48];
	if (batch > 1)
		snprintf(name, sizeof name, "create_join_b%ld", batch);
	else
		snprintf(name, sizeof name, "create_join");
	printf("RESULT name=%s n=%ld batch=%ld total_ns=%lld per_op_ns=%.1f max_threads=%ld maxrss_kib=%ld\n",
	       name, n, batch, (long long)total, (double)total / (double)n,
	       max_threads, maxrss_kib());
	return 0;
}
