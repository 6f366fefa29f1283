/*
 * mutex.c — pthread mutexes: a waiter parks its G on the mutex's address
 * instead of blocking its kernel thread.
 *
 * The lock word is glibc's (Drepper's "mutex 3"): 0 unlocked, 1 locked,
 * 2 locked with waiters possible.  A locker that finds it held spins a
 * little while other Ps run (sync_can_spin), then exchanges 2 into it and
 * parks on the word while it reads 2; an unlock that exchanges out a 2
 * wakes one waiter, which exchanges 2 again (it cannot know whether others
 * wait).  pthread_cond_broadcast may move its waiters onto the word (wait
 * morphing, mutex_requeue_word): those relock with the exchange of 2 right
 * away (word_lock's contended), so that each unlock wakes the next.  A timed-out waiter just leaves: a stale 2 costs one wake-up that
 * finds nobody.  Lockers barge (a running thread may take the mutex ahead
 * of a woken one), as with glibc.
 *
 * Fields of a process-private mutex (glibc's names):
 *   __lock     the lock word
 *   __count    recursion depth of a recursive mutex
 *   __owner    owner id (sync_self) while locked by a kind that checks it
 *              and by the normal kinds too, for debuggers; 0 when unlocked
 *   __kind     glibc's kind and flag bits (static initializers set it);
 *              -1 once destroyed, as glibc, so a later lock is EINVAL
 *   __spins    the priority ceiling of a PTHREAD_PRIO_PROTECT mutex
 *   __elision  robust state: ROBUST_DIED, ROBUST_INCONSISTENT,
 *              ROBUST_NOTRECOVERABLE
 *   __list     links of the owner G's robust list
 *
 * Robust mutexes.  A G keeps the robust mutexes it holds on a list
 * (gp->robust_list, owner only); when it exits still holding some,
 * robust_exit marks each ROBUST_DIED and unlocks it, and the next locker
 * gets EOWNERDEAD and a mutex that is inconsistent until
 * pthread_mutex_consistent.  Unlocked while inconsistent, it becomes
 * not recoverable: every later lock is ENOTRECOVERABLE.
 *
 * Priority inheritance and protection have no effect among Gs, which have
 * no priorities on goshim's run queues: such mutexes lock like the others,
 * and the ceiling is kept for get/setprioceiling.
 *
 * Process-shared mutexes (PTHREAD_MUTEX_PSHARED_BIT in __kind, set by
 * glibc's own init, which goshim calls for them) are glibc's (sync.h).
 */
#include <limits.h>
#include <sched.h>
#include <string.h>

#include "sync.h"

struct mutex {
	_Atomic uint32_t lock;
	uint32_t count;
	_Atomic int32_t owner;
	uint32_t nusers;
	_Atomic int32_t kind;
	int16_t ceiling;
	uint16_t robust;
	struct mutex *prev, *next;
};
_Static_assert(sizeof(struct mutex) == sizeof(pthread_mutex_t), "pthread_mutex_t size");
_Static_assert(offsetof(struct mutex, kind) == 16, "__kind offset");

/* glibc's __kind bits. */
enum {
	KIND_MASK = 3,                  /* PTHREAD_MUTEX_{TIMED,RECURSIVE,ERRORCHECK,ADAPTIVE}_NP */
	KIND_ROBUST = 16,
	KIND_PRIO_INHERIT = 32,
	KIND_PRIO_PROTECT = 64,
	KIND_PSHARED = 128,
	KIND_ELISION = 256 | 512,
};
#define KIND_VALID (KIND_MASK | KIND_ROBUST | KIND_PRIO_INHERIT | KIND_PRIO_PROTECT | KIND_ELISION)

/* glibc's pthread_mutexattr_t: one int, the kind plus these flags. */
enum {
	MATTR_PROTOCOL_SHIFT = 28,
	MATTR_PROTOCOL_MASK = 0x30000000,
	MATTR_CEILING_SHIFT = 12,
	MATTR_CEILING_MASK = 0x00fff000,
	MATTR_ROBUST = 0x40000000,
	MATTR_PSHARED = (int)0x80000000,
	MATTR_FLAG_BITS = (int)0xf0fff000,
};

enum { ROBUST_DIED = 1, ROBUST_INCONSISTENT = 2, ROBUST_NOTRECOVERABLE = 4 };

