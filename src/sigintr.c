/*
 * sigintr.c — the waits a signal handler ends, and the signals sent to
 * one G: the kernel interrupts the system call of the thread it delivers
 * a signal to, and a G that waits in goshim is in no system call, so the
 * trampoline of the program's handlers (shim/signal.c) asks here for the
 * wait the kernel would have interrupted to end with EINTR.
 *
 * Every G's wait that a signal may end (netpoll's, which include sleeps,
 * and semaphores') is on one list, oldest first, with how it ends.  The
 * handler only counts the request (sigintr_post, async-signal-safe) and
 * asks the poller to deliver it (netpoll_defer); delivery picks the victim
 * and ends its wait under the list's lock, so the wait, whose record is on
 * its G's stack, cannot leave the list meanwhile.
 *
 * A signal pthread_kill sends a G waits in the G (gp->sigpend) until the
 * G raises it on its own kernel thread (sigintr_raise), where the kernel
 * runs the handler at once: the G's wait on the list ends for it (with
 * EINTR as the kernel's call would, or spuriously when the handler
 * restarts the call: the call waits again after it), so does a sema
 * wait (a mutex's, a condvar's: spuriously, as glibc's futex wait
 * goes on after the handler, sema_kill), a G that runs is
 * kicked (intr.c: its M's SIGCANCEL handler raises them), and a G that
 * returns from a system call or unblocks them raises them then.  One it
 * blocks stays in the G until it unblocks it or a sigwait takes it
 * (sigintr_take): a G in the kernel's sigwait is kicked out of it (the
 * kernel never restarts sigtimedwait) to take it.
 *
 * A G's mask goes with it from kernel thread to kernel thread (switch_to),
 * so a signal that only Gs that wait accept would find no kernel thread
 * to take it: sysmon's, which runs no G, takes the signals some G accepts
 * (the counts of the masks alive) and no other kernel thread takes now,
 * and its handler ends the wait of one of those Gs as any
 * process-directed signal does.
 *
 * Lock order: sigwaits first (lockrank.h); a wait's end function may take
 * its own queue's lock, and pushes the G it ends on the caller's list.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "lockrank.h"
#include "runtime.h"

static struct rt_lock sigwaitslock = RT_LOCK_INIT(RANK_SIGWAITS);
static struct sigwait *sigwaits, **sigwaits_tail = &sigwaits;
/* Requests not yet delivered: a count per signal, [1] for handlers with
 * SA_RESTART. */
static _Atomic uint32_t intr_count[2][65];

void sigwait_add(struct sigwait *sw)
{
	lock(&sigwaitslock);
	sw->next = NULL;
	sw->pprev = sigwaits_tail;
	*sigwaits_tail = sw;
	sigwaits_tail = &sw->next;
	unlock(&sigwaitslock);
}

void sigwait_remove(struct sigwait *sw)
{
	lock(&sigwaitslock);
	*sw->pprev = sw->next;
	if (sw->next)
		sw->next->pprev = sw->pprev;
	else
		sigwaits_tail = sw->pprev;
	unlock(&sigwaitslock);
}

void sigintr_post(int sig, bool restart)
{
	if (sig < 1 || sig > 64)
		return;
	atomic_fetch_add(&intr_count[restart][sig], 1);
	netpoll_defer();
}

/* Ends the wait that signal sig goes to, if any: G1's unless G1 blocks
 * sig or has exited, else the oldest wait of a G that does not block it;
 * with restart, a wait the kernel would restart is no victim.
 * sigwaitslock held. */
static void interrupt_one(int sig, bool restart, struct g **list)
{
	uint64_t bit = sigbit(sig);
	bool main_takes = g1_takes_signal(bit);
	for (struct sigwait *sw = sigwaits; sw; sw = sw->next) {
		if ((restart && sw->restarts) ||
		    (atomic_load_explicit(&sw->g->sigmask, memory_order_relaxed) & bit))
			continue;
		if (g_is_main(sw->g)) {
			if (main_takes)
				sw->end(sw, list, false);
			return;
		}
		/* A wait that has ended meanwhile was no longer blocked. */
		if (!main_takes && sw->end(sw, list, false))
			return;
	}
}

/* Signals were sent to Gs from handlers, or Gs that run have signals to
 * raise: delivery and sysmon look for them. */
static _Atomic bool kills_deferred, kicks_wanted;

