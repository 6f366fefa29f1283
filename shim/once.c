/*
 * once.c — pthread_once: callers that find the routine running park on the
 * once word until it completes.  The word's values are glibc's (1: in
 * progress, 2: done), so an object completed by either implementation
 * reads as done to both.
 */
#include <limits.h>

#include "shim.h"

enum { ONCE_INIT = 0, ONCE_INPROGRESS = 1, ONCE_DONE = 2 };

SHIM_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void))
{
	_Atomic uint32_t *w = (_Atomic uint32_t *)once;
	_Static_assert(sizeof(pthread_once_t) == sizeof(uint32_t), "pthread_once_t size");

	/* load-acquire: pairs with the store-release of ONCE_DONE */
	if (likely(atomic_load_explicit(w, memory_order_acquire) == ONCE_DONE))
		return 0;
	shim_g();
	for (;;) {
		uint32_t v = atomic_load_explicit(w, memory_order_acquire);
		if (v == ONCE_DONE)
			return 0;
		if (v == ONCE_INIT) {
			if (!atomic_compare_exchange_strong(w, &v, ONCE_INPROGRESS))
				continue;
			init();
			atomic_store_explicit(w, ONCE_DONE, memory_order_release);
			sema_wake(w, INT_MAX);
			return 0;
		}
		sema_wait(w, v, -1, WAIT_ONCE);
	}
}
