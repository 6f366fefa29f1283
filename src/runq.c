/*
 * runq.c — run queues: each P's lock-free local queue with runnext, and the
 * global queue (sched.lock).
 *
 * The local queue is a ring of RUNQ_SIZE slots indexed by free-running
 * 32-bit head and tail.  Only the owner P adds (runq_put advances tail);
 * the owner and stealers take from the head with a CAS.  A stealer copies
 * slots before its CAS on head, so it may read a slot the owner is
 * overwriting: those reads are relaxed atomics and the copy is discarded
 * when the CAS fails.  A full queue moves half its Gs (plus the new one) to
 * the global queue in one batch, so the global lock is taken once per
 * RUNQ_SIZE/2 puts at worst.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

static inline struct g *slot_load(struct p *pp, uint32_t i)
{
	return atomic_load_explicit(&pp->runq[i % RUNQ_SIZE], memory_order_relaxed);
}

static inline void slot_store(struct p *pp, uint32_t i, struct g *gp)
{
	atomic_store_explicit(&pp->runq[i % RUNQ_SIZE], gp, memory_order_relaxed);
}

/* Moves the older half of pp's queue plus gp to the global queue.  Owner
 * only.  Returns false if stealers took Gs meanwhile (retry the fast path). */
static bool runq_put_slow(struct p *pp, struct g *gp, uint32_t h, uint32_t t)
{
	struct g *batch[RUNQ_SIZE / 2 + 1];
	uint32_t n = (t - h) / 2;

	rt_assert(n == RUNQ_SIZE / 2, "runq_put_slow: queue is not full");
	for (uint32_t i = 0; i < n; i++)
		batch[i] = slot_load(pp, h + i);
	/* cas-release: publishes nothing new, but orders the slot reads above
	 * before the slots become reusable. */
	if (!atomic_compare_exchange_strong_explicit(&pp->runqhead, &h, h + n,
			memory_order_release, memory_order_relaxed))
		return false;
	batch[n] = gp;
	for (uint32_t i = 0; i < n; i++)
		batch[i]->schedlink = batch[i + 1];
	batch[n]->schedlink = NULL;
	lock(&sched.lock);
	globrunq_put_batch(batch[0], batch[n], (int32_t)n + 1);
	unlock(&sched.lock);
	return true;
}

/* Adds gp to pp's queue; with next, to runnext, kicking the old runnext to
 * the tail.  Owner only. */
void runq_put(struct p *pp, struct g *gp, bool next)
{
	if (next) {
		struct g *old = atomic_load_explicit(&pp->runnext, memory_order_relaxed);
		while (!atomic_compare_exchange_weak_explicit(&pp->runnext, &old, gp,
				memory_order_release, memory_order_relaxed))
			;
		if (!old)
			return;
		gp = old;
	}
	for (;;) {
		/* load-acquire: pairs with consumers' CAS on head */
		uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (t - h < RUNQ_SIZE) {
			slot_store(pp, t, gp);
			/* store-release: makes the slot visible to consumers */
			atomic_store_explicit(&pp->runqtail, t + 1, memory_order_release);
			return;
		}
		if (runq_put_slow(pp, gp, h, t))
			return;
	}
}

/* Takes a G from pp: runnext first (then *inherit_time: it shares the time
 * slice of the G that readied it), else the head.  Owner only. */
struct g *runq_get(struct p *pp, bool *inherit_time)
{
	struct g *next = atomic_load_explicit(&pp->runnext, memory_order_relaxed);
	if (next && atomic_compare_exchange_strong_explicit(&pp->runnext, &next, NULL,
			memory_order_acquire, memory_order_relaxed)) {
		if (inherit_time)
			*inherit_time = true;
		return next;
	}
	if (inherit_time)
		*inherit_time = false;
	for (;;) {
		/* load-acquire: pairs with other consumers' CAS on head */
		uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (t == h)
			return NULL;
		struct g *gp = slot_load(pp, h);
		/* cas-release: the slot may be reused by the owner after this */
		if (atomic_compare_exchange_weak_explicit(&pp->runqhead, &h, h + 1,
				memory_order_release, memory_order_relaxed))
			return gp;
	}
}

bool runq_empty(struct p *pp)
{
	/* A G moving from runnext to the queue is seen in one of the two: read
	 * head, tail, runnext, then tail again to detect the move. */
	for (;;) {
		uint32_t h = atomic_load(&pp->runqhead);
		uint32_t t = atomic_load(&pp->runqtail);
		struct g *next = atomic_load(&pp->runnext);
		if (t == atomic_load(&pp->runqtail))
			return h == t && next == NULL;
	}
}

uint32_t runq_size(struct p *pp)
{
	uint32_t h = atomic_load(&pp->runqhead);
	uint32_t t = atomic_load(&pp->runqtail);
	return t - h;
}

