/*
 * io.c — read and write on fds without blocking the M: read, readv, write,
 * writev (and their _chk forms), the positioned pread/pwrite family, and
 * io_call, the engine the socket and fd shims share.
 *
 * The program's fds keep the file status flags it gave them (a pipe
 * inherited by a child stays blocking in the child), so goshim makes each
 * call non-blocking by itself: preadv2/pwritev2 with RWF_NOWAIT and
 * offset -1 (the file position, as read and write) for read and write,
 * MSG_DONTWAIT for the socket calls.  When the kernel answers EAGAIN and
 * the program's fd is blocking (fcntl(F_GETFL) says so, or fdstate.c
 * remembers it; its own O_NONBLOCK gets its EAGAIN), the G waits in
 * netpoll until the fd is ready or its SO_RCVTIMEO/SO_SNDTIMEO expires,
 * and retries.
 *
 * Files the kernel cannot make non-blocking (ttys, timerfds and older
 * kernels answer EOPNOTSUPP to RWF_NOWAIT): the G waits for readiness,
 * then makes the call itself with the P handed off while it may block
 * (entersyscall; another reader may take the data first).  Files epoll
 * cannot watch (regular files, block devices: a page-cache miss answers
 * RWF_NOWAIT with EAGAIN) get the call with a hand-off at once.
 *
 * A blocking write on a stream socket or a pipe returns only when all is
 * written, and a blocking MSG_WAITALL receive on a stream socket only when
 * all is read: a short non-blocking call is continued after a wait, as the
 * kernel would (io_rw).  A short write of the blocking call itself (a full disk,
 * RLIMIT_FSIZE) is returned as it is.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "io.h"

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

bool io_nonblocking(int fd)
{
	long fl = rt_syscall2(SYS_fcntl, fd, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

int64_t io_sock_deadline(int fd, int timeo_opt)
{
	struct timeval tv;
	socklen_t len = sizeof tv;
	if (!timeo_opt ||
	    rt_syscall5(SYS_getsockopt, fd, SOL_SOCKET, timeo_opt, &tv, &len) < 0 ||
	    (tv.tv_sec == 0 && tv.tv_usec == 0))
		return -1;
	return nanotime() + (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
}

bool io_ready_now(int fd, uint32_t events)
{
	struct pollfd p = { .fd = fd, .events = (short)events };
	struct timespec zero = { 0, 0 };
	return rt_syscall5(SYS_ppoll, &p, 1, &zero, NULL, 8) != 0;
}

/* A call that moved data through fd (events: what it waited for) made
 * the other end of fd's pipe or socketpair ready the other way: its
 * waiters are woken now, not when the poller reports it (a thread of this
 * process that waits there runs next, without a poller's round trip and
 * the switches to and from the M that polls). */
static void io_kick_peer(int fd, uint32_t events)
{
	int peer = fdstate_peer(fd);
	if (peer >= 0)
		netpoll_kick(peer, events & EPOLLOUT ? EPOLLIN : EPOLLOUT);
}

/* A regular file or block device, whose reads and writes O_NONBLOCK does
 * not make non-blocking (RWF_NOWAIT's EAGAIN is a page-cache miss there:
 * GNU tar opens every file O_NONBLOCK).  The fds goshim saw made are
 * sockets and pipes. */
static bool io_disk(int fd)
{
	struct stat st;
	if (fdstate_snapshot(fd) || rt_syscall2(SYS_fstat, fd, &st) != 0)
		return false;
	return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
}

/* After EAGAIN, fdstate knowing nothing: whether the program's fd is
 * non-blocking (its EAGAIN stands).  Else the wait's deadline, if not read
 * yet, goes into *deadline, and fdstate learns what the kernel said. */
static bool io_learn(int fd, int timeo_opt, int64_t *deadline)
{
	uint64_t snap = fdstate_snapshot(fd);
	if (io_nonblocking(fd))
		return true;
	if (*deadline == 0)
		*deadline = io_sock_deadline(fd, timeo_opt);
	fdstate_learn(fd, snap, timeo_opt, *deadline < 0);
	return false;
}

