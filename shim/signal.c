/*
 * signal.c — sigaction, signal, sysv_signal: the program's handlers run
 * from goshim's trampoline, so that a handler interrupts a blocking call
 * as it would natively.
 *
 * The kernel interrupts a system call of the thread a signal is delivered
 * to; a G parked in netpoll is in no system call.  After the program's
 * handler returns, the trampoline asks for one G's wait to end with
 * EINTR (sigintr_post) when the signal was process-directed (kill,
 * alarm, a timer, a child's exit: the kernel would have picked any thread
 * not blocking it, a blocked one among them) and not when it was aimed at
 * the thread that runs (raise, a fault).  With SA_RESTART only the calls
 * the kernel never restarts end: poll, select and epoll waits, sleeps,
 * socket calls with a timeout, timed semaphore waits.
 *
 * What the program sees of its actions is its own: an old action that is
 * the trampoline reads back as the program's handler and flags.
 *
 * pthread_sigmask and sigprocmask keep each G's mask in the G: the victim
 * of a process-directed signal is a G that does not block it.
 */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "io.h"

/* The program's handler of each signal: what the trampoline calls. */
static struct {
	_Atomic(void *) fn;
	_Atomic bool siginfo;  /* the program asked for SA_SIGINFO */
	_Atomic uint64_t block;  /* what the kernel blocks while it runs */
} handlers[NSIG];

static bool process_directed(int sig, const siginfo_t *si)
{
	/* CPU-time timers fire in the thread that uses the CPU, not in a
	 * blocked one. */
	if (sig == SIGPROF || sig == SIGVTALRM)
		return false;
	switch (si->si_code) {
	case SI_USER:
	case SI_QUEUE:
	case SI_KERNEL:
	case SI_TIMER:
	case SI_MESGQ:
	case SI_ASYNCIO:
	case SI_SIGIO:
		return true;
	default:
		/* Positive codes: the kernel's reasons, a child's or an
		 * fd's for these two, a fault of the thread for the rest. */
		return si->si_code > 0 && (sig == SIGCHLD || sig == SIGIO);
	}
}

__thread struct shim_sigframes shim_sigframes __attribute__((tls_model("initial-exec")));

/* How far below its trampoline's frame a handler may run: a frame above
 * it, or further off (another stack), is a handler left by longjmp. */
#define HANDLER_REACH (1ul << 20)

static bool frame_left(uintptr_t frame, uintptr_t sp)
{
	return sp > frame || frame - sp > HANDLER_REACH;
}

/* Forgets the handlers a longjmp (siglongjmp, a C++ throw) left: their
 * frames are gone from below sp, and so are their masks. */
static void forget_left(struct shim_sigframes *f, uintptr_t sp)
{
	unsigned depth = f->depth;
	while (f->depth > 0 && f->depth <= SHIM_SIGFRAMES &&
	       frame_left(f->frame[f->depth - 1], sp))
		f->depth--;
	struct g *gp = getg_user();
	if (f->depth != depth && gp)
		atomic_store_explicit(&gp->hmask, f->hmask[f->depth], memory_order_relaxed);
}

bool shim_in_handler_slow(void)
{
	struct shim_sigframes *f = &shim_sigframes;
	forget_left(f, (uintptr_t)__builtin_frame_address(0));
	return f->depth != 0;
}

