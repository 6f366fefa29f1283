/*
 * runtime.h — the goshim runtime in one header, as Go's runtime2.go.
 *
 * struct g (a program thread), struct m (a kernel thread), struct p (the
 * right to run one G), struct schedt sched (global state), the state enums,
 * then prototypes grouped by subsystem, tunables last.  The concepts and the
 * protocols named in comments here are explained at the top of sched.c.
 *
 * Every field says what protects it: "sched.lock", "owner" (only the M
 * holding the P, or only the G itself, touches it), "atomic", or "immutable"
 * (written before the object is published).
 */
#ifndef GOSHIM_RUNTIME_H
#define GOSHIM_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unwind.h>

#include "arch/x86_64/rawsyscall.h"
#include "lockrank.h"

#define RT_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* The structure of type T whose member m p points to. */
#define container_of(p, T, m) ((T *)(void *)((char *)(p) - offsetof(T, m)))

/* ---------------------------------------------------------------- locks */

/* A runtime mutex on a raw futex (0 unlocked, 1 locked, 2 contended).  Held
 * only for short, non-blocking sections; never across a park.  Usable from
 * Gs, g0, sysmon and foreign threads alike.  Ranks: src/lockrank.h. */
struct rt_lock {
	_Atomic uint32_t key;
	uint8_t rank;   /* enum lock_rank, checked with --enable-debug */
};

#define RT_LOCK_INIT(r) { .key = 0, .rank = (r) }

/* A one-shot wake-up for one sleeping kernel thread (Go's note). */
struct note {
	_Atomic uint32_t key;
};

/* The runtime locks a kernel thread holds, checked in --enable-debug
 * builds: per M, since a lock taken by a G may be released by the after-
 * function of its switch, in another context of the same M. */
struct lockranks {
	uint8_t held[16];
	int n;
};

void lock(struct rt_lock *l);
void unlock(struct rt_lock *l);
void lock2(struct rt_lock *a, struct rt_lock *b);
void unlock2(struct rt_lock *a, struct rt_lock *b);
void note_clear(struct note *n);
void note_wakeup(struct note *n);
void note_sleep(struct note *n);

/* Raw futex helpers (private futexes). */
int rt_futex_wait(_Atomic uint32_t *addr, uint32_t val, const struct timespec *rel);
int rt_futex_wake(_Atomic uint32_t *addr, int n);

/* ---------------------------------------------------------------- arch */

/* A suspended execution context: the saved stack pointer; the rest lives on
 * that stack (see src/arch/x86_64/switch.S). */
struct ctx {
	void *sp;
};

void rt_ctx_switch(struct ctx *save, const struct ctx *load);
void rt_ctx_start(struct ctx *save, void *stack_top, void (*fn)(void *), void *arg)
	__attribute__((returns_twice));
void rt_ctx_entry(void);
/* The restorer of the runtime's own signal handlers (sigreturn.S). */
void rt_sigreturn(void);

/* A spin-wait iteration. */
static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

/* Floating-point control state a new thread inherits from its creator. */
struct fpctl {
	uint32_t mxcsr;
	uint16_t x87cw;
};

static inline void fpctl_save(struct fpctl *f)
{
	__asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(f->mxcsr), "=m"(f->x87cw));
}

static inline void fpctl_load(const struct fpctl *f)
{
	__asm__ volatile("ldmxcsr %0\n\tfldcw %1" : : "m"(f->mxcsr), "m"(f->x87cw));
}

/* ---------------------------------------------------------------- stacks */

struct stack {
	char *lo;       /* lowest usable byte (just above the guard) */
	char *hi;       /* one past the highest usable byte */
	size_t guard;   /* bytes of PROT_NONE below lo */
	bool owned;     /* mapped by goshim (false: the program's own stack) */
	unsigned vg_id; /* Valgrind's stack id (--enable-valgrind) */
};

/* Maps a stack of size bytes in all (rounded up to pages), the lowest guard
 * bytes of it PROT_NONE.  Returns 0, -EINVAL (guard >= size) or -EAGAIN.
 * Reuses cached stacks of the same size and guard. */
int stack_alloc(struct stack *s, size_t size, size_t guard);
void stack_free(struct stack *s);
/* Returns cached stacks unused for longer than max_idle_ns to the OS. */
void stack_scavenge(int64_t now, int64_t max_idle_ns);
/* Number of stacks in the cache (diagnostics, tests). */
size_t stack_cache_count(void);
void stack_cache_flush(void);

/* ---------------------------------------------------------------- memory */

struct iovec;
/* Gives advice on n ranges of the process's memory in one system call;
 * false if not all were advised, and *works cleared for good when the
 * kernel refuses the call or the advice. */
bool mem_advise(const struct iovec *iov, int n, int advice, _Atomic bool *works);
/* Commits the pages of n ranges now, best effort (mem.c). */
void mem_populate(const struct iovec *iov, int n);

/* ---------------------------------------------------------------- timers */

enum {
	TIMER_IDLE,     /* not in any heap */
	TIMER_WAITING,  /* in pp->timers */
	TIMER_RUNNING,  /* popped, its function is running */
};

/* A timer fires f(t) on some M holding a P, no runtime lock held, once
 * when <= nanotime(); when must be positive.  The timer lives in the memory of its owner (often the
 * stack of a parked G): timer_del waits out a running f, so after timer_del
 * returns the memory may go. */
