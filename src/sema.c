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
 *
 * A root keeps one FIFO list per address that has waiters, and a list of
 * those lists' first waiters (Go's semaRoot keeps a treap of them): a wake
 * visits the waiters of its own address only, however many wait on other
 * addresses that hash to the same root.
 *
 * A wait at a cancellation point (sema_wait_intr) publishes a hook that
 * pthread_cancel runs (intr.c): it dequeues the waiter under the root
 * lock, or marks it W_INTR before it queues, and the wait returns -EINTR.
 *
 * Waiters carry a bitset (FUTEX_WAIT_BITSET), and sema_requeue moves
 * waiters from one address to another (FUTEX_CMP_REQUEUE): it holds both
 * roots (lock2), so a waiter is always on exactly one queue, and a timeout
 * finds its waiter's current root by re-reading w->root under the lock.
 *
 * A signal handler may post a semaphore (sem_post is async-signal-safe)
 * on a thread stopped anywhere, a root lock or a run queue half changed
 * under it: it only marks the root (sema_wake_deferred), and the poller,
 * which must be there while semaphore waiters are (sema_anywaiters), wakes
 * as many of each marked address's waiters as its value lets take it.
 */
#include <errno.h>
#include <limits.h>

#include "runtime.h"

#define SEMTABLE_SIZE 251

enum { W_INIT, W_WAITING, W_WOKEN, W_TIMEDOUT, W_INTR };

/* All fields but g, bitset and kword: root lock. */
struct waiter {
	struct waiter *next, *prev;   /* same address, FIFO; prev NULL: first */
	struct waiter *hnext, *hprev; /* first waiters of the root's addresses */
	struct waiter *tail;          /* first waiter: its address's last one */
	_Atomic uint32_t *addr;       /* requeue changes it */
	uint32_t bitset;              /* immutable */
	struct g *g;                  /* NULL: kernel wait on kword */
	_Atomic uint32_t kword;
	int state;                    /* W_*: root lock (W_INIT: not queued yet) */
	bool untimed;                 /* moved by a requeue that ends its timeout */
	uint8_t reason;               /* enum wait_reason: immutable */
	struct sigwait sw;            /* a semaphore's: a signal may end it */
	_Atomic(struct semroot *) root; /* written under old and new root locks */
	struct timer timer;
};

struct semroot {
	struct rt_lock lock;
	struct waiter *heads;         /* first waiter of each address */
	_Atomic bool deferred;        /* a handler posted a semaphore here */
} __attribute__((aligned(64)));

/* Statically initialized: a mutex may be taken before the runtime is. */
static struct semroot semtable[SEMTABLE_SIZE] = {
	[0 ... SEMTABLE_SIZE - 1] = { .lock = RT_LOCK_INIT(RANK_SEMROOT) },
};

/* Some root is marked deferred. */
static _Atomic bool deferred_any;
/* Semaphore waits in progress, which a handler's post may have to end. */
static _Atomic int32_t nsemwaiters;

static struct semroot *root_of(const void *addr)
{
	return &semtable[((uintptr_t)addr >> 3) % SEMTABLE_SIZE];
}

/* The first waiter on addr, or NULL. */
static struct waiter *first_of(struct semroot *r, _Atomic uint32_t *addr)
{
	struct waiter *h = r->heads;
	while (h && h->addr != addr)
		h = h->hnext;
	return h;
}

static void enqueue(struct semroot *r, struct waiter *w)
{
	struct waiter *h = first_of(r, w->addr);
	w->next = NULL;
	if (h) {
		w->prev = h->tail;
		h->tail->next = w;
		h->tail = w;
		return;
	}
	w->prev = NULL;
	w->tail = w;
	w->hprev = NULL;
	w->hnext = r->heads;
	if (r->heads)
		r->heads->hprev = w;
	r->heads = w;
}

/* Puts nw in h's place in the root's list of first waiters (nw NULL:
 * removes h). */
static void replace_head(struct semroot *r, struct waiter *h, struct waiter *nw)
{
	struct waiter *hn = h->hnext, *hp = h->hprev;
	if (nw) {
		nw->hnext = hn;
		nw->hprev = hp;
		nw->tail = h->tail;
		nw->prev = NULL;
	}
	if (hn)
		hn->hprev = nw ? nw : hp;
	if (hp)
		hp->hnext = nw ? nw : hn;
	else
		r->heads = nw ? nw : hn;
}