enum { UNLOCKED = 0, LOCKED = 1, CONTENDED = 2 };

static inline struct mutex *M(pthread_mutex_t *m)
{
	return (struct mutex *)m;
}

/* ---------------------------------------------------------------- the lock word */

/* Takes the word after the fast path failed.  EINVAL for a bad abstime
 * (checked only now, when the caller must wait, as glibc), ETIMEDOUT. */
static int word_lock_slow(struct mutex *m, clockid_t clock, const struct timespec *abstime,
			  bool contended)
{
	for (int i = 0; !contended && sync_can_spin(i); i++) {
		sync_spin();
		uint32_t v = UNLOCKED;
		if (atomic_load_explicit(&m->lock, memory_order_relaxed) == UNLOCKED &&
		    atomic_compare_exchange_strong_explicit(&m->lock, &v, LOCKED,
				memory_order_acquire, memory_order_relaxed))
			return 0;
	}
	int64_t deadline;
	int err = sync_deadline(clock, abstime, &deadline);
	if (err)
		return err;
	while (atomic_exchange_explicit(&m->lock, CONTENDED, memory_order_acquire) != UNLOCKED) {
		if (sema_wait(&m->lock, CONTENDED, deadline, WAIT_MUTEX) == -ETIMEDOUT)
			return ETIMEDOUT;
	}
	return 0;
}

static inline bool word_trylock(struct mutex *m)
{
	uint32_t v = UNLOCKED;
	return atomic_compare_exchange_strong_explicit(&m->lock, &v, LOCKED,
			memory_order_acquire, memory_order_relaxed);
}

/* contended: the caller was moved here from a condvar, and others may
 * have been: take the word as a waiter does, leaving 2 in it. */
static inline int word_lock(struct mutex *m, clockid_t clock, const struct timespec *abstime,
			   bool contended)
{
	if (likely(!contended && word_trylock(m)))
		return 0;
	return word_lock_slow(m, clock, abstime, contended);
}

static __attribute__((noinline)) void word_wake(struct mutex *m)
{
	sema_wake(&m->lock, 1);
}

/* Takes the word, or tries to: 0, EBUSY (try), or word_lock's error. */
static inline int word_acquire(struct mutex *m, bool try, clockid_t clock,
			       const struct timespec *abstime, bool contended)
{
	if (try)
		return word_trylock(m) ? 0 : EBUSY;
	return word_lock(m, clock, abstime, contended);
}

static inline void word_unlock(struct mutex *m)
{
	if (unlikely(atomic_exchange_explicit(&m->lock, UNLOCKED, memory_order_release) ==
		     CONTENDED))
		word_wake(m);
}

/* ---------------------------------------------------------------- robust list */

static void robust_exit_g(struct g *gp);

static void robust_push(struct g *gp, struct mutex *m)
{
	if (!gp)
		return;
	robust_exit = robust_exit_g;
	m->prev = NULL;
	m->next = gp->robust_list;
	if (m->next)
		m->next->prev = m;
	gp->robust_list = m;
}

static void robust_remove(struct g *gp, struct mutex *m)
{
	if (!gp)
		return;
	if (m->prev)
		m->prev->next = m->next;
	else if (gp->robust_list == m)
		gp->robust_list = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->prev = m->next = NULL;
}

static void robust_exit_g(struct g *gp)
{
	struct mutex *m;
	while ((m = gp->robust_list)) {
		gp->robust_list = m->next;
		m->prev = m->next = NULL;
		m->robust = (uint16_t)((m->robust & ~ROBUST_INCONSISTENT) | ROBUST_DIED);
		m->count = 0;
		atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
		word_unlock(m);
	}
}

/* ---------------------------------------------------------------- lock */

/* The mutex word is held: finish taking a robust mutex. */
static int robust_acquired(struct mutex *m, int32_t self)
{
	if (m->robust & ROBUST_NOTRECOVERABLE) {
		word_unlock(m);
		return ENOTRECOVERABLE;
	}
	atomic_store_explicit(&m->owner, self, memory_order_relaxed);
	m->count = 1;
	robust_push(getg_user(), m);
	if (m->robust & ROBUST_DIED) {
		m->robust = (uint16_t)((m->robust & ~ROBUST_DIED) | ROBUST_INCONSISTENT);
		return EOWNERDEAD;
	}
	return 0;
}

