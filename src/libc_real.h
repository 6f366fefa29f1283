/*
 * libc_real.h — the real glibc functions goshim interposes, resolved once
 * at init (libc_real.c is the only place that calls dlsym).  The runtime and
 * the shim call glibc through this table whenever the caller is not a G
 * (foreign threads, sysmon, g0) or the request is not goshim's to serve.
 */
#ifndef GOSHIM_LIBC_REAL_H
#define GOSHIM_LIBC_REAL_H

#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

struct libc_real {
	int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	void (*pthread_exit)(void *) __attribute__((noreturn));
	pthread_t (*pthread_self)(void);
	int (*pthread_getattr_np)(pthread_t, pthread_attr_t *);
	int (*pthread_attr_getstack)(const pthread_attr_t *, void **, size_t *);
	int (*pthread_attr_destroy)(pthread_attr_t *);
	int (*pthread_setname_np)(pthread_t, const char *);
	int (*pthread_getname_np)(pthread_t, char *, size_t);
	int (*pthread_kill)(pthread_t, int);
	int (*pthread_sigqueue)(pthread_t, int, const union sigval);
	int (*pthread_cancel)(pthread_t);
	int (*pthread_setschedparam)(pthread_t, int, const struct sched_param *);
	int (*pthread_getschedparam)(pthread_t, int *, struct sched_param *);
	int (*pthread_setschedprio)(pthread_t, int);
	int (*pthread_setaffinity_np)(pthread_t, size_t, const cpu_set_t *);
	int (*pthread_getaffinity_np)(pthread_t, size_t, cpu_set_t *);
	int (*pthread_getcpuclockid)(pthread_t, clockid_t *);
	int (*pthread_setcancelstate)(int, int *);
	int (*pthread_setcanceltype)(int, int *);
	void (*pthread_testcancel)(void);
	int (*pthread_mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
	int (*pthread_mutex_destroy)(pthread_mutex_t *);
	int (*pthread_mutex_lock)(pthread_mutex_t *);
	int (*pthread_mutex_trylock)(pthread_mutex_t *);
	int (*pthread_mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
	int (*pthread_mutex_unlock)(pthread_mutex_t *);
	int (*pthread_mutex_consistent)(pthread_mutex_t *);
	int (*pthread_mutex_getprioceiling)(const pthread_mutex_t *, int *);
	int (*pthread_mutex_setprioceiling)(pthread_mutex_t *, int, int *);
	int (*pthread_cond_init)(pthread_cond_t *, const pthread_condattr_t *);
	int (*pthread_cond_destroy)(pthread_cond_t *);
	int (*pthread_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
	int (*pthread_cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
				      const struct timespec *);
	int (*pthread_cond_signal)(pthread_cond_t *);
	int (*pthread_cond_broadcast)(pthread_cond_t *);
	int (*pthread_rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
	int (*pthread_rwlock_destroy)(pthread_rwlock_t *);
	int (*pthread_rwlock_rdlock)(pthread_rwlock_t *);
	int (*pthread_rwlock_tryrdlock)(pthread_rwlock_t *);
	int (*pthread_rwlock_clockrdlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
	int (*pthread_rwlock_wrlock)(pthread_rwlock_t *);
	int (*pthread_rwlock_trywrlock)(pthread_rwlock_t *);
	int (*pthread_rwlock_clockwrlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
	int (*pthread_rwlock_unlock)(pthread_rwlock_t *);
	int (*pthread_barrier_init)(pthread_barrier_t *, const pthread_barrierattr_t *, unsigned);
	int (*pthread_barrier_destroy)(pthread_barrier_t *);
	int (*pthread_barrier_wait)(pthread_barrier_t *);
	int (*sem_init)(sem_t *, int, unsigned);
	int (*sem_wait)(sem_t *);
	int (*sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
	int (*sem_trywait)(sem_t *);
	int (*sem_post)(sem_t *);
	int (*sem_getvalue)(sem_t *, int *);
	int (*sched_yield)(void);
	int (*nanosleep)(const struct timespec *, struct timespec *);
	int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
	int (*usleep)(useconds_t);
	unsigned (*sleep)(unsigned);
	void (*pthread_register_cancel)(__pthread_unwind_buf_t *);
	void (*pthread_unregister_cancel)(__pthread_unwind_buf_t *);
	void (*pthread_register_cancel_defer)(__pthread_unwind_buf_t *);
	void (*pthread_unregister_cancel_restore)(__pthread_unwind_buf_t *);
	void (*pthread_unwind_next)(__pthread_unwind_buf_t *) __attribute__((noreturn));
};

extern struct libc_real real RT_HIDDEN;

/* Fills the table; a missing symbol is a message and _exit(127). */
void real_init(void);

#endif
