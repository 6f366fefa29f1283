/*
 * mutex_cond_pingpong — two threads hand a turn back and forth through one
 * mutex and one condition variable per direction.
 *
 *   mutex_cond_pingpong [HOPS]
 *
 * HOPS (default 1000000) hand-overs in all.  Prints one line:
 *   RESULT name=mutex_cond_pingpong n=... total_ns=... per_op_ns=...
 *          max_threads=... maxrss_kib=...
 * per_op_ns is the time per hop.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

static const char usage[] = "usage: mutex_cond_pingpong [HOPS]\n";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed[2] = { PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER };
static int turn = -1; /* whose turn: 0 or 1; -1 until main starts; mu */
static long hops;

static void *player(void *arg)
{
	int me = (int)(intptr_t)arg;

	/* Player 0 makes hops 0, 2, 4...; player 1 makes hops 1, 3, 5... */
	pthread_mutex_lock(&mu);
	for (long h = me; h < hops; h += 2) {
		while (turn != me)
			pthread_cond_wait(&turn_changed[me], &mu);
		turn = 1 - me;
		pthread_cond_signal(&turn_changed[1 - me]);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	hops = 1000000;
	if (argc > 2 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 1)
		hops = parse_count(argv[1], "HOPS", usage);

	pthread_t tids[2];
	for (int i = 0; i < 2; i++) {
		int err = pthread_create(&tids[i], NULL, player, (void *)(intptr_t)i);
		if (err) {
			fprintf(stderr, "mutex_cond_pingpong: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	sample_threads();

	int64_t t0 = now_ns();
	pthread_mutex_lock(&mu);
	turn = 0;
	pthread_cond_signal(&turn_changed[0]);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 2; i++)
		pthread_join(tids[i], NULL);
	int64_t total = now_ns() - t0;

	printf("RESULT name=mutex_cond_pingpong n=%ld total_ns=%lld per_op_ns=%.1f max_threads=%ld maxrss_kib=%ld\n",
	       hops, (long long)total, (double)total / (double)hops,
	       max_threads, maxrss_kib());
	return 0;
}