struct timer {
	int64_t when;                   /* protected by pp->timers_lock */
	int32_t idx;                    /* heap index; pp->timers_lock */
	_Atomic int32_t state;          /* TIMER_*; writes under pp->timers_lock */
	struct p *pp;                   /* heap it is in or was last in */
	void (*f)(struct timer *t);     /* immutable while queued */
	void *arg;                      /* for f */
};

/* A 4-ary min-heap of timers ordered by when. */
struct timer_heap {
	struct timer **v;
	int32_t len;
	int32_t cap;
};

int timer_heap_push(struct timer_heap *h, struct timer *t);
struct timer *timer_heap_pop(struct timer_heap *h);
void timer_heap_remove(struct timer_heap *h, struct timer *t);
static inline struct timer *timer_heap_top(const struct timer_heap *h)
{
	return h->len ? h->v[0] : NULL;
}

/* Queues t; wakes whoever must notice a new earliest timer.  No runtime
 * lock may be held (the wake may start an M); under a lock use
 * timer_add_nowake, then timer_wake once unlocked. */
void timer_add(struct p *pp, struct timer *t);
bool timer_add_nowake(struct p *pp, struct timer *t);
void timer_wake(int64_t when);
/* Removes t if still queued.  Returns true if this call removed it (or it
 * was never queued at all), false if it fired or was already removed.
 * Waits while its function runs. */
bool timer_del(struct timer *t);
/* Runs pp's expired timers; returns the next pending when (0: none). */
int64_t timers_check(struct p *pp, int64_t *now, bool *ran);
/* Earliest pending when of pp's heap, 0 if none (racy read allowed). */
int64_t timers_next(struct p *pp);

/* ---------------------------------------------------------------- G, M, P */

/* Numbered as Go's _Gidle.._Gdead so schedtrace output reads the same. */
enum gstatus {
	G_IDLE = 0,     /* just allocated */
	G_RUNNABLE = 1, /* on a run queue */
	G_RUNNING = 2,  /* on an M with a P */
	G_SYSCALL = 3,  /* in a blocking system call (hand-off: later step) */
	G_WAITING = 4,  /* parked */
	G_DEAD = 6,     /* exited */
};

enum wait_reason {
	WAIT_NONE,
	WAIT_SLEEP,
	WAIT_JOIN,
	WAIT_ONCE,
	WAIT_SEMA,
	WAIT_MUTEX,
	WAIT_COND,
	WAIT_RWLOCK,
	WAIT_BARRIER,
	WAIT_SEMAPHORE,
	WAIT_FUTEX,
	WAIT_IO,        /* one fd, read or write */
	WAIT_POLL,      /* poll, select, epoll_wait */
	WAIT_NREASONS,
};

/* Join life cycle of a G (gp->join_state, atomic). */
enum {
	J_JOINABLE,
	J_DETACHED,
	J_EXITED,     /* exited, joinable: waits for pthread_join */
	J_FREE,       /* reaped: stale pthread_t values get ESRCH */
};

#define TSD_INLINE 32
#define TSD_BLOCKS 32 /* TSD_INLINE * TSD_BLOCKS >= PTHREAD_KEYS_MAX */

struct tsd_slot {
	uintptr_t seq;  /* key sequence number when data was set */
	void *data;
};

/* Thread-specific data of one thread, in its TLS (tsd.c). */
struct tsd {
	struct tsd_slot inl[TSD_INLINE];
	struct tsd_slot *blk[TSD_BLOCKS];  /* lazily malloc'd, freed at exit */
	bool used;                         /* any slot set since last clear */
	bool blocks;                       /* any block allocated */
};

/* A C cleanup buffer of pthread_cleanup_push without exceptions, in
 * glibc's layout (struct pthread_unwind_buf), chained per G. */
struct unwind_buf {
	struct {
		long jmp_buf[8];
		int mask_was_saved;
	} cancel_jmp_buf[1];
	union {
		void *pad[4];
		struct {
			struct unwind_buf *prev;
			void *cleanup;
			int canceltype;
		} data;
	} priv;
};
#define JB_RSP 6

struct g {
	struct ctx ctx;                 /* owner, or the M switching it; sp
					 * NULL: not started (rt_ctx_start) */
	struct fpctl fpctl;             /* creator's, loaded at start */
	struct stack stack;             /* immutable while alive */
	_Atomic int32_t status;         /* enum gstatus */
	struct m *m;                    /* M running it; owner */
	struct m *lockedm;              /* the M it must resume on (exitsyscall0) */
	struct g *schedlink;            /* run queue / free list link */
	uint64_t goid;                  /* immutable while alive */
	int32_t ownerid;                /* mutex owner id: slot + 1; immutable */
	void *robust_list;              /* robust mutexes held; owner */
	void *tp;                       /* thread pointer (FS base): its TCB */
	char *tls_block;                /* its TLS block, kept across reuse */
	bool tls_reused;                /* the block served an earlier G */
	bool tls_dtv_kept;              /* its DTV outlived the last G */
	size_t tls_gen;                 /* DTV generation after setup */

	void *(*start)(void *);         /* immutable */
	void *arg;
	void *retval;
	_Atomic uint32_t join_state;    /* J_*: futex word for joiners */
	_Atomic(struct g *) joiner;     /* the one G allowed to join */
	uint64_t creator;               /* goid of the creating G, 0 if none */

	enum wait_reason waitreason;    /* owner, read racily by traces */
	int64_t waitsince;              /* ns, when it parked (sched.coarsenow) */

