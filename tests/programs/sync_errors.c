/* The error contract of the synchronization objects, as glibc answers:
 * mutex kinds from attributes and from static initializers (normal,
 * recursive, errorcheck, adaptive, zero-filled), EBUSY/EDEADLK/EPERM/EINVAL
 * and ETIMEDOUT cases, robust mutexes (EOWNERDEAD, ENOTRECOVERABLE),
 * condvar and rwlock errors and timeouts on both clocks, barriers, spin
 * locks, semaphores (EAGAIN, ETIMEDOUT, EINVAL, EOVERFLOW), and futexes
 * through syscall() (EAGAIN, ETIMEDOUT, EINVAL, wake and requeue counts).
 * Timed waits must not return early and must return within 200 ms of
 * their deadline. */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>

#include "check.h"

#define TIMEOUT_MS 50

static struct timespec in_ms(clockid_t clk, long ms)
{
    return ns_to_ts(clock_ns(clk) + ms * NSEC_PER_MSEC);
}

static const struct timespec bad_nsec = { 0, 1000000000 };

/* ------------------------------------------------------------ mutexes */

static pthread_mutex_t *holder_target;
static atomic_int holder_state; /* 1: holds it, 2: may let go */

static void *holder(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_mutex_lock(holder_target), 0);
    atomic_store(&holder_state, 1);
    wait_flag(&holder_state, 2, 30000);
    CHECK_RC(pthread_mutex_unlock(holder_target), 0);
    return NULL;
}

static pthread_t hold_elsewhere(pthread_mutex_t *m)
{
    pthread_t t;
    holder_target = m;
    atomic_store(&holder_state, 0);
    CHECK_RC(pthread_create(&t, NULL, holder, NULL), 0);
    wait_flag(&holder_state, 1, 30000);
    return t;
}

static void let_go(pthread_t t)
{
    atomic_store(&holder_state, 2);
    CHECK_RC(pthread_join(t, NULL), 0);
}

