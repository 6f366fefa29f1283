/*
 * sync.h — what the synchronization objects of shim/ share: the owner id
 * a thread records in the objects it holds, deadlines of timed waits, the
 * spin-before-park policy, and the hand-off around glibc's own blocking
 * calls for process-shared objects.
 *
 * Layouts.  Every object keeps glibc's size and the fields glibc's static
 * initializers and attributes set (a mutex's __kind, a condvar's clock and
 * pshared bits in __wrefs, a rwlock's __flags and __shared, a barrier's and
 * a semaphore's shared word), so zero-filled and *_INITIALIZER objects work
 * without init.  The other fields are goshim's own for process-private
 * objects: all their operations come here.  A process-shared object may be
 * used at the same time by a process that does not run goshim, so it keeps
 * glibc's layout and protocol: goshim calls glibc for it, handing the P off
 * while the call may block (syscall.c).
 */
#ifndef GOSHIM_SHIM_SYNC_H
#define GOSHIM_SHIM_SYNC_H

#include "shim.h"

/* Owner ids of threads goshim does not run (g0, foreign threads): their
 * kernel tid with this bit, which no G's slot number reaches. */
#define OWNER_FOREIGN 0x20000000

int32_t sync_self_slow(void);

/* The id the calling thread records as an owner: never 0.  A set g_cur
 * means the runtime is up; g0s have no ownerid and take the slow path. */
static inline int32_t sync_self(void)
{
	struct g *gp = g_cur;
	if (likely(gp && gp->ownerid))
		return gp->ownerid;
	return sync_self_slow();
}

/* The deadline of a timed wait on clock at abstime, as a nanotime() value
 * in *deadline (-1 when abstime is NULL).  EINVAL for a tv_nsec out of
 * range, 0 otherwise. */
int sync_deadline(clockid_t clock, const struct timespec *abstime, int64_t *deadline);

/* The clocks glibc's clock* waits accept. */
static inline bool sync_clock_ok(clockid_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

/* Whether a thread that found a lock held should spin a little before it
 * parks (after Go's sync_runtime_canSpin): only while every other P runs a
 * G (the holder may be one of them and release it soon), never on a single
 * P.  Unlike Go, work waiting on this P's queue does not forbid it: a park
 * and the wake-up that follows cost more than the few microseconds at most
 * that a spin gives up, and a holder on another P typically lets go within
 * a fraction of that.  iter counts the spins so far. */
bool sync_can_spin(int iter);
void sync_spin(void);

/* Threads inside an object that may be destroyed as soon as they are woken
 * (a condvar after a broadcast, a barrier after its last round) count
 * themselves in a word; destroy sets SYNC_DESTROYING in it and waits
 * (sync_drain) until the last one leaves (sync_leave wakes it). */
#define SYNC_DESTROYING 0x80000000u
void sync_leave_n(_Atomic uint32_t *inside, uint32_t n);
static inline void sync_leave(_Atomic uint32_t *inside)
{
	sync_leave_n(inside, 1);
}
void sync_drain(_Atomic uint32_t *inside, enum wait_reason reason);

/* Wait morphing (mutex.c, for cond.c): mutex_requeue_word marks a locked
 * goshim mutex contended and returns its word (NULL: unlocked, or
 * glibc's); after moving waiters there, mutex_requeue_done makes sure one
 * is woken if the mutex was released meanwhile; a moved waiter relocks
 * with mutex_lock_requeued, which keeps the word contended. */
_Atomic uint32_t *mutex_requeue_word(pthread_mutex_t *m);
void mutex_requeue_done(_Atomic uint32_t *w);
int mutex_lock_requeued(pthread_mutex_t *m);

/* Brackets a glibc call that may block the kernel thread: the caller's P
 * runs other Gs meanwhile, and the caller comes back on the same kernel
 * thread, which the kernel may have recorded as an owner (PI futexes).
 * Free of effect on threads goshim does not run. */
struct g *sync_block_begin(void);
void sync_block_end(struct g *gp);

#endif