	/* pthread attributes as created or changed later; owner or creator. */
	size_t guard_size;
	int sched_policy;
	struct sched_param sched_param;
	cpu_set_t *affinity;            /* NULL: process mask */
	size_t affinity_size;
	int cancel_state, cancel_type;  /* owner */
	_Atomic uint32_t cancelbits;    /* CANCEL_*: any thread sets them */
	struct intrhook *_Atomic intr;  /* its interruptible wait (intr.c) */
	char name[16];
	/* The signals it blocks (bit sig-1), as the program set them for it;
	 * written by its owner, read by sigintr_post's victim choice. */
	_Atomic uint64_t sigmask;
	/* Signals pthread_kill sent it, not raised yet: any thread sets
	 * them (sigintr_pend), the G raises them on its own kernel thread
	 * (sigintr.c), the standard ones in the order they came (sigstamp,
	 * index sig-1: sigstamps' count when each became pending). */
	_Atomic uint64_t sigpend;
	_Atomic uint16_t sigstamp[31];
	_Atomic uint16_t sigstamps;
	/* Of those, the ones pthread_sigqueue sent, with their values
	 * (allocated with the first, kept with the G struct). */
	_Atomic uint64_t sigqueued;
	_Atomic(union sigval *) sigvals;
	/* The signals its system call waits for (sigwait, sigsuspend), 0
	 * when in none: pthread_kill kicks its M for one of them.  Owner. */
	_Atomic uint64_t sigwaitset;
	/* The address its sema wait is queued on (sema.c), NULL when in
	 * none: a signal sent to it finds the wait there.  Set by the owner
	 * as it queues and by a requeue, both under the address's root
	 * lock; cleared by the owner once woken. */
	_Atomic uint32_t *_Atomic semaddr;
	/* The signals sigintr_raise sends it at a point where the runtime
	 * holds nothing of it: the handler that runs for one may hand the P
	 * off for its blocking calls (shim/signal.c).  Owner. */
	_Atomic uint64_t raising;
	/* In a handler of the program: the mask in force there (the G's
	 * when the signal came, the handler's sa_mask, the signal), which
	 * signals sent to the G wait for as the kernel's would; 0 outside
	 * handlers.  Owner (shim/signal.c's trampoline). */
	_Atomic uint64_t hmask;

	struct unwind_buf *cleanup;     /* innermost C cleanup buffer; owner */
	struct _Unwind_Exception unwind_exc; /* pthread_exit's forced unwind */
	bool is_g0;                     /* immutable */

	struct g *alllink;              /* allgs list; allglock */
};

#define RUNQ_SIZE 256
#define CACHE_LINE 64

enum pstatus {
	P_IDLE,
	P_RUNNING,
	P_SYSCALL,
	P_SPARE,        /* a spare P not lent out (blocked.c) */
};

struct p {
	int32_t id;                     /* immutable */
	_Atomic int32_t status;         /* P_*; sched.lock for idle transitions */
	struct m *m;                    /* owner M, NULL when idle */
	struct p *link;                 /* sched.pidle; sched.lock */
	uint32_t schedtick;             /* owner; read racily by sysmon */
	_Atomic uint32_t nswitch;       /* every switch to a G; owner writes */
	_Atomic uint32_t syscalltick;   /* system calls entered; owner writes, sysmon reads */
	bool spare;                     /* lent while an M blocks unseen; immutable */
	_Atomic bool retire;            /* spare: back to the pool at the next switch */
	struct p *lent;                 /* the spare lent for this P; sysmon */

	/* Local run queue: lock-free, single producer (owner), many consumers
	 * (owner and stealers), as in Go. */
	_Alignas(CACHE_LINE) _Atomic uint32_t runqhead;
	_Atomic uint32_t runqtail;
	_Atomic(struct g *) runq[RUNQ_SIZE];
	/* The G to run next, ahead of runq: keeps a producer/consumer pair on
	 * one P.  Set by owner, taken by owner or stealers (CAS). */
	_Alignas(CACHE_LINE) _Atomic(struct g *) runnext;

	_Alignas(CACHE_LINE) struct g *gfree;                /* dead Gs with stacks; owner */
	int32_t gfreecnt;
	uint64_t goidcache, goidcacheend; /* next goids to hand out; owner */

	struct rt_lock timers_lock;
	struct timer_heap timers;       /* timers_lock */
	_Atomic int64_t timer0when;     /* timers' earliest when, 0: none */
};

struct m {
	int64_t id;                     /* immutable */
	struct g *g0;                   /* scheduler context; immutable */
	struct g *curg;                 /* G running now; owner */
	struct p *p;                    /* P held; owner */
	struct p *nextp;                /* P handed over by start_m */
	struct p *oldp;                 /* P left in P_SYSCALL by entersyscall */
	struct g *nextg;                /* G it runs next, ahead of any
					 * queue (exitsyscall0 with keepm); owner */
	bool spinning;                  /* owner; counted in sched.nmspinning */
	struct note park;               /* stop_m sleeps here */
	struct m *schedlink;            /* sched.midle; sched.lock */
	struct m *alllink;              /* allm; immutable once published */
	uint32_t fastrand;              /* owner */
	int tid;                        /* kernel thread id */
	_Atomic(struct g *) cancelkick; /* the G its last SIGCANCEL is for */
	uint64_t kmask;                 /* its kernel signal mask as goshim set it;
					 * owner writes, sysmon reads (relaxed) */
	struct lockranks ranks;         /* runtime locks held (--enable-debug) */

	/* The rest of a switch (see mcall): fn(gp, arg) runs on the context
	 * switched to, once gp is off its stack. */
	void (*after_fn)(struct g *gp, void *arg);
	struct g *after_gp;
	void *after_arg;
};

