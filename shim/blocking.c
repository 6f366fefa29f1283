/*
 * blocking.c — calls that really block in the kernel, or in glibc code
 * goshim cannot see into: opens (a FIFO's open waits for its peer), file
 * syncs, sendfile and splice, file locks, waits for children, system,
 * name resolution, signal waits, SysV and POSIX message queues and SysV
 * semaphores.  Each is glibc's own call, made with the P handed off
 * (HANDOFF, io.h): at once for the calls that wait for something outside
 * the process (a child, a signal, a lock another process holds), else
 * left behind for sysmon to retake when the call lasts.  The non-blocking
 * forms (WNOHANG, LOCK_NB, IPC_NOWAIT) go straight to glibc.  Those that
 * are cancellation points in glibc are here too (HANDOFF_CANCEL): a
 * request acts on entry, non-blocking forms included, and ends the call
 * while it blocks.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/msg.h>

#include "io.h"

/* open's mode argument exists only when the flags create a file. */
#define OPEN_MODE(flags, last)						\
	({								\
		mode_t m_ = 0;						\
		if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) { \
			va_list ap_;					\
			va_start(ap_, last);				\
			m_ = va_arg(ap_, mode_t);			\
			va_end(ap_);					\
		}							\
		m_;							\
	})

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = OPEN_MODE(flags, flags);
	return HANDOFF_CANCEL(false, real.open(path, flags, mode));
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = OPEN_MODE(flags, flags);
	return HANDOFF_CANCEL(false, real.openat(dirfd, path, flags, mode));
}

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
	return HANDOFF_CANCEL(false, real.creat(path, mode));
}

SHIM_EXPORT int __open_2(const char *path, int flags)
{
	return HANDOFF_CANCEL(false, real.open_2(path, flags));
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return HANDOFF_CANCEL(false, real.openat_2(dirfd, path, flags));
}

SHIM_EXPORT int open64(const char *path, int flags, ...) SHIM_ALIAS(open);
SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...) SHIM_ALIAS(openat);
SHIM_EXPORT int creat64(const char *path, mode_t mode) SHIM_ALIAS(creat);
SHIM_EXPORT int __open64_2(const char *path, int flags) SHIM_ALIAS(__open_2);
SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags) SHIM_ALIAS(__openat_2);

SHIM_EXPORT int fsync(int fd)
{
	return HANDOFF_CANCEL(false, real.fsync(fd));
}

SHIM_EXPORT int fdatasync(int fd)
{
	return HANDOFF_CANCEL(false, real.fdatasync(fd));
}

SHIM_EXPORT int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
	return HANDOFF_CANCEL(false, real.sync_file_range(fd, off, n, flags));
}

SHIM_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	return HANDOFF(false, real.sendfile(out, in, off, n));
}

SHIM_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n) SHIM_ALIAS(sendfile);

SHIM_EXPORT ssize_t splice(int in, off_t *inoff, int out, off_t *outoff, size_t n,
			   unsigned int flags)
{
	return HANDOFF(false, real.splice(in, inoff, out, outoff, n, flags));
}

/* ---------------------------------------------------------------- file locks */

SHIM_EXPORT int flock(int fd, int op)
{
	if (op & LOCK_NB)
		return real.flock(fd, op);
	return HANDOFF(true, real.flock(fd, op));
}

SHIM_EXPORT int lockf(int fd, int cmd, off_t len)
{
	if (cmd != F_LOCK)
		return real.lockf(fd, cmd, len);
	return HANDOFF(true, real.lockf(fd, cmd, len));
}

SHIM_EXPORT int lockf64(int fd, int cmd, off_t len) SHIM_ALIAS(lockf);

/* ---------------------------------------------------------------- children */

SHIM_EXPORT pid_t wait(int *status)
{
	return HANDOFF_CANCEL(true, real.wait(status));
}

SHIM_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	if (options & WNOHANG) {
		io_testcancel();  /* a cancellation point all the same */
		return real.waitpid(pid, status, options);
	}
	return HANDOFF_CANCEL(true, real.waitpid(pid, status, options));
}

SHIM_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
	if (options & WNOHANG) {
		io_testcancel();  /* a cancellation point all the same */
		return real.wait3(status, options, ru);
	}
	return HANDOFF_CANCEL(true, real.wait3(status, options, ru));
}

