/*
 * timer.c — per-P timers: a 4-ary min-heap ordered by `when`, guarded by
 * pp->timers_lock, and the add/delete/run protocol around it.
 *
 * A timer's state moves IDLE -> WAITING (timer_add) -> RUNNING (popped by
 * timers_check) -> IDLE (its function returned), or WAITING -> IDLE
 * (timer_del).  timer_del waits while a timer is RUNNING, so the owner may
 * free the timer's memory as soon as timer_del returns.  Timer functions run
 * without any runtime lock held and must be short and non-blocking (ready a
 * G, nothing more).
 *
 * pp->timer0when mirrors the heap's earliest `when` so that findrunnable and
 * sysmon can look at every P's timers without taking their locks.
 */
#include <errno.h>
#include <sys/mman.h>
#include <string.h>

#include "runtime.h"

static inline bool less(const struct timer *a, const struct timer *b)
{
	return a->when < b->when;
}

static void sift_up(struct timer_heap *h, int32_t i)
{
	struct timer *t = h->v[i];
	while (i > 0) {
		int32_t parent = (i - 1) / 4;
		if (!less(t, h->v[parent]))
			break;
		h->v[i] = h->v[parent];
		h->v[i]->idx = i;
		i = parent;
	}
	h->v[i] = t;
	t->idx = i;
}

static void sift_down(struct timer_heap *h, int32_t i)
{
	struct timer *t = h->v[i];
	for (;;) {
		int32_t c = 4 * i + 1;
		if (c >= h->len)
			break;
		int32_t best = c;
		for (int32_t k = c + 1; k < c + 4 && k < h->len; k++)
			if (less(h->v[k], h->v[best]))
				best = k;
		if (!less(h->v[best], t))
			break;
		h->v[i] = h->v[best];
		h->v[i]->idx = i;
		i = best;
	}
	h->v[i] = t;
	t->idx = i;
}

/* Grows the heap's array with mmap: the program's malloc must not be called
 * under a runtime lock.  Returns -ENOMEM on failure. */
static int heap_grow(struct timer_heap *h)
{
	int32_t ncap = h->cap ? h->cap * 2 : 512;
	size_t bytes = (size_t)ncap * sizeof(struct timer *);
	struct timer **nv = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (nv == MAP_FAILED)
		return -ENOMEM;
	if (h->v) {
		memcpy(nv, h->v, (size_t)h->len * sizeof(struct timer *));
		munmap(h->v, (size_t)h->cap * sizeof(struct timer *));
	}
	h->v = nv;
	h->cap = ncap;
	return 0;
}

int timer_heap_push(struct timer_heap *h, struct timer *t)
{
	if (h->len == h->cap) {
		int err = heap_grow(h);
		if (err)
			return err;
	}
	h->v[h->len] = t;
	sift_up(h, h->len++);
	return 0;
}

struct timer *timer_heap_pop(struct timer_heap *h)
{
	if (h->len == 0)
		return NULL;
	struct timer *top = h->v[0];
	timer_heap_remove(h, top);
	return top;
}

void timer_heap_remove(struct timer_heap *h, struct timer *t)
{
	int32_t i = t->idx;
	rt_assert(i >= 0 && i < h->len && h->v[i] == t, "timer_heap_remove: not in heap");
	struct timer *last = h->v[--h->len];
	t->idx = -1;
	if (i == h->len)
		return;
	h->v[i] = last;
	last->idx = i;
	if (i > 0 && less(last, h->v[(i - 1) / 4]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

static void update_timer0(struct p *pp)
{
	struct timer *top = timer_heap_top(&pp->timers);
	atomic_store(&pp->timer0when, top ? top->when : 0);
}

/* Wakes whoever must notice a new earliest timer: the M blocked in netpoll
 * if it would sleep past `when`, else an idle P's M (Go's wakeNetPoller). */
static void wake_netpoller(int64_t when)
{
	if (atomic_load(&sched.lastpoll) == 0) {
		int64_t until = atomic_load(&sched.polluntil);
		if (until == 0 || until > when)
			netpoll_break();
	} else {
		wake_p();
	}
}

/* Queues t on pp's heap.  The caller owns t, which must be IDLE.  Returns
 * true when t became pp's earliest timer: then the caller must call
 * timer_wake(t->when) once it holds no lock (waking may start an M). */
bool timer_add_nowake(struct p *pp, struct timer *t)
{
	/* A timer reused right after it fired may still be finishing its f. */
	while (atomic_load_explicit(&t->state, memory_order_acquire) == TIMER_RUNNING)
		__builtin_ia32_pause();
	rt_assert(atomic_load(&t->state) == TIMER_IDLE, "timer_add: timer in use");
	/* 0 means "no timer" in timer0when: a timer at 0 would hide the heap. */
	rt_assert(t->when > 0, "timer_add: when must be positive");
	lock(&pp->timers_lock);
	t->pp = pp;
	if (timer_heap_push(&pp->timers, t) != 0)
		rt_throw("timer_add: out of memory");
	atomic_store(&t->state, TIMER_WAITING);
	bool first = pp->timers.v[0] == t;
	if (first)
		update_timer0(pp);
	unlock(&pp->timers_lock);
	return first;
}

void timer_wake(int64_t when)
{
	wake_netpoller(when);
}

void timer_add(struct p *pp, struct timer *t)
{
	if (timer_add_nowake(pp, t))
		timer_wake(t->when);
}

bool timer_del(struct timer *t)
{
	struct p *pp = t->pp;
	if (!pp)
		return true;
	lock(&pp->timers_lock);
	if (atomic_load(&t->state) == TIMER_WAITING) {
		timer_heap_remove(&pp->timers, t);
		atomic_store(&t->state, TIMER_IDLE);
		update_timer0(pp);
		unlock(&pp->timers_lock);
		return true;
	}
	unlock(&pp->timers_lock);
	/* load-acquire: pairs with timers_check's store after f returned */
	while (atomic_load_explicit(&t->state, memory_order_acquire) == TIMER_RUNNING)
		__builtin_ia32_pause();
	return false;
}

int64_t timers_next(struct p *pp)
{
	return atomic_load_explicit(&pp->timer0when, memory_order_relaxed);
}

/* Runs every timer of pp due at *now (read from the clock into *now if 0,
 * only when pp has timers: the common no-timer path costs one load).
 * Callable by any M holding a P (its own or, when stealing, another's).
 * Returns the next when, 0 if none. */
int64_t timers_check(struct p *pp, int64_t *nowp, bool *ran)
{
	int64_t next = timers_next(pp);
	if (next == 0)
		return 0;
	if (*nowp == 0)
		*nowp = nanotime();
	int64_t now = *nowp;
	if (next > now)
		return next;
	lock(&pp->timers_lock);
	for (;;) {
		struct timer *t = timer_heap_top(&pp->timers);
		if (!t || t->when > now)
			break;
		timer_heap_remove(&pp->timers, t);
		atomic_store(&t->state, TIMER_RUNNING);
		update_timer0(pp);
		unlock(&pp->timers_lock);
		t->f(t);
		if (ran)
			*ran = true;
		/* store-release: t's memory may go once timer_del sees IDLE */
		atomic_store_explicit(&t->state, TIMER_IDLE, memory_order_release);
		lock(&pp->timers_lock);
	}
	update_timer0(pp);
	next = timers_next(pp);
	unlock(&pp->timers_lock);
	return next;
}
