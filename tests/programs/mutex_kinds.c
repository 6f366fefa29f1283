/* pthread mutexes of every kind, with the results glibc 2.36 gives
 * natively.
 * - Kinds: normal (also PTHREAD_MUTEX_DEFAULT), recursive, errorcheck,
 *   adaptive, each made by pthread_mutexattr_settype + pthread_mutex_init
 *   and by its static initializer; a zero-filled mutex (static, memset)
 *   never passed to init is a normal one.
 * - Held by another thread: trylock gives EBUSY, timedlock/clocklock
 *   ETIMEDOUT at the deadline (REALTIME and MONOTONIC), at once for a
 *   deadline in the past or a negative tv_sec, EINVAL for tv_nsec < 0 or
 *   >= 1e9.  Held by the caller: trylock EBUSY (normal, adaptive,
 *   errorcheck) or a further count (recursive); lock and timedlock
 *   EDEADLK (errorcheck, even with a bad tv_nsec).
 * - A free mutex: timedlock/clocklock with a bad tv_nsec takes it (0):
 *   glibc checks tv_nsec only when it has to wait; clocklock with a clock
 *   other than REALTIME/MONOTONIC gives EINVAL even then.
 * - Unlock by a non-owner, or of an unlocked mutex: EPERM (errorcheck,
 *   recursive).
 * - Destroy while locked: EBUSY (non-robust kinds); after destroy, lock,
 *   trylock, timedlock and unlock give EINVAL (glibc sets the kind to -1);
 *   destroying again gives 0.
 * - pthread_mutexattr_*: defaults, setters and getters, EINVAL for bad
 *   type/pshared/robust/protocol values and a prioceiling outside
 *   [sched_get_priority_min(SCHED_FIFO), max]; an unset attr prioceiling
 *   reads as the SCHED_FIFO minimum.  pthread_mutex_get/setprioceiling
 *   work on a PTHREAD_PRIO_PROTECT mutex (never locked here: that would
 *   change the thread's scheduling) and give EINVAL on any other.
 * - Contention: 8 threads x 20,000 increments on each kind (lock, trylock,
 *   timedlock mixed; holders yield now and then), count exact. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

enum kind { NORMAL, RECURSIVE, ERRORCHECK, ADAPTIVE, NKINDS };

static const int kind_type[NKINDS] = {
    PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_ERRORCHECK,
    PTHREAD_MUTEX_ADAPTIVE_NP,
};

static pthread_mutex_t static_mutex[NKINDS] = {
    PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP,
    PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP,
    PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
};

static pthread_mutex_t zero_mutex; /* static storage: all zero bytes */

/* ---- running one operation in another thread ---- */

enum op { OP_TRYLOCK, OP_UNLOCK, OP_LOCK_UNLOCK };

struct opreq {
    pthread_mutex_t *m;
    enum op op;
    int rc;
};

static void *do_op(void *arg)
{
    struct opreq *r = arg;
    switch (r->op) {
    case OP_TRYLOCK:
        r->rc = pthread_mutex_trylock(r->m);
        if (r->rc == 0)
            CHECK_RC(pthread_mutex_unlock(r->m), 0);
        break;
    case OP_UNLOCK:
        r->rc = pthread_mutex_unlock(r->m);
        break;
    case OP_LOCK_UNLOCK:
        r->rc = pthread_mutex_lock(r->m);
        if (r->rc == 0)
            CHECK_RC(pthread_mutex_unlock(r->m), 0);
        break;
    }
    return NULL;
}

/* The result of op on m, done by a new thread (which unlocks what it
 * took). */
static int in_other(pthread_mutex_t *m, enum op op)
{
    struct opreq r = { m, op, -1 };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, do_op, &r), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    return r.rc;
}

/* ---- a thread that holds a mutex until released ---- */

struct holder {
    pthread_mutex_t *m;
    long hold_ms;         /* > 0: unlock after this long by itself */
    atomic_int holding;
    atomic_int release;
    pthread_t t;
};

static void *hold_main(void *arg)
{
    struct holder *h = arg;
    CHECK_RC(pthread_mutex_lock(h->m), 0);
    atomic_store(&h->holding, 1);
    if (h->hold_ms > 0)
        sleep_ms(h->hold_ms);
    else
        wait_flag(&h->release, 1, 60000);
    atomic_store(&h->holding, 0);
    CHECK_RC(pthread_mutex_unlock(h->m), 0);
    return NULL;
}

