/*
 * intr.c — ending a G's wait from another thread, for cancellation: a G
 * that waits at a cancellation point publishes a hook (gp->intr) that
 * ends its wait; pthread_cancel runs it.
 *
 * gp->intr is NULL, the G's hook, or INTR_BUSY while an interrupter runs
 * the hook.  The G sets it (NULL → hook) before its wait begins and then
 * reads its cancellation bits; an interrupter sets CANCEL_PENDING and then
 * takes the hook (hook → INTR_BUSY), runs it and puts it back.  Both steps
 * are sequentially consistent, so either the interrupter finds the hook or
 * the G sees the request before it waits.  The G withdraws the hook
 * (hook → NULL) only while no interrupter holds it, so a hook (which lives
 * on the G's stack, as its wait record does) is never run after its wait.
 *
 * A G in a system call (a hand-off) is woken with a signal to its M,
 * SIGCANCEL (glibc's reserved signal 32, which the program cannot use),
 * whose handler makes the call fail with EINTR (see sigcancel_handler).
 * A signal that comes before the M has reached the call is lost; sysmon
 * repeats it (intr_rekick) until the G withdraws its hook.
 *
 * The same signal carries asynchronous cancellation to a G that runs the
 * program's code: the handler unwinds the G (sysmon repeats it for a G
 * that was not running when pthread_cancel looked).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

#define INTR_BUSY ((struct intrhook *)1)
#define SIGCANCEL_ 32
#define SA_RESTORER_ 0x04000000

/* Hooks that signalled their M and are not withdrawn yet. */
static _Atomic int32_t nkicked;
/* Some asynchronous cancellation was requested: sysmon looks for its G. */
static _Atomic bool async_seen;
/* glibc's own SIGCANCEL handler, which its pthread_cancel installs for a
 * thread goshim does not run: called for such threads. */
static _Atomic(void *) chained;

bool intr_begin(struct g *gp, struct intrhook *h)
{
	h->kicked = false;
	/* Anything but INTR_BUSY is replaced: a hook left published is one
	 * whose wait was left by a longjmp (a signal handler's), never run. */
	struct intrhook *old = atomic_load_explicit(&gp->intr, memory_order_relaxed);
	while (old == INTR_BUSY || !atomic_compare_exchange_weak(&gp->intr, &old, h)) {
		cpu_relax();
		old = atomic_load_explicit(&gp->intr, memory_order_relaxed);
	}
	if (!g_cancel_due(gp))
		return true;
	intr_end(gp);
	return false;
}

void intr_end(struct g *gp)
{
	struct intrhook *h = atomic_load_explicit(&gp->intr, memory_order_relaxed);
	for (;;) {
		if (h != INTR_BUSY && atomic_compare_exchange_weak(&gp->intr, &h, NULL))
			break;
		if (h == INTR_BUSY) {
			cpu_relax();
			h = atomic_load_explicit(&gp->intr, memory_order_relaxed);
		}
	}
	if (h && h->kicked)
		atomic_fetch_sub(&nkicked, 1);
}

void intr_fire(struct g *gp)
{
	struct intrhook *h = atomic_exchange(&gp->intr, INTR_BUSY);
	if (h == INTR_BUSY)
		return; /* another interrupter runs it, and puts it back */
	/* The G's state is the one it had when it published the hook (the
	 * exchange reads what the G wrote before): a disabled G waits on. */
	if (h && g_cancel_due(gp))
		h->fn(gp, h);
	atomic_store(&gp->intr, h);
}

/* Signals mp, saying the signal is for gp. */
static void kick(struct m *mp, struct g *gp)
{
	atomic_store(&mp->cancelkick, gp);
	rt_syscall3(SYS_tgkill, rt_syscall0(SYS_getpid), mp->tid, SIGCANCEL_);
}

void intr_kick_m(struct g *gp, struct intrhook *h)
{
	if (!h->kicked) {
		h->kicked = true;
		atomic_fetch_add(&nkicked, 1);
	}
	kick(h->arg, gp);
}

/* Whether gp has an asynchronous cancellation to act upon. */
static bool async_due(struct g *gp)
{
	return g_cancel_due(gp) && gp->cancel_type == PTHREAD_CANCEL_ASYNCHRONOUS;
}

void intr_kick_async(struct g *gp)
{
	atomic_store(&async_seen, true);
	struct m *mp = __atomic_load_n(&gp->m, __ATOMIC_ACQUIRE);
	if (mp && __atomic_load_n(&mp->curg, __ATOMIC_RELAXED) == gp)
		kick(mp, gp);
}

