/*
 * proc.c — life cycle of Gs, Ms and Ps: runtime init (the main thread
 * becomes G1 on M0), G creation and exit, the free-G lists, M creation.
 *
 * G structs live in chunks of GCHUNK, mapped as needed, and are never
 * returned to the OS, as in Go: a pthread_t is a G's address, and checking
 * a pthread_t is a range and status check, never a dereference of freed
 * memory.  (Chunks rather than one large reservation: a program run under
 * `ulimit -v` must not lose gigabytes of its address space to goshim.)  A dead G keeps its stack while it waits in a free list, so
 * creating a thread of the usual size reuses both at once.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libc_real.h"
#include "runtime.h"

void (*robust_exit)(struct g *gp);

struct schedt sched = { .lock = RT_LOCK_INIT(RANK_SCHED), .gflock = RT_LOCK_INIT(RANK_GFREE) };
struct p **allp;
int32_t gomaxprocs;
_Atomic(struct m *) allm;
_Atomic int32_t mcount;
__thread struct g *g_cur __attribute__((tls_model("initial-exec")));

/* ---------------------------------------------------------------- allocation */

static struct rt_lock alloc_lock = RT_LOCK_INIT(RANK_ALLOC);
static char *alloc_cur, *alloc_end;

/* Bump allocator for runtime objects (Ms, Ps, g0s): mmap'd, zeroed, never
 * freed, and never the program's malloc (contract 6 of DESIGN.md). */
void *rt_alloc(size_t size)
{
	size = (size + 63) & ~(size_t)63;
	lock(&alloc_lock);
	if ((size_t)(alloc_end - alloc_cur) < size) {
		size_t chunk = size > (1u << 20) ? size : (1u << 20);
		char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			rt_throw("rt_alloc: out of memory");
		alloc_cur = p;
		alloc_end = p + chunk;
	}
	void *r = alloc_cur;
	alloc_cur += size;
	unlock(&alloc_lock);
	return r;
}


/* ---------------------------------------------------------------- allgs */

#define GCHUNK (1u << 14)       /* Gs per chunk */
#define GCHUNKS_MAX 256         /* at most 4M Gs ever allocated */

static struct g *_Atomic gchunks[GCHUNKS_MAX]; /* published before allglen */
static _Atomic uint32_t allglen;                /* Gs handed out; only grows */
static struct rt_lock allglock = RT_LOCK_INIT(RANK_ALLG);

/* A new G struct (zeroed, J_FREE), or NULL when none can be had.  Rare:
 * exited Gs are reused from the free lists first. */
static struct g *allocg(void)
{
	struct g *gp = NULL;
	lock(&allglock);
	uint32_t i = atomic_load_explicit(&allglen, memory_order_relaxed);
	uint32_t c = i / GCHUNK;
	if (c < GCHUNKS_MAX && !atomic_load_explicit(&gchunks[c], memory_order_relaxed)) {
		void *m = mmap(NULL, (size_t)GCHUNK * sizeof(struct g), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m != MAP_FAILED)
			atomic_store_explicit(&gchunks[c], m, memory_order_release);
	}
	if (c < GCHUNKS_MAX && atomic_load_explicit(&gchunks[c], memory_order_relaxed)) {
		gp = &gchunks[c][i % GCHUNK];
		gp->join_state = J_FREE;
		gp->ownerid = (int32_t)i + 1;
		/* store-release: readers of allglen see the chunk and the G */
		atomic_store_explicit(&allglen, i + 1, memory_order_release);
	}
	unlock(&allglock);
	return gp;
}

bool g_valid(const struct g *gp)
{
	uint32_t n = atomic_load_explicit(&allglen, memory_order_acquire);
	for (uint32_t c = 0; c * GCHUNK < n; c++) {
		struct g *base = atomic_load_explicit(&gchunks[c], memory_order_acquire);
		if (gp < base || gp >= base + GCHUNK)
			continue;
		uintptr_t off = (uintptr_t)gp - (uintptr_t)base;
		if (off % sizeof(struct g) != 0 || c * GCHUNK + off / sizeof(struct g) >= n)
			return false;
		return atomic_load(&gp->join_state) != J_FREE && !gp->is_g0;
	}
	return false;
}

/* Fork: the allocators' locks (rt_alloc, allglock) are held across the
 * fork, so no other M is in the middle of an allocation. */
void rt_alloc_fork_lock(bool take)
{
	if (take) {
		lock(&alloc_lock);
		lock(&allglock);
	} else {
		unlock(&allglock);
		unlock(&alloc_lock);
	}
}