/* The signals gp has to raise now: those it does not block. */
static uint64_t due(struct g *gp)
{
	return atomic_load_explicit(&gp->sigpend, memory_order_relaxed) & ~g_blocks(gp);
}

bool sigintr_interrupts(uint64_t sigs)
{
	for (; sigs; sigs &= sigs - 1) {
		struct ksigaction act;
		int sig = __builtin_ctzll(sigs) + 1;
		if (rt_syscall4(SYS_rt_sigaction, sig, NULL, &act, 8) == 0 &&
		    act.handler != (void *)SIG_DFL && act.handler != (void *)SIG_IGN &&
		    !(act.flags & SA_RESTART))
			return true;
	}
	return false;
}

/* Ends sw's wait for the signals its G has to raise: EINTR, unless the
 * call is one the kernel restarts and no handler of theirs stops that.
 * sigwaitslock held. */
static bool end_for_kill(struct sigwait *sw, struct g **list)
{
	return sw->end(sw, list, sw->restarts && !sigintr_interrupts(due(sw->g)));
}

/* The waits of Gs with signals to raise end, on the list and in sema
 * waits (sysmon kicks the Gs that run: sigintr_rekick). */
static void kills_deliver(struct g **list)
{
	for (struct sigwait *sw = sigwaits; sw; sw = sw->next)
		if (due(sw->g))
			end_for_kill(sw, list);
	for (uint32_t i = 0, n = allg_count(); i < n; i++) {
		struct g *gp = allg_at(i);
		if (due(gp))
			sema_kill(gp, list);
	}
}

void sigintr_deliver(struct g **list)
{
	lock(&sigwaitslock);
	if (atomic_load_explicit(&kills_deferred, memory_order_relaxed) &&
	    atomic_exchange(&kills_deferred, false))
		kills_deliver(list);
	for (int r = 0; r < 2; r++) {
		for (int sig = 1; sig <= 64; sig++) {
			if (!atomic_load_explicit(&intr_count[r][sig], memory_order_relaxed))
				continue;
			/* A request that finds no wait is dropped: the thread
			 * the kernel would have chosen was not blocked. */
			for (uint32_t n = atomic_exchange(&intr_count[r][sig], 0); n > 0; n--)
				interrupt_one(sig, r, list);
		}
	}
	unlock(&sigwaitslock);
}

int sigintr_value(struct g *gp, int sig, union sigval value, bool from_handler)
{
	union sigval *vals = atomic_load(&gp->sigvals);
	if (!vals) {
		/* rt_alloc takes a lock: not in a handler. */
		if (from_handler || !(vals = rt_alloc(sizeof *vals * 64)))
			return EAGAIN;
		union sigval *none = NULL;
		if (!atomic_compare_exchange_strong(&gp->sigvals, &none, vals))
			vals = none;  /* a racing sender's, and this one is lost */
	}
	vals[sig - 1] = value;
	/* The value before the bits: the raise reads them after taking
	 * the pending bit. */
	atomic_fetch_or(&gp->sigqueued, sigbit(sig));
	return 0;
}

void sigintr_kill(struct g *gp, int sig, bool from_handler)
{
	struct ksigaction act;
	/* Discarded at once, as the kernel does, unless blocked (sigwait
	 * may take it). */
	if (!(atomic_load(&gp->sigmask) & sigbit(sig)) &&
	    rt_syscall4(SYS_rt_sigaction, sig, NULL, &act, 8) == 0 &&
	    act.handler == (void *)SIG_IGN) {
		atomic_fetch_and(&gp->sigqueued, ~sigbit(sig));
		return;
	}
	sigintr_pend(gp, sig);
	atomic_store(&kicks_wanted, true);
	/* A signal it blocks ends no wait, and waits in the G until it
	 * unblocks it, or until a sigwait takes it: one waiting in the
	 * kernel is kicked out of the call to take it. */
	if (atomic_load(&gp->sigmask) & sigbit(sig)) {
		if (!from_handler && (atomic_load(&gp->sigwaitset) & sigbit(sig)))
			intr_kick_sig(gp);
		return;
	}
	if (from_handler) {
		/* No lock here: the poller ends its wait. */
		atomic_store(&kills_deferred, true);
		netpoll_defer();
		return;
	}
	struct g *list = NULL;
	bool waits = false;
	lock(&sigwaitslock);
	for (struct sigwait *sw = sigwaits; sw && !waits; sw = sw->next)
		if (sw->g == gp)
			waits = end_for_kill(sw, &list);
	unlock(&sigwaitslock);
	if (!waits)
		waits = sema_kill(gp, &list);
	injectglist(list);
	if (!waits)
		intr_kick_sig(gp);
}

