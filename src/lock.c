/*
 * lock.c — runtime mutexes and notes on raw futexes (Go's lock_futex.go).
 *
 * These never call goshim's own pthread functions nor the program's: they
 * must work on g0, in sysmon, on foreign threads and during init.  Their
 * futexes are raw system calls (rt_syscall), which leave errno alone.  A
 * runtime lock is held only across short sections that never park, so
 * blocking the kernel thread on contention is correct (the holder is
 * running).
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

enum { UNLOCKED = 0, LOCKED = 1, CONTENDED = 2 };
#define LOCK_SPIN 100

int rt_futex_wait(_Atomic uint32_t *addr, uint32_t val, const struct timespec *rel)
{
	long r = rt_syscall4(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, rel);
	return r < 0 ? (int)r : 0;
}

int rt_futex_wake(_Atomic uint32_t *addr, int n)
{
	return (int)rt_syscall3(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n);
}

#ifdef GOSHIM_DEBUG
/* Ranks of the locks held, innermost last: the M's (see struct
 * lockranks), or the kernel thread's where there is no M. */
static __thread struct lockranks thread_ranks __attribute__((tls_model("initial-exec")));

static struct lockranks *ranks(void)
{
	struct g *gp = g_cur;
	return (gp && gp->m) ? &gp->m->ranks : &thread_ranks;
}

/* same_ok: the caller takes two locks of one rank in address order
 * (lock2), which cannot deadlock against another such pair. */
static void rank_acquire_(struct rt_lock *l, bool same_ok)
{
	struct lockranks *r = ranks();
	if (l->rank == RANK_NONE)
		rt_throw("lock: lock without a rank");
	if (r->n > 0 && r->held[r->n - 1] >= l->rank &&
	    !(same_ok && r->held[r->n - 1] == l->rank))
		rt_throw("lock: lock order violation (see src/lockrank.h)");
	if (r->n == (int)sizeof r->held)
		rt_throw("lock: too many locks held");
	r->held[r->n++] = (uint8_t)l->rank;
}

static void rank_acquire(struct rt_lock *l)
{
	rank_acquire_(l, false);
}

static void rank_release(struct rt_lock *l)
{
	struct lockranks *r = ranks();
	for (int i = r->n - 1; i >= 0; i--) {
		if (r->held[i] == l->rank) {
			for (; i < r->n - 1; i++)
				r->held[i] = r->held[i + 1];
			r->n--;
			return;
		}
	}
	rt_throw("unlock: lock not held");
}
/* The child of a fork starts its locks afresh (fork.c), and with them
 * the record of what this thread held across the fork. */
void lockrank_fork_child(void)
{
	ranks()->n = 0;
	thread_ranks.n = 0;
}
#else
void lockrank_fork_child(void)
{
}

static inline void rank_acquire_(struct rt_lock *l, bool same_ok)
{
	(void)l;
	(void)same_ok;
}

static inline void rank_acquire(struct rt_lock *l)
{
	(void)l;
}

static inline void rank_release(struct rt_lock *l)
{
	(void)l;
}
#endif

/* After the fast path failed (and the rank was checked). */
static void lock_slow(struct rt_lock *l)
{
	uint32_t v;

	for (int i = 0; i < LOCK_SPIN; i++) {
		v = UNLOCKED;
		if (atomic_load_explicit(&l->key, memory_order_relaxed) == UNLOCKED &&
		    atomic_compare_exchange_weak_explicit(&l->key, &v, LOCKED,
				memory_order_acquire, memory_order_relaxed))
			return;
		cpu_relax();
	}
	/* Mark contended; whoever unlocks from CONTENDED wakes one sleeper. */
	while (atomic_exchange_explicit(&l->key, CONTENDED, memory_order_acquire) != UNLOCKED)
		rt_futex_wait(&l->key, CONTENDED, NULL);
}

void lock(struct rt_lock *l)
{
	uint32_t v = UNLOCKED;

	rank_acquire(l);
	if (likely(atomic_compare_exchange_strong_explicit(&l->key, &v, LOCKED,
			memory_order_acquire, memory_order_relaxed)))
		return;
	lock_slow(l);
}

/* Takes two locks of the same rank, lower address first (one if a == b). */
void lock2(struct rt_lock *a, struct rt_lock *b)
{
	if (a == b) {
		lock(a);
		return;
	}
	if (a > b) {
		struct rt_lock *t = a;
		a = b;
		b = t;
	}
	lock(a);
	uint32_t v = UNLOCKED;
	rank_acquire_(b, true);
	if (!atomic_compare_exchange_strong_explicit(&b->key, &v, LOCKED,
			memory_order_acquire, memory_order_relaxed))
		lock_slow(b);
}

void unlock2(struct rt_lock *a, struct rt_lock *b)
{
	unlock(a);
	if (b != a)
		unlock(b);
}

void unlock(struct rt_lock *l)
{
	rank_release(l);
	if (atomic_exchange_explicit(&l->key, UNLOCKED, memory_order_release) == CONTENDED)
		rt_futex_wake(&l->key, 1);
}

void note_clear(struct note *n)
{
	atomic_store_explicit(&n->key, 0, memory_order_relaxed);
}

void note_wakeup(struct note *n)
{
	uint32_t old = atomic_exchange_explicit(&n->key, 1, memory_order_release);
	rt_assert(old == 0, "note_wakeup: double wakeup");
	rt_futex_wake(&n->key, 1);
}

void note_sleep(struct note *n)
{
	while (atomic_load_explicit(&n->key, memory_order_acquire) == 0)
		rt_futex_wait(&n->key, 0, NULL);
}
