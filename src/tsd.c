/*
 * tsd.c — thread-specific data (pthread_key_*): the process's key table and
 * each thread's values.
 *
 * Keys carry a sequence number, odd while the key is in use, as glibc's do:
 * a value is visible only if it was set under the key's current sequence,
 * so pthread_key_delete need not touch any thread's values and a re-created
 * key starts out NULL everywhere.  A thread's values live in its own TLS
 * (per G, tls.c): 32 inline slots, further blocks of 32 allocated on first
 * use and freed when the thread exits (its TLS starts afresh for the next
 * G).  Threads goshim does not manage (glibc's own helper threads) have a
 * table of their own the same way, whose destructors are not run.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "runtime.h"

struct key {
	_Atomic uintptr_t seq;   /* odd: in use */
	void (*_Atomic destr)(void *);
};

static struct key keys[PTHREAD_KEYS_MAX];
static struct rt_lock keys_lock = RT_LOCK_INIT(RANK_KEYS);

_Static_assert(TSD_INLINE * TSD_BLOCKS >= PTHREAD_KEYS_MAX, "TSD too small");

static __thread struct tsd my_tsd_ __attribute__((tls_model("initial-exec")));

static inline struct tsd *my_tsd(void)
{
	return &my_tsd_;
}

int tsd_key_create(unsigned *key, void (*destr)(void *))
{
	lock(&keys_lock);
	for (unsigned i = 0; i < PTHREAD_KEYS_MAX; i++) {
		uintptr_t seq = atomic_load(&keys[i].seq);
		/* Skip unused keys whose sequence would wrap (never, in practice). */
		if ((seq & 1) == 0 && seq + 1 > seq) {
			atomic_store(&keys[i].destr, destr);
			atomic_store(&keys[i].seq, seq + 1);
			unlock(&keys_lock);
			*key = i;
			return 0;
		}
	}
	unlock(&keys_lock);
	return -EAGAIN;
}

int tsd_key_delete(unsigned key)
{
	if (key >= PTHREAD_KEYS_MAX)
		return -EINVAL;
	uintptr_t seq = atomic_load(&keys[key].seq);
	if ((seq & 1) == 0 || !atomic_compare_exchange_strong(&keys[key].seq, &seq, seq + 1))
		return -EINVAL;
	return 0;
}

static struct tsd_slot *slot(struct tsd *t, unsigned key, bool create)
{
	if (key < TSD_INLINE)
		return &t->inl[key];
	unsigned b = key / TSD_INLINE;
	if (!t->blk[b]) {
		if (!create)
			return NULL;
		t->blk[b] = calloc(TSD_INLINE, sizeof(struct tsd_slot));
		if (!t->blk[b])
			return NULL;
		t->blocks = true;
	}
	return &t->blk[b][key % TSD_INLINE];
}

void *tsd_get(unsigned key)
{
	if (key >= PTHREAD_KEYS_MAX)
		return NULL;
	struct tsd_slot *s = slot(my_tsd(), key, false);
	if (!s || !s->data)
		return NULL;
	return s->seq == atomic_load_explicit(&keys[key].seq, memory_order_relaxed) ? s->data : NULL;
}

int tsd_set(unsigned key, const void *value)
{
	if (key >= PTHREAD_KEYS_MAX)
		return -EINVAL;
	uintptr_t seq = atomic_load_explicit(&keys[key].seq, memory_order_relaxed);
	if ((seq & 1) == 0)
		return -EINVAL;
	struct tsd *t = my_tsd();
	struct tsd_slot *s = slot(t, key, value != NULL);
	if (!s)
		return value ? -ENOMEM : 0;
	s->seq = seq;
	s->data = (void *)value;
	if (value)
		t->used = true;
	return 0;
}

/* Runs the calling thread's destructors for every non-NULL value whose
 * key is still in use, clearing the value first, for up to
 * PTHREAD_DESTRUCTOR_ITERATIONS rounds while destructors set new values;
 * then clears every slot and frees the blocks. */
void tsd_run_destructors(void)
{
	struct tsd *t = my_tsd();
	if (!t->used)
		goto free_blocks;
	for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS && t->used; round++) {
		t->used = false;
		for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++) {
			struct tsd_slot *s = slot(t, k, false);
			if (!s) {
				k |= TSD_INLINE - 1; /* skip the absent block */
				continue;
			}
			void *data = s->data;
			if (!data)
				continue;
			s->data = NULL;
			uintptr_t seq = atomic_load(&keys[k].seq);
			void (*d)(void *) = atomic_load(&keys[k].destr);
			if ((seq & 1) && s->seq == seq && d)
				d(data);
		}
	}
	for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++) {
		struct tsd_slot *s = slot(t, k, false);
		if (!s) {
			k |= TSD_INLINE - 1;
			continue;
		}
		s->data = NULL;
	}
	t->used = false;
free_blocks:
	if (!t->blocks)
		return;
	for (unsigned b = 1; b < TSD_BLOCKS; b++) {
		free(t->blk[b]);
		t->blk[b] = NULL;
	}
	t->blocks = false;
}
