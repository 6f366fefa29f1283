/*
 * socket.c — the socket calls: the ones that wait (recv, recvfrom,
 * recvmsg, recvmmsg, send, sendto, sendmsg, sendmmsg, accept, accept4,
 * connect), and the ones fdstate.c must hear of (socket, socketpair,
 * setsockopt).
 *
 * Receives and sends go through io_rw (io.c) as recvmsg and sendmsg, the
 * one call each of them is in the kernel, with MSG_DONTWAIT for the
 * attempt; the program's own MSG_DONTWAIT gets the kernel's answer
 * directly.  accept has no non-blocking form besides the listening
 * socket's O_NONBLOCK, which goshim does not touch: the G waits until the
 * socket is readable and accepts with the P handed off (a peer thread may
 * take the connection first; the M then blocks like the native thread,
 * its P working elsewhere).  connect is the kernel's call with the P
 * handed off.
 */
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "io.h"

static long sock_rw(int fd, struct msghdr *m, int flags, bool write)
{
	struct g *gp = io_g();
	if (gp)
		shim_testcancel(gp);  /* a cancellation point, even non-blocking */
	/* fds sent and received (SCM_RIGHTS) are shared with another
	 * process: fdstate forgets them */
	if (write)
		fdstate_msg_fds(m);
	long r;
	if (!gp || (flags & MSG_DONTWAIT)) {
		r = rt_syscall3(write ? SYS_sendmsg : SYS_recvmsg, fd, m, flags);
	} else {
		struct iovop op = { fd, m, flags, true, write, false };
		r = io_rw(&op, write || (flags & MSG_WAITALL));
	}
	if (!write && r >= 0)
		fdstate_msg_fds(m);
	return r;
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
			     socklen_t *alen)
{
	struct iovec iov = { buf, n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (addr && alen) {
		m.msg_name = addr;
		m.msg_namelen = *alen;
	}
	long r = sock_rw(fd, &m, flags, false);
	if (r >= 0 && addr && alen)
		*alen = m.msg_namelen;
	return io_ret(r);
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	return io_ret(sock_rw(fd, m, flags, false));
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *addr, socklen_t alen)
{
	struct iovec iov = { (void *)buf, n };
	struct msghdr m = { .msg_name = (void *)addr, .msg_namelen = alen,
			    .msg_iov = &iov, .msg_iovlen = 1 };
	return io_ret(sock_rw(fd, &m, flags, true));
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return sendto(fd, buf, n, flags, NULL, 0);
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	return io_ret(sock_rw(fd, (struct msghdr *)m, flags, true));
}

extern void __chk_fail(void) __attribute__((noreturn));

SHIM_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

SHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				   struct sockaddr *addr, socklen_t *alen)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, addr, alen);
}

/* The fds the first n messages of vec received: fdstate forgets them. */
static long mmsg_fds(struct mmsghdr *vec, long n)
{
	for (long i = 0; i < n; i++)
		fdstate_msg_fds(&vec[i].msg_hdr);
	return n;
}

/* A blocking recvmmsg waits for vlen messages (the first only, with
 * MSG_WAITFORONE); its timeout is looked at only once a message has come,
 * as the kernel does. */
SHIM_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
			 struct timespec *timeout)
{
	struct g *gp = io_g();
	if (gp)
		shim_testcancel(gp);
	if (!gp || (flags & MSG_DONTWAIT))
		return (int)io_ret(mmsg_fds(vec, rt_syscall5(SYS_recvmmsg, fd, vec, vlen, flags,
							     timeout)));
	int64_t deadline = -1, sodeadline = 0;
	if (timeout) {
		if (!shim_timespec_valid(timeout) || timeout->tv_sec < 0) {
			errno = EINVAL;
			return -1;
		}
		deadline = shim_rel_deadline(timeout);
	}
	unsigned int got = 0;
	for (;;) {
		struct pollnode n = { .fd = fd, .events = EPOLLIN | EPOLLRDHUP };
		netpoll_prepare(&n);
		long r = mmsg_fds(vec + got, rt_syscall5(SYS_recvmmsg, fd, vec + got, vlen - got,
							 flags | MSG_DONTWAIT, NULL));
		if (r > 0) {
			got += (unsigned int)r;
			if (got == vlen || (flags & MSG_WAITFORONE) ||
			    (deadline >= 0 && nanotime() >= deadline))
				return (int)got;
			continue;
		}
		if (r != -EAGAIN || io_nonblocking(fd))
			return got ? (int)got : (int)io_ret(r);
		if (sodeadline == 0)
			sodeadline = io_sock_deadline(fd, SO_RCVTIMEO);
		int64_t until = sodeadline;
		if (got && deadline >= 0 && (until < 0 || deadline < until))
			until = deadline;
		int e = netpoll_wait(&n, 1, until, WAIT_IO);
		if (!got)
			io_cancel_check(e);
		if (e == -ETIMEDOUT)
			return got ? (int)got : (int)io_ret(-EAGAIN);
		if (e < 0)
			return got ? (int)got : (int)io_ret(e);
	}
}

