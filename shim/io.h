/*
 * io.h — the blocking-I/O engine the fd shims share (io.c): make the
 * program's call without blocking the M, wait in netpoll when the kernel
 * says it would block, retry; hand the P off for what cannot be polled.
 */
#ifndef GOSHIM_IO_H
#define GOSHIM_IO_H

#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "shim.h"

/* The calling G when its call may wait on netpoll or hand its P off: NULL
 * for foreign threads and g0, in a signal handler, and inside a call that has handed the P off
 * already (getaddrinfo's NSS modules calling the exported read), where
 * the call is simply made. */
static inline struct g *io_g(void)
{
	struct g *gp = shim_g_waits();
	return gp && gp->m->p ? gp : NULL;
}

/* The calling G when a call that blocks its kernel thread may hand its P
 * off (shim_g_syscall), and it holds one. */
static inline struct g *io_g_syscall(void)
{
	struct g *gp = shim_g_syscall();
	return gp && gp->m->p ? gp : NULL;
}

/* Evaluates expr, a call that may block the kernel thread, with the P
 * handed off meanwhile (at once when known_long); errno is expr's. */
#define HANDOFF(known_long, expr) HANDOFF_(known_long, false, expr)

/* The same for a cancellation point: a due request is acted upon before
 * the call, and a request that comes while it blocks ends it (a failure
 * with EINTR, which then acts upon it).  expr is an integer call. */
#define HANDOFF_CANCEL(known_long, expr) HANDOFF_(known_long, true, expr)

/* In a handler the G comes back on its own M even when it must wait for a
 * P (exitsyscall_keepm): the handler's frame is that kernel thread's
 * signal state, its return restores that thread's mask. */
#define HANDOFF_(known_long, cancel, expr)				\
	({								\
		struct g *hg_ = io_g_syscall();				\
		bool hk_ = hg_ && shim_in_handler();			\
		struct intrhook hh_;					\
		bool hc_ = (cancel) && hg_;				\
		if (hc_)						\
			cancel_enter(hg_, &hh_);			\
		if (hg_) {						\
			if (known_long)					\
				entersyscallblock();			\
			else						\
				entersyscall();				\
		}							\
		__typeof__(expr) r_ = (expr);				\
		int errno_ = errno;					\
		if (hc_)						\
			cancel_leave(hg_, &hh_);			\
		if (hk_)						\
			exitsyscall_keepm();				\
		else if (hg_)						\
			exitsyscall();					\
		if (hc_ && ((long)r_ == -EINTR ||			\
			    ((long)r_ == -1 && errno_ == EINTR)))	\
			shim_testcancel(hg_);				\
		errno = errno_;						\
		r_;							\
	})

/* The end of a cancellation point's wait: a result of -EINTR may be a
 * cancellation request that ended it, acted upon here. */
static inline long io_cancel_check(long r)
{
	if (r == -EINTR)
		shim_testcancel(getg_user());
	return r;
}

/* A cancellation point that does not wait itself: acts upon a due
 * request of the calling G. */
static inline void io_testcancel(void)
{
	struct g *gp = shim_g();
	if (gp)
		shim_testcancel(gp);
}

/* One attempt of the program's call.  nowait: the attempt must not block
 * (MSG_DONTWAIT, RWF_NOWAIT) and returns -EAGAIN when it would, or
 * -EOPNOTSUPP when the call has no non-blocking form for this fd.
 * !nowait: the call itself, which may block (io_call hands the P off
 * around it).  Returns the raw kernel result (-errno on failure). */
typedef long (*io_try_fn)(void *arg, bool nowait);

/* Makes the call of try on fd as the program's blocking or non-blocking
 * fd would have it: retries after fd is ready for events (EPOLLIN,
 * EPOLLOUT), until the SO_RCVTIMEO or SO_SNDTIMEO named by timeo_opt (0:
 * none) expires.  Returns the raw result. */
long io_call(int fd, uint32_t events, int timeo_opt, io_try_fn try, void *arg);

/* A read or write of a vector: readv/writev, or recvmsg/sendmsg with
 * flags when sock. */
struct iovop {
	int fd;
	struct msghdr *msg;  /* the program's: the first call fills its name,
				control data and flags */
	int flags;
	bool sock;
	bool write;
	bool nowait;         /* the last attempt was the non-blocking form */
};

/* Makes op's call; with all, a blocking one does all of the vector or
 * fails (a write on a stream or pipe, MSG_WAITALL on a stream). */
long io_rw(struct iovop *op, bool all);

/* Whether fd is ready for events now, or in error (the call reports it). */
bool io_ready_now(int fd, uint32_t events);

/* Whether the program set O_NONBLOCK on fd (false for a bad fd). */
bool io_nonblocking(int fd);

/* The raw kernel result as libc returns it: -1 with errno, or r. */
static inline long io_ret(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* What goshim remembers of fds (fdstate.c).  The program's calls tell it
 * of an fd created here (born), of one shared, closed or replaced
 * (forget), and of a change to its O_NONBLOCK or timeouts (changed). */
void fdstate_born(int fd);
/* Both ends of a pipe or socketpair made here: each is the other's peer. */
void fdstate_born_pair(const int fds[2]);
/* The other end of fd's pipe or socketpair, -1 if none is known.  A hint
 * for waking its waiters early (io.c): the fd may have been closed and
 * its number reused meanwhile, which costs a spurious wake only. */
int fdstate_peer(int fd);
void fdstate_forget(int fd);
void fdstate_changed(int fd);
/* fd is known blocking, without the timeout timeo_opt (0: none asked):
 * a wait may go by that, with its pollnode's verify. */
bool fdstate_blocking(int fd, int timeo_opt);
/* Before asking the kernel: the word fdstate_learn records the answer
 * against (0: nothing to remember of fd). */
uint64_t fdstate_snapshot(int fd);
/* The kernel says fd is blocking, and whether timeo_opt is unset. */
void fdstate_learn(int fd, uint64_t snap, int timeo_opt, bool notimeo);
/* Forgets the fds m passes in SCM_RIGHTS (sent, or received into it). */
void fdstate_msg_fds(const struct msghdr *m);

/* Monotonic deadline of timeo_opt on fd (SO_RCVTIMEO, SO_SNDTIMEO): -1
 * when none is set or fd is no socket. */
int64_t io_sock_deadline(int fd, int timeo_opt);

#endif