/* Fields that different Ms write often sit on cache lines of their own:
 * a spinning M's churn on the idle lists must not slow down the M that
 * creates and readies Gs (goid and thread counts, wake_p's reads). */
struct schedt {
	_Alignas(CACHE_LINE) struct rt_lock lock; /* lockrank: see lockrank.h */
	int64_t mnext;                  /* next M id; sched.lock */

	struct m *midle;                /* idle Ms; sched.lock */
	int32_t nmidle;                 /* sched.lock */
	struct p *pidle;                /* idle Ps; sched.lock */
	_Atomic int32_t npidle;         /* writes under sched.lock */
	_Atomic int32_t nmspinning;     /* spinning Ms */

	struct g *runqhead, *runqtail;  /* global run queue; sched.lock */
	_Atomic int32_t runqsize;       /* writes under sched.lock */

	_Alignas(CACHE_LINE) struct rt_lock gflock; /* global free Gs */
	struct g *gfree;
	int32_t ngfree;

	/* 0 while some M blocks in netpoll, else the time of the last poll. */
	_Alignas(CACHE_LINE) _Atomic int64_t lastpoll;
	/* when the blocked poller will wake up by itself (0: never). */
	_Atomic int64_t polluntil;
	int64_t starttime;              /* ns at init; immutable */
	/* nanotime() as of sysmon's last round (0 before sysmon runs): a
	 * clock for bookkeeping that costs a park no system call. */
	_Atomic int64_t coarsenow;

	/* Gs take ids GOID_BATCH at a time per P (pp->goidcache). */
	_Alignas(CACHE_LINE) _Atomic uint64_t goidgen;
	_Alignas(CACHE_LINE) _Atomic int32_t nthreads; /* program threads not yet exited */
};

extern struct schedt sched RT_HIDDEN;
extern struct p **allp RT_HIDDEN;
extern int32_t gomaxprocs RT_HIDDEN;
/* allp's length: gomaxprocs Ps, then one spare for each (blocked.c).
 * Loops that look for work or timers go over all of them. */
extern int32_t nallp RT_HIDDEN;
extern _Atomic(struct m *) allm RT_HIDDEN;
extern _Atomic int32_t mcount RT_HIDDEN;

/* The G running on this kernel thread: a program G, an M's g0, or NULL on a
 * thread goshim does not manage.  Initial-exec TLS: the library is preloaded. */
extern __thread struct g *g_cur __attribute__((tls_model("initial-exec"))) RT_HIDDEN;

static inline struct g *getg(void)
{
	return g_cur;
}

/* The calling program G, or NULL on g0, foreign threads and before init. */
static inline struct g *getg_user(void)
{
	struct g *gp = g_cur;
	return (gp && !gp->is_g0) ? gp : NULL;
}

/* ---------------------------------------------------------------- time */

static inline int64_t nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Monotonic time at tick resolution, for bookkeeping (wait-since stamps). */
static inline int64_t nanotime_coarse(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---------------------------------------------------------------- runq */

void runq_put(struct p *pp, struct g *gp, bool next);
struct g *runq_get(struct p *pp, bool *inherit_time);
struct g *runq_steal(struct p *pp, struct p *victim, bool steal_runnext);
bool runq_empty(struct p *pp);
uint32_t runq_size(struct p *pp);
void globrunq_put(struct g *gp);           /* sched.lock held */
void globrunq_put_batch(struct g *head, struct g *tail, int32_t n); /* sched.lock held */
struct g *globrunq_get(struct p *pp, int32_t max);           /* sched.lock held */

/* ---------------------------------------------------------------- sched */

/* Parks the running G.  On g0, after the G's context is saved, unlockf(gp,
 * arg) runs; if it returns false the G resumes at once. */
void park(bool (*unlockf)(struct g *gp, void *arg), void *arg, enum wait_reason reason);
/* Makes a parked G runnable; legal with or without a P. */
void ready(struct g *gp);
/* Readies gp, or, when list is given, pushes it on *list (schedlink) for
 * the caller to inject once its locks are released. */
static inline void ready_or_push(struct g *gp, struct g **list)
{
	if (list) {
		gp->schedlink = *list;
		*list = gp;
	} else {
		ready(gp);
	}
}
/* Queues a runnable G as the caller's P's runnext (without a P: on the
 * global queue), then wakes an idle P if one should run it. */
void runq_put_here(struct g *gp);
/* Readies a list of waiting Gs (schedlink), spreading them over idle Ps. */
void injectglist(struct g *list);
/* Puts the running G at the back of its P's queue and runs another. */
void gosched(void);
/* Leaves the running G and runs fn(gp, arg) once it is off its stack:
 * on the next G of the P's local queue when there is one, else on g0,
 * which then schedules.  Returns when gp is resumed. */
void mcall(void (*fn)(struct g *gp, void *arg), void *arg);
void wake_p(void);
void sched_loop(struct m *mp) __attribute__((noreturn));
void finish_switch(struct m *mp);
bool sched_has_work(struct p *pp);

/* ---------------------------------------------------------------- proc */

struct g_attr {
	size_t stack_size;   /* usable bytes; 0 = default */
	size_t guard_size;
	void *stack_addr;    /* program-provided stack top, or NULL */
	bool detached;
	int sched_policy;
	struct sched_param sched_param;
	bool explicit_sched;
	const cpu_set_t *affinity;
	size_t affinity_size;
	const sigset_t *sigmask;
};

/* 0: not started, 1: running, 2: done (proc.c). */
extern _Atomic uint32_t rt_init_state RT_HIDDEN;
int rt_init_slow(void);

/* Initializes the runtime once; returns 0 when ready, -EBUSY when called
 * again from inside initialization on the initializing thread (the caller
 * then goes to the real libc function). */
static inline int rt_init(void)
{
	if (likely(atomic_load_explicit(&rt_init_state, memory_order_acquire) == 2))
		return 0;
	return rt_init_slow();
}
/* Creates a G running start(arg); returns 0 or -EAGAIN/-EINVAL. */
int newproc(const struct g_attr *a, void *(*start)(void *), void *arg, uintptr_t *out);
/* Whether G1 (main) lives and does not block the signals of bit: the
 * thread the kernel gives a process-directed signal to. */
bool g1_takes_signal(uint64_t bit);
/* Whether gp is the main thread (G1; in a fork child, the forking G). */
bool g_is_main(const struct g *gp);
void g1_fork_child(struct g *gp);
/* The signal mask of the calling kernel thread. */
uint64_t kernel_sigmask(void);
/* Sets the calling M's kernel signal mask (and mp->kmask). */
void m_setmask(struct m *mp, uint64_t mask);
static inline uint64_t sigbit(int sig)
{
	return 1ull << (sig - 1);
}
/* The kernel's sigaction structure (rt_sigaction). */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};
/* Ends the calling G with retval; runs TSD destructors first. */
void goexit(void *retval) __attribute__((noreturn));
/* Unwinds the calling G's stack down to buf (NULL: to the end), then
 * exits it with gp->retval. */
