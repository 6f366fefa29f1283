/*
 * futex.c — syscall(): futexes the program makes through libc's syscall()
 * wait on goshim's address-keyed queues (sema.c), so a runtime that locks
 * with raw futexes (Rust's std, others) parks its Gs instead of blocking
 * their kernel threads.
 *
 * Emulated: FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE,
 * FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, with or without
 * FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME, with the kernel's argument
 * checks and results.  All waiters of the process, Gs and threads goshim
 * does not run, are on the same queues, so every wake finds every waiter.
 * A shared futex is served the same way: its wakers are expected in this
 * process (a waiter here does not see a FUTEX_WAKE made by another
 * process).  The other futex operations (PI locks, WAKE_OP, ...) go to the
 * kernel, those that may block with the P handed off.  Every other system
 * call goes to the kernel as glibc's syscall() sends it, between
 * entersyscall and exitsyscall: sysmon hands the P off if it blocks.
 * Those that close, dup, change or pass fds, or start processes, tell
 * netpoll and fdstate.c, as the interposed names do.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "io.h"
#include "sync.h"

#define NOT_EMULATED (-2L) /* futex_call: not an operation it serves */

static long fail(int err)
{
	errno = err;
	return -1;
}

static bool rel_valid(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && shim_timespec_valid(ts);
}

/* FUTEX_WAIT's timeout is relative; FUTEX_WAIT_BITSET's is absolute on
 * CLOCK_MONOTONIC, or CLOCK_REALTIME with FUTEX_CLOCK_REALTIME. */
static long futex_wait(_Atomic uint32_t *uaddr, uint32_t val, const struct timespec *ts,
		       bool absolute, bool realtime, uint32_t bitset)
{
	int64_t deadline = -1;
	if (ts) {
		if (!rel_valid(ts))
			return fail(EINVAL);
		if (absolute) {
			deadline = shim_deadline(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, ts);
		} else {
			int64_t now = nanotime();
			deadline = ts->tv_sec > (INT64_MAX / 4 - now) / 1000000000
				   ? INT64_MAX / 4
				   : now + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
		}
	}
	int r = sema_wait_bitset(uaddr, val, deadline, WAIT_FUTEX, bitset);
	return r < 0 ? fail(-r) : 0;
}

/* The kernel wakes at least one waiter for any count below 1. */
static int wake_count(uint32_t val)
{
	int n = (int)val;
	return n < 1 ? 1 : n;
}

static long futex_call(_Atomic uint32_t *uaddr, int op, uint32_t val, long arg4,
		       _Atomic uint32_t *uaddr2, uint32_t val3)
{
	int cmd = op & FUTEX_CMD_MASK;
	bool realtime = op & FUTEX_CLOCK_REALTIME;
	const struct timespec *ts = (const struct timespec *)arg4;

	/* The kernel takes FUTEX_CLOCK_REALTIME with FUTEX_WAIT_BITSET only
	 * (this one answers ENOSYS for FUTEX_WAIT too). */
	if (realtime && cmd != FUTEX_WAIT_BITSET)
		return fail(ENOSYS);
	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
		break;
	default:
		return NOT_EMULATED;
	}
	if (!uaddr)
		return fail(EFAULT);
	if ((uintptr_t)uaddr % sizeof(uint32_t))
		return fail(EINVAL);
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(uaddr, val, ts, false, realtime, ~0u);
	case FUTEX_WAIT_BITSET:
		if (!val3)
			return fail(EINVAL);
		return futex_wait(uaddr, val, ts, true, realtime, val3);
	case FUTEX_WAKE:
		return sema_wake(uaddr, wake_count(val));
	case FUTEX_WAKE_BITSET:
		if (!val3)
			return fail(EINVAL);
		return sema_wake_bitset(uaddr, wake_count(val), val3);
	default: { /* FUTEX_REQUEUE, FUTEX_CMP_REQUEUE */
		int nmove = (int)arg4;
		if ((int)val < 0 || nmove < 0)
			return fail(EINVAL);
		if (!uaddr2)
			return fail(EFAULT);
		if ((uintptr_t)uaddr2 % sizeof(uint32_t))
			return fail(EINVAL);
		int r = sema_requeue(uaddr, uaddr2, (int)val, nmove,
				     cmd == FUTEX_CMP_REQUEUE ? &val3 : NULL, false);
		return r < 0 ? fail(-r) : r;
	}
	}
}

/* Futex operations that may block in the kernel. */
static bool futex_blocks(int op)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_LOCK_PI:
	case FUTEX_WAIT_REQUEUE_PI:
#ifdef FUTEX_LOCK_PI2
	case FUTEX_LOCK_PI2:
#endif
		return true;
	default:
		return false;
	}
}

/* glibc's syscall(): the kernel's result, or -1 with errno. */
static long raw(long number, const long a[6])
{
	long r = rt_syscall6(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r < 0 && r >= -4095)
		return fail((int)-r);
	return r;
}

/* A raw system call that may start a process sharing this one's files,
 * or share, replace or change an fd: fdstate forgets what it knew. */
static void syscall_fds(long number, const long *a)
{
	switch (number) {
	case SYS_fork:
	case SYS_vfork:
	case SYS_clone:
	case SYS_clone3:
		fork_epoch_bump();
		break;
	case SYS_dup2:
	case SYS_dup3:
		if (a[0] != a[1])
			netpoll_close((int)a[1]);
		fdstate_forget((int)a[1]);
		/* fall through */
	case SYS_dup:
	case SYS_fcntl:
	case SYS_ioctl:
	case SYS_setsockopt:
		fdstate_forget((int)a[0]);
		break;
	case SYS_sendmsg:
		fdstate_msg_fds((const struct msghdr *)a[1]);
		break;
	case SYS_close:
		netpoll_close((int)a[0]);
		fdstate_forget((int)a[0]);
		break;
	}
}

/* After the raw call: the fds it made (a dup, a receive) are forgotten
 * too. */
static long syscall_done(long number, const long *a, long r)
{
	if (r >= 0 && (number == SYS_dup ||
		       (number == SYS_fcntl && (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC))))
		fdstate_forget((int)r);
	if (number == SYS_recvmsg && r >= 0)
		fdstate_msg_fds((const struct msghdr *)a[1]);
	for (long i = 0; number == SYS_recvmmsg && i < r; i++)
		fdstate_msg_fds(&((const struct mmsghdr *)a[1])[i].msg_hdr);
	return r;
}

SHIM_EXPORT long syscall(long number, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (number != SYS_futex) {
		syscall_fds(number, a);
		if (!shim_g())
			return syscall_done(number, a, raw(number, a));
		entersyscall();
		long r = raw(number, a);
		exitsyscall();
		return syscall_done(number, a, r);
	}
	shim_g();
	long r = futex_call((_Atomic uint32_t *)a[0], (int)a[1], (uint32_t)a[2], a[3],
			    (_Atomic uint32_t *)a[4], (uint32_t)a[5]);
	if (r != NOT_EMULATED)
		return r;
	if (!futex_blocks((int)a[1]))
		return raw(number, a);
	struct g *gp = sync_block_begin();
	r = raw(number, a);
	sync_block_end(gp);
	return r;
}
