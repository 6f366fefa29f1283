/*
 * barrier.c — barriers: the threads of a round park their Gs on the
 * barrier's round counter, and the last to arrive advances it.
 *
 * A thread reads the round, then counts itself in; the one that brings the
 * count to the barrier's count resets it, advances the round (so the
 * threads that then return can start the next round at once) and wakes the
 * others, and is the PTHREAD_BARRIER_SERIAL_THREAD.  inside counts the
 * threads between entering and their last touch of the barrier, so that
 * pthread_barrier_destroy can wait for them (glibc's does too): a barrier
 * may be destroyed as soon as any thread of the last round returned.
 *
 * Fields (pthread_barrier_t is 32 bytes; glibc's struct pthread_barrier):
 *   arrived  [in]             arrivals in the current round
 *   round    [current_round]  rounds completed, the word waiters park on
 *   count    [count]          threads per round
 *   shared   [shared]         glibc's futex flag to XOR in: non-zero for
 *                             process-shared
 *   inside   [out]            threads inside; SYNC_DESTROYING while destroy waits
 */
#include <limits.h>

#include "sync.h"

struct barrier {
	_Atomic uint32_t arrived;
	_Atomic uint32_t round;
	uint32_t count;
	int32_t shared;
	_Atomic uint32_t inside;
	uint32_t unused[3];
};
_Static_assert(sizeof(struct barrier) == sizeof(pthread_barrier_t), "pthread_barrier_t size");

/* glibc refuses counts above its arrival threshold. */
#define BARRIER_IN_THRESHOLD (UINT_MAX / 2)

static inline struct barrier *B(pthread_barrier_t *b)
{
	return (struct barrier *)b;
}

static inline bool pshared(const struct barrier *b)
{
	return b->shared != 0;
}

SHIM_EXPORT int pthread_barrier_wait(pthread_barrier_t *pb)
{
	struct barrier *b = B(pb);
	if (pshared(b)) {
		struct g *gp = sync_block_begin();
		int r = real.pthread_barrier_wait(pb);
		sync_block_end(gp);
		return r;
	}
	atomic_fetch_add(&b->inside, 1);
	uint32_t round = atomic_load(&b->round);
	if (atomic_fetch_add(&b->arrived, 1) + 1 == b->count) {
		atomic_store(&b->arrived, 0);
		atomic_store(&b->round, round + 1);
		sema_wake(&b->round, INT_MAX);
		sync_leave(&b->inside);
		return PTHREAD_BARRIER_SERIAL_THREAD;
	}
	while (atomic_load(&b->round) == round)
		sema_wait(&b->round, round, -1, WAIT_BARRIER);
	sync_leave(&b->inside);
	return 0;
}

SHIM_EXPORT int pthread_barrier_init(pthread_barrier_t *pb, const pthread_barrierattr_t *attr,
				     unsigned count)
{
	if (count == 0 || count >= BARRIER_IN_THRESHOLD)
		return EINVAL;
	int ps = attr ? *(const int *)attr : PTHREAD_PROCESS_PRIVATE;
	if (ps != PTHREAD_PROCESS_PRIVATE) {
		shim_g();
		return real.pthread_barrier_init(pb, attr, count);
	}
	struct barrier *b = B(pb);
	*b = (struct barrier){ .count = count };
	return 0;
}

/* Threads blocked in an unfinished round make it EBUSY (glibc would wait
 * for them forever); threads of a finished round on their way out are
 * waited for. */
SHIM_EXPORT int pthread_barrier_destroy(pthread_barrier_t *pb)
{
	struct barrier *b = B(pb);
	if (pshared(b)) {
		shim_g();
		return real.pthread_barrier_destroy(pb);
	}
	if (atomic_load(&b->arrived) != 0)
		return EBUSY;
	sync_drain(&b->inside, WAIT_BARRIER);
	return 0;
}