void g_unwind(struct unwind_buf *buf) __attribute__((noreturn));
/* pthread_exit(retval), or a cancellation acted upon (PTHREAD_CANCELED):
 * the calling G gp exits through its cleanup handlers and destructors. */
void g_exit_unwind(struct g *gp, void *retval) __attribute__((noreturn));
void g_start(void *gp) __attribute__((noreturn));
/* Reaps a joined or detached dead G into the free lists. */
void g_reap(struct g *gp);
void g_reap_exited(struct g *gp);
bool g_valid(const struct g *gp);
size_t default_stack_size(void);
void set_default_stack_size(size_t sz);
struct m *newm(struct p *pp, bool spinning);
struct m *newm_nop(void *(*fn)(void *));
void sysmon_start(void);
void acquire_p(struct p *pp);
struct p *release_p(void);
void pidle_put(struct p *pp);                /* sched.lock held */
struct p *pidle_get(void);                   /* sched.lock held */
/* Runs pp (an idle P if NULL) on an idle or new M. */
void start_m(struct p *pp, bool spinning);
/* Parks the M, which holds no P, until start_m hands it one. */
void stop_m(struct m *mp);
/* Around a call that blocks the kernel thread (syscall.c): the P goes to
 * another M for the duration, and the G gets a P back afterwards. */
void entersyscall(void);
void entersyscallblock(void);
void exitsyscall(void);
/* exitsyscall for a G whose call made it own something the kernel ties to
 * its kernel thread (a PI futex, a process-shared robust mutex): it
 * resumes on the same M even when it must wait for a P, keeping its tid,
 * at the price of an M for each G that waits so. */
void exitsyscall_keepm(void);
/* sysmon's record of a P in a system call. */
struct retake_state {
	uint32_t syscalltick;
	int64_t syscallwhen;
};
int retake(int64_t now, struct retake_state *last);

/* Ms that block in the kernel where goshim cannot see (blocked.c). */
struct blocked_state {
	uint32_t ticks;         /* the P's switches and system calls */
	int64_t since;          /* when ticks last moved */
	int64_t checked;        /* when /proc was last read */
};
void spare_init(void);
int lend_spares(int64_t now, struct blocked_state *last);
void spare_retire(struct m *mp);
void spare_fork_child(struct p *mine);
/* Makes the robust mutexes an exiting G holds owner-dead: set by the shim
 * (shim/mutex.c) before it puts a mutex on any G's robust_list. */
extern void (*robust_exit)(struct g *gp) RT_HIDDEN;
uint32_t allg_count(void);
struct g *allg_at(uint32_t i);
void env_parse(void);
void tsd_run_destructors(void);
int tsd_key_create(unsigned *key, void (*destr)(void *));
int tsd_key_delete(unsigned key);
void *tsd_get(unsigned key);
int tsd_set(unsigned key, const void *value);

/* ---------------------------------------------------------------- tls */

void tls_init(void);
/* Gives gp a TCB and static TLS (fresh images; libc's kept on reuse). */
int tls_setup(struct g *gp);
void tls_setup_g0(struct g *g0);
void tls_learn_stack(pthread_t th, void *lo, size_t size);
/* Frees gp's DTV and dynamic TLS; called once gp runs no more. */
void tls_release(struct g *gp);
void tls_start(struct g *gp);
void tls_exit(void);
void *tls_current(void);
void tls_set_slow(void *tp);
extern bool tls_fsgsbase RT_HIDDEN;

/* Points the FS base at tp: from here on TLS is that context's. */
static inline void tls_set(void *tp)
{
	if (likely(tls_fsgsbase))
		__asm__ volatile("wrfsbase %0" : : "r"(tp) : "memory");
	else
		tls_set_slow(tp);
}

/* ---------------------------------------------------------------- intr */

/* Deferred cancellation (shim/cancel.c): a request is pending; the G has
 * begun to exit (pthread_exit or a cancellation acted upon), after which
 * no cancellation point acts any more. */
enum { CANCEL_PENDING = 1, CANCEL_EXITING = 2 };

