/*
 * netpoll_epoll.c — the epoll backend of netpoll (see netpoll.h): one
 * epoll instance, an eventfd for netpoll_break, and a pollDesc per fd that
 * some G has waited on.
 *
 * A pollDesc holds the list of waiters on its fd (pollnodes on the waiting
 * Gs' stacks: several threads may wait on one fd, as pthread programs do,
 * e.g. on one listening socket) and its epoll registration: made once, by
 * the first wait, edge-triggered for reading and writing (Go's), so that
 * a wait costs no epoll_ctl.  An edge that comes with no waiter is not
 * lost: netpoll counts every event of a pollDesc, reading and writing
 * apart (rseq, wseq), and a waiter reads the counts before its own call
 * finds the fd not ready (netpoll_prepare) and does not park if they
 * moved by the time it is queued.  An event wakes every waiter of its
 * direction (errors and hang-ups all): each retries its own call and
 * waits again if it finds nothing.
 *
 * The registration names the fd's open file description: an fd that libc
 * or a raw system call closed behind goshim's back (its registration
 * gone with the file) and reused for another file would wait for events
 * that never come.  The program's own closes are seen (close, dup2, dup3,
 * fclose, pclose, freopen, syscall), and for the rest sysmon checks the
 * registrations of fds waited on for over a second, less and less often
 * while they hold (netpoll_verify): one found gone is made again, and its
 * waiters wake, those that went by what goshim remembers of the fd
 * (pollnode.verify) with -ESTALE.  A node its caller did not prepare
 * (the first wait of poll and select) costs a MOD, which polls the file.
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
	_Atomic uint32_t rseq;  /* events for reading so far; bumped under lock */
	_Atomic uint32_t wseq;  /* ... for writing */
	bool registered;        /* ADDed to the epoll set (maybe stale); lock */
	int64_t verify_at;      /* netpoll_verify's next look; lock */
	int64_t verify_every;   /* and the interval after it; lock */
};

/* The registration: edge-triggered, both ways. */
#define PD_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET)
/* Events for readers and for writers; an error or hang-up is for both. */
#define EV_READ (EPOLLIN | EPOLLRDNORM | EPOLLRDBAND | EPOLLPRI | EPOLLRDHUP | EPOLLERR | EPOLLHUP)
#define EV_WRITE (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND | EPOLLERR | EPOLLHUP)
#define VERIFY_FIRST_NS 1000000000LL
#define VERIFY_MAX_NS 64000000000LL

/* The pollDescs, indexed by fd (a pollDesc outlives its fd: epoll events
 * carry its address). */
#define PD_CHUNK 1024
#define PD_CHUNKS 4096
static void pd_init(void *chunk, int n);
static _Atomic(void *) pd_chunks[PD_CHUNKS];
static struct fdtab pdtab = { pd_chunks, PD_CHUNKS, PD_CHUNK, sizeof(struct polldesc), pd_init };

static int epfd = -1;
static int breakfd = -1;
static _Atomic uint32_t break_pending;  /* a break is written, not yet read */
static _Atomic int32_t nwaiters;        /* Gs in netpoll_wait */

enum { PW_INIT, PW_PARKED, PW_READY, PW_TIMEOUT, PW_INTR, PW_STALE };

struct pollwait {
	struct sigwait sw;      /* on the list of waits a signal ends */
	_Atomic int state;      /* PW_* */
	struct timer timer;     /* the deadline, if any */
};

/* Interrupts or deferred semaphore wakes await netpoll_deliver. */
static _Atomic bool deliver_pending;

static struct polldesc *pd_get(int fd, bool create)
{
	return fdtab_get(&pdtab, fd, create);
}

