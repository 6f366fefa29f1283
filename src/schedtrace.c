/*
 * schedtrace.c — GODEBUG=schedtrace=N[,scheddetail=1] output, line for line
 * in Go's format, so tools and eyes trained on Go read it as is.  Runs in
 * sysmon under sched.lock; the P, M and G fields it reads change
 * concurrently and are read racily on purpose, as Go does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"

static const char *const wait_names[WAIT_NREASONS] = {
	[WAIT_NONE] = "",
	[WAIT_SLEEP] = "sleep",
	[WAIT_JOIN] = "pthread_join",
	[WAIT_ONCE] = "pthread_once",
	[WAIT_SEMA] = "semacquire",
	[WAIT_MUTEX] = "pthread_mutex_lock",
	[WAIT_COND] = "pthread_cond_wait",
	[WAIT_RWLOCK] = "pthread_rwlock",
	[WAIT_BARRIER] = "pthread_barrier_wait",
	[WAIT_SEMAPHORE] = "sem_wait",
	[WAIT_FUTEX] = "futex",
	[WAIT_IO] = "IO wait",
	[WAIT_POLL] = "select",
};

/* Accumulates output in a stack buffer and writes it in large pieces. */
struct out {
	char buf[4096];
	size_t len;
};

static void flush(struct out *o)
{
	rt_write(o->buf, o->len);
	o->len = 0;
}

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	if (o->len + (size_t)n > sizeof o->buf)
		flush(o);
	memcpy(o->buf + o->len, line, (size_t)n);
	o->len += (size_t)n;
}

void schedtrace(bool detailed)
{
	struct out o = { .len = 0 };
	int64_t now = nanotime();

	lock(&sched.lock);
	put(&o, "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d idlethreads=%d runqueue=%d",
	    (long long)((now - sched.starttime) / 1000000), gomaxprocs,
	    atomic_load(&sched.npidle), atomic_load(&mcount),
	    atomic_load(&sched.nmspinning), sched.nmidle, atomic_load(&sched.runqsize));
	if (detailed)
		put(&o, " gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0\n");
	for (int32_t i = 0; i < gomaxprocs; i++) {
		struct p *pp = allp[i];
		struct m *mp = pp->m;
		uint32_t n = runq_size(pp);
		if (detailed) {
			put(&o, "  P%d: status=%d schedtick=%u syscalltick=%u m=%lld runqsize=%u gfreecnt=%d timerslen=%d\n",
			    i, atomic_load(&pp->status), pp->schedtick, atomic_load(&pp->syscalltick),
			    mp ? (long long)mp->id : -1LL, n, pp->gfreecnt, pp->timers.len);
		} else {
			put(&o, "%s%u%s", i == 0 ? " [" : " ", n, i == gomaxprocs - 1 ? "]\n" : "");
		}
	}
	if (!detailed) {
		unlock(&sched.lock);
		flush(&o);
		return;
	}
	for (struct m *mp = atomic_load(&allm); mp; mp = mp->alllink) {
		struct p *pp = mp->p;
		struct g *cg = mp->curg;
		put(&o, "  M%lld: p=%d curg=%lld mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=%s blocked=%s lockedg=-1\n",
		    (long long)mp->id, pp ? pp->id : -1, cg ? (long long)cg->goid : -1LL,
		    mp->spinning ? "true" : "false",
		    (!pp && !cg) ? "true" : "false");
	}
	/* Gs are many and their fields racy anyway: list them unlocked. */
	unlock(&sched.lock);
	uint32_t ng = allg_count();
	for (uint32_t i = 0; i < ng; i++) {
		struct g *gp = allg_at(i);
		if (atomic_load(&gp->join_state) == J_FREE)
			continue;
		struct m *mp = gp->m;
		int r = gp->waitreason;
		put(&o, "  G%llu: status=%d(%s) m=%lld lockedm=-1\n",
		    (unsigned long long)gp->goid, atomic_load(&gp->status),
		    (r >= 0 && r < WAIT_NREASONS) ? wait_names[r] : "",
		    mp ? (long long)mp->id : -1LL);
	}
	flush(&o);
}