/* Copies half of victim's queue into pp's ring at pp's tail (not yet
 * published).  Returns the number grabbed. */
static uint32_t runq_grab(struct p *victim, struct p *pp, uint32_t at, bool steal_runnext)
{
	for (;;) {
		/* load-acquire: pairs with other consumers */
		uint32_t h = atomic_load_explicit(&victim->runqhead, memory_order_acquire);
		/* load-acquire: pairs with the owner's store-release of tail */
		uint32_t t = atomic_load_explicit(&victim->runqtail, memory_order_acquire);
		uint32_t n = t - h;
		n = n - n / 2;
		if (n == 0) {
			if (!steal_runnext)
				return 0;
			struct g *next = atomic_load(&victim->runnext);
			if (!next)
				return 0;
			/* The victim likely readied it a moment ago and is about
			 * to run it, maybe after a system call (waking this very
			 * M takes one): give it time to do so rather than bounce
			 * the pair between Ps.  Sleep, as Go does (usleep(3), tens
			 * of microseconds with timer slack), rather than spin.  If
			 * the victim switched meanwhile it is making progress:
			 * leave its runnext be, even if it holds the same pointer
			 * again (a G freed and reused: the ABA that would steal a
			 * brand-new G). */
			if (atomic_load_explicit(&victim->status, memory_order_relaxed) == P_RUNNING) {
				uint32_t sw = atomic_load_explicit(&victim->nswitch, memory_order_relaxed);
				struct timespec ts = { 0, RUNNEXT_GRACE_NS };
				rt_syscall2(SYS_nanosleep, &ts, NULL);
				if (atomic_load_explicit(&victim->nswitch, memory_order_relaxed) != sw)
					return 0;
			}
			if (!atomic_compare_exchange_strong(&victim->runnext, &next, NULL))
				continue;
			slot_store(pp, at, next);
			return 1;
		}
		if (n > RUNQ_SIZE / 2)
			continue; /* h and t read inconsistently */
		for (uint32_t i = 0; i < n; i++)
			slot_store(pp, at + i, slot_load(victim, h + i));
		/* cas-release: orders the copies before the victim reuses slots */
		if (atomic_compare_exchange_strong_explicit(&victim->runqhead, &h, h + n,
				memory_order_release, memory_order_relaxed))
			return n;
	}
}

/* Steals half of victim's Gs into pp; returns one of them to run.  Owner
 * of pp only. */
struct g *runq_steal(struct p *pp, struct p *victim, bool steal_runnext)
{
	uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
	uint32_t n = runq_grab(victim, pp, t, steal_runnext);
	if (n == 0)
		return NULL;
	n--;
	struct g *gp = slot_load(pp, t + n);
	if (n == 0)
		return gp;
	uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
	rt_assert(t - h + n < RUNQ_SIZE, "runq_steal: overflow");
	/* store-release: publishes the stolen slots */
	atomic_store_explicit(&pp->runqtail, t + n, memory_order_release);
	return gp;
}

void globrunq_put(struct g *gp)
{
	gp->schedlink = NULL;
	globrunq_put_batch(gp, gp, 1);
}

void globrunq_put_batch(struct g *head, struct g *tail, int32_t n)
{
	tail->schedlink = NULL;
	if (sched.runqtail)
		sched.runqtail->schedlink = head;
	else
		sched.runqhead = head;
	sched.runqtail = tail;
	atomic_store(&sched.runqsize, sched.runqsize + n);
}

/* Takes a fair share of the global queue: one G to return, the rest onto
 * pp's local queue.  max > 0 bounds the count.  sched.lock held. */
struct g *globrunq_get(struct p *pp, int32_t max)
{
	int32_t size = atomic_load_explicit(&sched.runqsize, memory_order_relaxed);
	if (size == 0)
		return NULL;
	int32_t n = size / gomaxprocs + 1;
	if (n > size)
		n = size;
	if (max > 0 && n > max)
		n = max;
	if (n > RUNQ_SIZE / 2)
		n = RUNQ_SIZE / 2;
	/* Never overflow the local queue: runq_put_slow would take sched.lock. */
	int32_t room = RUNQ_SIZE - (int32_t)runq_size(pp) + 1;
	if (n > room)
		n = room;
	atomic_store(&sched.runqsize, size - n);
	struct g *gp = sched.runqhead;
	sched.runqhead = gp->schedlink;
	while (--n > 0) {
		struct g *g1 = sched.runqhead;
		sched.runqhead = g1->schedlink;
		runq_put(pp, g1, false);
	}
	if (!sched.runqhead)
		sched.runqtail = NULL;
	gp->schedlink = NULL;
	return gp;
}