/* A G waiting where another thread may have to end its wait (a
 * cancellation point) publishes how: fn(gp, arg) ends the wait, or makes
 * the wait end at once if gp has not begun it yet.  fn runs on the
 * interrupting thread, never after intr_end returned. */
struct intrhook {
	void (*fn)(struct g *gp, struct intrhook *h);
	void *arg;
	bool kicked;    /* intr_kick_m signalled the M: sysmon repeats it */
};

/* Whether a cancellation request of gp is to be acted upon now. */
static inline bool g_cancel_due(struct g *gp)
{
	return (atomic_load(&gp->cancelbits) & (CANCEL_PENDING | CANCEL_EXITING)) ==
		       CANCEL_PENDING &&
	       gp->cancel_state == PTHREAD_CANCEL_ENABLE;
}

/* Publishes h for the calling G's wait: false (nothing published) when a
 * cancellation is due already, and the wait must not begin. */
bool intr_begin(struct g *gp, struct intrhook *h);
/* Withdraws it; waits out an interrupter that runs its fn. */
void intr_end(struct g *gp);
/* Ends gp's interruptible wait, if it is in one (pthread_cancel). */
void intr_fire(struct g *gp);
/* The fn of waits in the kernel (hand-offs): signals h->arg, the G's M,
 * which makes its system call fail with EINTR. */
void intr_kick_m(struct g *gp, struct intrhook *h);
/* sysmon: signals again the Ms whose kick came before their system call,
 * and the Ms that run a G with an asynchronous cancellation due. */
void intr_rekick(void);
/* pthread_cancel of a G of the asynchronous type that is in no wait:
 * signals its M if it runs now (else sysmon does once it runs). */
void intr_kick_async(struct g *gp);
void intr_init(void);
/* After glibc's pthread_cancel (of a thread goshim does not run), which
 * installs glibc's SIGCANCEL handler: goshim's again, chaining to it. */
void intr_reclaim(void);
/* Whether pc lies in goshim's own code (known once spare_init ran). */
bool goshim_text(uintptr_t pc);
/* Whether pc is in goshim or in a library its runtime calls into (libc,
 * the dynamic loader, the vDSO, the unwinders): a G stopped at pc may be
 * inside the runtime, holding its locks or its P's state half changed. */
bool runtime_text(uintptr_t pc);

/* ---------------------------------------------------------------- sema */

/* Address-keyed wait queues (Go's semtable), with futex semantics: a G
 * waits on a 32-bit word while it holds val.  Callers without a G (foreign
 * threads, g0) block the kernel thread instead. */

/* Waits until woken while *addr == val.  deadline is a nanotime() value, or
 * < 0 for none.  Returns 0 when woken, SEMA_REQUEUED when woken on the
 * address a sema_requeue moved the waiter to, -EAGAIN when *addr != val,
 * -ETIMEDOUT at the deadline.  Spurious returns of 0 are possible, as with
 * futexes: callers re-check their condition. */
#define SEMA_REQUEUED 1
int sema_wait(_Atomic uint32_t *addr, uint32_t val, int64_t deadline, enum wait_reason r);
/* The same as a cancellation point: -EINTR when intr_fire ended the wait
 * (or a cancellation was due before it began). */
int sema_wait_intr(_Atomic uint32_t *addr, uint32_t val, int64_t deadline, enum wait_reason r);
/* The same, woken only by wakes whose bitset shares a bit with bitset. */
int sema_wait_bitset(_Atomic uint32_t *addr, uint32_t val, int64_t deadline,
		     enum wait_reason r, uint32_t bitset);
/* Wakes up to n waiters of addr (n = INT_MAX: all), in queue order.
 * Returns the count. */
int sema_wake(_Atomic uint32_t *addr, int n);
int sema_wake_bitset(_Atomic uint32_t *addr, int n, uint32_t bitset);
/* FUTEX_CMP_REQUEUE: unless cmpval is given and *addr differs from it
 * (-EAGAIN), wakes up to nwake waiters of addr and moves up to nmove more
 * to addr2.  untimed: the moved waiters count as woken, their timeouts no
 * longer apply (a condvar's waiters moved onto its mutex).  Returns woken
 * + moved. */
int sema_requeue(_Atomic uint32_t *addr, _Atomic uint32_t *addr2, int nwake, int nmove,
		 const uint32_t *cmpval, bool untimed);
/* Waiters queued on addr now (racy unless the caller excludes new ones). */
int sema_nwaiters(_Atomic uint32_t *addr);
/* A signal was sent to gp (sigintr_kill): if it waits here, its wait
 * ends as a spurious wake-up, which every caller re-checks and waits
 * again after (a mutex, a condvar's return 0), with the handler run in
 * between, as the kernel runs it in glibc's futex waits; a raw futex
 * wait (WAIT_FUTEX) ends with -EINTR when a handler without SA_RESTART
 * runs, as the kernel's.  Returns whether it ended one (gp goes on
 * *list). */
bool sema_kill(struct g *gp, struct g **list);
/* A signal handler's sema_wake of a semaphore's value word (async-signal-
 * safe): the poller wakes as many of addr's WAIT_SEMAPHORE waiters as the
 * value lets take it (sema_run_deferred). */
void sema_wake_deferred(_Atomic uint32_t *addr);
/* The deferred wakes, their Gs pushed on *list (schedlink). */
void sema_run_deferred(struct g **list);
/* Some semaphore wait is in progress: somebody must poll. */
bool sema_anywaiters(void);

/* ---------------------------------------------------------------- sleep */

/* Parks the calling G until nanotime() >= when; -EINTR when intr_fire
 * or a signal ended the sleep early (or a cancellation was due before it
 * began). */
