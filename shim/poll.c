/*
 * poll.c — waiting for many fds: poll, ppoll, select, pselect, epoll_wait,
 * epoll_pwait, epoll_pwait2.
 *
 * Each asks the kernel first with a zero timeout (so readiness, errors and
 * every result are the kernel's own), and when nothing is ready parks the
 * G on netpoll for all the fds, with the timeout as a timer, then asks
 * again.  An epoll instance is itself pollable: epoll_wait waits on it.
 * The signal mask of ppoll, pselect and epoll_pwait applies to the kernel
 * calls (a pending signal it unblocks is delivered, EINTR) and is the G's
 * while it waits (wait_mask_enter).
 *
 * All are cancellation points: a request acts on entry, and when it ended
 * the wait (-EINTR from netpoll_wait or the hand-off).
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "io.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

/* Nodes for up to n fds: on the stack for a few, else malloc'd. */
#define FEW_FDS 16

struct fdwait {
	struct pollnode few[FEW_FDS];
	struct pollnode *nodes;
	int n;
};

static bool fdwait_init(struct fdwait *w, size_t max)
{
	w->n = 0;
	w->nodes = w->few;
	if (max > FEW_FDS && !(w->nodes = malloc(sizeof *w->nodes * max)))
		return false;
	return true;
}

static void fdwait_add(struct fdwait *w, int fd, uint32_t events)
{
	w->nodes[w->n++] = (struct pollnode){ .fd = fd, .events = events };
}

static void fdwait_free(struct fdwait *w)
{
	if (w->nodes != w->few)
		free(w->nodes);
}

/* Parks the G on w's fds until one may be ready or deadline: 0 to look
 * again, -ETIMEDOUT, or another -errno when netpoll cannot watch them
 * (the caller makes its call blocking).  A wait that finds a fd closed
 * looks again: the kernel reports it.  The nodes are prepared for that
 * look (netpoll_prepare), so that the next wait misses nothing. */
static int fdwait_park(struct fdwait *w, int64_t deadline)
{
	int e = netpoll_wait(w->nodes, w->n, deadline, WAIT_POLL);
	for (int i = 0; i < w->n; i++)
		netpoll_prepare(&w->nodes[i]);
	return e == -EBADF ? 0 : e;
}


/* ppoll, pselect and epoll_pwait put mask in place for their wait,
 * atomically (GNU make blocks SIGCHLD and waits for it in pselect on its
 * jobserver pipe): the G's mask is mask while it waits in netpoll, so that
 * a signal mask lets through ends the wait with EINTR, as the kernel's
 * call ends; the mask it had is back after.  Returns that one. */
static uint64_t wait_mask_enter(struct g *gp, const sigset_t *mask)
{
	uint64_t mine = atomic_load_explicit(&gp->sigmask, memory_order_relaxed);
	if (!mask)
		return mine;
	uint64_t m = *(const uint64_t *)mask & ~(sigbit(SIGKILL) | sigbit(SIGSTOP));
	if (m != mine) {
		atomic_store_explicit(&gp->sigmask, m, memory_order_relaxed);
		m_setmask(gp->m, m);
		sigintr_mask_changed(mine, m);
	}
	return mine;
}

static void wait_mask_leave(struct g *gp, uint64_t mine)
{
	uint64_t m = atomic_load_explicit(&gp->sigmask, memory_order_relaxed);
	if (m == mine)
		return;
	atomic_store_explicit(&gp->sigmask, mine, memory_order_relaxed);
	m_setmask(gp->m, mine);
	sigintr_mask_changed(m, mine);
}

/* The deadline of a relative timeout: -1 for none (NULL), 0 for a zero
 * one (look, do not wait); false when ts is invalid (EINVAL). */
static bool ts_deadline(const struct timespec *ts, int64_t *deadline)
{
	*deadline = -1;
	if (!ts)
		return true;
	if (ts->tv_sec < 0 || !shim_timespec_valid(ts))
		return false;
	*deadline = ts->tv_sec == 0 && ts->tv_nsec == 0 ? 0 : shim_rel_deadline(ts);
	return true;
}

/* The deadline of a timeout in milliseconds (poll, epoll_wait). */
static int64_t ms_deadline(int timeout)
{
	if (timeout <= 0)
		return timeout < 0 ? -1 : 0;
	struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };
	return shim_rel_deadline(&ts);
}

/* ---------------------------------------------------------------- poll */