/* glibc's pshared mutexes, through glibc; the P is handed off only when
 * the call would block. */
static int pshared_lock(pthread_mutex_t *m, bool try, clockid_t clock,
			const struct timespec *abstime)
{
	int err = real.pthread_mutex_trylock(m);
	if (err != EBUSY || try)
		return err;
	struct g *gp = sync_block_begin();
	if (!abstime)
		err = real.pthread_mutex_lock(m);
	else
		err = real.pthread_mutex_clocklock(m, clock, abstime);
	sync_block_end(gp);
	return err;
}

/* Every kind but the plain normal and adaptive ones. */
static int lock_full(pthread_mutex_t *pm, int kind, bool try, clockid_t clock,
		     const struct timespec *abstime, bool contended)
{
	struct mutex *m = M(pm);
	if (kind < 0 || (kind & ~(KIND_VALID | KIND_PSHARED)))
		return EINVAL;
	if (kind & KIND_PSHARED)
		return pshared_lock(pm, try, clock, abstime);
	int32_t self = sync_self();
	int type = kind & KIND_MASK;
	if (atomic_load_explicit(&m->owner, memory_order_relaxed) == self &&
	    atomic_load_explicit(&m->lock, memory_order_relaxed) != UNLOCKED) {
		if (type == PTHREAD_MUTEX_RECURSIVE) {
			if (m->count == UINT_MAX)
				return EAGAIN;
			m->count++;
			return 0;
		}
		/* glibc: a robust errorcheck mutex's trylock by its owner is
		 * EDEADLK too, a plain one's EBUSY. */
		if (type == PTHREAD_MUTEX_ERRORCHECK)
			return try && !(kind & KIND_ROBUST) ? EBUSY : EDEADLK;
	}
	int err = word_acquire(m, try, clock, abstime, contended);
	if (err)
		return err;
	if (kind & KIND_ROBUST)
		return robust_acquired(m, self);
	atomic_store_explicit(&m->owner, self, memory_order_relaxed);
	m->count = 1;
	return 0;
}

/* The normal and adaptive kinds: no owner checks. */
static inline bool kind_plain(int kind)
{
	return kind == PTHREAD_MUTEX_NORMAL || kind == PTHREAD_MUTEX_ADAPTIVE_NP;
}

static __attribute__((noinline)) int mutex_lock_(pthread_mutex_t *pm, bool try, clockid_t clock,
						  const struct timespec *abstime, bool contended)
{
	struct mutex *m = M(pm);
	int kind = atomic_load_explicit(&m->kind, memory_order_relaxed);
	if (likely(kind_plain(kind))) {
		int32_t self = sync_self();
		int err = word_acquire(m, try, clock, abstime, contended);
		if (!err)
			atomic_store_explicit(&m->owner, self, memory_order_relaxed);
		return err;
	}
	return lock_full(pm, kind, try, clock, abstime, contended);
}

static inline int mutex_lock(pthread_mutex_t *pm, bool try, clockid_t clock,
			     const struct timespec *abstime)
{
	return mutex_lock_(pm, try, clock, abstime, false);
}

int mutex_lock_requeued(pthread_mutex_t *pm)
{
	return mutex_lock_(pm, false, CLOCK_REALTIME, NULL, true);
}

/* Marks the word of a locked mutex contended, so that its unlock wakes a
 * waiter.  Returns false when it is unlocked. */
static bool mark_contended(_Atomic uint32_t *w)
{
	uint32_t v = atomic_load(w);
	while (v == LOCKED && !atomic_compare_exchange_weak(w, &v, CONTENDED))
		;
	return v != UNLOCKED;
}

_Atomic uint32_t *mutex_requeue_word(pthread_mutex_t *pm)
{
	struct mutex *m = M(pm);
	int kind = atomic_load_explicit(&m->kind, memory_order_relaxed);
	if (kind < 0 || (kind & ~KIND_VALID))
		return NULL; /* destroyed, bad, or glibc's (process-shared) */
	return mark_contended(&m->lock) ? &m->lock : NULL;
}

void mutex_requeue_done(_Atomic uint32_t *w)
{
	/* Released while the waiters moved (its unlock may have woken
	 * nobody) or retaken uncontended: make sure one is woken. */
	if (!mark_contended(w))
		sema_wake(w, 1);
}