static void hold_start(struct holder *h, pthread_mutex_t *m, long hold_ms)
{
    h->m = m;
    h->hold_ms = hold_ms;
    atomic_store(&h->holding, 0);
    atomic_store(&h->release, 0);
    CHECK_RC(pthread_create(&h->t, NULL, hold_main, h), 0);
    wait_flag(&h->holding, 1, 10000);
}

static void hold_stop(struct holder *h)
{
    atomic_store(&h->release, 1);
    CHECK_RC(pthread_join(h->t, NULL), 0);
}

static struct timespec deadline_in(clockid_t clk, int64_t ms)
{
    return ns_to_ts(clock_ns(clk) + ms * NSEC_PER_MSEC);
}

/* ---- per-kind checks ---- */

/* Timed locking of m, which another thread holds. */
static void check_timed_held(pthread_mutex_t *m)
{
    struct timespec ts;
    int64_t t0;

    ts = deadline_in(CLOCK_REALTIME, 50);
    t0 = now_ns();
    CHECK_RC(pthread_mutex_timedlock(m, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);

    ts = deadline_in(CLOCK_MONOTONIC, 50);
    t0 = now_ns();
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);

    ts = deadline_in(CLOCK_REALTIME, 50);
    t0 = now_ns();
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_REALTIME, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);

    /* Past deadlines: at once. */
    t0 = now_ns();
    ts = deadline_in(CLOCK_REALTIME, -1000);
    CHECK_RC(pthread_mutex_timedlock(m, &ts), ETIMEDOUT);
    ts = deadline_in(CLOCK_MONOTONIC, -1);
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    struct timespec epoch = { 0, 0 }, negative = { -1, 0 };
    CHECK_RC(pthread_mutex_timedlock(m, &epoch), ETIMEDOUT);
    CHECK_RC(pthread_mutex_timedlock(m, &negative), ETIMEDOUT);
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_REALTIME, &negative),
             ETIMEDOUT);

    /* Bad tv_nsec when it would have to wait. */
    ts = deadline_in(CLOCK_REALTIME, 1000);
    ts.tv_nsec = NSEC_PER_SEC;
    CHECK_RC(pthread_mutex_timedlock(m, &ts), EINVAL);
    ts.tv_nsec = -1;
    CHECK_RC(pthread_mutex_timedlock(m, &ts), EINVAL);
    ts = deadline_in(CLOCK_MONOTONIC, 1000);
    ts.tv_nsec = NSEC_PER_SEC;
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts), EINVAL);
    ts.tv_nsec = -1;
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_REALTIME, &ts), EINVAL);

    /* Clocks other than REALTIME and MONOTONIC. */
    ts = deadline_in(CLOCK_MONOTONIC, 1000);
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &ts),
             EINVAL);
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC_RAW, &ts), EINVAL);
    CHECK_RC(pthread_mutex_clocklock(m, 12345, &ts), EINVAL);
    CHECK_ELAPSED(t0, 0, 200);

    CHECK_RC(pthread_mutex_trylock(m), EBUSY);
}

/* Timed locking of m, which is free; leaves it free. */
static void check_timed_free(pthread_mutex_t *m)
{
    struct timespec ts = deadline_in(CLOCK_REALTIME, 1000);
    ts.tv_nsec = NSEC_PER_SEC;
    CHECK_RC(pthread_mutex_timedlock(m, &ts), 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    ts.tv_nsec = -1;
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts), 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    struct timespec past = { 0, 0 };
    CHECK_RC(pthread_mutex_timedlock(m, &past), 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_REALTIME, &past), 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    ts = deadline_in(CLOCK_MONOTONIC, 1000);
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &ts),
             EINVAL);
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_THREAD_CPUTIME_ID, &ts),
             EINVAL);
    CHECK_RC(pthread_mutex_clocklock(m, -1, &ts), EINVAL);
    CHECK_RC(in_other(m, OP_TRYLOCK), 0); /* still free */
}

/* A timed lock that the holder's unlock beats returns 0 before the
 * deadline. */
