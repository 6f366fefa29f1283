/*
 * stack.c — G stacks: mmap'd, guard pages below, committed lazily by the
 * kernel, and cached after the G exits.
 *
 * Most Gs are created and exit with the same default size, and a dead G
 * keeps its stack in the free-G lists (proc.c), so this cache only sees
 * stacks of Gs whose size did not fit, and the overflow of the free lists.
 * It is an exact-size cache (size, guard) with a global lock; entries unused
 * for STACK_IDLE_NS are unmapped by sysmon's scavenger.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime.h"

struct cached_stack {
	struct cached_stack *next;
	char *lo, *hi;
	size_t guard;
	int64_t freed_at;
};

static struct {
	struct rt_lock lock;
	struct cached_stack *head;  /* most recently freed first */
	size_t count;
} cache;

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
			return 0;
		}
	}
	unlock(&cache.lock);

	if (size + guard < size)
		return -EAGAIN;
	char *base = mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (base == MAP_FAILED)
		return -EAGAIN;
	if (guard && mprotect(base, guard, PROT_NONE) != 0) {
		munmap(base, size + guard);
		return -EAGAIN;
	}
	s->lo = base + guard;
	s->hi = base + guard + size;
	s->guard = guard;
	s->owned = true;
	return 0;
}

static void unmap(char *lo, char *hi, size_t guard)
{
	munmap(lo - guard, (size_t)(hi - lo) + guard);
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
	unmap(c->lo, c->hi, c->guard);
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
		unmap(c->lo, c->hi, c->guard);
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
