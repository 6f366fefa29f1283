/*
 * stack.c — G stacks: mmap'd, guard pages below, committed lazily by the
 * kernel, and cached after the G exits.
 *
 * Most Gs are created and exit with the same default size, and a dead G
 * keeps its stack in the free-G lists (proc.c), so this cache only sees
 * stacks of Gs whose size did not fit, and the overflow of the free lists.
 * It is an exact-size cache (size, guard) with a global lock; entries unused
 * for STACK_IDLE_NS are unmapped by sysmon's scavenger.
 *
 * Fresh stacks come STACK_BATCH at a time from one mapping, their guards
 * installed with MADV_GUARD_INSTALL (Linux 6.13): one mmap per batch
 * instead of an mmap and an mprotect per stack, and one VMA per batch
 * instead of two per stack (vm.max_map_count).  Where process_madvise
 * takes that advice for the calling process (PIDFD_SELF), the whole
 * batch's guards go in with one call; else one madvise per stack.  Older
 * kernels get an mmap and an mprotect per stack.  Any stack of a batch can
 * be unmapped on its own.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime.h"

#ifdef GOSHIM_VALGRIND
#include <valgrind/valgrind.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define STACK_BATCH 16
#define STACK_BATCH_MAX_BYTES (64u << 20) /* larger stacks: one mapping each */

struct cached_stack {
	struct cached_stack *next;
	char *lo, *hi;
	size_t guard;
	unsigned vg_id;
	int64_t freed_at;
};

static struct {
	struct rt_lock lock;
	struct cached_stack *head;  /* most recently freed first */
	size_t count;
	/* The batch fresh stacks of batch_size/batch_guard are cut from. */
	char *batch_next;
	int batch_left;
	size_t batch_size, batch_guard;
	bool batch_guarded;         /* its guards are all installed */
} cache = { .lock = RT_LOCK_INIT(RANK_STACKCACHE) };

static _Atomic bool guard_madvise = true;  /* MADV_GUARD_INSTALL works */
static _Atomic bool guard_batch = true;    /* ... through process_madvise */

/* Installs the guards of a whole batch in one system call. */
static bool guard_all(char *b, size_t total, size_t guard)
{
	struct iovec iov[STACK_BATCH];
	for (int i = 0; i < STACK_BATCH; i++)
		iov[i] = (struct iovec){ b + (size_t)i * total, guard };
	return mem_advise(iov, STACK_BATCH, MADV_GUARD_INSTALL, &guard_batch);
}

/* Commits the top page of every stack of a batch, where each new G writes
 * its first frames (mem.c).  Stacks a batch leaves unused cost that page. */
static void populate_tops(char *b, size_t total, size_t page)
{
	struct iovec iov[STACK_BATCH];
	for (int i = 0; i < STACK_BATCH; i++)
		iov[i] = (struct iovec){ b + (size_t)(i + 1) * total - page, page };
	mem_populate(iov, STACK_BATCH);
}

static size_t page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static size_t round_page(size_t n)
{
	size_t ps = page_size();
	return (n + ps - 1) & ~(ps - 1);
}

/* With --enable-valgrind, Valgrind is told where each G stack is, so a
 * switch between stacks is not mistaken for a huge stack frame. */
static void register_stack(struct stack *s)
{
#ifdef GOSHIM_VALGRIND
	s->vg_id = VALGRIND_STACK_REGISTER(s->lo, s->hi);
#else
	s->vg_id = 0;
#endif
}

static void deregister_stack(unsigned vg_id)
{
#ifdef GOSHIM_VALGRIND
	VALGRIND_STACK_DEREGISTER(vg_id);
#else
	(void)vg_id;
#endif
}

/* Maps STACK_BATCH stacks of total bytes each.  The batch starts half-way
 * into a 2 MiB page-table span, so that the top page of each stack and
 * the guard of the next share a page-table page: a new stack then costs
 * one page-table page (the one under its first frame) instead of two. */
