/*
 * blocked.c — Ms that block in the kernel where goshim cannot see: glibc's
 * stdio reads and writes through its internal read and write (fgets on a
 * socket, fprintf into a full pipe), and so do its resolver and syslog,
 * past every interposed name.  Such an M keeps its P while it sleeps, and
 * the Gs queued on that P and its timers wait for it — with GOMAXPROCS=1,
 * every other thread of the program.
 *
 * sysmon notices (lend_spares): a P whose M has not switched or entered a
 * system call for BLOCKED_NS, that has work (a queued G, a due timer), and
 * whose M's kernel thread waits in a system call made from outside goshim
 * (/proc's syscall file names the call and its return address).  It then
 * lends the P's spare — allp[gomaxprocs + id], kept in P_SPARE until then
 * — to an M, which takes the blocked P's queue and timers as any idle P
 * steals them.  When the blocked P moves again, sysmon retires the spare:
 * an idle spare goes back to the pool at once, a running one at its M's
 * next switch (spare_retire), its queue going to the global one.
 *
 * Why lend rather than take the P away, as retake does when a G calls
 * into the kernel through goshim: the blocked M does not know it is in a
 * system call, and comes back into the program, not into goshim.  Taking
 * its P would mean every runtime entry re-checking with an atomic
 * read-modify-write that its M still owns the P.  A lent spare costs
 * nothing on those paths; the price is that, between the blocked M's
 * return and the spare's retirement, more than GOMAXPROCS Gs may run at
 * once, for one sysmon round and the rest of the spare's current G.
 */
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "runtime.h"

#define BLOCKED_NS (1000000LL)  /* a P without a switch this long may be blocked */

int32_t nallp;

/* goshim's own code: a system call made from it is the runtime's (a
 * futex of a contended runtime lock, an mmap for a stack), never the
 * program's. */
static uintptr_t text_lo, text_hi;

/* Whether program header i of info is loaded code: its range in *lo, *hi. */
static bool code_segment(const struct dl_phdr_info *info, int i, uintptr_t *lo, uintptr_t *hi)
{
	const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
	*lo = info->dlpi_addr + ph->p_vaddr;
	*hi = *lo + ph->p_memsz;
	return ph->p_type == PT_LOAD && (ph->p_flags & PF_X);
}

static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t self = (uintptr_t)arg, lo, hi;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (code_segment(info, i, &lo, &hi) && self >= lo && self < hi) {
			text_lo = lo;
			text_hi = hi;
			return 1;
		}
	}
	return 0;
}

/* System calls that wait for something outside the thread — data, room,
 * a peer, a child, a signal, a lock, time — rather than briefly for the
 * kernel itself (mmap and the like under a contended mm lock, which a
 * spare would not shorten). */
static bool waits_outside(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_pread64: case SYS_pwrite64: case SYS_preadv: case SYS_pwritev:
	case SYS_preadv2: case SYS_pwritev2:
	case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg:
	case SYS_recvmmsg: case SYS_sendmmsg: case SYS_accept: case SYS_accept4:
	case SYS_connect: case SYS_poll: case SYS_ppoll: case SYS_select:
	case SYS_pselect6: case SYS_epoll_wait: case SYS_epoll_pwait:
	case SYS_epoll_pwait2: case SYS_wait4: case SYS_waitid: case SYS_futex:
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause:
	case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait: case SYS_flock:
	case SYS_fcntl: case SYS_open: case SYS_openat: case SYS_close:
	case SYS_msgrcv: case SYS_msgsnd: case SYS_semop: case SYS_semtimedop:
	case SYS_mq_timedreceive: case SYS_mq_timedsend: case SYS_fsync:
	case SYS_fdatasync: case SYS_sync_file_range: case SYS_sendfile:
	case SYS_splice: case SYS_tee: case SYS_ioctl:
		return true;
	default:
		return false;
	}
}

/* Whether mp's kernel thread waits, in a system call the program made
 * through libc's internals (its return address lies outside goshim), for
 * something outside the thread.  /proc's syscall file: "running", "-1 sp
 * pc" outside a system call (a page fault), else "nr a1 ... a6 sp pc",
 * the number in decimal and the rest in hexadecimal. */
static bool m_blocked_unseen(struct m *mp)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", mp->tid);
	int fd = (int)rt_syscall4(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	long n = rt_syscall3(SYS_read, fd, buf, sizeof buf - 1);
	rt_syscall1(SYS_close, fd);
	if (n <= 0 || buf[0] == 'r' || buf[0] == '-')
		return false;
	buf[n] = '\0';
	char *pc = strrchr(buf, ' ');
	if (!pc || !waits_outside(strtol(buf, NULL, 10)))
		return false;
	uintptr_t at = (uintptr_t)strtoull(pc + 1, NULL, 16);
	return at && !goshim_text(at);
}

bool goshim_text(uintptr_t pc)
{
	return pc >= text_lo && pc < text_hi;
}

/* The code of the libraries goshim's runtime calls into itself: libc
 * (memcpy, malloc), the dynamic loader (TLS blocks), the vDSO (the
 * clocks), the unwinders.  A G stopped there may be inside the runtime. */