void rt_alloc_fork_child(void)
{
	alloc_lock = (struct rt_lock)RT_LOCK_INIT(RANK_ALLOC);
	allglock = (struct rt_lock)RT_LOCK_INIT(RANK_ALLG);
}

uint32_t allg_count(void)
{
	return atomic_load_explicit(&allglen, memory_order_acquire);
}

struct g *allg_at(uint32_t i)
{
	return &atomic_load_explicit(&gchunks[i / GCHUNK], memory_order_acquire)[i % GCHUNK];
}

/* ---------------------------------------------------------------- free Gs */

/* Puts a dead G, with its stack, on pp's free list (global when pp is
 * NULL); half of a full local list moves to the global one. */
static void gfput(struct p *pp, struct g *gp)
{
	if (!gp->stack.owned)
		gp->stack = (struct stack){ 0 };
	if (!pp) {
		lock(&sched.gflock);
		gp->schedlink = sched.gfree;
		sched.gfree = gp;
		sched.ngfree++;
		unlock(&sched.gflock);
		return;
	}
	gp->schedlink = pp->gfree;
	pp->gfree = gp;
	if (++pp->gfreecnt < GFREE_LOCAL_MAX)
		return;
	lock(&sched.gflock);
	while (pp->gfreecnt > GFREE_LOCAL_MAX / 2) {
		struct g *g1 = pp->gfree;
		pp->gfree = g1->schedlink;
		pp->gfreecnt--;
		g1->schedlink = sched.gfree;
		sched.gfree = g1;
		sched.ngfree++;
	}
	unlock(&sched.gflock);
}

static struct g *gfget(struct p *pp)
{
	struct g *gp;
	if (!pp) {
		lock(&sched.gflock);
		gp = sched.gfree;
		if (gp) {
			sched.gfree = gp->schedlink;
			sched.ngfree--;
		}
		unlock(&sched.gflock);
		return gp;
	}
	if (!pp->gfree && sched.ngfree > 0) {
		lock(&sched.gflock);
		while (pp->gfreecnt < GFREE_LOCAL_MAX / 2 && sched.gfree) {
			struct g *g1 = sched.gfree;
			sched.gfree = g1->schedlink;
			sched.ngfree--;
			g1->schedlink = pp->gfree;
			pp->gfree = g1;
			pp->gfreecnt++;
		}
		unlock(&sched.gflock);
	}
	gp = pp->gfree;
	if (gp) {
		pp->gfree = gp->schedlink;
		pp->gfreecnt--;
	}
	return gp;
}

static struct p *current_p(void)
{
	struct g *me = getg();
	return (me && me->m) ? me->m->p : NULL;
}

/* Reaps an exited G for its joiner or detacher: waits out the moment
 * between its exit and the end of its switch away (goexit0), then frees. */
void g_reap_exited(struct g *gp)
{
	/* load-acquire: pairs with goexit0's store-release.  The dying G's M
	 * is between two instructions of its switch, unless the kernel took
	 * its CPU away: then let others run rather than spin. */
	for (int i = 0; atomic_load_explicit(&gp->status, memory_order_acquire) != G_DEAD; i++) {
		if (i < 100)
			__builtin_ia32_pause();
		else if (getg_user())
			gosched();
		else
			rt_syscall0(SYS_sched_yield);
	}
	g_reap(gp);
}

void g_reap(struct g *gp)
{
	atomic_store(&gp->join_state, J_FREE);
	gfput(current_p(), gp);
}

/* ---------------------------------------------------------------- stacks */

static size_t default_stack;   /* bytes, as glibc's __default_pthread_attr */
static size_t page;

size_t default_stack_size(void)
{
	return default_stack;
}

void set_default_stack_size(size_t sz)
{
	default_stack = sz;
}

static void init_default_stack(void)
{
	struct rlimit rl;
	page = (size_t)sysconf(_SC_PAGESIZE);
	if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		default_stack = STACK_DEFAULT_BYTES;
	else if (rl.rlim_cur < (rlim_t)16384)
		default_stack = 16384;
	else
		default_stack = (rl.rlim_cur + page - 1) & ~(page - 1);
}

/* ---------------------------------------------------------------- G start/exit */

/* First function of every new G, entered through rt_ctx_start by switch_to. */
void g_start(void *arg)
{
	struct g *gp = arg;
	finish_switch(gp->m);
	tls_start(gp);
	fpctl_load(&gp->fpctl);
	errno = 0;
	goexit(gp->start(gp->arg));
}