static void check_timed_success(pthread_mutex_t *m)
{
    struct holder h;
    hold_start(&h, m, 30);
    struct timespec ts = deadline_in(CLOCK_REALTIME, 10000);
    int64_t t0 = now_ns();
    CHECK_RC(pthread_mutex_timedlock(m, &ts), 0);
    CHECK_ELAPSED(t0, 0, 5000);
    CHECK(atomic_load(&h.holding) == 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    CHECK_RC(pthread_join(h.t, NULL), 0);

    hold_start(&h, m, 30);
    ts = deadline_in(CLOCK_MONOTONIC, 10000);
    t0 = now_ns();
    CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts), 0);
    CHECK_ELAPSED(t0, 0, 5000);
    CHECK(atomic_load(&h.holding) == 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    CHECK_RC(pthread_join(h.t, NULL), 0);
}

/* Everything but destroy, on a fresh (unlocked) mutex m of kind k. */
static void check_kind(pthread_mutex_t *m, enum kind k)
{
    /* Free: lock/unlock, trylock/unlock, another thread can take it. */
    CHECK_RC(pthread_mutex_lock(m), 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    CHECK_RC(pthread_mutex_trylock(m), 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    CHECK_RC(in_other(m, OP_TRYLOCK), 0);
    CHECK_RC(in_other(m, OP_LOCK_UNLOCK), 0);

    /* Held by the caller. */
    CHECK_RC(pthread_mutex_lock(m), 0);
    CHECK_RC(in_other(m, OP_TRYLOCK), EBUSY);
    struct timespec bad = deadline_in(CLOCK_REALTIME, 1000);
    bad.tv_nsec = NSEC_PER_SEC;
    struct timespec soon = deadline_in(CLOCK_REALTIME, 1000);
    switch (k) {
    case NORMAL:
    case ADAPTIVE:
        CHECK_RC(pthread_mutex_trylock(m), EBUSY);
        break;
    case ERRORCHECK:
        CHECK_RC(pthread_mutex_trylock(m), EBUSY);
        CHECK_RC(pthread_mutex_lock(m), EDEADLK);
        CHECK_RC(pthread_mutex_timedlock(m, &soon), EDEADLK);
        CHECK_RC(pthread_mutex_timedlock(m, &bad), EDEADLK);
        CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &bad), EDEADLK);
        CHECK_RC(in_other(m, OP_UNLOCK), EPERM);
        break;
    case RECURSIVE: {
        /* 1 + 5 levels, with every way of locking. */
        CHECK_RC(pthread_mutex_lock(m), 0);
        CHECK_RC(pthread_mutex_trylock(m), 0);
        CHECK_RC(pthread_mutex_timedlock(m, &soon), 0);
        CHECK_RC(pthread_mutex_timedlock(m, &bad), 0);
        CHECK_RC(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &bad), 0);
        CHECK_RC(in_other(m, OP_UNLOCK), EPERM);
        for (int i = 0; i < 5; i++) {
            CHECK_RC(pthread_mutex_unlock(m), 0);
            CHECK_RC(in_other(m, OP_TRYLOCK), EBUSY);
        }
        /* Deeper counts. */
        for (int i = 0; i < 1000; i++)
            CHECK_RC(pthread_mutex_lock(m), 0);
        for (int i = 0; i < 1000; i++)
            CHECK_RC(pthread_mutex_unlock(m), 0);
        CHECK_RC(in_other(m, OP_TRYLOCK), EBUSY);
        break;
    }
    default:
        CHECK(0);
    }
    CHECK_RC(pthread_mutex_unlock(m), 0);
    CHECK_RC(in_other(m, OP_TRYLOCK), 0);
    if (k == ERRORCHECK || k == RECURSIVE) {
        CHECK_RC(pthread_mutex_unlock(m), EPERM);
        CHECK_RC(in_other(m, OP_UNLOCK), EPERM);
    }

    /* Held by another thread. */
    struct holder h;
    hold_start(&h, m, 0);
    CHECK_RC(pthread_mutex_trylock(m), EBUSY);
    if (k == ERRORCHECK || k == RECURSIVE)
        CHECK_RC(pthread_mutex_unlock(m), EPERM);
    check_timed_held(m);
    hold_stop(&h);
    CHECK_RC(pthread_mutex_trylock(m), 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);

    check_timed_free(m);
    check_timed_success(m);
}

/* Destroy: EBUSY while locked (by the caller or another thread), then
 * EINVAL from every operation; m is re-initialized as kind k after. */