static void check_kind(pthread_mutex_t *m, int type)
{
    CHECK_RC(pthread_mutex_lock(m), 0);
    switch (type) {
    case PTHREAD_MUTEX_RECURSIVE:
        CHECK_RC(pthread_mutex_lock(m), 0);
        CHECK_RC(pthread_mutex_trylock(m), 0);
        CHECK_RC(pthread_mutex_unlock(m), 0);
        CHECK_RC(pthread_mutex_unlock(m), 0);
        break;
    case PTHREAD_MUTEX_ERRORCHECK:
        CHECK_RC(pthread_mutex_lock(m), EDEADLK);
        CHECK_RC(pthread_mutex_trylock(m), EBUSY);
        break;
    default:
        CHECK_RC(pthread_mutex_trylock(m), EBUSY);
        break;
    }
    CHECK_RC(pthread_mutex_destroy(m), EBUSY);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK)
        CHECK_RC(pthread_mutex_unlock(m), EPERM);

    /* Held by another thread. */
    pthread_t t = hold_elsewhere(m);
    CHECK_RC(pthread_mutex_trylock(m), EBUSY);
    if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK)
        CHECK_RC(pthread_mutex_unlock(m), EPERM);
    int64_t t0 = now_ns();
    struct timespec ts = in_ms(CLOCK_REALTIME, TIMEOUT_MS);
    CHECK_RC(pthread_mutex_timedlock(m, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    t0 = now_ns();
    ts = in_ms(CLOCK_MONOTONIC, TIMEOUT_MS);
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    CHECK_RC(pthread_mutex_timedlock(m, &bad_nsec), EINVAL);
    let_go(t);
    CHECK_RC(pthread_mutex_destroy(m), 0);
}

static void mutexes(void)
{
    static const int types[] = { PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE,
                                 PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_ADAPTIVE_NP };
    pthread_mutexattr_t a;
    CHECK_RC(pthread_mutexattr_init(&a), 0);
    for (unsigned i = 0; i < sizeof types / sizeof types[0]; i++) {
        pthread_mutex_t m;
        CHECK_RC(pthread_mutexattr_settype(&a, types[i]), 0);
        CHECK_RC(pthread_mutex_init(&m, &a), 0);
        check_kind(&m, types[i]);
    }
    pthread_mutex_t s[4] = { PTHREAD_MUTEX_INITIALIZER,
                             PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP,
                             PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP,
                             PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP };
    for (int i = 0; i < 4; i++)
        check_kind(&s[i], types[i]);
    static pthread_mutex_t zero; /* zero-filled, never initialized */
    check_kind(&zero, PTHREAD_MUTEX_NORMAL);

    CHECK_RC(pthread_mutexattr_settype(&a, 42), EINVAL);
    CHECK_RC(pthread_mutexattr_setpshared(&a, 42), EINVAL);
    CHECK_RC(pthread_mutexattr_setrobust(&a, 42), EINVAL);
    CHECK_RC(pthread_mutexattr_setprotocol(&a, 42), EINVAL);

    /* A free mutex with a bad clock: EINVAL before anything else. */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct timespec ts = in_ms(CLOCK_REALTIME, 10);
    CHECK_RC(pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);

    /* Priority ceilings: only on PTHREAD_PRIO_PROTECT mutexes. */
    int ceiling;
    CHECK_RC(pthread_mutex_getprioceiling(&m, &ceiling), EINVAL);
    CHECK_RC(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_NORMAL), 0);
    CHECK_RC(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_PROTECT), 0);
    CHECK_RC(pthread_mutexattr_setprioceiling(&a, 5), 0);
    pthread_mutex_t pp;
    CHECK_RC(pthread_mutex_init(&pp, &a), 0);
    CHECK_RC(pthread_mutex_getprioceiling(&pp, &ceiling), 0);
    CHECK(ceiling == 5);
    int old = 0;
    CHECK_RC(pthread_mutex_setprioceiling(&pp, 7, &old), 0);
    CHECK(old == 5);
    CHECK_RC(pthread_mutex_getprioceiling(&pp, &ceiling), 0);
    CHECK(ceiling == 7);
    CHECK_RC(pthread_mutex_setprioceiling(&pp, 1000, &old), EINVAL);
    CHECK_RC(pthread_mutex_destroy(&pp), 0);
    CHECK_RC(pthread_mutexattr_destroy(&a), 0);
}

/* ------------------------------------------------------------ robust */

static pthread_mutex_t robust;

static void *die_holding(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_mutex_lock(&robust), 0);
    return NULL; /* exits holding it */
}

static void *blocked_locker(void *arg)
{
    (void)arg;
    int rc = pthread_mutex_lock(&robust);
    CHECK_RC(rc, EOWNERDEAD);
    CHECK_RC(pthread_mutex_consistent(&robust), 0);
    CHECK_RC(pthread_mutex_unlock(&robust), 0);
    return NULL;
}

