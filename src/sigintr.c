/*
 * sigintr.c — the waits a signal handler ends: the kernel interrupts the
 * system call of the thread it delivers a signal to, and a G that waits
 * in goshim is in no system call, so the trampoline of the program's
 * handlers (shim/signal.c) asks here for the wait the kernel would have
 * interrupted to end with EINTR.
 *
 * Every G's wait that a signal may end (netpoll's, which include sleeps,
 * and semaphores') is on one list, oldest first, with how it ends.  The
 * handler only counts the request (sigintr_post, async-signal-safe) and
 * asks the poller to deliver it (netpoll_defer); delivery picks the victim
 * and ends its wait under the list's lock, so the wait, whose record is on
 * its G's stack, cannot leave the list meanwhile.
 *
 * Lock order: sigwaits first (lockrank.h); a wait's end function may take
 * its own queue's lock, and pushes the G it ends on the caller's list.
 */
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
				sw->end(sw, list);
			return;
		}
		/* A wait that has ended meanwhile was no longer blocked. */
		if (!main_takes && sw->end(sw, list))
			return;
	}
}

void sigintr_deliver(struct g **list)
{
	lock(&sigwaitslock);
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

void sigintr_fork_child(void)
{
	sigwaitslock = (struct rt_lock)RT_LOCK_INIT(RANK_SIGWAITS);
	sigwaits = NULL;
	sigwaits_tail = &sigwaits;
	for (int r = 0; r < 2; r++)
		for (int sig = 0; sig <= 64; sig++)
			atomic_store(&intr_count[r][sig], 0);
}
