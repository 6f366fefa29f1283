/*
 * sync.c — the helpers of sync.h: owner ids of foreign threads, timed-wait
 * deadlines, spinning, and the hand-off around blocking glibc calls.
 */
#include <limits.h>
#include <sys/syscall.h>

#include "sync.h"

/* Per kernel thread: g0 and foreign threads keep their tid for life. */
static __thread int32_t foreign_id __attribute__((tls_model("initial-exec")));

int32_t sync_self_slow(void)
{
	struct g *gp = shim_g();
	if (gp)
		return gp->ownerid;
	if (unlikely(!foreign_id))
		foreign_id = OWNER_FOREIGN | (int32_t)rt_syscall0(SYS_gettid);
	return foreign_id;
}

int sync_deadline(clockid_t clock, const struct timespec *abstime, int64_t *deadline)
{
	*deadline = -1;
	if (!abstime)
		return 0;
	if (!shim_timespec_valid(abstime))
		return EINVAL;
	*deadline = shim_deadline(clock, abstime);
	return *deadline < 0 ? EINVAL : 0;
}

#define SPIN_ITERS 4
#define SPIN_PAUSES 30

bool sync_can_spin(int iter)
{
	if (iter >= SPIN_ITERS || gomaxprocs <= 1)
		return false;
	struct g *gp = getg_user();
	if (!gp)
		return iter < SPIN_ITERS;
	return gomaxprocs > atomic_load_explicit(&sched.npidle, memory_order_relaxed) +
			   atomic_load_explicit(&sched.nmspinning, memory_order_relaxed) + 1;
}

void sync_spin(void)
{
	for (int i = 0; i < SPIN_PAUSES; i++)
		__builtin_ia32_pause();
}

struct g *sync_block_begin(void)
{
	struct g *gp = shim_g();
	if (gp)
		entersyscallblock();
	return gp;
}

void sync_block_end(struct g *gp)
{
	if (gp)
		exitsyscall_keepm();
}

void sync_leave_n(_Atomic uint32_t *inside, uint32_t n)
{
	/* The last touch of the object's memory: the wake is keyed by the
	 * address alone. */
	if (atomic_fetch_sub(inside, n) == (SYNC_DESTROYING | n))
		sema_wake(inside, INT_MAX);
}

void sync_drain(_Atomic uint32_t *inside, enum wait_reason reason)
{
	uint32_t n = atomic_fetch_or(inside, SYNC_DESTROYING) | SYNC_DESTROYING;
	while (n != SYNC_DESTROYING) {
		sema_wait(inside, n, -1, reason);
		n = atomic_load(inside);
	}
	atomic_store(inside, 0);
}
