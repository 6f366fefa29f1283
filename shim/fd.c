/*
 * fd.c — calls that end or change an fd's identity: close, dup2, dup3,
 * and fcntl (whose waiting record locks hand the P off).
 *
 * Gs waiting for the fd in netpoll wake when the program closes it or
 * dups another file onto it; their retry sees what the fd is now (EBADF
 * for a closed one).  Everything else about fds — O_NONBLOCK set with
 * fcntl or ioctl(FIONBIO), SOCK_NONBLOCK at creation — is the kernel's
 * record, which the I/O shims read: there is no shadow state to keep.
 */
#include <fcntl.h>
#include <stdarg.h>

#include "io.h"

SHIM_EXPORT int close(int fd)
{
	/* A cancellation point: a due request acts before the fd is closed. */
	io_testcancel();
	netpoll_close(fd);
	/* A lingering socket (SO_LINGER) blocks in close. */
	return (int)io_ret(HANDOFF(false, rt_syscall1(SYS_close, fd)));
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (oldfd != newfd)
		netpoll_close(newfd);
	return (int)io_ret(rt_syscall3(SYS_dup3, oldfd, newfd, flags));
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
	if (cmd == F_SETLKW || cmd == F_OFD_SETLKW)
		return HANDOFF_CANCEL(true, real.fcntl(fd, cmd, arg));
	return real.fcntl(fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...) SHIM_ALIAS(fcntl);