static char *map_batch(size_t total)
{
	const size_t span = 2u << 20;
	size_t len = total * STACK_BATCH;
	char *p = mmap(NULL, len + span, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	char *b = (char *)(((uintptr_t)p + span - 1) & ~(uintptr_t)(span - 1));
	b += span / 2;
	if (b - span >= p)
		b -= span;
	if (b > p)
		munmap(p, (size_t)(b - p));
	if (p + len + span > b + len)
		munmap(b + len, (size_t)(p + len + span - (b + len)));
	return b;
}

/* Cuts a stack of total bytes (guard included) from the current batch,
 * mapping a new batch when needed, and installs its guard.  Returns NULL
 * when guard regions are not supported (the caller maps it alone). */
static char *batch_take(size_t total, size_t guard)
{
	char *base = NULL;
	bool guarded = false;
	lock(&cache.lock);
	if (cache.batch_left > 0 && cache.batch_size == total && cache.batch_guard == guard) {
		base = cache.batch_next;
		guarded = cache.batch_guarded;
		cache.batch_next += total;
		cache.batch_left--;
	}
	unlock(&cache.lock);
	if (!base) {
		char *b = map_batch(total);
		if (!b)
			return NULL;
		base = b;
		guarded = guard_all(b, total, guard);
		populate_tops(b, total, page_size());
		lock(&cache.lock);
		/* The rest of an older batch stays mapped, unused, until the
		 * process ends: at most STACK_BATCH - 1 untouched stacks. */
		cache.batch_next = b + total;
		cache.batch_left = STACK_BATCH - 1;
		cache.batch_size = total;
		cache.batch_guard = guard;
		cache.batch_guarded = guarded;
		unlock(&cache.lock);
	}
	if (!guarded && madvise(base, guard, MADV_GUARD_INSTALL) != 0) {
		atomic_store(&guard_madvise, false);
		if (mprotect(base, guard, PROT_NONE) != 0) {
			munmap(base, total);
			return NULL;
		}
	}
	return base;
}

/* size is the whole mapping, guard included, as glibc counts a thread's
 * stack size; the usable part is [lo, hi) = size - guard bytes. */
int stack_alloc(struct stack *s, size_t size, size_t guard)
{
	size = round_page(size);
	guard = round_page(guard);
	if (guard >= size)
		return -EINVAL;
	size -= guard;

	lock(&cache.lock);
	for (struct cached_stack **pp = &cache.head; *pp; pp = &(*pp)->next) {
		struct cached_stack *c = *pp;
		if ((size_t)(c->hi - c->lo) == size && c->guard == guard) {
			*pp = c->next;
			cache.count--;
			unlock(&cache.lock);
			s->lo = c->lo;
			s->hi = c->hi;
			s->guard = guard;
			s->owned = true;
			s->vg_id = c->vg_id;
			return 0;
		}
	}
	unlock(&cache.lock);

	char *base = NULL;
	if (guard && size + guard <= STACK_BATCH_MAX_BYTES &&
	    atomic_load_explicit(&guard_madvise, memory_order_relaxed))
		base = batch_take(size + guard, guard);
	if (!base) {
		base = mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (base == MAP_FAILED)
			return -EAGAIN;
		if (guard && mprotect(base, guard, PROT_NONE) != 0) {
			munmap(base, size + guard);
			return -EAGAIN;
		}
	}
	s->lo = base + guard;
	s->hi = base + guard + size;
	s->guard = guard;
	s->owned = true;
	register_stack(s);
	return 0;
}

static void unmap(struct cached_stack *c)
{
	deregister_stack(c->vg_id);
	munmap(c->lo - c->guard, (size_t)(c->hi - c->lo) + c->guard);
}

/* Caches s; the cache node lives at the top of the stack itself, a page the
 * dead G has touched already. */
void stack_free(struct stack *s)
{
	if (!s->owned || !s->lo)
		return;
	struct cached_stack *c = (struct cached_stack *)(s->hi - sizeof(struct cached_stack));
	c->lo = s->lo;
	c->hi = s->hi;
	c->guard = s->guard;
	c->vg_id = s->vg_id;
	c->freed_at = nanotime();
	s->lo = s->hi = NULL;

	lock(&cache.lock);
	if (cache.count < STACK_CACHE_MAX) {
		c->next = cache.head;
		cache.head = c;
		cache.count++;
		unlock(&cache.lock);
		return;
	}
	unlock(&cache.lock);
	unmap(c);
}

static void release_if(bool (*pred)(struct cached_stack *, int64_t, int64_t),
		       int64_t now, int64_t max_idle)
{
	struct cached_stack *victims = NULL;

	lock(&cache.lock);
	for (struct cached_stack **pp = &cache.head; *pp;) {
		struct cached_stack *c = *pp;
		if (pred(c, now, max_idle)) {
			*pp = c->next;
			cache.count--;
			c->next = victims;
			victims = c;
		} else {
			pp = &c->next;
		}
	}
	unlock(&cache.lock);
	while (victims) {
		struct cached_stack *c = victims;
		victims = c->next;
		unmap(c);
	}
}

static bool idle_too_long(struct cached_stack *c, int64_t now, int64_t max_idle)
{
	return now - c->freed_at > max_idle;
}

static bool always(struct cached_stack *c, int64_t now, int64_t max_idle)
{
	(void)c, (void)now, (void)max_idle;
	return true;
}

void stack_fork_lock(bool take)
{
	if (take)
		lock(&cache.lock);
	else
		unlock(&cache.lock);
}

void stack_fork_child(void)
{
	cache.lock = (struct rt_lock)RT_LOCK_INIT(RANK_STACKCACHE);
}

void stack_scavenge(int64_t now, int64_t max_idle_ns)
{
	release_if(idle_too_long, now, max_idle_ns);
}

void stack_cache_flush(void)
{
	release_if(always, 0, 0);
}

size_t stack_cache_count(void)
{
	lock(&cache.lock);
	size_t n = cache.count;
	unlock(&cache.lock);
	return n;
}