static void dequeue(struct semroot *r, struct waiter *w)
{
	if (!w->prev) {
		replace_head(r, w, w->next);
	} else {
		w->prev->next = w->next;
		if (w->next)
			w->next->prev = w->prev;
		else
			first_of(r, w->addr)->tail = w->prev;
	}
	w->next = w->prev = NULL;
}

/* Wakes w: its G goes on *list when list is given (for injectglist),
 * else is readied here. */
static void wake_waiter(struct waiter *w, struct g **list)
{
	if (w->g) {
		ready_or_push(w->g, list);
	} else {
		atomic_store(&w->kword, 1);
		rt_futex_wake(&w->kword, 1);
	}
}

/* Locks the root w is queued on now (a requeue may move it). */
static struct semroot *lock_waiter_root(struct waiter *w)
{
	for (;;) {
		struct semroot *r = atomic_load(&w->root);
		lock(&r->lock);
		if (atomic_load_explicit(&w->root, memory_order_relaxed) == r)
			return r;
		unlock(&r->lock);
	}
}

static void timeout_fired(struct timer *t)
{
	struct waiter *w = t->arg;
	bool wake = false;

	struct semroot *r = lock_waiter_root(w);
	if (w->state == W_WAITING && !w->untimed) {
		dequeue(r, w);
		w->state = W_TIMEDOUT;
		wake = true;
	}
	unlock(&r->lock);
	if (wake)
		wake_waiter(w, NULL);
}

/* Ends an interruptible wait with why (W_INTR, or W_WOKEN for a spurious
 * wake-up): dequeues w, or makes it return before it queues; returns
 * whether it did (list: as wake_waiter).  A waiter a requeue moved for
 * good (a condvar's, onto its mutex) was woken in effect, and waits on. */
static bool waiter_end(struct waiter *w, struct g **list, int why)
{
	struct semroot *r = lock_waiter_root(w);
	bool wake = w->state == W_WAITING && !w->untimed;
	bool ended = wake || w->state == W_INIT;
	if (wake)
		dequeue(r, w);
	if (ended)
		w->state = why;
	unlock(&r->lock);
	if (wake)
		wake_waiter(w, list);
	return ended;
}

/* intr_fire's hook. */
static void waiter_intr(struct g *gp, struct intrhook *h)
{
	(void)gp;
	waiter_end(h->arg, NULL, W_INTR);
}

/* A signal's end of a semaphore wait (sigintr.c). */
static bool waiter_sigend(struct sigwait *sw, struct g **list, bool spurious)
{
	return waiter_end(container_of(sw, struct waiter, sw), list, spurious ? W_WOKEN : W_INTR);
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
		semtable[i].heads = NULL;
		semtable[i].deferred = false;
	}
	deferred_any = false;
	nsemwaiters = 0;
}

static int wait_common(_Atomic uint32_t *addr, uint32_t val, int64_t deadline,
		       enum wait_reason reason, uint32_t bitset, bool intr)
{
	struct semroot *r = root_of(addr);
	struct waiter w = { .addr = addr, .bitset = bitset, .g = getg_user(), .root = r,
			    .reason = (uint8_t)reason };
	struct intrhook hook = { .fn = waiter_intr, .arg = &w };