static long do_ppoll(struct pollfd *fds, nfds_t nfds, int64_t deadline, const sigset_t *mask)
{
	shim_testcancel(getg_user());
	struct timespec zero = { 0, 0 };
	long r = rt_syscall5(SYS_ppoll, fds, nfds, &zero, mask, 8);
	if (r != 0 || deadline == 0)
		return r;
	struct fdwait w;
	if (!fdwait_init(&w, nfds))
		goto blocking;
	for (nfds_t i = 0; i < nfds; i++)
		if (fds[i].fd >= 0)
			fdwait_add(&w, fds[i].fd, (uint16_t)fds[i].events);
	struct g *gp = getg_user();
	uint64_t mine = wait_mask_enter(gp, mask);
	for (;;) {
		int e = fdwait_park(&w, deadline);
		if (e == -ETIMEDOUT || e == -EINTR) {
			r = e == -EINTR ? e : 0;
			break;
		}
		if (e < 0) {
			wait_mask_leave(gp, mine);
			fdwait_free(&w);
			goto blocking;
		}
		r = rt_syscall5(SYS_ppoll, fds, nfds, &zero, mask, 8);
		if (r != 0)
			break;
	}
	wait_mask_leave(gp, mine);
	fdwait_free(&w);
	return r;
blocking:;
	struct timespec left = shim_remaining(deadline);
	return HANDOFF_CANCEL(true, rt_syscall5(SYS_ppoll, fds, nfds, deadline < 0 ? NULL : &left, mask, 8));
}

SHIM_EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	if (!io_g()) {
		struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };
		return (int)io_ret(HANDOFF(false, rt_syscall5(SYS_ppoll, fds, nfds,
							      timeout < 0 ? NULL : &ts, NULL, 8)));
	}
	return (int)io_ret(io_cancel_check(do_ppoll(fds, nfds, ms_deadline(timeout), NULL)));
}

SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		      const sigset_t *mask)
{
	if (!io_g())
		return (int)io_ret(HANDOFF(false, rt_syscall5(SYS_ppoll, fds, nfds, tmo, mask, 8)));
	int64_t deadline;
	if (!ts_deadline(tmo, &deadline))
		return (int)io_ret(-EINVAL);
	return (int)io_ret(io_cancel_check(do_ppoll(fds, nfds, deadline, mask)));
}

extern void __chk_fail(void) __attribute__((noreturn));

SHIM_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	if (fdslen / sizeof *fds < nfds)
		__chk_fail();
	return poll(fds, nfds, timeout);
}

SHIM_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
			    const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof *fds < nfds)
		__chk_fail();
	return ppoll(fds, nfds, tmo, mask);
}

/* ---------------------------------------------------------------- select */

/* The kernel's pselect6 takes the mask as {pointer, size}. */
struct sigarg {
	const sigset_t *set;
	size_t size;
};

/* select and pselect on at most nfds fds.  The sets are the program's,
 * saved at entry: each look restores them for the kernel, which rewrites
 * them. */
static long do_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t deadline,
		      const sigset_t *mask)
{
	shim_testcancel(getg_user());
	struct timespec zero = { 0, 0 };
	struct sigarg sa = { mask, 8 };
	const struct sigarg *sap = mask ? &sa : NULL;
	if (deadline == 0 || nfds < 0)
		return rt_syscall6(SYS_pselect6, nfds, rd, wr, ex, &zero, sap);
	size_t bytes = ((size_t)nfds + 8 * sizeof(long) - 1) / (8 * sizeof(long)) * sizeof(long);
	fd_set *sets[3] = { rd, wr, ex };
	static const uint32_t events[3] = { EPOLLIN | EPOLLRDHUP, EPOLLOUT, EPOLLPRI };
	unsigned char *saved = malloc(3 * bytes + 1);
	long r;
	if (!saved)
		goto blocking;
	for (int s = 0; s < 3; s++)
		if (sets[s])
			memcpy(saved + s * bytes, sets[s], bytes);
	struct fdwait w;
	r = rt_syscall6(SYS_pselect6, nfds, rd, wr, ex, &zero, sap);
	if (r != 0 || !fdwait_init(&w, (size_t)nfds))
		goto restore;
	for (int fd = 0; fd < nfds; fd++) {
		uint32_t ev = 0;
		for (int s = 0; s < 3; s++)
			if (sets[s] && (saved[s * bytes + (size_t)fd / 8] >> (fd % 8) & 1))
				ev |= events[s];
		if (ev)
			fdwait_add(&w, fd, ev);
	}
	bool fallback = false;
	struct g *gp = getg_user();
	uint64_t mine = wait_mask_enter(gp, mask);
	for (;;) {
		int e = fdwait_park(&w, deadline);
		if (e == -ETIMEDOUT) {
			r = 0;  /* the sets stay cleared, as the kernel leaves them */
			break;
		}
		if (e == -EINTR) {
			/* An error leaves the program's sets as they were. */
			for (int s = 0; s < 3; s++)
				if (sets[s])
					memcpy(sets[s], saved + s * bytes, bytes);
			r = e;
			break;
		}
		if (e < 0) {
			fallback = true;
			break;
		}
		/* The kernel rewrote the sets: give it the program's again. */
		for (int s = 0; s < 3; s++)
			if (sets[s])
				memcpy(sets[s], saved + s * bytes, bytes);
		r = rt_syscall6(SYS_pselect6, nfds, rd, wr, ex, &zero, sap);
		if (r != 0)
			break;
	}
	wait_mask_leave(gp, mine);
	fdwait_free(&w);
	if (fallback)
		goto restore;
	free(saved);
	return r;
restore:
	if (r == 0)
		for (int s = 0; s < 3; s++)
			if (sets[s])
				memcpy(sets[s], saved + s * bytes, bytes);
	free(saved);
	if (r != 0)
		return r;
blocking:;
	struct timespec left = shim_remaining(deadline);
	return HANDOFF_CANCEL(true, rt_syscall6(SYS_pselect6, nfds, rd, wr, ex, deadline < 0 ? NULL : &left, sap));
}