static void trampoline(int sig, siginfo_t *si, void *uc)
{
	void *fn = atomic_load_explicit(&handlers[sig].fn, memory_order_acquire);
	struct shim_sigframes *f = &shim_sigframes;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	forget_left(f, here);
	unsigned depth = f->depth;
	/* Raised by goshim for this G where it holds nothing of it: this
	 * handler's blocking calls may hand the P off.  One frame takes it. */
	struct g *gp = getg_user();
	uint64_t bit = 1ull << (sig - 1);
	bool clean = gp && (atomic_load_explicit(&gp->raising, memory_order_relaxed) & bit);
	if (clean)
		atomic_fetch_and(&gp->raising, ~bit);
	uint64_t hmask_before = 0;
	if (gp) {
		/* Signals sent to the G wait for what the handler blocks. */
		uint64_t was;
		memcpy(&was, &((ucontext_t *)uc)->uc_sigmask, sizeof was);
		hmask_before = atomic_load_explicit(&gp->hmask, memory_order_relaxed);
		atomic_store_explicit(&gp->hmask, was | atomic_load(&handlers[sig].block),
				      memory_order_relaxed);
	}
	if (depth < SHIM_SIGFRAMES) {
		f->frame[depth] = here;
		f->hmask[depth] = hmask_before;
		f->clean = (f->clean & ~(1u << depth)) | (uint32_t)clean << depth;
	}
	/* In memory before the handler runs, whatever the compiler knows
	 * of the calls: the handler's own calls read it. */
	f->depth = depth + 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&handlers[sig].siginfo, memory_order_relaxed))
		((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
	else
		((void (*)(int))fn)(sig);
	atomic_signal_fence(memory_order_seq_cst);
	f->depth = depth;
	if (gp) {
		atomic_store_explicit(&gp->hmask, hmask_before, memory_order_relaxed);
		sigintr_raise_on_return(gp, clean);
		/* The return restores the mask of the signal's arrival (or
		 * the handler's choice), whatever the handler's calls set. */
		uint64_t back;
		memcpy(&back, &((ucontext_t *)uc)->uc_sigmask, sizeof back);
		struct m *mp = gp->m;  /* NULL: stopped in mcall, leaving */
		if (mp)
			__atomic_store_n(&mp->kmask, back, __ATOMIC_RELAXED);
	}
	if (!process_directed(sig, si))
		return;
	struct ksigaction now;
	if (rt_syscall4(SYS_rt_sigaction, sig, NULL, &now, 8) == 0)
		sigintr_post(sig, now.flags & SA_RESTART);
}

static bool is_handler(const struct sigaction *act)
{
	return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	shim_g();  /* the real table */
	if (sig <= 0 || sig >= NSIG)
		return real.sigaction(sig, act, old);
	void *prev_fn = atomic_load(&handlers[sig].fn);
	bool prev_siginfo = atomic_load(&handlers[sig].siginfo);
	struct sigaction k;
	if (act && is_handler(act)) {
		/* The handler first: a signal that comes as soon as the
		 * kernel has the trampoline finds it. */
		uint64_t block;
		memcpy(&block, &act->sa_mask, sizeof block);
		if (!(act->sa_flags & SA_NODEFER))
			block |= 1ull << (sig - 1);
		atomic_store(&handlers[sig].block, block);
		atomic_store(&handlers[sig].siginfo, (act->sa_flags & SA_SIGINFO) != 0);
		atomic_store_explicit(&handlers[sig].fn, (void *)act->sa_handler,
				      memory_order_release);
		k = *act;
		k.sa_sigaction = trampoline;
		k.sa_flags |= SA_SIGINFO;
		act = &k;
	}
	struct sigaction o;
	int r = real.sigaction(sig, act, &o);
	if (r != 0) {
		atomic_store(&handlers[sig].fn, prev_fn);
		atomic_store(&handlers[sig].siginfo, prev_siginfo);
		return r;
	}
	if (old) {
		*old = o;
		if (o.sa_sigaction == trampoline) {
			old->sa_handler = (void (*)(int))prev_fn;
			if (!prev_siginfo)
				old->sa_flags &= ~SA_SIGINFO;
		}
	}
	return 0;
}

/* glibc's signal(): BSD semantics, restarting calls. */
SHIM_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;
	if (handler == SIG_ERR || sigemptyset(&act.sa_mask) < 0 ||
	    sigaddset(&act.sa_mask, sig) < 0 || sigaction(sig, &act, &old) < 0) {
		errno = EINVAL;
		return SIG_ERR;
	}
	return old.sa_handler;
}

SHIM_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler) SHIM_ALIAS(signal);

/* System V semantics: one shot, not blocked while it runs, no restart. */
SHIM_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	struct sigaction act = { .sa_handler = handler,
				 .sa_flags = SA_ONESHOT | SA_NOMASK | SA_INTERRUPT }, old;
	if (handler == SIG_ERR || sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&act.sa_mask);
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* ---------------------------------------------------------------- masks */

/* The signals no mask blocks: SIGKILL, SIGSTOP, and glibc's SIGCANCEL and
 * SIGSETXID, which its mask calls leave out. */
#define UNBLOCKABLE (sigbit(SIGKILL) | sigbit(SIGSTOP) | sigbit(32) | sigbit(33))

/* The G's mask after how (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK) with set. */
static uint64_t mask_after(uint64_t mask, int how, const sigset_t *set)
{
	uint64_t s = *(const uint64_t *)set;
	switch (how) {
	case SIG_BLOCK:
		mask |= s;
		break;
	case SIG_UNBLOCK:
		mask &= ~s;
		break;
	default:
		mask = s;
	}
	return mask & ~UNBLOCKABLE;
}

/* A G's mask is its own: the kernel thread running it gets the whole of
 * it (as the change it asked for would have left the native thread's),
 * and the G keeps it, so that sigintr_post interrupts only a G that
 * does not block the signal.  The old mask is the G's.  A G that moves
 * to another kernel thread takes its mask along (switch_to). */
static int set_mask(int (*call)(int, const sigset_t *, sigset_t *), int how,
		    const sigset_t *set, sigset_t *old)
{
	struct g *gp = shim_g();
	/* A handler's change is undone by its return, as natively: it is
	 * the kernel thread's alone. */
	if (!gp || shim_in_handler() ||
	    (set && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK))
		return call(how, set, old);
	uint64_t mine = atomic_load_explicit(&gp->sigmask, memory_order_relaxed);
	sigset_t now, prev;
	int r;
	if (set) {
		sigemptyset(&now);
		*(uint64_t *)&now = mask_after(mine, how, set);
		r = call(SIG_SETMASK, &now, &prev);
	} else {
		r = call(how, NULL, &prev);
	}
	if (r != 0)
		return r;
	if (set) {
		atomic_store_explicit(&gp->sigmask, *(uint64_t *)&now, memory_order_relaxed);
		__atomic_store_n(&gp->m->kmask, *(uint64_t *)&now, __ATOMIC_RELAXED);
		sigintr_mask_changed(mine, *(uint64_t *)&now);
		/* What pthread_kill left it and it no longer blocks. */
		sigintr_check(gp);
	}
	if (old) {
		*old = prev;
		*(uint64_t *)old = mine;
	}
	return 0;
}

SHIM_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	shim_g();  /* the real table */
	return set_mask(real.pthread_sigmask, how, set, old);
}

SHIM_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	shim_g();
	return set_mask(real.sigprocmask, how, set, old);
}
