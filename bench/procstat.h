/*
 * procstat.h — what the benchmarks measure about themselves: the kernel
 * thread count (Threads: in /proc/self/status) and peak resident set size
 * (VmHWM), the count's peak over a phase (a sampler thread), plus a
 * monotonic clock.  Plain POSIX, read with open/read so no stdio lock is
 * taken while other threads run.
 */
#ifndef BENCH_PROCSTAT_H
#define BENCH_PROCSTAT_H

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Value of field `name` ("Threads:", "VmHWM:") in /proc/self/status, or -1. */
static inline long status_field(const char *name)
{
	char buf[8192];
	ssize_t n, len = 0;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len < (ssize_t)sizeof buf - 1 &&
	       (n = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';

	size_t nlen = strlen(name);
	for (char *line = buf; line && *line; ) {
		if (strncmp(line, name, nlen) == 0)
			return strtol(line + nlen, NULL, 10);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

/* Running maximum of the kernel thread count; call at sample points. */
static long max_threads;

static inline void sample_threads(void)
{
	long t = status_field("Threads:");

	if (t > max_threads)
		max_threads = t;
}

/*
 * A sampler thread, for phases where the thread count moves while they run
 * (a runtime starting kernel threads for calls that block) and main has no
 * hand free to look: it samples every SAMPLE_INTERVAL_NS from
 * start_sampling until stop_sampling, which returns with max_threads
 * final.  Between the two only the sampler calls sample_threads.
 */
#define SAMPLE_INTERVAL_NS 2000000

static pthread_t sampler_thread;
static atomic_int sampler_stop;

static inline void *sampler(void *arg)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = SAMPLE_INTERVAL_NS };

	do {
		sample_threads();
		nanosleep(&ts, NULL);
	} while (!atomic_load(&sampler_stop));
	sample_threads();
	return arg;
}

/* Returns 0 or pthread_create's error. */
static inline int start_sampling(void)
{
	atomic_store(&sampler_stop, 0);
	return pthread_create(&sampler_thread, NULL, sampler, NULL);
}

static inline void stop_sampling(void)
{
	atomic_store(&sampler_stop, 1);
	pthread_join(sampler_thread, NULL);
}

static inline long maxrss_kib(void)
{
	return status_field("VmHWM:");
}

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parses a positive count from argv, or exits with a usage message. */
static inline long parse_count(const char *s, const char *what, const char *usage)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, "bad %s: %s\n%s", what, s, usage);
		exit(2);
	}
	return v;
}

#endif
