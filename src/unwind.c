/*
 * unwind.c — unwinding a G's stack for pthread_exit and cancellation, as
 * glibc's nptl/unwind.c does for a kernel thread.
 *
 * A forced unwind (libgcc's _Unwind_ForcedUnwind, loaded on first use like
 * glibc does) walks the G's frames, running C++ destructors and
 * __attribute__((cleanup)) handlers.  C cleanup handlers pushed with the
 * setjmp-based pthread_cleanup_push (C without -fexceptions) are a chain of
 * glibc-layout buffers per G (gp->cleanup, maintained by the interposed
 * __pthread_register_cancel): when the unwind reaches the frame of the
 * innermost buffer, the stop function longjmps into it; the handler runs
 * and __pthread_unwind_next resumes the unwind from the next buffer.  At
 * the end of the stack (rt_ctx_entry marks it) the G exits with its
 * pthread_exit value.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdlib.h>
#include <unwind.h>

#include "runtime.h"

typedef _Unwind_Reason_Code (*forced_unwind_fn)(struct _Unwind_Exception *, _Unwind_Stop_Fn, void *);
typedef _Unwind_Word (*get_cfa_fn)(struct _Unwind_Context *);

static forced_unwind_fn forced_unwind;
static get_cfa_fn get_cfa;

static void load_libgcc(void)
{
	if (atomic_load_explicit((_Atomic(get_cfa_fn) *)&get_cfa, memory_order_acquire))
		return;
	void *h = dlopen("libgcc_s.so.1", RTLD_NOW);
	void *fu = h ? dlsym(h, "_Unwind_ForcedUnwind") : NULL;
	void *gc = h ? dlsym(h, "_Unwind_GetCFA") : NULL;
	if (!fu || !gc)
		rt_throw("libgcc_s.so.1 must be installed for pthread_exit to work");
	forced_unwind = (forced_unwind_fn)fu;
	atomic_store_explicit((_Atomic(get_cfa_fn) *)&get_cfa, (get_cfa_fn)gc, memory_order_release);
}

/* The stack pointer saved in a jmp_buf, which glibc mangles with the
 * pointer guard (%fs:0x30): rotate right by 17, then xor. */
static uintptr_t jmpbuf_sp(const struct unwind_buf *b)
{
	uintptr_t v = (uintptr_t)b->cancel_jmp_buf[0].jmp_buf[JB_RSP];
	uintptr_t guard;
	__asm__("movq %%fs:0x30, %0" : "=r"(guard));
	v = (v >> 17) | (v << 47);
	return v ^ guard;
}

static _Unwind_Reason_Code unwind_stop(int version, _Unwind_Action actions,
				       _Unwind_Exception_Class cls,
				       struct _Unwind_Exception *exc,
				       struct _Unwind_Context *ctx, void *param)
{
	struct unwind_buf *buf = param;
	(void)version, (void)cls, (void)exc;

	/* The CFA of a frame is the stack pointer of its caller: once it
	 * reaches the buffer's saved stack pointer, the next frame to unwind
	 * is the one that pushed the handler. */
	bool at_buf = buf && (uintptr_t)get_cfa(ctx) >= jmpbuf_sp(buf);
	if (at_buf || (actions & _UA_END_OF_STACK)) {
		if (buf) {
			/* The buffer is a jmp_buf prefix (no saved mask, which
			 * longjmp then never reads): hide its size. */
			void *jb = buf->cancel_jmp_buf;
			__asm__("" : "+r"(jb));
			longjmp(jb, 1);
		}
		goexit(getg_user()->retval);
	}
	return _URC_NO_REASON;
}

static void unwind_cleanup(_Unwind_Reason_Code reason, struct _Unwind_Exception *exc)
{
	(void)reason, (void)exc;
	/* A C++ catch (...) swallowed the unwind: glibc's verdict too. */
	rt_print("FATAL: exception not rethrown\n");
	abort();
}

void g_unwind(struct unwind_buf *buf)
{
	struct g *gp = getg_user();
	load_libgcc();
	gp->cleanup = buf;
	gp->unwind_exc.exception_class = 0;
	gp->unwind_exc.exception_cleanup = unwind_cleanup;
	forced_unwind(&gp->unwind_exc, unwind_stop, buf);
	rt_throw("g_unwind: forced unwind returned");
}

void g_exit_unwind(struct g *gp, void *retval)
{
	/* From here on no cancellation point acts (the cleanup handlers may
	 * call some), as glibc's EXITING_BIT. */
	atomic_fetch_or(&gp->cancelbits, CANCEL_EXITING);
	gp->retval = retval;
	g_unwind(gp->cleanup);
}
