/*
 * pipe_pingpong — two threads hand one byte back and forth over two pipes,
 * with blocking reads and writes.
 *
 *   pipe_pingpong [HOPS]
 *
 * HOPS (default 400000, i.e. 200,000 round trips) one-way transfers in
 * all: a write by one thread and the read that takes it in the other.  A
 * sampler thread follows the kernel thread count during the game.  Prints
 * one line:
 *   RESULT name=pipe_pingpong n=... total_ns=... per_op_ns=...
 *          max_threads=... maxrss_kib=...
 * per_op_ns is the time per hop.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "procstat.h"

static const char usage[] = "usage: pipe_pingpong [HOPS]\n";

static int to[2][2]; /* to[p]: the pipe player p reads ([0]) */
static long hops;

static void transfer(int fd, int write_it)
{
	char c = 'x';
	ssize_t n = write_it ? write(fd, &c, 1) : read(fd, &c, 1);

	if (n != 1) {
		fprintf(stderr, "pipe_pingpong: %s: %s\n", write_it ? "write" : "read",
			n < 0 ? strerror(errno) : "EOF");
		exit(1);
	}
}

static void *player(void *arg)
{
	int me = (int)(intptr_t)arg;

	/* Player 0 makes hops 0, 2, 4...; player 1 makes hops 1, 3, 5...
	 * Each first takes the hop before (for hop 0, main's start byte). */
	for (long h = me; h < hops; h += 2) {
		transfer(to[me][0], 0);
		transfer(to[1 - me][1], 1);
	}
	/* The last hop is the other player's: take it. */
	if (hops % 2 == me)
		transfer(to[me][0], 0);
	return NULL;
}

int main(int argc, char **argv)
{
	hops = 400000;
	if (argc > 2 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 1)
		hops = parse_count(argv[1], "HOPS", usage);

	for (int p = 0; p < 2; p++)
		if (pipe(to[p]) != 0) {
			perror("pipe_pingpong: pipe");
			return 1;
		}
	pthread_t tids[2];
	for (int i = 0; i < 2; i++) {
		int err = pthread_create(&tids[i], NULL, player, (void *)(intptr_t)i);
		if (err) {
			fprintf(stderr, "pipe_pingpong: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	int err = start_sampling();
	if (err) {
		fprintf(stderr, "pipe_pingpong: pthread_create: %s\n", strerror(err));
		return 1;
	}

	int64_t t0 = now_ns();
	transfer(to[0][1], 1);
	for (int i = 0; i < 2; i++)
		pthread_join(tids[i], NULL);
	int64_t total = now_ns() - t0;
	stop_sampling();

	printf("RESULT name=pipe_pingpong n=%ld total_ns=%lld per_op_ns=%.1f max_threads=%ld maxrss_kib=%ld\n",
	       hops, (long long)total, (double)total / (double)hops,
	       max_threads, maxrss_kib());
	return 0;
}
