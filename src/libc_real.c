/*
 * libc_real.c — resolves the real glibc functions behind every interposed
 * name (see libc_real.h).  dlsym(RTLD_NEXT) finds the default version of
 * each name in the libraries after libgoshim, i.e. glibc's current ABI.
 */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "libc_real.h"

struct libc_real real;

static void *must(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		rt_print("goshim: cannot resolve ");
		rt_print(name);
		rt_print(" in the C library\n");
		_exit(127);
	}
	return p;
}

#define RESOLVE(name) (real.name = (__typeof__(real.name))must(#name))
#define RESOLVE_AS(field, name) (real.field = (__typeof__(real.field))must(name))

void real_init(void)
{
	RESOLVE(pthread_create);
	RESOLVE(pthread_exit);
	RESOLVE(pthread_self);
	RESOLVE(pthread_getattr_np);
	RESOLVE(pthread_attr_getstack);
	RESOLVE(pthread_attr_destroy);
	RESOLVE(pthread_setname_np);
	RESOLVE(pthread_getname_np);
	RESOLVE(pthread_kill);
	RESOLVE(pthread_sigqueue);
	RESOLVE(pthread_cancel);
	RESOLVE(pthread_setschedparam);
	RESOLVE(pthread_getschedparam);
	RESOLVE(pthread_setschedprio);
	RESOLVE(pthread_setaffinity_np);
	RESOLVE(pthread_getaffinity_np);
	RESOLVE(pthread_getcpuclockid);
	RESOLVE(pthread_setcancelstate);
	RESOLVE(pthread_setcanceltype);
	RESOLVE(pthread_testcancel);
	RESOLVE(pthread_mutex_init);
	RESOLVE(pthread_mutex_destroy);
	RESOLVE(pthread_mutex_lock);
	RESOLVE(pthread_mutex_trylock);
	RESOLVE(pthread_mutex_clocklock);
	RESOLVE(pthread_mutex_unlock);
	RESOLVE(pthread_mutex_consistent);
	RESOLVE(pthread_mutex_getprioceiling);
	RESOLVE(pthread_mutex_setprioceiling);
	RESOLVE(pthread_cond_init);
	RESOLVE(pthread_cond_destroy);
	RESOLVE(pthread_cond_wait);
	RESOLVE(pthread_cond_clockwait);
	RESOLVE(pthread_cond_signal);
	RESOLVE(pthread_cond_broadcast);
	RESOLVE(pthread_rwlock_init);
	RESOLVE(pthread_rwlock_destroy);
	RESOLVE(pthread_rwlock_rdlock);
	RESOLVE(pthread_rwlock_tryrdlock);
	RESOLVE(pthread_rwlock_clockrdlock);
	RESOLVE(pthread_rwlock_wrlock);
	RESOLVE(pthread_rwlock_trywrlock);
	RESOLVE(pthread_rwlock_clockwrlock);
	RESOLVE(pthread_rwlock_unlock);
	RESOLVE(pthread_barrier_init);
	RESOLVE(pthread_barrier_destroy);
	RESOLVE(pthread_barrier_wait);
	RESOLVE(sem_init);
	RESOLVE(sem_wait);
	RESOLVE(sem_clockwait);
	RESOLVE(sem_trywait);
	RESOLVE(sem_post);
	RESOLVE(sem_getvalue);
	RESOLVE(sched_yield);
	RESOLVE(nanosleep);
	RESOLVE(clock_nanosleep);
	RESOLVE(usleep);
	RESOLVE(sleep);
	RESOLVE_AS(pthread_register_cancel, "__pthread_register_cancel");
	RESOLVE_AS(pthread_unregister_cancel, "__pthread_unregister_cancel");
	RESOLVE_AS(pthread_register_cancel_defer, "__pthread_register_cancel_defer");
	RESOLVE_AS(pthread_unregister_cancel_restore, "__pthread_unregister_cancel_restore");
	RESOLVE_AS(pthread_unwind_next, "__pthread_unwind_next");
	RESOLVE(open);
	RESOLVE(openat);
	RESOLVE(creat);
	RESOLVE_AS(open_2, "__open_2");
	RESOLVE_AS(openat_2, "__openat_2");
	RESOLVE(fcntl);
	RESOLVE(ioctl);
	RESOLVE(fsync);
	RESOLVE(fdatasync);
	RESOLVE(sync_file_range);
	RESOLVE(sendfile);
	RESOLVE(splice);
	RESOLVE(flock);
	RESOLVE(lockf);
	RESOLVE(wait);
	RESOLVE(waitpid);
	RESOLVE(wait3);
	RESOLVE(wait4);
	RESOLVE(waitid);
	RESOLVE(system);
	RESOLVE(posix_spawn);
	RESOLVE(posix_spawnp);
	RESOLVE(popen);
	RESOLVE(pclose);
	RESOLVE(fclose);
	RESOLVE(freopen);
	RESOLVE(freopen64);
	RESOLVE(getaddrinfo);
	RESOLVE(gethostbyname);
	RESOLVE(gethostbyname_r);
	RESOLVE(getnameinfo);
	RESOLVE(sigwaitinfo);
	RESOLVE(sigtimedwait);
	RESOLVE(sigsuspend);
	RESOLVE(sigpending);
	RESOLVE(pause);
	RESOLVE(msgrcv);
	RESOLVE(msgsnd);
	RESOLVE(semop);
	RESOLVE(semtimedop);
	RESOLVE(mq_receive);
	RESOLVE(mq_send);
	RESOLVE(mq_timedreceive);
	RESOLVE(mq_timedsend);
	RESOLVE(sigaction);
	RESOLVE(pthread_sigmask);
	RESOLVE(sigprocmask);
}
