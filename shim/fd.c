/*
 * fd.c — calls that create, end, share or change an fd: pipe, pipe2,
 * close, dup, dup2, dup3, fcntl (whose waiting record locks hand the P
 * off), ioctl, and the stdio calls that close a stream's fd (fclose,
 * pclose, freopen).
 *
 * Gs waiting for the fd in netpoll wake when the program closes it or
 * dups another file onto it; their retry sees what the fd is now (EBADF
 * for a closed one).  Each call also tells fdstate.c what it did to the
 * fd's open file description: created it here, shared it, or changed its
 * O_NONBLOCK (fcntl(F_SETFL), ioctl(FIONBIO)).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>

#include "io.h"

SHIM_EXPORT int pipe2(int fds[2], int flags)
{
	long r = rt_syscall2(SYS_pipe2, fds, flags);
	if (r == 0)
		fdstate_born_pair(fds);
	return (int)io_ret(r);
}

SHIM_EXPORT int pipe(int fds[2])
{
	return pipe2(fds, 0);
}

SHIM_EXPORT int close(int fd)
{
	/* A cancellation point: a due request acts before the fd is closed. */
	io_testcancel();
	netpoll_close(fd);
	fdstate_forget(fd);
	/* A lingering socket (SO_LINGER) blocks in close. */
	return (int)io_ret(HANDOFF(false, rt_syscall1(SYS_close, fd)));
}

/* oldfd's description is newfd's too from now on (r: the new fd, if the
 * dup succeeded): neither is this process's alone to know. */
static long dup_done(int oldfd, long r)
{
	fdstate_forget(oldfd);
	if (r >= 0)
		fdstate_forget((int)r);
	return r;
}

/* stdio closes the fd of a stream itself: fclose and pclose, and freopen,
 * which puts another file on it.  (pclose also waits for the child.) */
static void stream_fd_ends(FILE *f)
{
	int fd = f ? fileno(f) : -1;
	if (fd >= 0) {
		netpoll_close(fd);
		fdstate_forget(fd);
	}
}

SHIM_EXPORT int fclose(FILE *f)
{
	shim_real();
	stream_fd_ends(f);
	return real.fclose(f);
}

SHIM_EXPORT int pclose(FILE *f)
{
	stream_fd_ends(f);
	return HANDOFF(true, real.pclose(f));
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
	shim_real();
	stream_fd_ends(f);
	return real.freopen(path, mode, f);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
	shim_real();
	stream_fd_ends(f);
	return real.freopen64(path, mode, f);
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (oldfd != newfd) {
		netpoll_close(newfd);
		fdstate_forget(newfd);
	}
	return (int)io_ret(dup_done(oldfd, rt_syscall3(SYS_dup3, oldfd, newfd, flags)));
}

SHIM_EXPORT int dup(int fd)
{
	return (int)io_ret(dup_done(fd, rt_syscall1(SYS_dup, fd)));
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	if (oldfd == newfd)
		return (int)io_ret(rt_syscall2(SYS_fcntl, oldfd, F_GETFD) < 0 ? -EBADF : newfd);
	return dup3(oldfd, newfd, 0);
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	shim_real();
	if (cmd == F_SETLKW || cmd == F_OFD_SETLKW)
		return HANDOFF_CANCEL(true, real.fcntl(fd, cmd, arg));
	int r = real.fcntl(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
		int e = errno;
		dup_done(fd, r);
		errno = e;
	} else if (cmd == F_SETFL) {
		fdstate_changed(fd);
	}
	return r;
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...) SHIM_ALIAS(fcntl);

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	shim_real();
	int r = real.ioctl(fd, req, arg);
	if (req == FIONBIO)
		fdstate_changed(fd);
	return r;
}