SHIM_EXPORT int pthread_mutex_lock(pthread_mutex_t *pm)
{
	struct mutex *m = M(pm);
	if (likely(kind_plain(atomic_load_explicit(&m->kind, memory_order_relaxed))) &&
	    likely(word_trylock(m))) {
		atomic_store_explicit(&m->owner, sync_self(), memory_order_relaxed);
		return 0;
	}
	return mutex_lock(pm, false, CLOCK_REALTIME, NULL);
}

SHIM_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	return mutex_lock(m, true, CLOCK_REALTIME, NULL);
}

SHIM_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	return mutex_lock(m, false, CLOCK_REALTIME, abstime);
}

SHIM_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
					const struct timespec *abstime)
{
	if (!sync_clock_ok(clock))
		return EINVAL;
	return mutex_lock(m, false, clock, abstime);
}

/* ---------------------------------------------------------------- unlock */

static __attribute__((noinline)) int unlock_full(pthread_mutex_t *pm, int kind)
{
	struct mutex *m = M(pm);
	if (kind < 0 || (kind & ~(KIND_VALID | KIND_PSHARED)))
		return EINVAL;
	if (kind & KIND_PSHARED)
		return real.pthread_mutex_unlock(pm);
	int type = kind & KIND_MASK;
	/* glibc checks the owner of every kind but the plain ones, and of
	 * every robust mutex. */
	bool plain = type == PTHREAD_MUTEX_NORMAL || type == PTHREAD_MUTEX_ADAPTIVE_NP;
	if (!plain || (kind & KIND_ROBUST)) {
		if (atomic_load_explicit(&m->owner, memory_order_relaxed) != sync_self() ||
		    atomic_load_explicit(&m->lock, memory_order_relaxed) == UNLOCKED)
			return EPERM;
		/* glibc: an unlock that only counts an inconsistent robust
		 * mutex down answers ENOTRECOVERABLE. */
		if (type == PTHREAD_MUTEX_RECURSIVE && --m->count != 0)
			return (kind & KIND_ROBUST) && (m->robust & ROBUST_INCONSISTENT)
			       ? ENOTRECOVERABLE : 0;
	}
	if (kind & KIND_ROBUST) {
		robust_remove(getg_user(), m);
		if (m->robust & ROBUST_INCONSISTENT)
			m->robust = ROBUST_NOTRECOVERABLE;
	}
	m->count = 0;
	atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
	word_unlock(m);
	return 0;
}

SHIM_EXPORT int pthread_mutex_unlock(pthread_mutex_t *pm)
{
	struct mutex *m = M(pm);
	int kind = atomic_load_explicit(&m->kind, memory_order_relaxed);
	if (likely(kind_plain(kind))) {
		atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
		word_unlock(m);
		return 0;
	}
	return unlock_full(pm, kind);
}

/* ---------------------------------------------------------------- init, destroy */

SHIM_EXPORT int pthread_mutex_init(pthread_mutex_t *pm, const pthread_mutexattr_t *attr)
{
	int a = attr ? *(const int *)attr : PTHREAD_MUTEX_NORMAL;
	int protocol = (a & MATTR_PROTOCOL_MASK) >> MATTR_PROTOCOL_SHIFT;
	if (protocol == PTHREAD_PRIO_PROTECT && (a & MATTR_ROBUST))
		return ENOTSUP;
	if (a & MATTR_PSHARED) {
		shim_g();
		return real.pthread_mutex_init(pm, attr);
	}
	struct mutex *m = M(pm);
	memset(m, 0, sizeof *m);
	int kind = a & ~MATTR_FLAG_BITS;
	if (a & MATTR_ROBUST)
		kind |= KIND_ROBUST;
	if (protocol == PTHREAD_PRIO_INHERIT)
		kind |= KIND_PRIO_INHERIT;
	if (protocol == PTHREAD_PRIO_PROTECT) {
		kind |= KIND_PRIO_PROTECT;
		int ceiling = (a & MATTR_CEILING_MASK) >> MATTR_CEILING_SHIFT;
		int min = sched_get_priority_min(SCHED_FIFO);
		m->ceiling = (int16_t)(ceiling < min ? min : ceiling);
	}
	atomic_store_explicit(&m->kind, kind, memory_order_relaxed);
	return 0;
}

