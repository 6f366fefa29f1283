/*
 * fork.c — the runtime across fork().  The child of a threaded process has
 * one kernel thread, the one that forked, running the forking G; every
 * other thread is gone.  goshim's child matches: one M (the forking one)
 * holding one P, the forking G as the only thread, empty run queues, timer
 * heaps and wait queues (what they held belonged to threads that do not
 * exist in the child), a netpoller of its own (an epoll instance is shared
 * across fork), and sysmon started again on demand.
 *
 * The prepare handler takes the locks that guard what the child keeps
 * (sched.lock, the free-G list, the stack cache, the allocator), so no
 * other M is in the middle of changing it at the fork; the parent releases
 * them, the child starts them afresh.  Locks of what the child discards
 * (wait-queue roots, timer heaps) are simply reset.
 */
#include <pthread.h>

#include "runtime.h"

_Atomic uint32_t fork_epoch;

/* The forking G, from prepare to the parent's or child's handler: the
 * thread runs on its M's TCB in between (see fork_prepare). */
static struct g *forking_g;

/* Runs last of the prepare handlers (registered first, at init), right
 * before glibc forks.  The thread moves to its M's own TCB for glibc's
 * part of the fork: in the child glibc recycles the stack of every thread
 * but the one its TCB names, and the M's kernel stack (this thread's g0
 * stack) must not be among them; the kernel also writes the child's tid
 * into that TCB, where it belongs. */
static void fork_prepare(void)
{
	/* Before the fork too: an fd another thread creates from here on is
	 * the child's as well. */
	fork_epoch_bump();
	struct g *gp = getg_user();
	if (!gp)
		return;
	lock(&sched.lock);
	lock(&sched.gflock);
	stack_fork_lock(true);
	rt_alloc_fork_lock(true);
	forking_g = gp;
	if (likely(!godebug.notlsswitch))
		tls_set(gp->m->g0->tp);
}

/* First of the parent's and child's handlers: back on the G's TCB. */
static struct g *fork_resume(void)
{
	struct g *gp = forking_g;
	if (!gp)
		return NULL;
	forking_g = NULL;
	if (likely(!godebug.notlsswitch))
		tls_set(gp->tp);
	return gp;
}

static void fork_parent(void)
{
	fork_epoch_bump();
	if (!fork_resume())
		return;
	rt_alloc_fork_lock(false);
	stack_fork_lock(false);
	unlock(&sched.gflock);
	unlock(&sched.lock);
}

static void fork_child(void)
{
	fork_epoch_bump();
	struct g *gp = fork_resume();
	if (!gp)
		return;
	struct m *mp = gp->m;
	struct p *mine = mp->p;

	lockrank_fork_child();
	sched.lock = (struct rt_lock)RT_LOCK_INIT(RANK_SCHED);
	sched.gflock = (struct rt_lock)RT_LOCK_INIT(RANK_GFREE);
	stack_fork_child();
	rt_alloc_fork_child();

	mp->alllink = NULL;
	mp->spinning = false;
	mp->tid = gettid();
	atomic_store(&allm, mp);
	atomic_store(&mcount, 1);
	sched.midle = NULL;
	sched.nmidle = 0;
	atomic_store(&sched.nmspinning, 0);
	sched.runqhead = sched.runqtail = NULL;
	atomic_store(&sched.runqsize, 0);
	sched.pidle = NULL;
	atomic_store(&sched.npidle, 0);
	for (int32_t i = 0; i < nallp; i++) {
		struct p *pp = allp[i];
		atomic_store(&pp->runqhead, 0);
		atomic_store(&pp->runqtail, 0);
		atomic_store(&pp->runnext, NULL);
		pp->timers_lock = (struct rt_lock)RT_LOCK_INIT(RANK_TIMERS);
		pp->timers.len = 0;
		atomic_store(&pp->timer0when, 0);
		if (pp != mine) {
			pp->m = NULL;
			atomic_store(&pp->status, P_IDLE);
		}
	}
	spare_fork_child(mine);
	for (int32_t i = gomaxprocs - 1; i >= 0; i--)
		if (allp[i] != mine)
			pidle_put(allp[i]);
	atomic_store(&sched.nthreads, 1);
	g1_fork_child(gp);
	sema_fork_child();
	sigintr_fork_child(gp);
	if (netpoll_fork_child() != 0)
		rt_throw("fork: cannot create the child's netpoller");
	atomic_store(&sched.lastpoll, nanotime());
	atomic_store(&sched.polluntil, 0);
	sysmon_fork_child();
}

void fork_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
