/*
 * sema.c — address-keyed wait queues (Go's semtable) with futex semantics.
 *
 * Every blocking primitive of the program (joins, pthread_once, and in later
 * steps mutexes, condition variables, rwlocks, barriers, semaphores and the
 * futex emulation) waits here on the address of a 32-bit word, so any object
 * layout works, zero-filled static initializers included: no per-object
 * state is needed beyond the program's own memory.
 *
 * Protocol (the futex one): the waiter takes the root lock of its address,
 * re-checks that the word still holds the expected value, queues itself and
 * parks; the root lock is released on g0 after the G's context is saved, so
 * a waker that changes the word and then calls sema_wake either sees the
 * waiter queued or the waiter sees the new value.  A waiter's record lives
 * on its own stack: it is dequeued (by a waker or its timeout) under the
 * root lock, and the timeout timer is deleted (timer_del waits out a running
 * timer function) before the waiter returns.
 *
 * Threads without a G (foreign threads, g0) wait in the kernel on the
 * record's own futex word instead of parking.
 */
#include <errno.h>
#include <limits.h>

#include "runtime.h"

#define SEMTABLE_SIZE 251

enum { W_WAITING, W_WOKEN, W_TIMEDOUT };

struct waiter {
	struct waiter *next, *prev;
	_Atomic uint32_t *addr;
	struct g *g;                  /* NULL: kernel wait on kword */
	_Atomic uint32_t kword;
	int state;                    /* W_*: root lock */
	struct semroot *root;
	struct timer timer;
};

struct semroot {
	struct rt_lock lock;
	struct waiter *head, *tail;
} __attribute__((aligned(64)));

static struct semroot semtable[SEMTABLE_SIZE];

void sema_init(void)
{
	for (int i = 0; i < SEMTABLE_SIZE; i++)
		semtable[i].lock = (struct rt_lock)RT_LOCK_INIT(RANK_SEMROOT);
}

static struct semroot *root_of(const void *addr)
{
	return &semtable[((uintptr_t)addr >> 3) % SEMTABLE_SIZE];
}

static void enqueue(struct semroot *r, struct waiter *w)
{
	w->next = NULL;
	w->prev = r->tail;
	if (r->tail)
		r->tail->next = w;
	else
		r->head = w;
	r->tail = w;
}

static void dequeue(struct semroot *r, struct waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		r->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		r->tail = w->prev;
	w->next = w->prev = NULL;
}

static void wake_waiter(struct waiter *w)
{
	if (w->g) {
		ready(w->g);
	} else {
		atomic_store(&w->kword, 1);
		rt_futex_wake(&w->kword, 1);
	}
}

static void timeout_fired(struct timer *t)
{
	struct waiter *w = t->arg;
	struct semroot *r = w->root;
	bool wake = false;

	lock(&r->lock);
	if (w->state == W_WAITING) {
		dequeue(r, w);
		w->state = W_TIMEDOUT;
		wake = true;
	}
	unlock(&r->lock);
	if (wake)
		wake_waiter(w);
}

struct park_unlock {
	struct semroot *root;
	int64_t wake_when;   /* a timer to announce once unlocked, or 0 */
};

/* After the waiter is off its stack: release its root, then announce its
 * timeout timer.  Nothing of the waiter may be touched once unlocked: a
 * waker may have readied it, and its stack frame may be gone. */
static bool unlock_root(struct g *gp, void *arg)
{
	struct park_unlock pu = *(struct park_unlock *)arg;
	(void)gp;
	unlock(&pu.root->lock);
	if (pu.wake_when)
		timer_wake(pu.wake_when);
	return true;
}

/* The waiters of the parent's other threads do not exist in a child. */
void sema_fork_child(void)
{
	for (int i = 0; i < SEMTABLE_SIZE; i++) {
		semtable[i].lock = (struct rt_lock)RT_LOCK_INIT(RANK_SEMROOT);
		semtable[i].head = semtable[i].tail = NULL;
	}
}

/* Waits until woken while *addr == val.  deadline is a nanotime() value, or
 * < 0 for none.  Returns 0 when woken, -EAGAIN when *addr != val,
 * -ETIMEDOUT at the deadline.  Spurious returns of 0 are possible, as with
 * futexes: callers re-check their condition. */
int sema_wait(_Atomic uint32_t *addr, uint32_t val, int64_t deadline, enum wait_reason reason)
{
	struct semroot *r = root_of(addr);
	struct waiter w = { .addr = addr, .g = getg_user(), .root = r };

	if (deadline >= 0 && deadline <= nanotime())
		return atomic_load(addr) == val ? -ETIMEDOUT : -EAGAIN;
	lock(&r->lock);
	if (atomic_load(addr) != val) {
		unlock(&r->lock);
		return -EAGAIN;
	}
	w.state = W_WAITING;
	enqueue(r, &w);
	if (w.g) {
		struct park_unlock pu = { r, 0 };
		if (deadline >= 0) {
			w.timer.when = deadline;
			w.timer.f = timeout_fired;
			w.timer.arg = &w;
			/* The timer is queued under the root lock, so a timeout
			 * finds the waiter queued; announcing it may start an M
			 * (pthread_create, malloc): that waits for the unlock. */
			if (timer_add_nowake(w.g->m->p, &w.timer))
				pu.wake_when = deadline;
		}
		park(unlock_root, &pu, reason);
		if (deadline >= 0)
			timer_del(&w.timer);
	} else {
		unlock(&r->lock);
		while (atomic_load(&w.kword) == 0) {
			struct timespec ts, *tsp = NULL;
			if (deadline >= 0) {
				int64_t left = deadline - nanotime();
				if (left <= 0) {
					timeout_fired(&(struct timer){ .arg = &w });
					continue;
				}
				ts.tv_sec = left / 1000000000;
				ts.tv_nsec = left % 1000000000;
				tsp = &ts;
			}
			rt_futex_wait(&w.kword, 0, tsp);
		}
	}
	/* The state is final once the waiter was woken, and ordered before
	 * this read by the wake-up itself (ready's run queue release/acquire,
	 * or the kernel word). */
	return w.state == W_TIMEDOUT ? -ETIMEDOUT : 0;
}

/* Wakes up to n waiters of addr (n = INT_MAX: all).  Returns the count. */
int sema_wake(_Atomic uint32_t *addr, int n)
{
	struct semroot *r = root_of(addr);
	struct waiter *woken = NULL;
	int count = 0;

	lock(&r->lock);
	for (struct waiter *w = r->head; w && count < n;) {
		struct waiter *next = w->next;
		if (w->addr == addr) {
			dequeue(r, w);
			w->state = W_WOKEN;
			w->next = woken;
			woken = w;
			count++;
		}
		w = next;
	}
	unlock(&r->lock);
	/* Wake in queue order, outside the root lock. */
	struct waiter *rev = NULL;
	while (woken) {
		struct waiter *w = woken;
		woken = w->next;
		w->next = rev;
		rev = w;
	}
	while (rev) {
		struct waiter *w = rev;
		rev = w->next;
		wake_waiter(w);
	}
	return count;
}