static void pd_init(void *chunk, int n)
{
	struct polldesc *pd = chunk;
	for (int i = 0; i < n; i++)
		pd[i].lock = (struct rt_lock)RT_LOCK_INIT(RANK_POLLDESC);
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
		struct polldesc *c = fdtab_chunk(&pdtab, i);
		for (int j = 0; c && j < PD_CHUNK; j++) {
			c[j].lock = (struct rt_lock)RT_LOCK_INIT(RANK_POLLDESC);
			c[j].head = NULL;
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

/* Whether an event ev is one n waits for (a waiter for neither reading
 * nor writing waits for errors and hang-ups: poll with no events). */
static bool node_wants(const struct pollnode *n, uint32_t ev)
{
	if (ev & (EPOLLERR | EPOLLHUP))
		return true;
	return ((n->events & EV_READ) && (ev & EV_READ)) ||
	       ((n->events & EV_WRITE) && (ev & EV_WRITE));
}

/* Ends, with why, the waits of pd's waiters for ev (all of them for ~0),
 * pushing the Gs to ready on *list.  pd->lock held. */
static void pd_fire(struct polldesc *pd, uint32_t ev, int why, struct g **list)
{
	struct pollnode *n = pd->head;
	while (n) {
		struct pollnode *next = n->next;
		if (ev == ~0u || node_wants(n, ev)) {
			node_unlink(n);
			pw_fire(n->w, why, list);
		}
		n = next;
	}
}

static void pd_fire_all(struct polldesc *pd, struct g **list)
{
	pd_fire(pd, ~0u, PW_READY, list);
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
		uint32_t ev = evs[i].events;
		lock(&pd->lock);
		if (ev & EV_READ)
			atomic_fetch_add_explicit(&pd->rseq, 1, memory_order_release);
		if (ev & EV_WRITE)
			atomic_fetch_add_explicit(&pd->wseq, 1, memory_order_release);
		pd_fire(pd, ev, PW_READY, &list);
		unlock(&pd->lock);
	}
	if (netpoll_deliver_pending())
		deliver(&list);
	return list;
}

static long pd_ctl(int op, int fd, struct polldesc *pd)
{
	struct epoll_event ev = { .events = PD_EVENTS, .data.ptr = pd };
	return rt_syscall4(SYS_epoll_ctl, epfd, op, fd, &ev);
}

/* Registers fd, unless it is: 0, 1 when it had to be added (a file no
 * registration was known for), or -errno.  pd->lock held; epoll_ctl does
 * not block. */
static int pd_register(struct polldesc *pd, int fd)
{
	if (pd->registered)
		return 0;
	long r = pd_ctl(EPOLL_CTL_ADD, fd, pd);
	if (r == -EEXIST)
		r = pd_ctl(EPOLL_CTL_MOD, fd, pd);
	if (r < 0)
		return (int)r;
	pd->registered = true;
	return 1;
}

void netpoll_prepare(struct pollnode *n)
{
	struct polldesc *pd = pd_get(n->fd, true);
	n->prepared = pd != NULL;
	if (pd) {
		/* load-acquire: before the caller's own look at the fd */
		n->rseq = atomic_load_explicit(&pd->rseq, memory_order_acquire);
		n->wseq = atomic_load_explicit(&pd->wseq, memory_order_acquire);
	}
}

/* An event n waits for came after its netpoll_prepare.  pd->lock held. */
static bool node_missed(struct polldesc *pd, const struct pollnode *n)
{
	bool r = atomic_load_explicit(&pd->rseq, memory_order_relaxed) != n->rseq;
	bool w = atomic_load_explicit(&pd->wseq, memory_order_relaxed) != n->wseq;
	if (!(n->events & (EV_READ | EV_WRITE)))
		return r || w;
	return ((n->events & EV_READ) && r) || ((n->events & EV_WRITE) && w);
}

/* Queues n on its fd's pollDesc, registering the fd first if need be.
 * Returns 0, 1 when an event for n came since its netpoll_prepare (look
 * again rather than wait), or -errno; -ESTALE for a node to verify whose
 * fd had no known registration. */
static int node_link(struct pollnode *n, int64_t now)
{
	struct polldesc *pd = pd_get(n->fd, true);
	if (!pd)
		return n->fd < 0 ? -EBADF : -ENOMEM;
	lock(&pd->lock);
	int r = pd_register(pd, n->fd);
	if (r == 0 && !n->prepared) {
		/* No counts to go by: a MOD polls the file, and queues the
		 * edge of a readiness that came before. */
		long m = pd_ctl(EPOLL_CTL_MOD, n->fd, pd);
		if (m == -ENOENT) {
			pd->registered = false;
			r = pd_register(pd, n->fd);
		} else if (m < 0) {
			r = (int)m;
		}
	}
	if (r == 1 && n->verify)
		r = -ESTALE;
	else if (r >= 0)
		r = n->prepared && node_missed(pd, n) ? 1 : 0;
	if (r == 0) {
		if (!pd->head) {
			pd->verify_at = now + VERIFY_FIRST_NS;
			pd->verify_every = VERIFY_FIRST_NS;
		}
		n->next = pd->head;
		n->pprev = &pd->head;
		if (pd->head)
			pd->head->pprev = &n->next;
		pd->head = n;
	}
	unlock(&pd->lock);
	return r;
}

static void node_leave(struct pollnode *n)
{
	struct polldesc *pd = pd_get(n->fd, false);
	lock(&pd->lock);
	if (n->pprev)
		node_unlink(n);
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
	int64_t now = atomic_load_explicit(&sched.coarsenow, memory_order_relaxed);
	if (!now && n)
		now = nanotime_coarse();
	for (i = 0; i < n; i++) {
		nodes[i].w = &w;
		if ((err = node_link(&nodes[i], now)) != 0)
			break;
	}
	if (err > 0)
		err = 0;  /* an event came meanwhile: no wait, look again */
	else if (err == 0) {
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
	case PW_STALE:
		for (i = 0; i < n; i++)
			if (nodes[i].verify)
				return -ESTALE;
		return 0;
	default:
		return 0;
	}
}

/* Readies the Gs of list (schedlink). */
static void ready_list(struct g *list)
{
	while (list) {
		struct g *gp = list;
		list = gp->schedlink;
		ready(gp);
	}
}

void netpoll_kick(int fd, uint32_t events)
{
	struct polldesc *pd = pd_get(fd, false);
	if (!pd)
		return;
	struct g *list = NULL;
	lock(&pd->lock);
	pd_fire(pd, events, PW_READY, &list);
	unlock(&pd->lock);
	ready_list(list);
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
	pd_fire_all(pd, &list);
	unlock(&pd->lock);
	ready_list(list);
}

void netpoll_verify(int64_t now)
{
	struct g *list = NULL;
	for (int c = 0; c < PD_CHUNKS; c++) {
		struct polldesc *chunk = fdtab_chunk(&pdtab, c);
		for (int j = 0; chunk && j < PD_CHUNK; j++) {
			struct polldesc *pd = &chunk[j];
			int fd = c * PD_CHUNK + j;
			lock(&pd->lock);
			if (pd->head && pd->registered && now >= pd->verify_at) {
				long r = pd_ctl(EPOLL_CTL_MOD, fd, pd);
				if (r == 0) {
					if (pd->verify_every < VERIFY_MAX_NS)
						pd->verify_every *= 2;
				} else {
					/* Gone with its file: made again for
					 * the one fd names now, if any. */
					pd->registered = false;
					pd_register(pd, fd);
					pd->verify_every = VERIFY_FIRST_NS;
					pd_fire(pd, ~0u, PW_STALE, &list);
				}
				pd->verify_at = now + pd->verify_every;
			}
			unlock(&pd->lock);
		}
	}
	injectglist(list);  /* sysmon has no P */
}
