/*
 * netpoll_epoll.c — the epoll backend of netpoll (see netpoll.h): one
 * epoll instance, an eventfd for netpoll_break, and a pollDesc per fd that
 * some G has waited on.
 *
 * A pollDesc holds the list of waiters on its fd (pollnodes on the waiting
 * Gs' stacks: several threads may wait on one fd, as pthread programs do,
 * e.g. on one listening socket) and its epoll registration.  Registrations
 * are EPOLLONESHOT for the union of the waiters' events, re-armed with
 * EPOLL_CTL_MOD by each new waiter: an fd closed behind goshim's back
 * (fclose calls libc's internal close) and reused for another file then
 * costs at most one spurious wake, never a lost one (MOD on the new file
 * fails with ENOENT and the waiter ADDs it), and an event delivered
 * between a waiter's failed attempt and its arming is reported by the MOD
 * itself, which polls the file.  The MOD also vouches for the file: epoll
 * finds a registration by fd and open file description, so a waiter that
 * went by what goshim remembers of the fd (pollnode.verify) learns there
 * whether the fd still names that file.  An event wakes every waiter of the fd:
 * each retries its own call and waits again if it finds nothing.
 *
 * One G's wait (a pollwait) may span many fds (poll, select): whoever
 * fires first — an event, the deadline's timer, a close — moves the wait
 * from INIT or PARKED to READY or TIMEOUT, and readies the G if it had
 * parked.  park's commit moves INIT to PARKED, so a wake that comes before
 * the G is off its stack leaves it running instead.
 *
 * Every wait is one a signal handler may end (sigintr.c), with PW_INTR.
 * Sleeps are waits for no fd here (rt_sleep_until), so that a signal can
 * end them too; they need no poller (nwaiters counts the others).  What
 * handlers leave (interrupts, semaphore posts) the poller delivers.
 *
 * Lock order: a pollDesc lock is a leaf (lockrank.h); netpoll collects
 * the Gs to ready under it and readies them after.  A pollnode is touched only
 * under its pollDesc's lock while linked, and the wait's timer is deleted
 * (waiting out its function) before the G's stack frame goes.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lockrank.h"
#include "netpoll.h"

struct polldesc {
	struct rt_lock lock;
	struct pollnode *head;  /* waiters; lock */
	uint32_t armed;         /* events armed and not yet fired; lock */
	bool registered;        /* ADDed to the epoll set (maybe stale); lock */
};

/* Two-level table of pollDescs, indexed by fd, chunks allocated on first
 * use and never freed (a pollDesc outlives its fd: epoll events carry its
 * address). */
#define PD_CHUNK 1024
#define PD_CHUNKS 4096
static _Atomic(struct polldesc *) pdtab[PD_CHUNKS];

static int epfd = -1;
static int breakfd = -1;
static _Atomic uint32_t break_pending;  /* a break is written, not yet read */
static _Atomic int32_t nwaiters;        /* Gs in netpoll_wait */

enum { PW_INIT, PW_PARKED, PW_READY, PW_TIMEOUT, PW_INTR };

struct pollwait {
	struct sigwait sw;      /* on the list of waits a signal ends */
	_Atomic int state;      /* PW_* */
	struct timer timer;     /* the deadline, if any */
};

/* Interrupts or deferred semaphore wakes await netpoll_deliver. */
static _Atomic bool deliver_pending;

static struct polldesc *pd_get(int fd, bool create)
{
	if (fd < 0 || fd >= PD_CHUNK * PD_CHUNKS)
		return NULL;
	_Atomic(struct polldesc *) *slot = &pdtab[fd / PD_CHUNK];
	struct polldesc *c = atomic_load_explicit(slot, memory_order_acquire);
	if (!c) {
		if (!create)
			return NULL;
		struct polldesc *n = rt_alloc(sizeof *n * PD_CHUNK);
		for (int i = 0; i < PD_CHUNK; i++)
			n[i].lock = (struct rt_lock)RT_LOCK_INIT(RANK_POLLDESC);
		/* A racing creator wins: this chunk is lost, rarely and once. */
		if (!atomic_compare_exchange_strong(slot, &c, n))
			return &c[fd % PD_CHUNK];
		c = n;
	}
	return &c[fd % PD_CHUNK];
}