void sigintr_rekick(void)
{
	if (!atomic_load_explicit(&kicks_wanted, memory_order_relaxed))
		return;
	atomic_store(&kicks_wanted, false);
	/* An M's G is read racily: Gs are never freed, and the kick's
	 * handler looks again.  A kick that found the G in goshim's own
	 * code (on its way into sigwait, say) did nothing: it is repeated
	 * until the G has raised them. */
	for (struct m *mp = atomic_load(&allm); mp; mp = mp->alllink) {
		struct g *gp = __atomic_load_n(&mp->curg, __ATOMIC_RELAXED);
		if (gp && (due(gp) || (atomic_load(&gp->sigwaitset) &
				       atomic_load_explicit(&gp->sigpend, memory_order_relaxed)))) {
			atomic_store(&kicks_wanted, true);
			intr_kick_sig(gp);
		}
	}
}

/* Sends sig, which the caller took from gp's pending ones, to gp's
 * kernel thread (gp is the caller): with its value if it was queued. */
static void send_here(struct g *gp, long pid, int sig)
{
	if (atomic_load(&gp->sigqueued) & sigbit(sig)) {
		atomic_fetch_and(&gp->sigqueued, ~sigbit(sig));
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = sig;
		si.si_code = SI_QUEUE;
		si.si_pid = (pid_t)pid;
		si.si_uid = (uid_t)rt_syscall0(SYS_getuid);
		si.si_value = atomic_load(&gp->sigvals)[sig - 1];
		rt_syscall4(SYS_rt_tgsigqueueinfo, pid, gp->m->tid, sig, &si);
		return;
	}
	rt_syscall3(SYS_tgkill, pid, gp->m->tid, sig);
}

int sigintr_take(struct g *gp, uint64_t set)
{
	uint64_t pend = atomic_load(&gp->sigpend);
	while (pend & set) {
		uint64_t bit = pend & set & -(pend & set);
		if (atomic_compare_exchange_weak(&gp->sigpend, &pend, pend & ~bit))
			return __builtin_ctzll(bit) + 1;
	}
	return 0;
}

int sigintr_take_info(struct g *gp, uint64_t set, siginfo_t *info)
{
	int sig = sigintr_take(gp, set);
	if (!sig)
		return 0;
	/* The information is the kernel's own (its si_code for a tgkill
	 * differs between kernels): sent to this kernel thread, blocked,
	 * and taken back at once. */
	uint64_t mask = atomic_load_explicit(&gp->sigmask, memory_order_relaxed);
	uint64_t with = mask | sigbit(sig), only = sigbit(sig);
	struct timespec now = { 0, 0 };
	rt_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &with, NULL, 8);
	send_here(gp, rt_syscall0(SYS_getpid), sig);
	rt_syscall4(SYS_rt_sigtimedwait, &only, info, &now, 8);
	m_setmask(gp->m, mask);
	return sig;
}

void sigintr_pend(struct g *gp, int sig)
{
	if (sig < 32 && !(atomic_load(&gp->sigpend) & sigbit(sig)))
		atomic_store_explicit(&gp->sigstamp[sig - 1],
				      atomic_fetch_add_explicit(&gp->sigstamps, 1,
								memory_order_relaxed),
				      memory_order_relaxed);
	/* release: the stamp before the bit */
	atomic_fetch_or_explicit(&gp->sigpend, sigbit(sig), memory_order_release);
}

/* The signal of due to raise first: the standard signal that came first
 * (each would have been handled as it came, had the G been running: a
 * garbage collector's restart signal must not overtake the suspend signal
 * sent before it), then the real-time ones, lowest first. */
static int next_due(struct g *gp, uint64_t due)
{
	uint64_t std = due & 0x7fffffffull;
	if (!std)
		return __builtin_ctzll(due) + 1;
	int first = 0;
	uint16_t at = 0;
	for (; std; std &= std - 1) {
		int sig = __builtin_ctzll(std) + 1;
		uint16_t s = atomic_load_explicit(&gp->sigstamp[sig - 1], memory_order_relaxed);
		if (!first || (int16_t)(uint16_t)(s - at) < 0) {
			first = sig;
			at = s;
		}
	}
	return first;
}