#define LIB_RANGES 16
static struct { uintptr_t lo, hi; } lib_text[LIB_RANGES];
static int nlib_text;

static int find_libs(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	static const char *const names[] = { "libc.so", "ld-linux", "linux-vdso", "libgcc_s",
					     "libunwind" };
	const char *base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	bool runtime_lib = false;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		runtime_lib |= strncmp(base, names[i], strlen(names[i])) == 0;
	for (int i = 0; runtime_lib && i < info->dlpi_phnum && nlib_text < LIB_RANGES; i++)
		if (code_segment(info, i, &lib_text[nlib_text].lo, &lib_text[nlib_text].hi))
			nlib_text++;
	return 0;
}

bool runtime_text(uintptr_t pc)
{
	if (goshim_text(pc))
		return true;
	for (int i = 0; i < nlib_text; i++)
		if (pc >= lib_text[i].lo && pc < lib_text[i].hi)
			return true;
	return false;
}

void spare_init(void)
{
	dl_iterate_phdr(find_text, (void *)(uintptr_t)spare_init);
	dl_iterate_phdr(find_libs, NULL);
	for (int32_t i = gomaxprocs; i < nallp; i++) {
		allp[i]->spare = true;
		atomic_store(&allp[i]->status, P_SPARE);
	}
}

static bool p_has_work(struct p *pp, int64_t now)
{
	if (!runq_empty(pp))
		return true;
	int64_t w = timers_next(pp);
	return w && w <= now;
}

static void lend(struct p *pp)
{
	struct p *sp = allp[gomaxprocs + pp->id];
	atomic_store(&sp->retire, false);
	int32_t s = P_SPARE;
	/* Still on its way back from an earlier lending: next round. */
	if (!atomic_compare_exchange_strong(&sp->status, &s, P_IDLE))
		return;
	pp->lent = sp;
	start_m(sp, false);
}

/* sched.lock held. */
static bool pidle_remove(struct p *pp)
{
	for (struct p **l = &sched.pidle; *l; l = &(*l)->link) {
		if (*l == pp) {
			*l = pp->link;
			atomic_fetch_sub(&sched.npidle, 1);
			return true;
		}
	}
	return false;
}

static void retire(struct p *pp)
{
	struct p *sp = pp->lent;
	pp->lent = NULL;
	/* Before sched.lock: a spare pidle_put after this goes to the pool
	 * (pidle_put reads the flag under the lock); one put before is
	 * removed here. */
	atomic_store(&sp->retire, true);
	lock(&sched.lock);
	if (pidle_remove(sp))
		atomic_store(&sp->status, P_SPARE);
	unlock(&sched.lock);
}

int lend_spares(int64_t now, struct blocked_state *last)
{
	int n = 0;
	for (int32_t i = 0; i < gomaxprocs; i++) {
		struct p *pp = allp[i];
		struct blocked_state *st = &last[i];
		uint32_t t = atomic_load_explicit(&pp->nswitch, memory_order_relaxed) +
			     atomic_load_explicit(&pp->syscalltick, memory_order_relaxed);
		if (atomic_load(&pp->status) != P_RUNNING || t != st->ticks) {
			st->ticks = t;
			st->since = now;
			if (pp->lent) {
				retire(pp);
				n++;
			}
			continue;
		}
		/* Reading /proc costs microseconds: once a millisecond at most
		 * for a P that runs one G long with work queued. */
		if (pp->lent || now - st->since < BLOCKED_NS || now - st->checked < BLOCKED_NS ||
		    !p_has_work(pp, now))
			continue;
		st->checked = now;
		struct m *mp = pp->m;
		if (mp && m_blocked_unseen(mp)) {
			lend(pp);
			n++;
		}
	}
	return n;
}

/* On g0 in find_runnable: mp holds a spare that sysmon retired.  Its
 * queue goes to the global one and the P to the pool; the M is left
 * without a P. */
void spare_retire(struct m *mp)
{
	struct p *pp = mp->p;
	struct g *head = NULL, *tail = NULL;
	int32_t n = 0;
	bool inherit;
	for (struct g *gp; (gp = runq_get(pp, &inherit)); n++) {
		gp->schedlink = NULL;
		if (tail)
			tail->schedlink = gp;
		else
			head = gp;
		tail = gp;
	}
	lock(&sched.lock);
	if (n)
		globrunq_put_batch(head, tail, n);
	release_p();
	atomic_store(&pp->status, P_SPARE);
	unlock(&sched.lock);
	if (mp->spinning) {
		mp->spinning = false;
		atomic_fetch_sub(&sched.nmspinning, 1);
	}
	if (n)
		wake_p();
}

/* The child of a fork: every spare back in the pool but the forking G's
 * own P, which retires at its next switch if it is a spare. */
void spare_fork_child(struct p *mine)
{
	for (int32_t i = gomaxprocs; i < nallp; i++) {
		struct p *pp = allp[i];
		atomic_store(&pp->retire, pp == mine);
		if (pp != mine)
			atomic_store(&pp->status, P_SPARE);
	}
	for (int32_t i = 0; i < gomaxprocs; i++)
		allp[i]->lent = NULL;
}