/* A blocking sendmmsg sends each message whole, one after the other. */
SHIM_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	struct g *gp = io_g();
	if (gp)
		shim_testcancel(gp);
	if (!gp || (flags & MSG_DONTWAIT)) {
		mmsg_fds(vec, vlen);
		return (int)io_ret(rt_syscall4(SYS_sendmmsg, fd, vec, vlen, flags));
	}
	if (vlen > IOV_MAX)
		vlen = IOV_MAX;
	unsigned int i;
	for (i = 0; i < vlen; i++) {
		long r = sock_rw(fd, &vec[i].msg_hdr, flags, true);
		if (r < 0)
			return i ? (int)i : (int)io_ret(r);
		vec[i].msg_len = (unsigned int)r;
	}
	return (int)i;
}

/* ---------------------------------------------------------------- socket, setsockopt */

/* r: a socket this process created, or a failure. */
static long sock_born(long r)
{
	if (r >= 0)
		fdstate_born((int)r);
	return r;
}

SHIM_EXPORT int socket(int domain, int type, int protocol)
{
	return (int)io_ret(sock_born(rt_syscall3(SYS_socket, domain, type, protocol)));
}

SHIM_EXPORT int socketpair(int domain, int type, int protocol, int fds[2])
{
	long r = rt_syscall4(SYS_socketpair, domain, type, protocol, fds);
	if (r == 0)
		fdstate_born_pair(fds);
	return (int)io_ret(r);
}

#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif

SHIM_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	long r = rt_syscall5(SYS_setsockopt, fd, level, name, val, len);
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO ||
				    name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW))
		fdstate_changed(fd);
	return (int)io_ret(r);
}

/* ---------------------------------------------------------------- accept, connect */

struct acceptcall {
	int fd;
	struct sockaddr *addr;
	socklen_t *alen;
	int flags;
};

/* accept has no non-blocking form but the listener's O_NONBLOCK; what
 * is no listening socket gets the kernel's answer (EBADF, ENOTSOCK,
 * EINVAL) at once, without a wait for a readiness that never comes. */
static long accept_try(void *arg, bool nowait)
{
	struct acceptcall *a = arg;
	if (nowait) {
		int listening = 0;
		socklen_t len = sizeof listening;
		if (rt_syscall5(SYS_getsockopt, a->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
				&len) == 0 && listening)
			return -EOPNOTSUPP;
	}
	return rt_syscall4(SYS_accept4, a->fd, a->addr, a->alen, a->flags);
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	struct acceptcall a = { fd, addr, alen, flags };
	long r = io_g() ? io_call(fd, EPOLLIN, SO_RCVTIMEO, accept_try, &a)
			: accept_try(&a, false);
	return (int)io_ret(sock_born(r));
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
	return accept4(fd, addr, alen, 0);
}

/* A blocking connect is the kernel's, with the P handed off while it
 * waits: making it non-blocking would take the socket's O_NONBLOCK, which
 * the program's other threads would see.  Over loopback it returns at
 * once; a remote peer's handshake keeps the M, not the P. */
SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t alen)
{
	return (int)io_ret(HANDOFF_CANCEL(false, rt_syscall3(SYS_connect, fd, addr, alen)));
}
