/*
 * sysmon.c — the system monitor: one kernel thread without a P that wakes
 * every 20 us, backing off to 10 ms while it finds nothing to do (Go's
 * sysmon loop).  It retakes Ps whose M is stuck in a system call
 * (syscall.c), lends a spare P for an M blocked where goshim cannot see
 * (blocked.c), polls the network when nobody has for 10 ms, checks the
 * poller's registrations of fds waited on for long (netpoll_verify), prints
 * GODEBUG=schedtrace lines, starts an M when a timer is overdue and a P is
 * idle (a timer whose P is busy in a long-running G), returns long-unused
 * cached stacks to the OS, repeats the signals that end cancelled Gs'
 * system calls (intr.c), kicks the Ms of Gs that have signals from
 * pthread_kill to raise, and takes the process's signals that only Gs
 * that wait accept (sigintr.c).  Preemption and deadlock detection
 * join it in later steps.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "libc_real.h"
#include "runtime.h"

static _Atomic int started;

static void usleep_raw(int64_t us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	rt_syscall2(SYS_nanosleep, &ts, NULL);
}

/* An expired timer sits on a P whose M is busy: nobody will run it before
 * that G parks, so hand the work to an idle P. */
static bool timers_overdue(int64_t now)
{
	for (int32_t i = 0; i < nallp; i++) {
		int64_t w = timers_next(allp[i]);
		if (w && w < now - 1000000)
			return true;
	}
	return false;
}

static void *sysmon(void *arg)
{
	struct m *mp = arg;
	g_cur = mp->g0;  /* no P: anything it readies goes to the global queue */
	mp->g0->tp = tls_current();
	mp->tid = gettid();
	mp->kmask = kernel_sigmask();
	prctl(PR_SET_NAME, "goshim-sysmon", 0, 0, 0);
	int64_t delay = SYSMON_MIN_DELAY_US;
	int idle = 0;
	int64_t next_trace = 0, last_scavenge = nanotime(), last_verify = last_scavenge;
	struct retake_state *last = rt_alloc(sizeof *last * (size_t)nallp);
	struct blocked_state *blocked = rt_alloc(sizeof *blocked * (size_t)gomaxprocs);

	for (;;) {
		bool worked = false;
		int64_t now = nanotime();
		atomic_store_explicit(&sched.coarsenow, now, memory_order_relaxed);
		/* Takes the signals only waiting Gs accept (sigintr.c). */
		uint64_t mask = sigintr_sysmon_mask(mp);
		if (unlikely(mask != mp->kmask))
			m_setmask(mp, mask);
		if (godebug.schedtrace > 0) {
			if (next_trace == 0 || now >= next_trace) {
				schedtrace(godebug.scheddetail);
				if (next_trace == 0)
					next_trace = now;
				next_trace += (int64_t)godebug.schedtrace * 1000000;
				if (next_trace <= now)
					next_trace = now + (int64_t)godebug.schedtrace * 1000000;
			}
		}
		/* Nobody polled for 10 ms (every M busy running Gs): poll
		 * here, or readied I/O waits for the next idle M.  What it
		 * finds does not keep sysmon at its shortest delay, as in Go:
		 * a busy server has ready I/O at every such poll, and waking
		 * every 20 us for it would take a core's tenth from the Ms. */
		int64_t lp = atomic_load(&sched.lastpoll);
		if (netpoll_anywaiters() && lp != 0 && lp + 10000000 < now &&
		    atomic_compare_exchange_strong(&sched.lastpoll, &lp, now)) {
			struct g *list = netpoll(0);
			if (list)
				injectglist(list);
		}
		/* What signal handlers left waits for a poll: every M may
		 * be busy running Gs. */
		if (netpoll_deliver_pending()) {
			struct g *list = netpoll_deliver();
			if (list) {
				injectglist(list);
				worked = true;
			}
		}
		if (retake(now, last) > 0)
			worked = true;
		if (lend_spares(now, blocked) > 0)
			worked = true;
		intr_rekick();
		sigintr_rekick();
		if (timers_overdue(now) && atomic_load(&sched.npidle) > 0) {
			wake_p();
			worked = true;
		}
		if (now - last_verify > 1000000000 && netpoll_anywaiters()) {
			netpoll_verify(now);
			last_verify = now;
		}
		if (now - last_scavenge > STACK_IDLE_NS / 4) {
			stack_scavenge(now, STACK_IDLE_NS);
			last_scavenge = now;
		}
		idle = worked ? 0 : idle + 1;
		if (idle == 0)
			delay = SYSMON_MIN_DELAY_US;
		else if (idle > 50)
			delay *= 2;
		if (delay > SYSMON_MAX_DELAY_US)
			delay = SYSMON_MAX_DELAY_US;
		int64_t sleep_us = delay;
		if (godebug.schedtrace > 0) {
			int64_t until = (next_trace - nanotime()) / 1000;
			if (until < sleep_us)
				sleep_us = until > 0 ? until : 0;
		}
		if (sleep_us > 0)
			usleep_raw(sleep_us);
	}
	return NULL;
}

/* The child of a fork has no sysmon: start one again when needed. */
void sysmon_fork_child(void)
{
	atomic_store(&started, 0);
	atomic_store(&sched.coarsenow, 0);
	if (godebug.schedtrace > 0)
		sysmon_start();
}

/* Starts sysmon once (at init with schedtrace, else with the first thread
 * the program creates). */
void sysmon_start(void)
{
	if (atomic_load_explicit(&started, memory_order_relaxed) || atomic_exchange(&started, 1))
		return;
	if (!newm_nop(sysmon))
		rt_print("goshim: cannot start sysmon\n");
}