/* Sends gp's pending signals of due to its kernel thread (gp is the
 * caller), in the order they came, each marked for the trampoline when
 * clean. */
static void raise_due(struct g *gp, uint64_t due, bool clean)
{
	long pid = rt_syscall0(SYS_getpid);
	while (due) {
		int sig = next_due(gp, due);
		due &= ~sigbit(sig);
		/* The handler may park the G: its M is read each time. */
		if (!(atomic_fetch_and(&gp->sigpend, ~sigbit(sig)) & sigbit(sig)))
			continue;
		if (clean)
			atomic_fetch_or(&gp->raising, sigbit(sig));
		send_here(gp, pid, sig);
	}
}

void sigintr_raise(struct g *gp, uint64_t mask, bool clean)
{
	uint64_t due = atomic_load(&gp->sigpend) & ~mask;
	if (!due)
		return;
	int e = errno;
	/* The kernel thread blocks what mask blocks (it may have come from
	 * another G's): the raised signal is for this G alone.  The kernel
	 * runs each handler as its tgkill returns. */
	rt_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
	raise_due(gp, due, clean);
	atomic_fetch_and(&gp->raising, ~due);
	m_setmask(gp->m, g_blocks(gp));
	errno = e;
}

void sigintr_raise_on_return(struct g *gp, bool clean)
{
	uint64_t due = atomic_load(&gp->sigpend) & ~g_blocks(gp);
	/* A G stopped in mcall has left its M: its wait's end raises them. */
	if (!due || !gp->m)
		return;
	int e = errno;
	raise_due(gp, due, clean);
	errno = e;
}

/* ---------------------------------------------------------------- masks */

/* The Gs alive, and per signal those that block it. */
static struct rt_lock masklock = RT_LOCK_INIT(RANK_SIGMASKS);
static int32_t nalive, nblocking[64];
static _Atomic uint64_t unaccepted;

/* masklock held. */
static void masks_count(uint64_t mask, int32_t delta)
{
	for (; mask; mask &= mask - 1)
		nblocking[__builtin_ctzll(mask)] += delta;
}

/* masklock held. */
static void masks_publish(void)
{
	uint64_t u = 0;
	for (int i = 0; i < 64; i++)
		if (nalive > 0 && nblocking[i] == nalive)
			u |= 1ull << i;
	/* glibc's own signals are never blocked. */
	atomic_store(&unaccepted, u & ~(sigbit(32) | sigbit(33)));
}

static void masks_update(uint64_t remove, uint64_t add, int32_t dalive)
{
	lock(&masklock);
	masks_count(remove, -1);
	masks_count(add, 1);
	nalive += dalive;
	masks_publish();
	unlock(&masklock);
}

void sigintr_mask_born(uint64_t mask)
{
	masks_update(0, mask, 1);
}

void sigintr_mask_died(uint64_t mask)
{
	masks_update(mask, 0, -1);
}

void sigintr_mask_changed(uint64_t old, uint64_t mask)
{
	if (old != mask)
		masks_update(old, mask, 0);
}

uint64_t sigintr_sysmon_mask(struct m *mp)
{
	/* Another kernel thread that takes it gets it, as the kernel
	 * would give it to the G running there: a G in a system call the
	 * signal must end (pause) is such a one.  Read racily: sysmon looks
	 * again at its next round. */
	uint64_t taken = 0;
	for (struct m *m = atomic_load(&allm); m; m = m->alllink)
		if (m != mp)
			taken |= ~__atomic_load_n(&m->kmask, __ATOMIC_RELAXED);
	return (atomic_load_explicit(&unaccepted, memory_order_relaxed) | taken) &
	       ~(sigbit(32) | sigbit(33));
}

/* The child of a fork has no signals pending, and one G (gp, the
 * forking one). */
void sigintr_fork_child(struct g *gp)
{
	masklock = (struct rt_lock)RT_LOCK_INIT(RANK_SIGMASKS);
	nalive = 0;
	memset(nblocking, 0, sizeof nblocking);
	masks_update(0, gp->sigmask, 1);
	atomic_store(&gp->sigpend, 0);
	atomic_store(&gp->sigqueued, 0);
	sigwaitslock = (struct rt_lock)RT_LOCK_INIT(RANK_SIGWAITS);
	sigwaits = NULL;
	sigwaits_tail = &sigwaits;
	for (int r = 0; r < 2; r++)
		for (int sig = 0; sig <= 64; sig++)
			atomic_store(&intr_count[r][sig], 0);
}