static void reset_g(struct g *gp)
{
	gp->retval = NULL;
	gp->waitreason = WAIT_NONE;
	gp->cleanup = NULL;
	gp->cancel_state = PTHREAD_CANCEL_ENABLE;
	gp->cancel_type = PTHREAD_CANCEL_DEFERRED;
	atomic_store_explicit(&gp->cancelbits, 0, memory_order_relaxed);
	/* A new thread has no signals pending. */
	atomic_store_explicit(&gp->sigpend, 0, memory_order_relaxed);
	atomic_store_explicit(&gp->sigqueued, 0, memory_order_relaxed);
	atomic_store_explicit(&gp->sigwaitset, 0, memory_order_relaxed);
	/* Nor a handler running (the last one may have left by
	 * pthread_exit from a handler). */
	atomic_store_explicit(&gp->hmask, 0, memory_order_relaxed);
	atomic_store_explicit(&gp->raising, 0, memory_order_relaxed);
	gp->affinity = NULL;
	gp->affinity_size = 0;
	atomic_store(&gp->joiner, NULL);
}

/* A fresh goid, from pp's batch when there is a P. */
static uint64_t new_goid(struct p *pp)
{
	if (!pp)
		return atomic_fetch_add(&sched.goidgen, 1) + 1;
	if (pp->goidcache == pp->goidcacheend) {
		pp->goidcache = atomic_fetch_add(&sched.goidgen, GOID_BATCH) + 1;
		pp->goidcacheend = pp->goidcache + GOID_BATCH;
	}
	return pp->goidcache++;
}

int newproc(const struct g_attr *a, void *(*start)(void *), void *arg, uintptr_t *out)
{
	struct p *pp = current_p();
	/* As glibc: the guard comes on top of the requested size, so the
	 * thread gets (and pthread_getattr_np reports) all of it. */
	size_t guard = (a->guard_size + page - 1) & ~(page - 1);
	size_t size = (a->stack_size ? a->stack_size : default_stack) + guard;
	if (size < guard)
		return -EAGAIN;
	size = (size + page - 1) & ~(page - 1);

	struct g *gp = gfget(pp);
	if (!gp && !(gp = allocg()))
		return -EAGAIN;
	if (gp->stack.lo && (a->stack_addr || gp->stack.guard != guard ||
	    (size_t)(gp->stack.hi - gp->stack.lo) + gp->stack.guard != size))
		stack_free(&gp->stack);
	if (a->stack_addr) {
		gp->stack = (struct stack){
			.lo = (char *)a->stack_addr - a->stack_size,
			.hi = a->stack_addr, .guard = 0, .owned = false };
	} else if (!gp->stack.lo) {
		int err = stack_alloc(&gp->stack, size, guard);
		if (err) {
			gp->stack = (struct stack){ 0 };
			gfput(pp, gp);
			return err == -EINVAL ? -EINVAL : -EAGAIN;
		}
	}

	if (tls_setup(gp) != 0) {
		gfput(pp, gp);
		return -EAGAIN;
	}
	reset_g(gp);
	gp->start = start;
	gp->arg = arg;
	gp->goid = new_goid(pp);
	struct g *me = getg_user();
	gp->creator = me ? me->goid : 0;
	gp->guard_size = guard;
	if (a->explicit_sched) {
		gp->sched_policy = a->sched_policy;
		gp->sched_param = a->sched_param;
	} else if (me) {
		gp->sched_policy = me->sched_policy;
		gp->sched_param = me->sched_param;
	} else {
		gp->sched_policy = SCHED_OTHER;
		gp->sched_param.sched_priority = 0;
	}
	/* Its signal mask: the attribute's, else its creator's. */
	uint64_t mask = a->sigmask ? *(const uint64_t *)a->sigmask
				   : me ? atomic_load(&me->sigmask) : kernel_sigmask();
	atomic_store_explicit(&gp->sigmask, mask, memory_order_relaxed);
	sigintr_mask_born(mask);
	/* Linux: a new thread starts with its creator's name. */
	if (me)
		memcpy(gp->name, me->name, sizeof gp->name);
	if (a->affinity && a->affinity_size) {
		gp->affinity = malloc(a->affinity_size);
		if (gp->affinity) {
			memcpy(gp->affinity, a->affinity, a->affinity_size);
			gp->affinity_size = a->affinity_size;
		}
	}
	gp->ctx.sp = NULL;
	fpctl_save(&gp->fpctl);
	atomic_store(&gp->join_state, a->detached ? J_DETACHED : J_JOINABLE);
	atomic_fetch_add(&sched.nthreads, 1);
	atomic_store(&gp->status, G_RUNNABLE);
	/* The ID is stored before the thread can run, as glibc does. */
	*out = (uintptr_t)gp;

	runq_put_here(gp);
	return 0;
}

