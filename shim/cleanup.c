/*
 * cleanup.c — the entry points glibc's pthread_cleanup_push/pop macros call
 * in C compiled without exceptions.  A G keeps its own chain of buffers
 * (glibc keeps it in the kernel thread's struct pthread, which Gs share),
 * so pthread_exit can run the handlers of the exiting G (src/unwind.c).
 */
#include "shim.h"




SHIM_EXPORT void __pthread_register_cancel(__pthread_unwind_buf_t *b)
{
	struct g *gp = shim_g();
	if (!gp) {
		real.pthread_register_cancel(b);
		return;
	}
	struct unwind_buf *buf = (struct unwind_buf *)b;
	buf->priv.data.prev = gp->cleanup;
	buf->priv.data.cleanup = NULL;
	gp->cleanup = buf;
}

SHIM_EXPORT void __pthread_unregister_cancel(__pthread_unwind_buf_t *b)
{
	struct g *gp = shim_g();
	if (!gp) {
		real.pthread_unregister_cancel(b);
		return;
	}
	gp->cleanup = ((struct unwind_buf *)b)->priv.data.prev;
}

SHIM_EXPORT void __pthread_register_cancel_defer(__pthread_unwind_buf_t *b)
{
	struct g *gp = shim_g();
	if (!gp) {
		real.pthread_register_cancel_defer(b);
		return;
	}
	__pthread_register_cancel(b);
	((struct unwind_buf *)b)->priv.data.canceltype = gp->cancel_type;
	gp->cancel_type = PTHREAD_CANCEL_DEFERRED;
}

SHIM_EXPORT void __pthread_unregister_cancel_restore(__pthread_unwind_buf_t *b)
{
	struct g *gp = shim_g();
	if (!gp) {
		real.pthread_unregister_cancel_restore(b);
		return;
	}
	__pthread_unregister_cancel(b);
	gp->cancel_type = ((struct unwind_buf *)b)->priv.data.canceltype;
}

SHIM_EXPORT void __pthread_unwind_next(__pthread_unwind_buf_t *b)
{
	if (!shim_g())
		real.pthread_unwind_next(b);
	g_unwind(((struct unwind_buf *)b)->priv.data.prev);
}