	intr = intr && w.g;
	if (intr && !intr_begin(w.g, &hook))
		return -EINTR;
	if (deadline >= 0 && deadline <= nanotime()) {
		if (intr)
			intr_end(w.g);
		return atomic_load(addr) == val ? -ETIMEDOUT : -EAGAIN;
	}
	/* A semaphore's wait is one a signal handler ends, as the kernel's
	 * futex wait of glibc's: always when timed, else without SA_RESTART. */
	bool sig = intr && reason == WAIT_SEMAPHORE;
	if (sig) {
		w.sw = (struct sigwait){ .g = w.g, .restarts = deadline < 0, .end = waiter_sigend };
		sigwait_add(&w.sw);
	}
	lock(&r->lock);
	if (atomic_load(addr) != val || w.state != W_INIT) {
		int st = w.state;
		unlock(&r->lock);
		if (sig)
			sigwait_remove(&w.sw);
		if (intr)
			intr_end(w.g);
		if (w.g)
			sigintr_check(w.g);
		return st == W_INTR ? -EINTR : st == W_WOKEN ? 0 : -EAGAIN;
	}
	w.state = W_WAITING;
	enqueue(r, &w);
	if (reason == WAIT_SEMAPHORE)
		atomic_fetch_add(&nsemwaiters, 1);
	/* The address published, then the G's pending signals read (both
	 * seq_cst): a pthread_kill stores the signal, then reads the
	 * address (sema_kill), so one of the two sees the other. */
	if (w.g)
		atomic_store(&w.g->semaddr, addr);
	uint64_t killed = w.g ? atomic_load(&w.g->sigpend) & ~g_blocks(w.g) : 0;
	if (unlikely(killed)) {
		dequeue(r, &w);
		w.state = W_WOKEN;
		unlock(&r->lock);
		if (reason == WAIT_FUTEX && sigintr_interrupts(killed))
			w.state = W_INTR;  /* sema_kill's answer */
	} else if (w.g) {
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
	if (w.g)
		atomic_store_explicit(&w.g->semaddr, NULL, memory_order_relaxed);
	if (reason == WAIT_SEMAPHORE)
		atomic_fetch_sub(&nsemwaiters, 1);
	if (sig)
		sigwait_remove(&w.sw);
	if (intr)
		intr_end(w.g);
	/* Signals sent to the G while it waited: their handlers run before
	 * its call goes on or fails, as the kernel's would. */
	if (w.g)
		sigintr_check(w.g);
	/* The state is final once the waiter was woken, and ordered before
	 * this read by the wake-up itself (ready's run queue release/acquire,
	 * or the kernel word); so is the address a requeue moved it to. */
	if (w.state == W_TIMEDOUT)
		return -ETIMEDOUT;
	if (w.state == W_INTR)
		return -EINTR;
	return w.addr != addr ? SEMA_REQUEUED : 0;
}

int sema_wait_bitset(_Atomic uint32_t *addr, uint32_t val, int64_t deadline,
		     enum wait_reason reason, uint32_t bitset)
{
	return wait_common(addr, val, deadline, reason, bitset, false);
}

int sema_wait(_Atomic uint32_t *addr, uint32_t val, int64_t deadline, enum wait_reason reason)
{
	return wait_common(addr, val, deadline, reason, ~0u, false);
}

int sema_wait_intr(_Atomic uint32_t *addr, uint32_t val, int64_t deadline, enum wait_reason reason)
{
	return wait_common(addr, val, deadline, reason, ~0u, true);
}

/* Dequeues up to n waiters of addr whose bitset meets bitset onto *woken
 * (newest first); r = root_of(addr) locked.  Returns the count. */
static int take_waiters(struct semroot *r, _Atomic uint32_t *addr, int n, uint32_t bitset,
			struct waiter **woken)
{
	int count = 0;
	for (struct waiter *w = first_of(r, addr); w && count < n;) {
		struct waiter *next = w->next;
		if (w->bitset & bitset) {
			dequeue(r, w);
			w->state = W_WOKEN;
			w->next = *woken;
			*woken = w;
			count++;
		}
		w = next;
	}
	return count;
}

/* Wakes what take_waiters took, in queue order, with no root lock held
 * (list: as wake_waiter). */
static void wake_taken(struct waiter *woken, struct g **list)
{
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
		wake_waiter(w, list);
	}
}

int sema_wake_bitset(_Atomic uint32_t *addr, int n, uint32_t bitset)
{
	struct semroot *r = root_of(addr);
	struct waiter *woken = NULL;

	lock(&r->lock);
	int count = take_waiters(r, addr, n, bitset, &woken);
	unlock(&r->lock);
	wake_taken(woken, NULL);
	return count;
}

int sema_wake(_Atomic uint32_t *addr, int n)
{
	return sema_wake_bitset(addr, n, ~0u);
}