static void robust_mutexes(void)
{
    pthread_mutexattr_t a;
    CHECK_RC(pthread_mutexattr_init(&a), 0);
    CHECK_RC(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
    CHECK_RC(pthread_mutex_init(&robust, &a), 0);
    CHECK_RC(pthread_mutex_consistent(&robust), EINVAL);

    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, die_holding, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_mutex_lock(&robust), EOWNERDEAD);
    CHECK_RC(pthread_mutex_consistent(&robust), 0);
    CHECK_RC(pthread_mutex_consistent(&robust), EINVAL);
    CHECK_RC(pthread_mutex_unlock(&robust), 0);

    /* A waiter (most likely blocked by then) while the owner dies gets
     * EOWNERDEAD. */
    pthread_t w;
    CHECK_RC(pthread_create(&t, NULL, die_holding, NULL), 0);
    sleep_ms(5);
    CHECK_RC(pthread_create(&w, NULL, blocked_locker, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_join(w, NULL), 0);

    /* Unlocked without pthread_mutex_consistent: not recoverable. */
    CHECK_RC(pthread_create(&t, NULL, die_holding, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_mutex_trylock(&robust), EOWNERDEAD);
    CHECK_RC(pthread_mutex_unlock(&robust), 0);
    CHECK_RC(pthread_mutex_lock(&robust), ENOTRECOVERABLE);
    CHECK_RC(pthread_mutex_trylock(&robust), ENOTRECOVERABLE);
    CHECK_RC(pthread_mutex_destroy(&robust), 0);

    /* Robust and errorcheck: unlock by a non-owner is EPERM. */
    CHECK_RC(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK), 0);
    CHECK_RC(pthread_mutex_init(&robust, &a), 0);
    CHECK_RC(pthread_mutex_unlock(&robust), EPERM);
    pthread_t h = hold_elsewhere(&robust);
    CHECK_RC(pthread_mutex_unlock(&robust), EPERM);
    let_go(h);
    CHECK_RC(pthread_mutex_destroy(&robust), 0);
    CHECK_RC(pthread_mutexattr_destroy(&a), 0);
}

/* ------------------------------------------------------------ condvars */

static void condvars(void)
{
    pthread_condattr_t ca;
    CHECK_RC(pthread_condattr_init(&ca), 0);
    CHECK_RC(pthread_condattr_setclock(&ca, CLOCK_PROCESS_CPUTIME_ID), EINVAL);
    CHECK_RC(pthread_condattr_setpshared(&ca, 42), EINVAL);
    clockid_t clk;
    CHECK_RC(pthread_condattr_getclock(&ca, &clk), 0);
    CHECK(clk == CLOCK_REALTIME);
    CHECK_RC(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
    pthread_cond_t mono;
    CHECK_RC(pthread_cond_init(&mono, &ca), 0);
    pthread_cond_t real = PTHREAD_COND_INITIALIZER;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

    CHECK_RC(pthread_cond_signal(&real), 0);
    CHECK_RC(pthread_cond_broadcast(&mono), 0);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    int64_t t0 = now_ns();
    struct timespec ts = in_ms(CLOCK_REALTIME, TIMEOUT_MS);
    CHECK_RC(pthread_cond_timedwait(&real, &m, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    t0 = now_ns();
    ts = in_ms(CLOCK_MONOTONIC, TIMEOUT_MS);
    CHECK_RC(pthread_cond_timedwait(&mono, &m, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    t0 = now_ns();
    ts = in_ms(CLOCK_MONOTONIC, TIMEOUT_MS);
    CHECK_RC(pthread_cond_clockwait(&real, &m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    CHECK_RC(pthread_cond_clockwait(&real, &m, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
    CHECK_RC(pthread_cond_timedwait(&real, &m, &bad_nsec), EINVAL);
    /* A deadline already past: at once, and the mutex is held. */
    ts = in_ms(CLOCK_REALTIME, -10);
    CHECK_RC(pthread_cond_timedwait(&real, &m, &ts), ETIMEDOUT);
    CHECK_RC(pthread_mutex_trylock(&m), EBUSY);
    CHECK_RC(pthread_mutex_unlock(&m), 0);

    /* Waiting with an errorcheck mutex one does not hold: EPERM. */
    pthread_mutex_t ec = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    CHECK_RC(pthread_cond_wait(&real, &ec), EPERM);
    CHECK_RC(pthread_cond_destroy(&mono), 0);
    CHECK_RC(pthread_cond_destroy(&real), 0);
    CHECK_RC(pthread_condattr_destroy(&ca), 0);
}

/* ------------------------------------------------------------ rwlocks */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void *write_hold(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_rwlock_wrlock(&rw), 0);
    atomic_store(&holder_state, 1);
    wait_flag(&holder_state, 2, 30000);
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);
    return NULL;
}

static void rwlocks(void)
{
    CHECK_RC(pthread_rwlock_rdlock(&rw), 0);
    CHECK_RC(pthread_rwlock_rdlock(&rw), 0);
    CHECK_RC(pthread_rwlock_tryrdlock(&rw), 0);
    CHECK_RC(pthread_rwlock_trywrlock(&rw), EBUSY);
    int64_t t0 = now_ns();
    struct timespec ts = in_ms(CLOCK_REALTIME, TIMEOUT_MS);
    CHECK_RC(pthread_rwlock_timedwrlock(&rw, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    for (int i = 0; i < 3; i++)
        CHECK_RC(pthread_rwlock_unlock(&rw), 0);

    CHECK_RC(pthread_rwlock_wrlock(&rw), 0);
    CHECK_RC(pthread_rwlock_wrlock(&rw), EDEADLK);
    CHECK_RC(pthread_rwlock_rdlock(&rw), EDEADLK);
    CHECK_RC(pthread_rwlock_tryrdlock(&rw), EBUSY);
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);

    ts = in_ms(CLOCK_MONOTONIC, 10);
    CHECK_RC(pthread_rwlock_clockrdlock(&rw, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
    CHECK_RC(pthread_rwlock_timedrdlock(&rw, &bad_nsec), EINVAL);

    atomic_store(&holder_state, 0);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, write_hold, NULL), 0);
    wait_flag(&holder_state, 1, 30000);
    t0 = now_ns();
    ts = in_ms(CLOCK_MONOTONIC, TIMEOUT_MS);
    CHECK_RC(pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    CHECK_RC(pthread_rwlock_tryrdlock(&rw), EBUSY);
    atomic_store(&holder_state, 2);
    CHECK_RC(pthread_join(t, NULL), 0);

    pthread_rwlockattr_t a;
    int kind;
    CHECK_RC(pthread_rwlockattr_init(&a), 0);
    CHECK_RC(pthread_rwlockattr_setkind_np(&a, 42), EINVAL);
    CHECK_RC(pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP), 0);
    CHECK_RC(pthread_rwlockattr_getkind_np(&a, &kind), 0);
    CHECK(kind == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    CHECK_RC(pthread_rwlockattr_setpshared(&a, 42), EINVAL);
    CHECK_RC(pthread_rwlockattr_destroy(&a), 0);
    CHECK_RC(pthread_rwlock_destroy(&rw), 0);
}

/* ------------------------------------------------------------ barriers, spin */

static void barriers_and_spins(void)
{
    pthread_barrier_t b;
    CHECK_RC(pthread_barrier_init(&b, NULL, 0), EINVAL);
    CHECK_RC(pthread_barrier_init(&b, NULL, 1), 0);
    CHECK_RC(pthread_barrier_wait(&b), PTHREAD_BARRIER_SERIAL_THREAD);
    CHECK_RC(pthread_barrier_wait(&b), PTHREAD_BARRIER_SERIAL_THREAD);
    CHECK_RC(pthread_barrier_destroy(&b), 0);
    pthread_barrierattr_t ba;
    CHECK_RC(pthread_barrierattr_init(&ba), 0);
    CHECK_RC(pthread_barrierattr_setpshared(&ba, 42), EINVAL);
    CHECK_RC(pthread_barrierattr_destroy(&ba), 0);

    pthread_spinlock_t s;
    CHECK_RC(pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE), 0);
    CHECK_RC(pthread_spin_lock(&s), 0);
    CHECK_RC(pthread_spin_trylock(&s), EBUSY);
    CHECK_RC(pthread_spin_unlock(&s), 0);
    CHECK_RC(pthread_spin_trylock(&s), 0);
    CHECK_RC(pthread_spin_unlock(&s), 0);
    CHECK_RC(pthread_spin_destroy(&s), 0);
}

/* ------------------------------------------------------------ semaphores */

static void semaphores(void)
{
    sem_t s;
    CHECK_ERRNO(sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1), EINVAL);
    CHECK(sem_init(&s, 0, 1) == 0);
    CHECK(sem_trywait(&s) == 0);
    CHECK_ERRNO(sem_trywait(&s), EAGAIN);
    int64_t t0 = now_ns();
    struct timespec ts = in_ms(CLOCK_REALTIME, TIMEOUT_MS);
    CHECK_ERRNO(sem_timedwait(&s, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    t0 = now_ns();
    ts = in_ms(CLOCK_MONOTONIC, TIMEOUT_MS);
    CHECK_ERRNO(sem_clockwait(&s, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    CHECK_ERRNO(sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
    CHECK_ERRNO(sem_timedwait(&s, &bad_nsec), EINVAL);
    CHECK(sem_destroy(&s) == 0);

    int v;
    CHECK(sem_init(&s, 0, SEM_VALUE_MAX) == 0);
    CHECK_ERRNO(sem_post(&s), EOVERFLOW);
    CHECK(sem_getvalue(&s, &v) == 0 && v == SEM_VALUE_MAX);
    CHECK(sem_destroy(&s) == 0);

    char name[64];
    snprintf(name, sizeof name, "/goshim-sync-errors-%d", (int)getpid());
    sem_t *n = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    CHECK(n != SEM_FAILED);
    errno_clear();
    CHECK(sem_open(name, O_CREAT | O_EXCL, 0600, 0) == SEM_FAILED && errno_now() == EEXIST);
    CHECK(sem_post(n) == 0);
    CHECK(sem_wait(n) == 0);
    CHECK(sem_close(n) == 0);
    CHECK(sem_unlink(name) == 0);
    CHECK_ERRNO(sem_unlink(name), ENOENT);
    errno_clear();
    CHECK(sem_open(name, 0) == SEM_FAILED && errno_now() == ENOENT);
}

/* ------------------------------------------------------------ futexes */

static _Atomic uint32_t fw, fw2;

static long futex(_Atomic uint32_t *a, int op, uint32_t val, const void *ts,
                  _Atomic uint32_t *a2, uint32_t val3)
{
    return syscall(SYS_futex, a, op, val, ts, a2, val3);
}

static atomic_int fwoken;

static void *futex_waiter(void *arg)
{
    (void)arg;
    while (atomic_load(&fw) == 0)
        if (futex(&fw, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) != 0)
            CHECK(errno_now() == EAGAIN || errno_now() == EINTR);
    atomic_fetch_add(&fwoken, 1);
    return NULL;
}

static void futexes(void)
{
    atomic_store(&fw, 1);
    CHECK_ERRNO(futex(&fw, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EAGAIN);
    struct timespec rel = { 0, TIMEOUT_MS * NSEC_PER_MSEC };
    int64_t t0 = now_ns();
    CHECK_ERRNO(futex(&fw, FUTEX_WAIT_PRIVATE, 1, &rel, NULL, 0), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    struct timespec abs = in_ms(CLOCK_MONOTONIC, TIMEOUT_MS);
    t0 = now_ns();
    CHECK_ERRNO(futex(&fw, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY),
                ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    abs = in_ms(CLOCK_REALTIME, TIMEOUT_MS);
    t0 = now_ns();
    CHECK_ERRNO(futex(&fw, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &abs, NULL,
                      FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    CHECK_ELAPSED(t0, TIMEOUT_MS, TIMEOUT_MS + 200);
    CHECK_ERRNO(futex(&fw, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL, 0), EINVAL);
    CHECK_ERRNO(futex(&fw, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0), EINVAL);
    CHECK_ERRNO(futex(&fw, FUTEX_WAIT_PRIVATE, 1, &bad_nsec, NULL, 0), EINVAL);
    CHECK_ERRNO(futex(&fw, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &fw2, 0), EAGAIN);
    CHECK(futex(&fw, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) == 0);

    /* Four waiters: a requeue wakes one and moves the rest, which a wake
     * of the second word then finds. */
    atomic_store(&fw, 0);
    atomic_store(&fwoken, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK_RC(pthread_create(&t[i], NULL, futex_waiter, NULL), 0);
    sleep_ms(50); /* let them block; a late one just sees fw == 1 */
    atomic_store(&fw, 1);
    long r = futex(&fw, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)(long)INT_MAX, &fw2, 1);
    CHECK(r >= 0 && r <= 4);
    long woken = futex(&fw2, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    CHECK(woken >= 0 && woken <= 3 && (r == 0 || woken == r - 1));
    CHECK(futex(&fw, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0) >= 0);
    for (int i = 0; i < 4; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(atomic_load(&fwoken) == 4);
}

int main(void)
{
    mutexes();
    robust_mutexes();
    condvars();
    rwlocks();
    barriers_and_spins();
    semaphores();
    futexes();
    return 0;
}