int rt_sleep_until(int64_t when);

/* ---------------------------------------------------------------- netpoll */

int netpoll_init(void);
/* Blocks up to delay ns (<0: forever, 0: poll); returns Gs made ready,
 * linked through schedlink. */
struct g *netpoll(int64_t delay);
void netpoll_break(void);
/* Some G waits for an fd: somebody must poll. */
bool netpoll_anywaiters(void);

/* One fd of a G's wait: the caller fills fd and events (EPOLLIN,
 * EPOLLOUT, EPOLLPRI, EPOLLRDHUP); the rest is netpoll_wait's. */
struct pollnode {
	int fd;
	uint32_t events;
	bool verify;  /* the caller went by what it remembers of the fd's
			 file (fdstate): fail with -ESTALE if the fd's
			 registration shows it names another one now */
	bool prepared;          /* netpoll_prepare read the counts: */
	uint32_t rseq, wseq;    /* the fd's events so far */
	struct pollnode *next, **pprev; /* the pollDesc's list; its lock */
	struct pollwait *w;
};

/* Before the caller's own look at n's fd (its call, or a zero-timeout
 * poll) that may lead to netpoll_wait: an event that comes after this is
 * one the wait will not miss.  A node not prepared costs its wait an
 * epoll_ctl. */
void netpoll_prepare(struct pollnode *n);
/* sysmon, about every second: checks the registrations of fds waited on
 * for long (see netpoll_epoll.c). */
void netpoll_verify(int64_t now);
/* Parks the calling G until one of the n fds may be ready for its events
 * (a hint: the caller retries its call, and may be woken spuriously) or
 * until deadline (nanotime; < 0: none).  Returns 0 when woken, -ETIMEDOUT
 * at the deadline, -EINTR when a signal handler interrupted the wait
 * (sigintr_post), -EPERM when an fd cannot be polled (a regular
 * file), -EBADF for a closed fd, -ENOMEM when the poller is out of
 * memory, -ESTALE when a node to verify names a file its fd's
 * registration was not made for.  A node the caller prepared, for which
 * an event came since, ends the wait at once (0). */
int netpoll_wait(struct pollnode *nodes, int n, int64_t deadline, enum wait_reason r);
/* Wakes fd's waiters for events now, as an event from the kernel would:
 * the program's call just made fd ready for them (a write into the pipe
 * whose other end fd is).  An early hint; epoll still reports it. */
void netpoll_kick(int fd, uint32_t events);
/* The program closes fd: its waiters wake (their retry sees EBADF) and
 * the poller forgets it. */
void netpoll_close(int fd);
/* Asks the poller to deliver what a signal handler left (interrupts,
 * deferred wakes): netpoll does, and whoever sees netpoll_deliver_pending
 * calls netpoll_deliver.  Async-signal-safe. */
void netpoll_defer(void);
bool netpoll_deliver_pending(void);
/* Delivers it now; returns the Gs to ready (schedlink). */
struct g *netpoll_deliver(void);

/* ---------------------------------------------------------------- sigintr */

/* A G's wait that a signal handler may end with EINTR (sigintr.c).  Its
 * end function ends the wait unless it has ended already and returns
 * whether it did, pushing the G on *list if the G had parked. */
struct sigwait {
	struct g *g;
	bool restarts;  /* SA_RESTART restarts the call: no victim then */
	/* spurious: the wait ends as a spurious wake-up, its call goes on
	 * (a restarting handler of a signal sent to the G runs meanwhile). */
	bool (*end)(struct sigwait *sw, struct g **list, bool spurious);
	struct sigwait *next, **pprev;  /* sigintr.c's list */
};
/* Around the wait: on the list while the G waits. */
void sigwait_add(struct sigwait *sw);
void sigwait_remove(struct sigwait *sw);
/* A handler of process-directed signal sig ran: the G the kernel would
 * have given it ends its wait with EINTR if it waits on the list — G1
 * unless G1 blocks sig or has exited (then a G waiting there gets
 * nothing: as the kernel, which interrupts no other thread's call), else
 * the longest waiting G that does not block sig; with restart
 * (SA_RESTART), only a wait that the kernel never restarts.  Async-
 * signal-safe: the poller delivers it (sigintr_deliver). */
void sigintr_post(int sig, bool restart);
void sigintr_deliver(struct g **list);
/* pthread_kill of gp (not the caller) with sig, 0 < sig < NSIG: pending
 * in gp until gp raises it on its own kernel thread, which a wait on the
 * list ends for (EINTR as the kernel's, or a spurious wake-up when the
 * handler restarts the call) and a kick of its M does while it runs.
 * from_handler: the caller is a signal handler (async-signal-safe, the
 * poller ends the wait). */
void sigintr_kill(struct g *gp, int sig, bool from_handler);
/* Makes sig pending in gp, stamped with when it came (if it was not). */
void sigintr_pend(struct g *gp, int sig);
/* pthread_sigqueue, before the kill: sig carries value (SI_QUEUE) when
 * gp raises it; a second one before the first is raised replaces it.
 * Returns 0, or EAGAIN when no memory is left for the values (or none
 * was allocated yet and the caller is a signal handler). */
int sigintr_value(struct g *gp, int sig, union sigval value, bool from_handler);
/* Raises gp's pending signals that mask does not block on its kernel
 * thread, with mask in force there meanwhile: their handlers run before
 * it returns.  The G's own mask is the kernel thread's after.  gp is the
 * caller; clean: the runtime holds nothing of it here (gp->raising). */