/* After the switch away from a dying G: it is off its stack, so it is
 * DEAD now, and a detached one goes to the free list. */
static void goexit0(struct g *gp, void *detached)
{
	tls_release(gp);
	/* store-release: a reaper that sees DEAD may reuse the stack */
	atomic_store_explicit(&gp->status, G_DEAD, memory_order_release);
	if (detached)
		g_reap(gp);
}

/* G1 has ended (it called pthread_exit): signals go to the others. */
static _Atomic bool g1_exited;
/* The main thread: G1, or in a fork child the G that forked. */
static struct g *g1;

bool g_is_main(const struct g *gp)
{
	/* Its struct may serve another G once it has exited. */
	return gp == g1 && !atomic_load_explicit(&g1_exited, memory_order_relaxed);
}

void g1_fork_child(struct g *gp)
{
	g1 = gp;
	atomic_store(&g1_exited, false);
}

bool g1_takes_signal(uint64_t bit)
{
	return !atomic_load_explicit(&g1_exited, memory_order_relaxed) &&
	       !(atomic_load_explicit(&g1->sigmask, memory_order_relaxed) & bit);
}

void m_setmask(struct m *mp, uint64_t mask)
{
	rt_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
	__atomic_store_n(&mp->kmask, mask, __ATOMIC_RELAXED);
}

uint64_t kernel_sigmask(void)
{
	uint64_t cur = 0;
	rt_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, 8);
	return cur;
}

/* Ends the calling G.  Its joiner is woken from here, before the switch,
 * so that it usually runs next on this very M (runnext) without a trip
 * through g0; the joiner reaps the G only once goexit0 marked it DEAD. */
void goexit(void *retval)
{
	struct g *gp = getg_user();
	if (gp == g1)
		atomic_store(&g1_exited, true);
	gp->retval = retval;
	tls_exit();
	tsd_run_destructors();
	if (gp->robust_list)
		robust_exit(gp);
	if (gp->affinity) {
		free(gp->affinity);
		gp->affinity = NULL;
	}
	sigintr_mask_died(atomic_load(&gp->sigmask));
	/* The last thread to end ends the process, as when main returns. */
	if (atomic_fetch_sub(&sched.nthreads, 1) == 1)
		exit(0);
	uint32_t js = J_JOINABLE;
	bool detached = !atomic_compare_exchange_strong(&gp->join_state, &js, J_EXITED);
	if (!detached)
		sema_wake(&gp->join_state, INT_MAX);
	mcall(goexit0, detached ? gp : NULL);
	rt_throw("goexit: dead G resumed");
}

/* ---------------------------------------------------------------- Ms */