int netpoll_init(void)
{
	epfd = (int)rt_syscall1(SYS_epoll_create1, EPOLL_CLOEXEC);
	if (epfd < 0)
		return epfd;
	breakfd = (int)rt_syscall2(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (breakfd < 0)
		return breakfd;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	return (int)rt_syscall4(SYS_epoll_ctl, epfd, EPOLL_CTL_ADD, breakfd, &ev);
}

/* A child shares the parent's epoll instance and eventfd: make its own.
 * The waiters of the other threads do not exist in the child. */
int netpoll_fork_child(void)
{
	rt_syscall1(SYS_close, epfd);
	rt_syscall1(SYS_close, breakfd);
	atomic_store(&break_pending, 0);
	atomic_store(&nwaiters, 0);
	atomic_store(&deliver_pending, false);
	for (int i = 0; i < PD_CHUNKS; i++) {
		struct polldesc *c = atomic_load(&pdtab[i]);
		for (int j = 0; c && j < PD_CHUNK; j++) {
			c[j].lock = (struct rt_lock)RT_LOCK_INIT(RANK_POLLDESC);
			c[j].head = NULL;
			c[j].armed = 0;
			c[j].registered = false;
		}
	}
	return netpoll_init();
}

void netpoll_break(void)
{
	uint32_t z = 0;
	/* One pending break is enough to wake the poller. */
	if (!atomic_compare_exchange_strong(&break_pending, &z, 1))
		return;
	uint64_t one = 1;
	while (rt_syscall3(SYS_write, breakfd, &one, sizeof one) == -EINTR)
		;
}

bool netpoll_anywaiters(void)
{
	return atomic_load_explicit(&nwaiters, memory_order_relaxed) > 0;
}

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

/* epoll_pwait2 (Linux 5.11) takes a nanosecond timeout; older kernels get
 * epoll_pwait with the delay rounded up to whole milliseconds. */
static int epoll_wait_ns(struct epoll_event *evs, int max, int64_t delay)
{
	static _Atomic int have_pwait2 = 1;

	if (atomic_load_explicit(&have_pwait2, memory_order_relaxed)) {
		struct timespec ts, *tsp = NULL;
		if (delay >= 0) {
			ts.tv_sec = delay / 1000000000;
			ts.tv_nsec = delay % 1000000000;
			tsp = &ts;
		}
		int n = (int)rt_syscall6(SYS_epoll_pwait2, epfd, (long)evs, max, (long)tsp, 0, 8);
		if (n != -ENOSYS)
			return n;
		atomic_store(&have_pwait2, 0);
	}
	int timeout;
	if (delay < 0)
		timeout = -1;
	else if (delay < 1000000000000LL)
		timeout = (int)((delay + 999999) / 1000000);
	else
		timeout = 1000000;
	return (int)rt_syscall6(SYS_epoll_pwait, epfd, (long)evs, max, timeout, 0, 8);
}

/* Ends w with why (PW_READY, PW_TIMEOUT or PW_INTR) unless it has ended;
 * returns whether it did.  A G that had parked is pushed on *list, or
 * readied here when list is NULL. */
static bool pw_fire(struct pollwait *w, int why, struct g **list)
{
	int old = atomic_load(&w->state);
	do {
		if (old >= PW_READY)
			return false;
	} while (!atomic_compare_exchange_weak(&w->state, &old, why));
	if (old != PW_PARKED)
		return true;
	ready_or_push(w->sw.g, list);
	return true;
}

static void node_unlink(struct pollnode *n)
{
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
}

/* Ends the waits of every waiter of pd, pushing the Gs to ready on *list.
 * pd->lock held. */
static void pd_fire_all(struct polldesc *pd, struct g **list)
{
	struct pollnode *n;
	while ((n = pd->head)) {
		node_unlink(n);
		pw_fire(n->w, PW_READY, list);
	}
}

void netpoll_defer(void)
{
	atomic_store(&deliver_pending, true);
	netpoll_break();
}

bool netpoll_deliver_pending(void)
{
	return atomic_load_explicit(&deliver_pending, memory_order_relaxed);
}

/* Pushes the Gs that what signal handlers left readies on *list. */
static void deliver(struct g **list)
{
	/* Cleared first: what a handler leaves meanwhile sets it again. */
	atomic_store(&deliver_pending, false);
	/* Interrupts first: a handler that posted the semaphore it
	 * interrupts the wait for leaves the EINTR standing, as glibc. */
	sigintr_deliver(list);
	sema_run_deferred(list);
}

struct g *netpoll_deliver(void)
{
	struct g *list = NULL;
	deliver(&list);
	return list;
}

struct g *netpoll(int64_t delay)
{
	struct epoll_event evs[128];
	struct g *list = NULL;
	int n = epoll_wait_ns(evs, 128, delay);
	for (int i = 0; i < n; i++) {
		struct polldesc *pd = evs[i].data.ptr;
		if (!pd) {
			uint64_t v;
			while (rt_syscall3(SYS_read, breakfd, &v, sizeof v) == -EINTR)
				;
			atomic_store(&break_pending, 0);
			continue;
		}
		lock(&pd->lock);
		pd->armed = 0;  /* one-shot: the registration is disarmed */
		pd_fire_all(pd, &list);
		unlock(&pd->lock);
	}
	if (netpoll_deliver_pending())
		deliver(&list);
	return list;
}

/* Arms fd's registration for the union of its waiters' events.  pd->lock
 * held; epoll_ctl does not block.  With verify, -ESTALE (the registration
 * made all the same) unless the MOD found it: epoll knows a registration
 * by fd and open file description, so a MOD that succeeds shows the fd
 * names the description it was registered for. */
static int pd_arm(struct polldesc *pd, int fd, bool verify)
{
	uint32_t want = 0;
	for (struct pollnode *n = pd->head; n; n = n->next)
		want |= n->events;
	struct epoll_event ev = { .events = want | EPOLLONESHOT, .data.ptr = pd };
	long r = -ENOENT;
	if (pd->registered)
		r = rt_syscall4(SYS_epoll_ctl, epfd, EPOLL_CTL_MOD, fd, &ev);
	bool same = r == 0;
	if (r == -ENOENT) {
		r = rt_syscall4(SYS_epoll_ctl, epfd, EPOLL_CTL_ADD, fd, &ev);
		if (r == -EEXIST)
			r = rt_syscall4(SYS_epoll_ctl, epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	if (r < 0)
		return (int)r;
	pd->registered = true;
	pd->armed = want;
	return verify && !same ? -ESTALE : 0;
}

/* Queues n on its fd's pollDesc and arms the registration, unless it is
 * armed for these events already (then others wait on the same file). */
static int node_link(struct pollnode *n)
{
	struct polldesc *pd = pd_get(n->fd, true);
	if (!pd)
		return n->fd < 0 ? -EBADF : -ENOMEM;
	lock(&pd->lock);
	n->next = pd->head;
	n->pprev = &pd->head;
	if (pd->head)
		pd->head->pprev = &n->next;
	pd->head = n;
	int r = 0;
	if (n->verify || !n->next || (n->events & ~pd->armed))
		r = pd_arm(pd, n->fd, n->verify);
	if (r < 0)
		node_unlink(n);
	unlock(&pd->lock);
	return r;
}

static void node_leave(struct pollnode *n)
{
	struct polldesc *pd = pd_get(n->fd, false);
	lock(&pd->lock);
	if (n->pprev) {
		node_unlink(n);
		/* Nobody waits for what is armed now: the next waiter re-arms
		 * (the fd may meanwhile name another file). */
		if (!pd->head)
			pd->armed = 0;
	}
	unlock(&pd->lock);
}

static void pw_timeout(struct timer *t)
{
	pw_fire(t->arg, PW_TIMEOUT, NULL);
}

static bool pw_commit(struct g *gp, void *arg)
{
	(void)gp;
	struct pollwait *w = arg;
	int s = PW_INIT;
	return atomic_compare_exchange_strong(&w->state, &s, PW_PARKED);
}

/* intr_fire's hook: ends the wait (before it parks, if need be). */
static void pw_intr(struct g *gp, struct intrhook *h)
{
	(void)gp;
	pw_fire(h->arg, PW_INTR, NULL);
}

/* A signal's end of the wait (sigintr.c). */
static bool pw_sigend(struct sigwait *sw, struct g **list, bool spurious)
{
	return pw_fire(container_of(sw, struct pollwait, sw), spurious ? PW_READY : PW_INTR, list);
}

int netpoll_wait(struct pollnode *nodes, int n, int64_t deadline, enum wait_reason reason)
{
	struct g *gp = getg_user();
	/* SA_RESTART restarts none of poll, select, epoll_wait, a sleep
	 * or a socket call with a timeout; the others it does. */
	bool restarts = reason != WAIT_POLL && reason != WAIT_SLEEP && deadline < 0;
	struct pollwait w = { .sw = { .g = gp, .restarts = restarts, .end = pw_sigend },
			      .state = PW_INIT };
	struct intrhook hook = { .fn = pw_intr, .arg = &w };
	/* A sleep needs no poller. */
	bool sleep = reason == WAIT_SLEEP;
	if (deadline >= 0 && deadline <= nanotime())
		return -ETIMEDOUT;
	if (!intr_begin(gp, &hook))
		return -EINTR;
	int err = 0, i;
	sigwait_add(&w.sw);
	if (!sleep)
		atomic_fetch_add(&nwaiters, 1);
	for (i = 0; i < n; i++) {
		nodes[i].w = &w;
		if ((err = node_link(&nodes[i])) < 0)
			break;
	}
	if (err == 0) {
		if (deadline >= 0) {
			w.timer.when = deadline;
			w.timer.f = pw_timeout;
			w.timer.arg = &w;
			timer_add(gp->m->p, &w.timer);
		}
		park(pw_commit, &w, reason);
		if (deadline >= 0)
			timer_del(&w.timer);
	}
	intr_end(gp);
	while (i-- > 0)
		node_leave(&nodes[i]);
	if (!sleep)
		atomic_fetch_sub(&nwaiters, 1);
	sigwait_remove(&w.sw);
	/* Signals sent to the G while it waited: their handlers run before
	 * its call goes on or fails, as the kernel's would. */
	sigintr_check(gp);
	if (err)
		return err;
	switch (atomic_load(&w.state)) {
	case PW_TIMEOUT:
		return -ETIMEDOUT;
	case PW_INTR:
		return -EINTR;
	default:
		return 0;
	}
}

void netpoll_kick(int fd, uint32_t events)
{
	struct polldesc *pd = pd_get(fd, false);
	if (!pd)
		return;
	struct g *list = NULL;
	lock(&pd->lock);
	struct pollnode *n = pd->head;
	while (n) {
		struct pollnode *next = n->next;
		if (n->events & events) {
			node_unlink(n);
			pw_fire(n->w, PW_READY, &list);
		}
		n = next;
	}
	unlock(&pd->lock);
	while (list) {
		struct g *gp = list;
		list = gp->schedlink;
		ready(gp);
	}
}

void netpoll_close(int fd)
{
	struct polldesc *pd = pd_get(fd, false);
	if (!pd)
		return;
	struct g *list = NULL;
	lock(&pd->lock);
	if (pd->registered)
		rt_syscall4(SYS_epoll_ctl, epfd, EPOLL_CTL_DEL, fd, NULL);
	pd->registered = false;
	pd->armed = 0;
	pd_fire_all(pd, &list);
	unlock(&pd->lock);
	while (list) {
		struct g *gp = list;
		list = gp->schedlink;
		ready(gp);
	}
}