/* The call itself, with the P handed off while it may block. */
static long io_blocking(io_try_fn try, void *arg)
{
	return HANDOFF_CANCEL(false, try(arg, false));
}

/* io_call with the deadline kept by the caller across calls (0: not read
 * yet): a write that continues after a partial one times out when the
 * kernel's single call would have. */
static long io_call_until(int fd, uint32_t events, int timeo_opt, io_try_fn try, void *arg,
			  int64_t *deadline)
{
	bool probe = true;  /* the non-blocking form works on this fd */
	for (;;) {
		bool known = false;  /* blocking, without timeout: fdstate says */
		struct pollnode n = { .fd = fd, .events = events };
		netpoll_prepare(&n);
		if (probe) {
			long r = try(arg, true);
			if (r > 0)
				io_kick_peer(fd, events);
			if (r != -EAGAIN && r != -EOPNOTSUPP && r != -ENOSYS)
				return r;
			if (r == -EAGAIN) {
				known = fdstate_blocking(fd, timeo_opt);
				if (!known && io_learn(fd, timeo_opt, deadline))
					return io_disk(fd) ? io_blocking(try, arg) : r;
			} else {
				probe = false;
			}
		}
		if (!probe && (io_nonblocking(fd) || io_ready_now(fd, events)))
			return io_blocking(try, arg);
		if (*deadline == 0)
			*deadline = known ? -1 : io_sock_deadline(fd, timeo_opt);
		n.verify = known;
		int e = netpoll_wait(&n, 1, *deadline, WAIT_IO);
		if (e == -ESTALE) {
			/* the fd names another file than fdstate knew */
			fdstate_forget(fd);
			continue;
		}
		if (e == -ETIMEDOUT)
			return -EAGAIN;  /* the kernel's answer at SO_RCVTIMEO */
		if (e == -EPERM || e == -ENOMEM)
			return io_blocking(try, arg);
		if (e < 0)
			return e;
	}
}

/* The first io_call_until of a cancellation point: a request acts on
 * entry, and when it ended the wait; a continuation that has moved data
 * returns what it moved instead, as an interrupted kernel call would. */
static long io_call_first(int fd, uint32_t events, int timeo_opt, io_try_fn try, void *arg,
			  int64_t *deadline)
{
	shim_testcancel(getg_user());
	return io_cancel_check(io_call_until(fd, events, timeo_opt, try, arg, deadline));
}

long io_call(int fd, uint32_t events, int timeo_opt, io_try_fn try, void *arg)
{
	int64_t deadline = 0;
	return io_call_first(fd, events, timeo_opt, try, arg, &deadline);
}

/* ---------------------------------------------------------------- read, write */

static long iov_try(void *arg, bool nowait)
{
	struct iovop *op = arg;
	struct msghdr *m = op->msg;
	op->nowait = nowait;
	if (op->sock)
		return rt_syscall3(op->write ? SYS_sendmsg : SYS_recvmsg, op->fd, m,
				   op->flags | (nowait ? MSG_DONTWAIT : 0));
	if (nowait)
		return rt_syscall6(op->write ? SYS_pwritev2 : SYS_preadv2, op->fd, m->msg_iov,
				   m->msg_iovlen, -1, 0, RWF_NOWAIT);
	return rt_syscall3(op->write ? SYS_writev : SYS_readv, op->fd, m->msg_iov, m->msg_iovlen);
}

/* The rest of a vector after done bytes, into buf (cnt entries). */
static int iov_advance(const struct iovec *iov, int cnt, size_t done, struct iovec *buf)
{
	int i = 0;
	while (i < cnt && done >= iov[i].iov_len)
		done -= iov[i++].iov_len;
	int n = 0;
	for (; i < cnt; i++, n++) {
		buf[n] = iov[i];
		if (n == 0) {
			buf[0].iov_base = (char *)buf[0].iov_base + done;
			buf[0].iov_len -= done;
		}
	}
	return n;
}