static void m_name(struct m *mp)
{
	char name[16];
	const char *digits = "0123456789";
	char num[24];
	int n = 0;
	int64_t v = mp->id;
	do {
		num[n++] = digits[v % 10];
		v /= 10;
	} while (v && n < 20);
	strcpy(name, "goshim-m");
	size_t len = strlen(name);
	while (n > 0 && len < sizeof name - 1)
		name[len++] = num[--n];
	name[len] = 0;
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

static void m_link(struct m *mp)
{
	struct m *head = atomic_load(&allm);
	do {
		mp->alllink = head;
	} while (!atomic_compare_exchange_weak(&allm, &head, mp));
	atomic_fetch_add(&mcount, 1);
}

static struct m *allocm(void)
{
	struct m *mp = rt_alloc(sizeof *mp);
	mp->g0 = rt_alloc(sizeof(struct g));
	mp->g0->is_g0 = true;
	mp->g0->m = mp;
	lock(&sched.lock);
	mp->id = sched.mnext++;
	unlock(&sched.lock);
	mp->fastrand = (uint32_t)(mp->id * 2654435761u) | 1;
	return mp;
}

static void *mstart(void *arg)
{
	struct m *mp = arg;
	g_cur = mp->g0;
	mp->g0->tp = tls_current();
	mp->tid = (int)rt_syscall0(SYS_gettid);
	mp->kmask = kernel_sigmask();
	m_name(mp);
	struct p *pp = mp->nextp;
	mp->nextp = NULL;
	acquire_p(pp);
	sched_loop(mp);
}

/* Starts a kernel thread running fn(mp) for a new M; the M joins allm
 * once its thread exists.  Returns NULL if it could not be created. */
static struct m *spawn_m(struct m *mp, void *(*fn)(void *))
{
	pthread_t th;
	if (real.pthread_create(&th, NULL, fn, mp) != 0)
		return NULL;
	pthread_attr_t attr;
	void *lo;
	size_t size;
	if (real.pthread_getattr_np(th, &attr) == 0) {
		if (real.pthread_attr_getstack(&attr, &lo, &size) == 0)
			tls_learn_stack(th, lo, size);
		real.pthread_attr_destroy(&attr);
	}
	m_link(mp);
	return mp;
}

/* Starts a new M that will run with pp, spinning or not. */
struct m *newm(struct p *pp, bool spinning)
{
	struct m *mp = allocm();
	mp->nextp = pp;
	mp->spinning = spinning;
	return spawn_m(mp, mstart);
}

/* Starts an M that runs fn instead of the scheduler and never holds a P,
 * as Go's sysmon. */
struct m *newm_nop(void *(*fn)(void *))
{
	return spawn_m(allocm(), fn);
}

/* ---------------------------------------------------------------- init */

static void init_main_g(struct m *m0)
{
	g1 = allocg();
	if (!g1)
		rt_throw("rt_init: cannot allocate G1");
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;

	g1->goid = new_goid(NULL);
	if (real.pthread_getattr_np(real.pthread_self(), &attr) == 0) {
		real.pthread_attr_getstack(&attr, &addr, &size);
		real.pthread_attr_destroy(&attr);
	}
	g1->stack = (struct stack){ .lo = addr, .hi = (char *)addr + size,
				    .guard = 0, .owned = false };
	reset_g(g1);
	g1->guard_size = page;
	g1->sched_policy = SCHED_OTHER;
	prctl(PR_GET_NAME, g1->name, 0, 0, 0);
	atomic_store(&g1->join_state, J_JOINABLE);
	atomic_store(&g1->status, G_RUNNING);
	g1->m = m0;
	m0->curg = g1;
	atomic_store(&sched.nthreads, 1);
	g1->tp = tls_current();
	atomic_store(&g1->sigmask, kernel_sigmask());
	sigintr_mask_born(g1->sigmask);
	g_cur = g1;
}

static int init_once(void)
{
	real_init();
	tls_init();
	init_default_stack();
	env_parse();
	sched.starttime = nanotime();
	atomic_store(&sched.lastpoll, sched.starttime);
	if (netpoll_init() != 0)
		rt_throw("rt_init: cannot create the netpoller");
	intr_init();

	nallp = 2 * gomaxprocs;
	allp = rt_alloc(sizeof(struct p *) * (size_t)nallp);
	for (int32_t i = 0; i < nallp; i++) {
		struct p *pp = rt_alloc(sizeof *pp);
		pp->id = i;
		pp->timers_lock.rank = RANK_TIMERS;
		allp[i] = pp;
	}
	spare_init();
	struct m *m0 = allocm();
	m0->tid = (int)rt_syscall0(SYS_gettid);
	m0->kmask = kernel_sigmask();
	tls_setup_g0(m0->g0);
	if (stack_alloc(&m0->g0->stack, 256 << 10, page) != 0)
		rt_throw("rt_init: no stack for m0's g0");
	m_link(m0);
	init_main_g(m0);
	acquire_p(allp[0]);
	lock(&sched.lock);
	for (int32_t i = gomaxprocs - 1; i >= 1; i--)
		pidle_put(allp[i]);
	unlock(&sched.lock);
	fork_init();
	if (godebug.schedtrace > 0)
		sysmon_start();
	return 0;
}

_Atomic uint32_t rt_init_state;
static _Atomic int init_tid;

int rt_init_slow(void)
{
	if (atomic_load_explicit(&rt_init_state, memory_order_acquire) == 2)
		return 0;
	uint32_t z = 0;
	if (atomic_compare_exchange_strong(&rt_init_state, &z, 1)) {
		atomic_store(&init_tid, (int)rt_syscall0(SYS_gettid));
		init_once();
		atomic_store_explicit(&rt_init_state, 2, memory_order_release);
		rt_futex_wake(&rt_init_state, INT_MAX);
		return 0;
	}
	if (atomic_load(&init_tid) == (int)rt_syscall0(SYS_gettid))
		return -EBUSY;
	while (atomic_load_explicit(&rt_init_state, memory_order_acquire) != 2)
		rt_futex_wait(&rt_init_state, 1, NULL);
	return 0;
}

__attribute__((constructor(101))) static void goshim_ctor(void)
{
	rt_init();
}