static void check_destroy(pthread_mutex_t *m, enum kind k)
{
    CHECK_RC(pthread_mutex_lock(m), 0);
    CHECK_RC(pthread_mutex_destroy(m), EBUSY);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    struct holder h;
    hold_start(&h, m, 0);
    CHECK_RC(pthread_mutex_destroy(m), EBUSY);
    hold_stop(&h);

    CHECK_RC(pthread_mutex_destroy(m), 0);
    struct timespec ts = deadline_in(CLOCK_REALTIME, 1000);
    CHECK_RC(pthread_mutex_lock(m), EINVAL);
    CHECK_RC(pthread_mutex_trylock(m), EINVAL);
    CHECK_RC(pthread_mutex_timedlock(m, &ts), EINVAL);
    CHECK_RC(pthread_mutex_unlock(m), EINVAL);
    CHECK_RC(in_other(m, OP_LOCK_UNLOCK), EINVAL);
    CHECK_RC(pthread_mutex_destroy(m), 0);

    pthread_mutexattr_t a;
    CHECK_RC(pthread_mutexattr_init(&a), 0);
    CHECK_RC(pthread_mutexattr_settype(&a, kind_type[k]), 0);
    CHECK_RC(pthread_mutex_init(m, &a), 0);
    CHECK_RC(pthread_mutexattr_destroy(&a), 0);
    CHECK_RC(pthread_mutex_lock(m), 0);
    CHECK_RC(pthread_mutex_unlock(m), 0);
}

static void test_kinds(void)
{
    for (int k = 0; k < NKINDS; k++) {
        pthread_mutexattr_t a;
        pthread_mutex_t m;
        int type;
        CHECK_RC(pthread_mutexattr_init(&a), 0);
        CHECK_RC(pthread_mutexattr_settype(&a, kind_type[k]), 0);
        CHECK_RC(pthread_mutexattr_gettype(&a, &type), 0);
        CHECK(type == kind_type[k]);
        CHECK_RC(pthread_mutex_init(&m, &a), 0);
        CHECK_RC(pthread_mutexattr_destroy(&a), 0);
        check_kind(&m, (enum kind)k);
        check_destroy(&m, (enum kind)k);
        CHECK_RC(pthread_mutex_destroy(&m), 0);

        check_kind(&static_mutex[k], (enum kind)k);
        check_destroy(&static_mutex[k], (enum kind)k);
    }

    /* PTHREAD_MUTEX_DEFAULT, a NULL attr, zero-filled: normal mutexes. */
    pthread_mutexattr_t a;
    pthread_mutex_t m;
    CHECK_RC(pthread_mutexattr_init(&a), 0);
    CHECK_RC(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_DEFAULT), 0);
    CHECK_RC(pthread_mutex_init(&m, &a), 0);
    CHECK_RC(pthread_mutexattr_destroy(&a), 0);
    check_kind(&m, NORMAL);
    CHECK_RC(pthread_mutex_destroy(&m), 0);
    CHECK_RC(pthread_mutex_init(&m, NULL), 0);
    check_kind(&m, NORMAL);
    CHECK_RC(pthread_mutex_destroy(&m), 0);

    check_kind(&zero_mutex, NORMAL);
    pthread_mutex_t *z = malloc(sizeof *z);
    CHECK(z != NULL);
    memset(z, 0, sizeof *z);
    check_kind(z, NORMAL);
    check_destroy(z, NORMAL);
    free(z);
}

/* ---- attributes ---- */