static bool sock_stream(int fd)
{
	int type = 0;
	socklen_t len = sizeof type;
	return rt_syscall5(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	       type == SOCK_STREAM;
}

long io_rw(struct iovop *op, bool all)
{
	uint32_t events = op->write ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
	int timeo = op->write ? SO_SNDTIMEO : SO_RCVTIMEO;
	int64_t deadline = 0;
	long r = io_call_first(op->fd, events, timeo, iov_try, op, &deadline);
	if (r <= 0 || !all || !op->nowait)
		return r;
	const struct iovec *iov = op->msg->msg_iov;
	int cnt = (int)op->msg->msg_iovlen;
	size_t want = 0;
	for (int i = 0; i < cnt; i++)
		want += iov[i].iov_len;
	/* Only the non-blocking form stops short where the program's
	 * blocking call would have waited (for room, or for MSG_WAITALL's
	 * data); the rest goes without name or control data, which the
	 * first part carried. */
	if ((size_t)r >= want || (io_nonblocking(op->fd) && !io_disk(op->fd)) ||
	    (!op->write && !sock_stream(op->fd)))
		return r;
	struct iovec *rest = malloc(sizeof *rest * (size_t)cnt);
	if (!rest)
		return r;
	long total = r;
	struct msghdr m = { 0 };
	struct iovop cont = { op->fd, &m, op->flags, op->sock, op->write, true };
	while ((size_t)total < want && cont.nowait) {
		m.msg_iov = rest;
		m.msg_iovlen = (size_t)iov_advance(iov, cnt, (size_t)total, rest);
		r = io_call_until(op->fd, events, timeo, iov_try, &cont, &deadline);
		if (r <= 0)
			break;
		total += r;
	}
	free(rest);
	return total;
}

static long do_iov(int fd, const struct iovec *iov, int cnt, bool write)
{
	if (!io_g())
		return HANDOFF(false, rt_syscall3(write ? SYS_writev : SYS_readv, fd, iov, cnt));
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	struct iovop op = { fd, &m, 0, false, write, false };
	return io_rw(&op, write);
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct iovec iov = { buf, n };
	return io_ret(do_iov(fd, &iov, 1, false));
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	return io_ret(do_iov(fd, iov, cnt, false));
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct iovec iov = { (void *)buf, n };
	return io_ret(do_iov(fd, &iov, 1, true));
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	return io_ret(do_iov(fd, iov, cnt, true));
}

extern void __chk_fail(void) __attribute__((noreturn));

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

/* ---------------------------------------------------------------- positioned I/O */

/* pread and pwrite name an offset, so the fd is seekable: a regular file
 * or a device, which epoll cannot watch.  The call is made with the P
 * handed off while it may block. */
static long prw(long nr, int fd, long buf, long n, off_t off, int flags)
{
	return io_ret(HANDOFF_CANCEL(false, rt_syscall6(nr, fd, buf, n, off, 0, flags)));
}

SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return prw(SYS_pread64, fd, (long)buf, (long)n, off, 0);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return prw(SYS_pwrite64, fd, (long)buf, (long)n, off, 0);
}

SHIM_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return prw(SYS_preadv, fd, (long)iov, cnt, off, 0);
}

SHIM_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return prw(SYS_pwritev, fd, (long)iov, cnt, off, 0);
}

/* preadv2 and pwritev2 at offset -1 are readv and writev with flags; with
 * the program's own RWF_NOWAIT they do not block. */
static ssize_t rw2(bool write, int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	long nr = write ? SYS_pwritev2 : SYS_preadv2;
	if (off == -1 && flags == 0)
		return io_ret(do_iov(fd, iov, cnt, write));
	if (flags & RWF_NOWAIT)
		return io_ret(rt_syscall6(nr, fd, iov, cnt, off, 0, flags));
	return prw(nr, fd, (long)iov, cnt, off, flags);
}

SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return rw2(false, fd, iov, cnt, off, flags);
}

SHIM_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return rw2(true, fd, iov, cnt, off, flags);
}

SHIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return pread(fd, buf, n, off);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off) SHIM_ALIAS(pread);
SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) SHIM_ALIAS(pwrite);
SHIM_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
	SHIM_ALIAS(preadv);
SHIM_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
	SHIM_ALIAS(pwritev);
SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
	SHIM_ALIAS(preadv2);
SHIM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
	SHIM_ALIAS(pwritev2);
SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
	SHIM_ALIAS(__pread_chk);
