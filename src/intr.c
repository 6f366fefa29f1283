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
 * whose handler does nothing but make the call fail with EINTR.  A signal
 * that comes before the M has entered the call is lost; sysmon repeats it
 * (intr_rekick) until the G withdraws its hook.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

#define INTR_BUSY ((struct intrhook *)1)
#define SIGCANCEL_ 32
#define SA_RESTORER_ 0x04000000

/* Hooks that signalled their M and are not withdrawn yet. */
static _Atomic int32_t nkicked;

bool intr_begin(struct g *gp, struct intrhook *h)
{
	h->kicked = false;
	struct intrhook *none = NULL;
	while (!atomic_compare_exchange_weak(&gp->intr, &none, h)) {
		none = NULL;
		cpu_relax();
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

void intr_kick_m(struct g *gp, struct intrhook *h)
{
	struct m *mp = h->arg;
	(void)gp;
	if (!h->kicked) {
		h->kicked = true;
		atomic_fetch_add(&nkicked, 1);
	}
	rt_syscall3(SYS_tgkill, rt_syscall0(SYS_getpid), mp->tid, SIGCANCEL_);
}

void intr_rekick(void)
{
	if (atomic_load_explicit(&nkicked, memory_order_relaxed) == 0)
		return;
	/* An M's G is read racily; Gs are never freed, and intr_fire runs
	 * only a hook that is still published. */
	for (struct m *mp = atomic_load(&allm); mp; mp = mp->alllink) {
		struct g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
		if (gp && g_cancel_due(gp))
			intr_fire(gp);
	}
}

/* Only interrupts: the system call it lands in fails with EINTR. */
static void sigcancel_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
}

void intr_init(void)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} act = { (void *)sigcancel_handler, SA_SIGINFO | SA_RESTORER_, (void *)rt_sigreturn, 0 };
	rt_syscall4(SYS_rt_sigaction, SIGCANCEL_, &act, NULL, 8);
}