static void test_attrs(void)
{
    pthread_mutexattr_t a;
    int v, old;
    int pmin = sched_get_priority_min(SCHED_FIFO);
    int pmax = sched_get_priority_max(SCHED_FIFO);
    CHECK(pmin >= 0 && pmax > pmin);

    CHECK_RC(pthread_mutexattr_init(&a), 0);
    CHECK_RC(pthread_mutexattr_gettype(&a, &v), 0);
    CHECK(v == PTHREAD_MUTEX_DEFAULT && v == PTHREAD_MUTEX_NORMAL);
    CHECK_RC(pthread_mutexattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_PRIVATE);
    CHECK_RC(pthread_mutexattr_getrobust(&a, &v), 0);
    CHECK(v == PTHREAD_MUTEX_STALLED);
    CHECK_RC(pthread_mutexattr_getprotocol(&a, &v), 0);
    CHECK(v == PTHREAD_PRIO_NONE);
    CHECK_RC(pthread_mutexattr_getprioceiling(&a, &v), 0);
    CHECK(v == pmin);

    /* Types. */
    static const int types[] = {
        PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE,
        PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_DEFAULT,
        PTHREAD_MUTEX_ADAPTIVE_NP, PTHREAD_MUTEX_TIMED_NP,
        PTHREAD_MUTEX_RECURSIVE_NP, PTHREAD_MUTEX_ERRORCHECK_NP,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        CHECK_RC(pthread_mutexattr_settype(&a, types[i]), 0);
        CHECK_RC(pthread_mutexattr_gettype(&a, &v), 0);
        CHECK(v == types[i]);
    }
    CHECK_RC(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK), 0);
    CHECK_RC(pthread_mutexattr_settype(&a, 4), EINVAL);
    CHECK_RC(pthread_mutexattr_settype(&a, -1), EINVAL);
    CHECK_RC(pthread_mutexattr_settype(&a, 1000), EINVAL);
    CHECK_RC(pthread_mutexattr_gettype(&a, &v), 0);
    CHECK(v == PTHREAD_MUTEX_ERRORCHECK); /* unchanged */

    /* pshared. */
    CHECK_RC(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_mutexattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_mutexattr_setpshared(&a, 2), EINVAL);
    CHECK_RC(pthread_mutexattr_setpshared(&a, -1), EINVAL);
    CHECK_RC(pthread_mutexattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_PRIVATE), 0);
    CHECK_RC(pthread_mutexattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_PRIVATE);

    /* Robustness. */
    CHECK_RC(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
    CHECK_RC(pthread_mutexattr_getrobust(&a, &v), 0);
    CHECK(v == PTHREAD_MUTEX_ROBUST);
    CHECK_RC(pthread_mutexattr_setrobust(&a, 2), EINVAL);
    CHECK_RC(pthread_mutexattr_setrobust(&a, -1), EINVAL);
    CHECK_RC(pthread_mutexattr_getrobust(&a, &v), 0);
    CHECK(v == PTHREAD_MUTEX_ROBUST);
    CHECK_RC(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_STALLED), 0);
    CHECK_RC(pthread_mutexattr_getrobust(&a, &v), 0);
    CHECK(v == PTHREAD_MUTEX_STALLED);

    /* Protocol. */
    static const int protos[] = { PTHREAD_PRIO_INHERIT, PTHREAD_PRIO_PROTECT,
                                  PTHREAD_PRIO_NONE };
    for (size_t i = 0; i < 3; i++) {
        CHECK_RC(pthread_mutexattr_setprotocol(&a, protos[i]), 0);
        CHECK_RC(pthread_mutexattr_getprotocol(&a, &v), 0);
        CHECK(v == protos[i]);
    }
    CHECK_RC(pthread_mutexattr_setprotocol(&a, 3), EINVAL);
    CHECK_RC(pthread_mutexattr_setprotocol(&a, -1), EINVAL);
    CHECK_RC(pthread_mutexattr_getprotocol(&a, &v), 0);
    CHECK(v == PTHREAD_PRIO_NONE);

    /* Priority ceiling of the attribute. */
    CHECK_RC(pthread_mutexattr_setprioceiling(&a, pmax), 0);
    CHECK_RC(pthread_mutexattr_getprioceiling(&a, &v), 0);
    CHECK(v == pmax);
    CHECK_RC(pthread_mutexattr_setprioceiling(&a, pmin), 0);
    CHECK_RC(pthread_mutexattr_getprioceiling(&a, &v), 0);
    CHECK(v == pmin);
    CHECK_RC(pthread_mutexattr_setprioceiling(&a, pmin - 1), EINVAL);
    CHECK_RC(pthread_mutexattr_setprioceiling(&a, pmax + 1), EINVAL);
    CHECK_RC(pthread_mutexattr_setprioceiling(&a, -1), EINVAL);
    CHECK_RC(pthread_mutexattr_getprioceiling(&a, &v), 0);
    CHECK(v == pmin);
    CHECK_RC(pthread_mutexattr_destroy(&a), 0);

    /* pthread_mutex_get/setprioceiling: EINVAL unless PRIO_PROTECT. */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    v = -5;
    CHECK_RC(pthread_mutex_getprioceiling(&m, &v), EINVAL);
    CHECK_RC(pthread_mutex_setprioceiling(&m, pmin, &v), EINVAL);
    CHECK(v == -5);
    CHECK_RC(pthread_mutex_lock(&m), 0); /* untouched */
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(pthread_mutex_setprioceiling(&static_mutex[RECURSIVE], pmin,
                                          &old), EINVAL);
    CHECK_RC(pthread_mutexattr_init(&a), 0);
    CHECK_RC(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
    CHECK_RC(pthread_mutex_init(&m, &a), 0);
    CHECK_RC(pthread_mutex_getprioceiling(&m, &v), EINVAL);
    CHECK_RC(pthread_mutex_destroy(&m), 0);

    CHECK_RC(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_PROTECT), 0);
    CHECK_RC(pthread_mutexattr_setprioceiling(&a, pmax), 0);
    CHECK_RC(pthread_mutex_init(&m, &a), 0);
    CHECK_RC(pthread_mutex_getprioceiling(&m, &v), 0);
    CHECK(v == pmax);
    old = -5;
    CHECK_RC(pthread_mutex_setprioceiling(&m, pmin + 4, &old), 0);
    CHECK(old == pmax);
    CHECK_RC(pthread_mutex_getprioceiling(&m, &v), 0);
    CHECK(v == pmin + 4);
    CHECK_RC(pthread_mutex_setprioceiling(&m, pmin + 6, &old), 0);
    CHECK(old == pmin + 4);
    CHECK_RC(pthread_mutex_getprioceiling(&m, &v), 0);
    CHECK(v == pmin + 6);
    CHECK_RC(pthread_mutex_setprioceiling(&m, pmin - 1, &old), EINVAL);
    CHECK_RC(pthread_mutex_setprioceiling(&m, pmax + 1, &old), EINVAL);
    CHECK_RC(pthread_mutex_getprioceiling(&m, &v), 0);
    CHECK(v == pmin + 6);
    CHECK_RC(pthread_mutex_destroy(&m), 0);
    CHECK_RC(pthread_mutexattr_destroy(&a), 0);
}