SHIM_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	if (options & WNOHANG) {
		io_testcancel();  /* a cancellation point all the same */
		return real.wait4(pid, status, options, ru);
	}
	return HANDOFF_CANCEL(true, real.wait4(pid, status, options, ru));
}

SHIM_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	if (options & WNOHANG) {
		io_testcancel();  /* a cancellation point all the same */
		return real.waitid(idtype, id, info, options);
	}
	return HANDOFF_CANCEL(true, real.waitid(idtype, id, info, options));
}

/* A cancellation point on entry: glibc's system retries its wait for the
 * child on EINTR, so a request that comes later acts after it.  Like
 * popen and posix_spawn, it starts a process without fork's handlers: the
 * child shares this process's files (fork_epoch). */
SHIM_EXPORT int system(const char *cmd)
{
	io_testcancel();
	fork_epoch_bump();
	return HANDOFF(true, real.system(cmd));
}

SHIM_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	shim_real();
	fork_epoch_bump();
	return real.popen(cmd, mode);
}

SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	shim_real();
	fork_epoch_bump();
	return real.posix_spawn(pid, path, fa, attr, argv, envp);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	shim_real();
	fork_epoch_bump();
	return real.posix_spawnp(pid, file, fa, attr, argv, envp);
}

/* ---------------------------------------------------------------- names */

SHIM_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			    struct addrinfo **res)
{
	return HANDOFF(false, real.getaddrinfo(node, service, hints, res));
}

SHIM_EXPORT struct hostent *gethostbyname(const char *name)
{
	return HANDOFF(false, real.gethostbyname(name));
}

SHIM_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
				struct hostent **result, int *h_errnop)
{
	return HANDOFF(false, real.gethostbyname_r(name, ret, buf, buflen, result, h_errnop));
}

SHIM_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
			    socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	return HANDOFF(false, real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags));
}

/* ---------------------------------------------------------------- signals */

/* A signal pthread_kill left the G (its own, not its kernel thread's,
 * which it may leave between two calls) taken by a wait for one of set. */
static int take_left(struct g *gp, uint64_t set, siginfo_t *info)
{
	return info ? sigintr_take_info(gp, set, info) : sigintr_take(gp, set);
}

/* sigtimedwait for a G: a signal pthread_kill left it is taken first;
 * while it waits in the kernel, one sent to it kicks its M out of the
 * call (the kernel never restarts it) and is taken then.  retry:
 * sigwait's, which glibc retries after a handler, where a cancellation
 * request could not end it: the retries are made here. */
static int wait_signal(const sigset_t *set, siginfo_t *info, const struct timespec *ts,
		       bool retry)
{
	struct g *gp = shim_g_waits();
	if (!gp || (ts && !shim_timespec_valid(ts)))
		return HANDOFF_CANCEL(true, real.sigtimedwait(set, info, ts));
	uint64_t want = *(const uint64_t *)set;
	int64_t deadline = ts ? shim_rel_deadline(ts) : -1;
	for (;;) {
		int sig = take_left(gp, want, info);
		if (sig)
			return sig;
		/* Published before the last look: a kill after it kicks. */
		atomic_store(&gp->sigwaitset, want);
		struct timespec left = ts ? shim_remaining(deadline) : (struct timespec){ 0 };
		sig = take_left(gp, want, info);
		int r = sig ? sig :
			HANDOFF_CANCEL(true, real.sigtimedwait(set, info, ts ? &left : NULL));
		atomic_store(&gp->sigwaitset, 0);
		if (r > 0 || errno != EINTR)
			return r;
		if ((sig = take_left(gp, want, info)))
			return sig;
		if (!retry)
			return -1;
	}
}

SHIM_EXPORT int sigwait(const sigset_t *set, int *sig)
{
	int errno_ = errno;
	int r = wait_signal(set, NULL, NULL, true);
	int err = r < 0 ? errno : 0;
	errno = errno_;
	if (err)
		return err;
	*sig = r;
	return 0;
}

SHIM_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	return wait_signal(set, info, NULL, false);
}

SHIM_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	return wait_signal(set, info, ts, false);
}

/* The kernel's pending signals of the thread and the process, and the
 * ones pthread_kill left the G that it has not raised yet. */