void intr_rekick(void)
{
	if (atomic_load_explicit(&nkicked, memory_order_relaxed) == 0 &&
	    !atomic_load_explicit(&async_seen, memory_order_relaxed))
		return;
	/* An M's G is read racily; Gs are never freed, intr_fire runs only a
	 * hook that is still published, and the handler looks again. */
	for (struct m *mp = atomic_load(&allm); mp; mp = mp->alllink) {
		struct g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
		if (!gp || !g_cancel_due(gp))
			continue;
		if (async_due(gp) && !atomic_load(&gp->intr))
			kick(mp, gp);
		else
			intr_fire(gp);
	}
}

void intr_kick_sig(struct g *gp)
{
	struct m *mp = __atomic_load_n(&gp->m, __ATOMIC_ACQUIRE);
	if (mp && __atomic_load_n(&mp->curg, __ATOMIC_RELAXED) == gp)
		kick(mp, gp);
}

/* The kick of a G with signals to raise that runs the program's code:
 * raised here, they come once this handler returns.  A G in a hand-off's
 * system call (which this handler, with SA_RESTART, made to restart)
 * gets EINTR from it when a handler it does not block runs without
 * SA_RESTART, as the kernel's would have ended it. */
static void sig_kicked(struct g *gp, ucontext_t *uc)
{
	uint64_t mask = g_blocks(gp);
	bool eintr = sigintr_interrupts(atomic_load(&gp->sigpend) & ~mask);
	greg_t *r = uc->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)r[REG_RIP];
	/* Stopped in the program's own code, the G holds nothing of the
	 * runtime: its handlers may hand the P off. */
	sigintr_raise(gp, mask, !runtime_text((uintptr_t)ip));
	/* The mask the handler's return restores is the G's too. */
	memcpy(&uc->uc_sigmask, &mask, sizeof mask);
	if (eintr && atomic_load(&gp->status) == G_SYSCALL && ip[0] == 0x0f && ip[1] == 0x05) {
		r[REG_RAX] = -EINTR;
		r[REG_RIP] += 2;
	}
}

/* The handler is installed with SA_RESTART, so that a signal meant for
 * a G that has left its M meanwhile restarts whatever system call of
 * another G it lands in.  For the G it is meant for (mp->cancelkick) it
 * acts: an asynchronous cancellation of a G that runs the program's code
 * (not goshim's, which may hold runtime locks) unwinds the G from here,
 * through the signal frame, as glibc's handler does; a G stopped on a
 * system call instruction — about to make it, or made to restart it —
 * gets EINTR from it instead, as glibc's handler makes its cancellable
 * calls do. */
static void sigcancel_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct g *gp = getg_user();
	if (!gp) {
		void (*glibc)(int, siginfo_t *, void *) = (void (*)(int, siginfo_t *, void *))atomic_load(&chained);
		if (glibc)
			glibc(sig, si, ucv);
		return;
	}
	greg_t *r = uc->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)r[REG_RIP];
	if (unlikely(atomic_load_explicit(&gp->sigpend, memory_order_relaxed)) &&
	    !goshim_text((uintptr_t)ip))
		sig_kicked(gp, uc);
	if (!g_cancel_due(gp) || atomic_load(&gp->m->cancelkick) != gp)
		return;
	if (goshim_text((uintptr_t)ip))
		return;
	if (gp->cancel_type == PTHREAD_CANCEL_ASYNCHRONOUS) {
		uint64_t mask = 1ull << (SIGCANCEL_ - 1);
		rt_syscall4(SYS_rt_sigprocmask, SIG_UNBLOCK, &mask, NULL, 8);
		g_exit_unwind(gp, PTHREAD_CANCELED);
	}
	if (ip[0] == 0x0f && ip[1] == 0x05) { /* syscall */
		r[REG_RAX] = -EINTR;
		r[REG_RIP] += 2;
	}
}

void intr_init(void)
{
	struct ksigaction act = { (void *)sigcancel_handler,
				  SA_SIGINFO | SA_RESTART | SA_RESTORER_, (void *)rt_sigreturn, 0 };
	rt_syscall4(SYS_rt_sigaction, SIGCANCEL_, &act, NULL, 8);
}

void intr_reclaim(void)
{
	struct ksigaction now;
	if (rt_syscall4(SYS_rt_sigaction, SIGCANCEL_, NULL, &now, 8) != 0 ||
	    now.handler == (void *)sigcancel_handler)
		return;
	if (now.flags & SA_SIGINFO)
		atomic_store(&chained, now.handler);
	intr_init();
}