SHIM_EXPORT int pthread_mutex_destroy(pthread_mutex_t *pm)
{
	struct mutex *m = M(pm);
	int kind = atomic_load_explicit(&m->kind, memory_order_relaxed);
	if (kind >= 0 && (kind & KIND_PSHARED)) {
		shim_g();
		return real.pthread_mutex_destroy(pm);
	}
	if (!(kind & KIND_ROBUST) && atomic_load(&m->lock) != UNLOCKED)
		return EBUSY;
	atomic_store_explicit(&m->kind, -1, memory_order_relaxed);
	return 0;
}

/* ---------------------------------------------------------------- robust, ceiling */

SHIM_EXPORT int pthread_mutex_consistent(pthread_mutex_t *pm)
{
	struct mutex *m = M(pm);
	int kind = atomic_load_explicit(&m->kind, memory_order_relaxed);
	if (kind < 0 || !(kind & KIND_ROBUST))
		return EINVAL;
	if (kind & KIND_PSHARED) {
		shim_g();
		return real.pthread_mutex_consistent(pm);
	}
	if (!(m->robust & ROBUST_INCONSISTENT))
		return EINVAL;
	m->robust &= (uint16_t)~ROBUST_INCONSISTENT;
	return 0;
}

SHIM_EXPORT int pthread_mutex_getprioceiling(const pthread_mutex_t *pm, int *ceiling)
{
	const struct mutex *m = (const struct mutex *)pm;
	int kind = atomic_load_explicit(&((struct mutex *)m)->kind, memory_order_relaxed);
	if (kind < 0 || !(kind & KIND_PRIO_PROTECT))
		return EINVAL;
	if (kind & KIND_PSHARED) {
		shim_g();
		return real.pthread_mutex_getprioceiling(pm, ceiling);
	}
	*ceiling = m->ceiling;
	return 0;
}

SHIM_EXPORT int pthread_mutex_setprioceiling(pthread_mutex_t *pm, int ceiling, int *old)
{
	struct mutex *m = M(pm);
	int kind = atomic_load_explicit(&m->kind, memory_order_relaxed);
	if (kind < 0 || !(kind & KIND_PRIO_PROTECT))
		return EINVAL;
	if (kind & KIND_PSHARED) {
		shim_g();
		return real.pthread_mutex_setprioceiling(pm, ceiling, old);
	}
	if (ceiling < sched_get_priority_min(SCHED_FIFO) ||
	    ceiling > sched_get_priority_max(SCHED_FIFO))
		return EINVAL;
	/* The ceiling changes under the mutex, which the caller may hold. */
	bool held = atomic_load_explicit(&m->owner, memory_order_relaxed) == sync_self() &&
		    atomic_load(&m->lock) != UNLOCKED;
	if (!held) {
		int err = mutex_lock(pm, false, CLOCK_REALTIME, NULL);
		if (err)
			return err;
	}
	/* glibc's header says old is non-null; glibc's code accepts NULL. */
	int *o = old;
	__asm__("" : "+r"(o));
	if (o)
		*o = m->ceiling;
	m->ceiling = (int16_t)ceiling;
	if (!held)
		pthread_mutex_unlock(pm);
	return 0;
}

/* glibc's older names of the same functions. */
/* <pthread.h> redirects this name to pthread_mutex_consistent. */
SHIM_EXPORT int consistent_np(pthread_mutex_t *) __asm__("pthread_mutex_consistent_np")
	SHIM_ALIAS(pthread_mutex_consistent);
SHIM_EXPORT int __pthread_mutex_init(pthread_mutex_t *, const pthread_mutexattr_t *)
	SHIM_ALIAS(pthread_mutex_init);
SHIM_EXPORT int __pthread_mutex_destroy(pthread_mutex_t *)
	SHIM_ALIAS(pthread_mutex_destroy);
SHIM_EXPORT int __pthread_mutex_lock(pthread_mutex_t *)
	SHIM_ALIAS(pthread_mutex_lock);
SHIM_EXPORT int __pthread_mutex_trylock(pthread_mutex_t *)
	SHIM_ALIAS(pthread_mutex_trylock);
SHIM_EXPORT int __pthread_mutex_unlock(pthread_mutex_t *)
	SHIM_ALIAS(pthread_mutex_unlock);