SHIM_EXPORT int sigpending(sigset_t *set)
{
	struct g *gp = shim_g();
	int r = real.sigpending(set);
	if (r == 0 && gp)
		*(uint64_t *)set |= atomic_load(&gp->sigpend);
	return r;
}

/* sigsuspend ends when a handler runs: one for a signal pthread_kill
 * left the G that mask lets through runs at once, with mask in force;
 * one sent while it waits kicks its M out of the call, and runs then.
 * So in a handler too (a collector's stopped thread waits there for the
 * signal that resumes it, which the handler's mask kept in the G). */
SHIM_EXPORT int sigsuspend(const sigset_t *mask)
{
	struct g *gp = shim_g();
	if (!gp)
		return HANDOFF_CANCEL(true, real.sigsuspend(mask));
	/* In a handler that stopped the G inside the runtime, no
	 * cancellation acts and no handler raised here is clean. */
	bool clean = shim_g_syscall() != NULL;
	uint64_t through = ~*(const uint64_t *)mask;
	atomic_store(&gp->sigwaitset, through);
	int r = -1;
	if (atomic_load(&gp->sigpend) & through) {
		if (clean)
			shim_testcancel(gp);
		errno = EINTR;
	} else {
		r = HANDOFF_CANCEL(true, real.sigsuspend(mask));
	}
	atomic_store(&gp->sigwaitset, 0);
	int e = errno;
	sigintr_raise(gp, ~through, clean);
	errno = e;
	return r;
}

/* pause ends when a handler runs, whichever kernel thread the signal went
 * to (the kernel ends the pause of the thread it delivers to, and a
 * thread's kernel thread is goshim's choice): the G waits for
 * sigintr_post, which the trampoline of signal.c calls, with or
 * without SA_RESTART, as pause is never restarted. */
SHIM_EXPORT int pause(void)
{
	if (!io_g())
		return HANDOFF(true, real.pause());
	int e = (int)io_cancel_check(netpoll_wait(NULL, 0, -1, WAIT_POLL));
	errno = e == -EINTR || e == 0 ? EINTR : -e;
	return -1;
}

/* ---------------------------------------------------------------- IPC */

SHIM_EXPORT ssize_t msgrcv(int id, void *msg, size_t n, long type, int flags)
{
	if (flags & IPC_NOWAIT) {
		io_testcancel();  /* a cancellation point all the same */
		return real.msgrcv(id, msg, n, type, flags);
	}
	return HANDOFF_CANCEL(true, real.msgrcv(id, msg, n, type, flags));
}

SHIM_EXPORT int msgsnd(int id, const void *msg, size_t n, int flags)
{
	if (flags & IPC_NOWAIT) {
		io_testcancel();  /* a cancellation point all the same */
		return real.msgsnd(id, msg, n, flags);
	}
	return HANDOFF_CANCEL(false, real.msgsnd(id, msg, n, flags));
}

SHIM_EXPORT int semop(int id, struct sembuf *ops, size_t n)
{
	return HANDOFF(false, real.semop(id, ops, n));
}

SHIM_EXPORT int semtimedop(int id, struct sembuf *ops, size_t n, const struct timespec *ts)
{
	return HANDOFF(false, real.semtimedop(id, ops, n, ts));
}

SHIM_EXPORT ssize_t mq_receive(mqd_t q, char *msg, size_t n, unsigned int *prio)
{
	return HANDOFF_CANCEL(true, real.mq_receive(q, msg, n, prio));
}

SHIM_EXPORT int mq_send(mqd_t q, const char *msg, size_t n, unsigned int prio)
{
	return HANDOFF_CANCEL(false, real.mq_send(q, msg, n, prio));
}

SHIM_EXPORT ssize_t mq_timedreceive(mqd_t q, char *msg, size_t n, unsigned int *prio,
				    const struct timespec *ts)
{
	return HANDOFF_CANCEL(true, real.mq_timedreceive(q, msg, n, prio, ts));
}

SHIM_EXPORT int mq_timedsend(mqd_t q, const char *msg, size_t n, unsigned int prio,
			     const struct timespec *ts)
{
	return HANDOFF_CANCEL(false, real.mq_timedsend(q, msg, n, prio, ts));
}
