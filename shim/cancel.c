/*
 * cancel.c — thread cancellation: pthread_cancel, pthread_testcancel,
 * pthread_setcancelstate, pthread_setcanceltype, and what the
 * cancellation points of the other shims call.
 *
 * A request sets CANCEL_PENDING in the G; a cancellation point acts upon
 * it when the G's state is enabled: on entry (as glibc's cancellable
 * system calls do, even when the call would not block), and when its wait
 * was ended by the request.  pthread_cancel ends the wait through the hook
 * the G published (src/intr.c): a netpoll wait or a sleep ends, a queued
 * wait (condvar, semaphore, join) is dequeued, a system call made with a
 * hand-off fails with EINTR from a signal to the M.  A wait whose event
 * came first returns normally, the request still pending (POSIX leaves
 * this open; glibc does the same when the system call has returned).
 * Acting is pthread_exit(PTHREAD_CANCELED): the cleanup handlers and C++
 * destructors run, and no cancellation point acts any more.
 *
 * Asynchronous cancellation acts where glibc's does: at once when the
 * type or the state is set while a request is pending or when a thread
 * cancels itself, and in a G that runs the program's code through a
 * signal to its M (src/intr.c), which unwinds it from the handler.
 */
#include "io.h"

void cancel_act(struct g *gp)
{
	g_exit_unwind(gp, PTHREAD_CANCELED);
}

void cancel_enter(struct g *gp, struct intrhook *h)
{
	h->fn = intr_kick_m;
	h->arg = gp->m;
	if (!intr_begin(gp, h))
		cancel_act(gp);
}

void cancel_leave(struct g *gp, struct intrhook *h)
{
	intr_end(gp);
	/* A kick still on its way must land here, not in a later call of
	 * this M: any system call takes a pending signal on its return. */
	if (h->kicked) {
		atomic_store(&gp->m->cancelkick, NULL);
		rt_syscall0(SYS_getppid);
	}
}

/* Async and enabled with a request pending: glibc acts at once. */
static void act_if_async(struct g *gp)
{
	if (gp->cancel_type == PTHREAD_CANCEL_ASYNCHRONOUS)
		shim_testcancel(gp);
}

/* A thread goshim does not run, cancelled by another: glibc's business,
 * but its handler of SIGCANCEL must not stay goshim's. */
static int foreign_cancel(pthread_t th)
{
	int err = real.pthread_cancel(th);
	intr_reclaim();
	return err;
}

SHIM_EXPORT int pthread_cancel(pthread_t th)
{
	THREAD_OR_RETURN(gp, th, foreign_cancel(th));
	uint32_t old = atomic_fetch_or(&gp->cancelbits, CANCEL_PENDING);
	if (old & (CANCEL_PENDING | CANCEL_EXITING))
		return 0;
	if (gp == shim_g()) {
		act_if_async(gp);
		return 0;
	}
	intr_fire(gp);
	if (gp->cancel_type == PTHREAD_CANCEL_ASYNCHRONOUS)
		intr_kick_async(gp);
	return 0;
}

SHIM_EXPORT void pthread_testcancel(void)
{
	struct g *gp = shim_g();
	if (!gp)
		real.pthread_testcancel();
	else
		shim_testcancel(gp);
}

/* The G's state or type (*field) takes v, one of the two valid values
 * a and b; old gets what it was. */
static int set_field(struct g *gp, int *field, int v, int a, int b, int *old)
{
	if (v != a && v != b)
		return EINVAL;
	if (old)
		*old = *field;
	*field = v;
	act_if_async(gp);
	return 0;
}

SHIM_EXPORT int pthread_setcancelstate(int state, int *old)
{
	struct g *gp = shim_g();
	if (!gp)
		return real.pthread_setcancelstate(state, old);
	return set_field(gp, &gp->cancel_state, state, PTHREAD_CANCEL_ENABLE,
			 PTHREAD_CANCEL_DISABLE, old);
}

SHIM_EXPORT int pthread_setcanceltype(int type, int *old)
{
	struct g *gp = shim_g();
	if (!gp)
		return real.pthread_setcanceltype(type, old);
	return set_field(gp, &gp->cancel_type, type, PTHREAD_CANCEL_DEFERRED,
			 PTHREAD_CANCEL_ASYNCHRONOUS, old);
}