/* A struct timeval as the kernel's select reads it: microseconds past a
 * second carry into the seconds; negative is EINVAL. */
static int64_t tv_deadline(const struct timeval *tv, bool *bad)
{
	*bad = false;
	if (!tv)
		return -1;
	struct timespec ts = { tv->tv_sec + tv->tv_usec / 1000000, tv->tv_usec % 1000000 * 1000 };
	if (ts.tv_sec < 0 || ts.tv_nsec < 0) {
		*bad = true;
		return 0;
	}
	if (ts.tv_sec == 0 && ts.tv_nsec == 0)
		return 0;
	return shim_rel_deadline(&ts);
}

/* Linux's select writes back the time left. */
SHIM_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	if (!io_g())
		return (int)io_ret(HANDOFF(false, rt_syscall5(SYS_select, nfds, rd, wr, ex, tv)));
	bool bad;
	int64_t deadline = tv_deadline(tv, &bad);
	if (bad) {
		errno = EINVAL;
		return -1;
	}
	long r = io_cancel_check(do_select(nfds, rd, wr, ex, deadline, NULL));
	if (tv && deadline > 0) {
		struct timespec left = shim_remaining(deadline);
		tv->tv_sec = left.tv_sec;
		tv->tv_usec = left.tv_nsec / 1000;
	}
	return (int)io_ret(r);
}

SHIM_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
			const sigset_t *mask)
{
	if (!io_g()) {
		struct timespec copy, *tp = NULL;
		if (ts) {
			copy = *ts;
			tp = &copy;
		}
		struct sigarg sa = { mask, 8 };
		return (int)io_ret(HANDOFF(false, rt_syscall6(SYS_pselect6, nfds, rd, wr, ex, tp,
							      mask ? &sa : NULL)));
	}
	int64_t deadline;
	if (!ts_deadline(ts, &deadline))
		return (int)io_ret(-EINVAL);
	return (int)io_ret(io_cancel_check(do_select(nfds, rd, wr, ex, deadline, mask)));
}

/* ---------------------------------------------------------------- epoll */

static long do_epoll(int epfd, struct epoll_event *evs, int max, int64_t deadline,
		     const sigset_t *mask)
{
	shim_testcancel(getg_user());
	struct pollnode n = { .fd = epfd, .events = EPOLLIN };
	netpoll_prepare(&n);
	long r = rt_syscall6(SYS_epoll_pwait, epfd, evs, max, 0, mask, 8);
	if (r != 0 || deadline == 0)
		return r;
	struct g *gp = getg_user();
	uint64_t mine = wait_mask_enter(gp, mask);
	for (;;) {
		int e = netpoll_wait(&n, 1, deadline, WAIT_POLL);
		netpoll_prepare(&n);
		if (e == -ETIMEDOUT || e == -EINTR) {
			wait_mask_leave(gp, mine);
			return e == -EINTR ? e : 0;
		}
		if (e < 0 && e != -EBADF)
			break;
		r = rt_syscall6(SYS_epoll_pwait, epfd, evs, max, 0, mask, 8);
		if (r != 0) {
			wait_mask_leave(gp, mine);
			return r;
		}
	}
	wait_mask_leave(gp, mine);
	/* The blocking call in whole milliseconds, rounded up: epoll_pwait2
	 * is younger than the kernels goshim runs on. */
	int ms = -1;
	if (deadline >= 0) {
		int64_t left = deadline - nanotime();
		ms = left <= 0 ? 0 : left > INT32_MAX * 1000000LL ? INT32_MAX : (int)((left + 999999) / 1000000);
	}
	return HANDOFF_CANCEL(true, rt_syscall6(SYS_epoll_pwait, epfd, evs, max, ms, mask, 8));
}

SHIM_EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
			    const sigset_t *mask)
{
	if (!io_g())
		return (int)io_ret(HANDOFF(false, rt_syscall6(SYS_epoll_pwait, epfd, evs, max,
							      timeout, mask, 8)));
	return (int)io_ret(io_cancel_check(do_epoll(epfd, evs, max, ms_deadline(timeout), mask)));
}

SHIM_EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	return epoll_pwait(epfd, evs, max, timeout, NULL);
}

SHIM_EXPORT int epoll_pwait2(int epfd, struct epoll_event *evs, int max,
			     const struct timespec *ts, const sigset_t *mask)
{
	if (!io_g())
		return (int)io_ret(HANDOFF(false, rt_syscall6(SYS_epoll_pwait2, epfd, evs, max, ts, mask, 8)));
	int64_t deadline;
	if (!ts_deadline(ts, &deadline))
		return (int)io_ret(-EINVAL);
	return (int)io_ret(io_cancel_check(do_epoll(epfd, evs, max, deadline, mask)));
}
