/*
 * fdtab.c — tables indexed by fd: two levels, a chunk of entries made on
 * first use and never freed, so that an entry outlives its fd (epoll
 * events carry a pollDesc's address) and lookups take no lock.  netpoll's
 * pollDescs and the shim's fd records (shim/fdstate.c) live in them.
 */
#include "runtime.h"

void *fdtab_get(struct fdtab *t, int fd, bool create)
{
	if (fd < 0 || fd >= t->nchunks * t->per_chunk)
		return NULL;
	_Atomic(void *) *slot = &t->chunks[fd / t->per_chunk];
	char *c = atomic_load_explicit(slot, memory_order_acquire);
	if (!c) {
		if (!create)
			return NULL;
		char *n = rt_alloc(t->size * (size_t)t->per_chunk);
		if (!n)
			return NULL;
		if (t->init)
			t->init(n, t->per_chunk);
		/* A racing creator wins: this chunk is lost, rarely and once.
		 * cas-release: publishes the chunk's initialised entries. */
		void *expected = NULL;
		if (!atomic_compare_exchange_strong_explicit(slot, &expected, n,
				memory_order_acq_rel, memory_order_acquire))
			c = expected;
		else
			c = n;
	}
	return c + t->size * (size_t)(fd % t->per_chunk);
}

void *fdtab_chunk(struct fdtab *t, int i)
{
	return atomic_load_explicit(&t->chunks[i], memory_order_acquire);
}
