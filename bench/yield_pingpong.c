/*
 * yield_pingpong — two threads handing a turn back and forth, each waiting
 * for its turn with sched_yield().
 *
 *   yield_pingpong [HOPS]
 *
 * HOPS (default 1000000) hand-overs in all; each one is a switch from one
 * thread to the other.  Prints one line:
 *   RESULT name=yield_pingpong n=... total_ns=... per_op_ns=...
 *          max_threads=... maxrss_kib=...
 * per_op_ns is the time per hop.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

static const char usage[] = "usage: yield_pingpong [HOPS]\n";

/* Whose turn it is: 0 or 1; -1 until main starts the game. */
static atomic_int turn = -1;
static long hops;

static void *player(void *arg)
{
	int me = (int)(intptr_t)arg;

	/* Player 0 makes hops 0, 2, 4...; player 1 makes hops 1, 3, 5... */
	for (long h = me; h < hops; h += 2) {
		while (atomic_load_explicit(&turn, memory_order_acquire) != me)
			sched_yield();
		atomic_store_explicit(&turn, 1 - me, memory_order_release);
	}
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
			fprintf(stderr, "yield_pingpong: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	sample_threads();

	int64_t t0 = now_ns();
	atomic_store_explicit(&turn, 0, memory_order_release);
	for (int i = 0; i < 2; i++)
		pthread_join(tids[i], NULL);
	int64_t total = now_ns() - t0;

	printf("RESULT name=yield_pingpong n=%ld total_ns=%lld per_op_ns=%.1f max_threads=%ld maxrss_kib=%ld\n",
	       hops, (long long)total, (double)total / (double)hops,
	       max_threads, maxrss_kib());
	return 0;
}