int sema_requeue(_Atomic uint32_t *addr, _Atomic uint32_t *addr2, int nwake, int nmove,
		 const uint32_t *cmpval, bool untimed)
{
	struct semroot *r = root_of(addr), *r2 = root_of(addr2);
	struct waiter *woken = NULL;

	lock2(&r->lock, &r2->lock);
	if (cmpval && atomic_load(addr) != *cmpval) {
		unlock2(&r->lock, &r2->lock);
		return -EAGAIN;
	}
	int count = take_waiters(r, addr, nwake, ~0u, &woken);
	/* Onto itself: the waiters stay where they are, but count. */
	for (struct waiter *w = first_of(r, addr); addr == addr2 && w && nmove > 0; w = w->next) {
		nmove--;
		count++;
	}
	for (struct waiter *w = addr == addr2 ? NULL : first_of(r, addr); w && nmove > 0;) {
		struct waiter *next = w->next;
		dequeue(r, w);
		w->addr = addr2;
		w->untimed |= untimed;
		if (w->g)
			atomic_store(&w->g->semaddr, addr2);
		atomic_store(&w->root, r2);
		enqueue(r2, w);
		nmove--;
		count++;
		w = next;
	}
	unlock2(&r->lock, &r2->lock);
	wake_taken(woken, NULL);
	return count;
}

bool sema_kill(struct g *gp, struct g **list)
{
	/* A raw futex wait ends as the kernel's: EINTR when a handler
	 * without SA_RESTART runs; the other waits wake spuriously. */
	int futex_why = sigintr_interrupts(atomic_load(&gp->sigpend) & ~g_blocks(gp)) ? W_INTR
										      : W_WOKEN;
	for (;;) {
		_Atomic uint32_t *addr = atomic_load(&gp->semaddr);
		if (!addr)
			return false;  /* it raises the signal when it returns */
		struct semroot *r = root_of(addr);
		lock(&r->lock);
		if (atomic_load_explicit(&gp->semaddr, memory_order_relaxed) != addr) {
			unlock(&r->lock);
			continue;  /* requeued, or it returned meanwhile */
		}
		/* The address is the G's while it is queued there: the
		 * record found is its wait's, alive until dequeued.  A
		 * waiter moved onto a mutex for good is woken too: it
		 * retries the mutex after its handler. */
		struct waiter *w = first_of(r, addr);
		while (w && w->g != gp)
			w = w->next;
		bool ended = w && w->state == W_WAITING;
		if (ended) {
			dequeue(r, w);
			w->state = w->reason == WAIT_FUTEX ? futex_why : W_WOKEN;
		}
		unlock(&r->lock);
		if (ended)
			wake_waiter(w, list);
		return ended;
	}
}

int sema_nwaiters(_Atomic uint32_t *addr)
{
	struct semroot *r = root_of(addr);
	int n = 0;

	lock(&r->lock);
	for (struct waiter *w = first_of(r, addr); w; w = w->next)
		n++;
	unlock(&r->lock);
	return n;
}

void sema_wake_deferred(_Atomic uint32_t *addr)
{
	/* Marks before the poller is told, so a poller told sees them. */
	atomic_store(&root_of(addr)->deferred, true);
	atomic_store(&deferred_any, true);
	netpoll_defer();
}

bool sema_anywaiters(void)
{
	return atomic_load_explicit(&nsemwaiters, memory_order_relaxed) > 0;
}

void sema_run_deferred(struct g **list)
{
	if (!atomic_load(&deferred_any) || !atomic_exchange(&deferred_any, false))
		return;
	for (int i = 0; i < SEMTABLE_SIZE; i++) {
		struct semroot *r = &semtable[i];
		if (!atomic_load_explicit(&r->deferred, memory_order_relaxed) ||
		    !atomic_exchange(&r->deferred, false))
			continue;
		struct waiter *woken = NULL;
		lock(&r->lock);
		/* A queued waiter keeps its semaphore alive: its value is
		 * safe to read, and says how many may take it now. */
		for (struct waiter *h = r->heads, *next; h; h = next) {
			next = h->hnext;
			uint32_t v = atomic_load(h->addr);
			if (h->reason == WAIT_SEMAPHORE && v > 0)
				take_waiters(r, h->addr, v > INT_MAX ? INT_MAX : (int)v, ~0u, &woken);
		}
		unlock(&r->lock);
		wake_taken(woken, list);
	}
}