void sigintr_raise(struct g *gp, uint64_t mask, bool clean);
/* The signals gp blocks now: its mask, and in a handler the handler's. */
static inline uint64_t g_blocks(struct g *gp)
{
	return atomic_load_explicit(&gp->sigmask, memory_order_relaxed) |
	       atomic_load_explicit(&gp->hmask, memory_order_relaxed);
}
/* In the trampoline, as a handler of gp returns: the signals sent to gp
 * that the handler blocked go to its kernel thread, still blocked there,
 * so that the kernel runs their handlers once the handler's frame is
 * gone, as it does for its own pending signals. */
void sigintr_raise_on_return(struct g *gp, bool clean);
static inline void sigintr_check(struct g *gp)
{
	if (unlikely(atomic_load_explicit(&gp->sigpend, memory_order_relaxed)))
		sigintr_raise(gp, g_blocks(gp), true);
}
/* Takes one of the signals of set pending in gp (the lowest), or 0.  A
 * wait for signals (sigwait) takes them from the G, not from its kernel
 * thread, which the G may leave between two calls. */
int sigintr_take(struct g *gp, uint64_t set);
/* The same, filling *info as the kernel does for the signal. */
int sigintr_take_info(struct g *gp, uint64_t set, siginfo_t *info);
/* Whether a handler of one of sigs ends a call the kernel would restart
 * (a handler installed without SA_RESTART). */
bool sigintr_interrupts(uint64_t sigs);
/* intr.c's kick of gp's M, if gp runs now: its handler raises them. */
void intr_kick_sig(struct g *gp);
/* sysmon: kicks the Ms whose G has signals to raise. */
void sigintr_rekick(void);
/* The masks of the Gs alive: a G is born with mask, dies with it, or
 * changes it (sigintr.c counts, per signal, the Gs that block it). */
void sigintr_mask_born(uint64_t mask);
void sigintr_mask_died(uint64_t mask);
void sigintr_mask_changed(uint64_t old, uint64_t mask);
/* The signals sysmon's kernel thread (mp) blocks: those every G alive
 * blocks, and those some other kernel thread takes now.  It takes the
 * rest, which only Gs that wait accept, as the kernel would deliver one
 * to a blocked thread. */
uint64_t sigintr_sysmon_mask(struct m *mp);

/* ---------------------------------------------------------------- fork */

void fork_init(void);
/* Moves on whenever another process may have come to share this one's open
 * file descriptions: each fork (in parent and child) and spawn.  What the
 * shim remembers of an fd's description holds only within the epoch in
 * which this process created it (shim/fdstate.c). */
extern _Atomic uint32_t fork_epoch RT_HIDDEN;
static inline void fork_epoch_bump(void)
{
	atomic_fetch_add(&fork_epoch, 1);
}
/* Fork hooks of the subsystems (fork.c calls them). */
void stack_fork_lock(bool take);
void stack_fork_child(void);
void rt_alloc_fork_lock(bool take);
void rt_alloc_fork_child(void);
void sema_fork_child(void);
void lockrank_fork_child(void);
int netpoll_fork_child(void);
void sigintr_fork_child(struct g *gp);
void sysmon_fork_child(void);

/* ---------------------------------------------------------------- debug */

struct godebug {
	int32_t schedtrace;   /* ms, 0 = off */
	bool scheddetail;
	/* tlsswitch=0: Gs run on their M's TLS, as before per-G TLS.  Only
	 * for measuring what switching the FS base costs (scripts/bench):
	 * errno and every __thread variable are then shared by the Gs of an
	 * M. */
	bool notlsswitch;
};
extern struct godebug godebug RT_HIDDEN;

void schedtrace(bool detailed);
void rt_throw(const char *msg) __attribute__((noreturn));
void rt_print(const char *s);
void rt_write(const char *s, size_t n);
void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *rt_alloc(size_t size);   /* zeroed, never freed, no malloc */

/* A table indexed by fd (fdtab.c): nchunks slots of per_chunk entries of
 * size bytes each, zeroed and then init'ed (if set) when first used. */
struct fdtab {
	_Atomic(void *) *chunks;
	int nchunks, per_chunk;
	size_t size;
	void (*init)(void *chunk, int n);
};
/* fd's entry; NULL for an fd out of range, or one whose chunk is not
 * made (unless create) or cannot be. */
void *fdtab_get(struct fdtab *t, int fd, bool create);
/* The i-th chunk (per_chunk entries from fd i * per_chunk), or NULL. */
void *fdtab_chunk(struct fdtab *t, int i);

#define rt_assert(cond, msg) do { if (unlikely(!(cond))) rt_throw(msg); } while (0)

/* ---------------------------------------------------------------- tunables */

#define GFREE_LOCAL_MAX 64           /* dead Gs cached per P */
#define STACK_DEFAULT_BYTES (2u << 20)  /* when RLIMIT_STACK is unlimited */
#define STACK_CACHE_MAX 4096         /* stacks cached globally */
#define STACK_IDLE_NS (300 * 1000000000LL) /* unused cached stacks freed */
#define SYSMON_MIN_DELAY_US 20
#define SYSMON_MAX_DELAY_US 10000
#define RETAKE_IDLE_NS (10 * 1000000LL) /* an idle P in a syscall is retaken after */
#define STEAL_TRIES 4
#define RUNNEXT_GRACE_NS 3000        /* a victim's time to run its runnext */
#define SCHED_GLOBAL_EVERY 61        /* schedticks between global queue checks */
#define GOID_BATCH 16                /* goids a P takes from sched at once */

#endif