/* ---- contention ---- */

#define NWORKERS 8
#define NITERS 20000

static pthread_mutex_t *cont_mutex;
static enum kind cont_kind;
static long counter;

static void *contend(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < NITERS; i++) {
        int rc;
        switch ((i + id) % 3) {
        case 0:
            rc = pthread_mutex_trylock(cont_mutex);
            if (rc == EBUSY)
                rc = pthread_mutex_lock(cont_mutex);
            break;
        case 1:
            rc = pthread_mutex_lock(cont_mutex);
            break;
        default: {
            struct timespec far = deadline_in(CLOCK_REALTIME, 60000);
            rc = pthread_mutex_timedlock(cont_mutex, &far);
            break;
        }
        }
        CHECK_RC(rc, 0);
        if (cont_kind == RECURSIVE && i % 4 == 0) {
            CHECK_RC(pthread_mutex_lock(cont_mutex), 0);
            counter++;
            CHECK_RC(pthread_mutex_unlock(cont_mutex), 0);
        } else {
            counter++;
        }
        if (i % 128 == id)
            sched_yield(); /* let the others pile up on the mutex */
        CHECK_RC(pthread_mutex_unlock(cont_mutex), 0);
    }
    return NULL;
}

static void run_contention(pthread_mutex_t *m, enum kind k)
{
    pthread_t t[NWORKERS];
    cont_mutex = m;
    cont_kind = k;
    counter = 0;
    for (int i = 0; i < NWORKERS; i++)
        CHECK_RC(pthread_create(&t[i], NULL, contend, (void *)(intptr_t)i),
                 0);
    for (int i = 0; i < NWORKERS; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(counter == (long)NWORKERS * NITERS);
}

static void test_contention(void)
{
    for (int k = 0; k < NKINDS; k++) {
        pthread_mutexattr_t a;
        pthread_mutex_t m;
        CHECK_RC(pthread_mutexattr_init(&a), 0);
        CHECK_RC(pthread_mutexattr_settype(&a, kind_type[k]), 0);
        CHECK_RC(pthread_mutex_init(&m, &a), 0);
        CHECK_RC(pthread_mutexattr_destroy(&a), 0);
        run_contention(&m, (enum kind)k);
        CHECK_RC(pthread_mutex_destroy(&m), 0);
    }
    pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    run_contention(&r, RECURSIVE);
    static pthread_mutex_t z; /* zero-filled */
    run_contention(&z, NORMAL);
}

int main(void)
{
    test_attrs();
    test_kinds();
    test_contention();
    return 0;
}
