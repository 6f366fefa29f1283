/*
 * netpoll_epoll.c — the epoll backend of netpoll (see netpoll.h).
 *
 * Owns one epoll instance and an eventfd used by netpoll_break.  In this
 * step no program fd is registered yet: an idle M blocks here until the
 * next timer (the delay) or a break from timer_add / wake-ups.  Blocking I/O
 * registration (EPOLLET, one pollDesc per fd) arrives with the I/O step.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "netpoll.h"

static int epfd = -1;
static int breakfd = -1;
static _Atomic uint32_t break_pending;  /* a break is written, not yet read */

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

/* A child shares the parent's epoll instance and eventfd: make its own. */
int netpoll_fork_child(void)
{
	rt_syscall1(SYS_close, epfd);
	rt_syscall1(SYS_close, breakfd);
	atomic_store(&break_pending, 0);
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

struct g *netpoll(int64_t delay)
{
	struct epoll_event evs[64];
	int n = epoll_wait_ns(evs, 64, delay);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL) {
			uint64_t v;
			while (rt_syscall3(SYS_read, breakfd, &v, sizeof v) == -EINTR)
				;
			atomic_store(&break_pending, 0);
		}
	}
	return NULL;
}
