/* Read-write locks, with the results glibc 2.36 gives natively.
 * - pthread_rwlockattr_*: kind PTHREAD_RWLOCK_PREFER_READER_NP by default,
 *   the three kinds settable, EINVAL for others; pshared PRIVATE by
 *   default, EINVAL for a bad value.
 * - PTHREAD_RWLOCK_INITIALIZER, PTHREAD_RWLOCK_WRITER_NONRECURSIVE_-
 *   INITIALIZER_NP and zero-filled rwlocks work without init.
 * - Several readers hold the lock at once (all 6 of them); a writer
 *   excludes everybody.
 * - The caller holds the write lock: wrlock, rdlock and their timed/clock
 *   variants give EDEADLK, tryrdlock/trywrlock EBUSY.  A reader holds it:
 *   trywrlock EBUSY (also by the reader itself), tryrdlock 0.
 * - Timed/clock variants: ETIMEDOUT at the deadline (50 ms, REALTIME and
 *   MONOTONIC), at once for a past deadline; EINVAL for tv_nsec < 0 or
 *   >= 1e9 and for clocks other than REALTIME/MONOTONIC, checked even when
 *   the lock is free (glibc validates before trying).
 * - pthread_rwlock_unlock of a lock nobody holds returns 0 (glibc does not
 *   check; the lock is not used after).
 * - PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP (attr and static
 *   initializer): while a reader holds the lock and a writer waits, new
 *   readers are refused (tryrdlock EBUSY, timedrdlock ETIMEDOUT); with the
 *   default kind (and PREFER_WRITER_NP, which glibc treats alike) they get
 *   in.
 * - Stress: 16 threads mixing read and write locking (plain, try, timed),
 *   writers set a pair of values that readers must see equal, and nobody
 *   reads while a writer writes; for the default and the writer-preferring
 *   kinds. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

static struct timespec deadline_in(clockid_t clk, int64_t ms)
{
    return ns_to_ts(clock_ns(clk) + ms * NSEC_PER_MSEC);
}

static void rwlock_init_kind(pthread_rwlock_t *l, int kind)
{
    pthread_rwlockattr_t a;
    int v;
    CHECK_RC(pthread_rwlockattr_init(&a), 0);
    CHECK_RC(pthread_rwlockattr_setkind_np(&a, kind), 0);
    CHECK_RC(pthread_rwlockattr_getkind_np(&a, &v), 0);
    CHECK(v == kind);
    CHECK_RC(pthread_rwlock_init(l, &a), 0);
    CHECK_RC(pthread_rwlockattr_destroy(&a), 0);
}

/* ---- one operation in another thread ---- */

enum op { OP_TRYRD, OP_TRYWR, OP_RD, OP_WR };

struct opreq {
    pthread_rwlock_t *l;
    enum op op;
    int rc;
};

static void *do_op(void *arg)
{
    struct opreq *r = arg;
    switch (r->op) {
    case OP_TRYRD:
        r->rc = pthread_rwlock_tryrdlock(r->l);
        break;
    case OP_TRYWR:
        r->rc = pthread_rwlock_trywrlock(r->l);
        break;
    case OP_RD:
        r->rc = pthread_rwlock_rdlock(r->l);
        break;
    case OP_WR:
        r->rc = pthread_rwlock_wrlock(r->l);
        break;
    }
    if (r->rc == 0)
        CHECK_RC(pthread_rwlock_unlock(r->l), 0);
    return NULL;
}

static int in_other(pthread_rwlock_t *l, enum op op)
{
    struct opreq r = { l, op, -1 };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, do_op, &r), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    return r.rc;
}

/* ---- a thread holding the lock until released ---- */

struct holder {
    pthread_rwlock_t *l;
    int write;
    atomic_int holding;
    atomic_int release;
    pthread_t t;
};

static void *hold_main(void *arg)
{
    struct holder *h = arg;
    CHECK_RC(h->write ? pthread_rwlock_wrlock(h->l)
                      : pthread_rwlock_rdlock(h->l), 0);
    atomic_store(&h->holding, 1);
    wait_flag(&h->release, 1, 60000);
    atomic_store(&h->holding, 0);
    CHECK_RC(pthread_rwlock_unlock(h->l), 0);
    return NULL;
}

/* Start a holder; wait_holding: return only once it holds the lock. */
static void hold_start(struct holder *h, pthread_rwlock_t *l, int write,
                       int wait_holding)
{
    h->l = l;
    h->write = write;
    atomic_store(&h->holding, 0);
    atomic_store(&h->release, 0);
    CHECK_RC(pthread_create(&h->t, NULL, hold_main, h), 0);
    if (wait_holding)
        wait_flag(&h->holding, 1, 10000);
}

static void hold_stop(struct holder *h)
{
    atomic_store(&h->release, 1);
    CHECK_RC(pthread_join(h->t, NULL), 0);
}

/* ---- attributes ---- */

static void test_attrs(void)
{
    pthread_rwlockattr_t a;
    int v;
    CHECK_RC(pthread_rwlockattr_init(&a), 0);
    CHECK_RC(pthread_rwlockattr_getkind_np(&a, &v), 0);
    CHECK(v == PTHREAD_RWLOCK_PREFER_READER_NP);
    CHECK(v == PTHREAD_RWLOCK_DEFAULT_NP);
    CHECK_RC(pthread_rwlockattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_PRIVATE);
    static const int kinds[] = {
        PTHREAD_RWLOCK_PREFER_WRITER_NP,
        PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP,
        PTHREAD_RWLOCK_PREFER_READER_NP,
    };
    for (int i = 0; i < 3; i++) {
        CHECK_RC(pthread_rwlockattr_setkind_np(&a, kinds[i]), 0);
        CHECK_RC(pthread_rwlockattr_getkind_np(&a, &v), 0);
        CHECK(v == kinds[i]);
    }
    CHECK_RC(pthread_rwlockattr_setkind_np(&a, 3), EINVAL);
    CHECK_RC(pthread_rwlockattr_setkind_np(&a, -1), EINVAL);
    CHECK_RC(pthread_rwlockattr_getkind_np(&a, &v), 0);
    CHECK(v == PTHREAD_RWLOCK_PREFER_READER_NP);
    CHECK_RC(pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_rwlockattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_rwlockattr_setpshared(&a, 2), EINVAL);
    CHECK_RC(pthread_rwlockattr_setpshared(&a, -1), EINVAL);
    CHECK_RC(pthread_rwlockattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_PRIVATE), 0);
    CHECK_RC(pthread_rwlockattr_destroy(&a), 0);
}

/* ---- errors and timeouts on one lock ---- */

static void check_bad_args(pthread_rwlock_t *l)
{
    struct timespec ts = deadline_in(CLOCK_REALTIME, 1000);
    ts.tv_nsec = NSEC_PER_SEC;
    CHECK_RC(pthread_rwlock_timedrdlock(l, &ts), EINVAL);
    CHECK_RC(pthread_rwlock_timedwrlock(l, &ts), EINVAL);
    CHECK_RC(pthread_rwlock_clockrdlock(l, CLOCK_REALTIME, &ts), EINVAL);
    ts.tv_nsec = -1;
    CHECK_RC(pthread_rwlock_timedrdlock(l, &ts), EINVAL);
    CHECK_RC(pthread_rwlock_timedwrlock(l, &ts), EINVAL);
    CHECK_RC(pthread_rwlock_clockwrlock(l, CLOCK_MONOTONIC, &ts), EINVAL);
    ts = deadline_in(CLOCK_MONOTONIC, 1000);
    CHECK_RC(pthread_rwlock_clockrdlock(l, CLOCK_PROCESS_CPUTIME_ID, &ts),
             EINVAL);
    CHECK_RC(pthread_rwlock_clockwrlock(l, CLOCK_PROCESS_CPUTIME_ID, &ts),
             EINVAL);
    CHECK_RC(pthread_rwlock_clockrdlock(l, CLOCK_MONOTONIC_RAW, &ts),
             EINVAL);
    CHECK_RC(pthread_rwlock_clockwrlock(l, CLOCK_BOOTTIME, &ts), EINVAL);
    CHECK_RC(pthread_rwlock_clockrdlock(l, 12345, &ts), EINVAL);
    CHECK_RC(pthread_rwlock_clockwrlock(l, -1, &ts), EINVAL);
}

/* A timed lock of l that must run out. */
enum timed { TRD, TWR, CRD_RT, CRD_MONO, CWR_RT, CWR_MONO };

static int timed_lock(pthread_rwlock_t *l, enum timed how, int64_t ms)
{
    struct timespec rt = deadline_in(CLOCK_REALTIME, ms);
    struct timespec mono = deadline_in(CLOCK_MONOTONIC, ms);
    switch (how) {
    case TRD:
        return pthread_rwlock_timedrdlock(l, &rt);
    case TWR:
        return pthread_rwlock_timedwrlock(l, &rt);
    case CRD_RT:
        return pthread_rwlock_clockrdlock(l, CLOCK_REALTIME, &rt);
    case CRD_MONO:
        return pthread_rwlock_clockrdlock(l, CLOCK_MONOTONIC, &mono);
    case CWR_RT:
        return pthread_rwlock_clockwrlock(l, CLOCK_REALTIME, &rt);
    default:
        return pthread_rwlock_clockwrlock(l, CLOCK_MONOTONIC, &mono);
    }
}

static void times_out(pthread_rwlock_t *l, enum timed how)
{
    int64_t t0 = now_ns();
    CHECK_RC(timed_lock(l, how, 50), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);
    t0 = now_ns();
    CHECK_RC(timed_lock(l, how, -1), ETIMEDOUT);
    CHECK_RC(timed_lock(l, how, -5000), ETIMEDOUT);
    CHECK_ELAPSED(t0, 0, 200);
}

static void check_lock(pthread_rwlock_t *l)
{
    /* Free. */
    check_bad_args(l);
    CHECK_RC(pthread_rwlock_rdlock(l), 0);
    CHECK_RC(pthread_rwlock_unlock(l), 0);
    CHECK_RC(pthread_rwlock_wrlock(l), 0);
    CHECK_RC(pthread_rwlock_unlock(l), 0);
    for (int how = TRD; how <= CWR_MONO; how++) {
        CHECK_RC(timed_lock(l, (enum timed)how, 1000), 0);
        CHECK_RC(pthread_rwlock_unlock(l), 0);
        CHECK_RC(timed_lock(l, (enum timed)how, -1000), 0); /* past: free */
        CHECK_RC(pthread_rwlock_unlock(l), 0);
    }

    /* The caller writes. */
    CHECK_RC(pthread_rwlock_wrlock(l), 0);
    CHECK_RC(pthread_rwlock_wrlock(l), EDEADLK);
    CHECK_RC(pthread_rwlock_rdlock(l), EDEADLK);
    CHECK_RC(pthread_rwlock_tryrdlock(l), EBUSY);
    CHECK_RC(pthread_rwlock_trywrlock(l), EBUSY);
    for (int how = TRD; how <= CWR_MONO; how++)
        CHECK_RC(timed_lock(l, (enum timed)how, 1000), EDEADLK);
    CHECK_RC(in_other(l, OP_TRYRD), EBUSY);
    CHECK_RC(in_other(l, OP_TRYWR), EBUSY);
    check_bad_args(l);
    CHECK_RC(pthread_rwlock_unlock(l), 0);

    /* The caller reads. */
    CHECK_RC(pthread_rwlock_rdlock(l), 0);
    CHECK_RC(pthread_rwlock_trywrlock(l), EBUSY);
    CHECK_RC(in_other(l, OP_TRYWR), EBUSY);
    CHECK_RC(in_other(l, OP_TRYRD), 0);
    CHECK_RC(in_other(l, OP_RD), 0);
    CHECK_RC(pthread_rwlock_unlock(l), 0);
    CHECK_RC(in_other(l, OP_TRYWR), 0);

    /* Another thread writes. */
    struct holder h;
    hold_start(&h, l, 1, 1);
    CHECK_RC(pthread_rwlock_tryrdlock(l), EBUSY);
    CHECK_RC(pthread_rwlock_trywrlock(l), EBUSY);
    for (int how = TRD; how <= CWR_MONO; how++)
        times_out(l, (enum timed)how);
    check_bad_args(l);
    hold_stop(&h);

    /* Another thread reads. */
    hold_start(&h, l, 0, 1);
    CHECK_RC(pthread_rwlock_trywrlock(l), EBUSY);
    times_out(l, TWR);
    times_out(l, CWR_RT);
    times_out(l, CWR_MONO);
    CHECK_RC(pthread_rwlock_tryrdlock(l), 0);
    CHECK_RC(pthread_rwlock_unlock(l), 0);
    CHECK_RC(timed_lock(l, CRD_MONO, 1000), 0);
    CHECK_RC(pthread_rwlock_unlock(l), 0);
    hold_stop(&h);

    CHECK_RC(pthread_rwlock_trywrlock(l), 0);
    CHECK_RC(pthread_rwlock_unlock(l), 0);
}

static pthread_rwlock_t static_l = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t static_wl =
    PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_rwlock_t zero_l;

static void test_errors(void)
{
    check_lock(&static_l);
    check_lock(&static_wl);
    check_lock(&zero_l);
    pthread_rwlock_t l;
    CHECK_RC(pthread_rwlock_init(&l, NULL), 0);
    check_lock(&l);
    CHECK_RC(pthread_rwlock_destroy(&l), 0);
    rwlock_init_kind(&l, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    check_lock(&l);
    CHECK_RC(pthread_rwlock_destroy(&l), 0);

    /* Unlocking a free lock: glibc returns 0 (and the lock is spoiled). */
    pthread_rwlock_t spoiled = PTHREAD_RWLOCK_INITIALIZER;
    CHECK_RC(pthread_rwlock_unlock(&spoiled), 0);
}

/* ---- readers at once ---- */

#define NREADERS 6

static pthread_rwlock_t shared_l = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int readers_in;

static void *reader_together(void *arg)
{
    CHECK_RC(pthread_rwlock_rdlock(&shared_l), 0);
    atomic_fetch_add(&readers_in, 1);
    /* Hold until every reader holds it: they hold it at once. */
    int64_t deadline = now_ns() + 30 * NSEC_PER_SEC;
    while (atomic_load(&readers_in) < NREADERS) {
        CHECK(now_ns() < deadline);
        usleep(1000);
    }
    CHECK_RC(pthread_rwlock_unlock(&shared_l), 0);
    return arg;
}

static void test_shared_readers(void)
{
    for (int round = 0; round < 3; round++) {
        pthread_t t[NREADERS];
        atomic_store(&readers_in, 0);
        for (int i = 0; i < NREADERS; i++)
            CHECK_RC(pthread_create(&t[i], NULL, reader_together, NULL), 0);
        for (int i = 0; i < NREADERS; i++)
            CHECK_RC(pthread_join(t[i], NULL), 0);
        CHECK(atomic_load(&readers_in) == NREADERS);
        if (round == 0)
            continue;
        /* Once with the writer-preferring kind too. */
        CHECK_RC(pthread_rwlock_destroy(&shared_l), 0);
        rwlock_init_kind(&shared_l,
                         PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    }
}

/* ---- writer preference ---- */

static void check_preference(pthread_rwlock_t *l, int writer_first)
{
    struct holder reader, writer;
    hold_start(&reader, l, 0, 1);
    hold_start(&writer, l, 1, 0); /* blocks in wrlock */
    if (writer_first) {
        /* Once the writer waits, new readers are refused. */
        int64_t deadline = now_ns() + 10 * NSEC_PER_SEC;
        int rc;
        while ((rc = pthread_rwlock_tryrdlock(l)) == 0) {
            CHECK_RC(pthread_rwlock_unlock(l), 0);
            CHECK(now_ns() < deadline);
            usleep(1000);
        }
        CHECK_RC(rc, EBUSY);
        CHECK(atomic_load(&writer.holding) == 0);
        CHECK_RC(in_other(l, OP_TRYRD), EBUSY);
        times_out(l, TRD);
        times_out(l, CRD_MONO);
    } else {
        /* The writer (soon) waits; readers still get in. */
        sleep_ms(50);
        for (int i = 0; i < 5; i++) {
            CHECK_RC(pthread_rwlock_tryrdlock(l), 0);
            CHECK_RC(pthread_rwlock_unlock(l), 0);
            CHECK_RC(in_other(l, OP_RD), 0);
        }
        CHECK(atomic_load(&writer.holding) == 0);
    }
    CHECK_RC(pthread_rwlock_trywrlock(l), EBUSY);
    hold_stop(&reader);
    wait_flag(&writer.holding, 1, 10000);
    CHECK_RC(pthread_rwlock_tryrdlock(l), EBUSY);
    hold_stop(&writer);
    CHECK_RC(pthread_rwlock_tryrdlock(l), 0);
    CHECK_RC(pthread_rwlock_unlock(l), 0);
}

static void test_preference(void)
{
    pthread_rwlock_t l;
    rwlock_init_kind(&l, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    check_preference(&l, 1);
    CHECK_RC(pthread_rwlock_destroy(&l), 0);
    check_preference(&static_wl, 1);

    rwlock_init_kind(&l, PTHREAD_RWLOCK_PREFER_READER_NP);
    check_preference(&l, 0);
    CHECK_RC(pthread_rwlock_destroy(&l), 0);
    rwlock_init_kind(&l, PTHREAD_RWLOCK_PREFER_WRITER_NP);
    check_preference(&l, 0);
    CHECK_RC(pthread_rwlock_destroy(&l), 0);
    check_preference(&static_l, 0);
}

/* ---- stress ---- */

#define NSTRESS 16
#define STRESS_ITERS 2000

static pthread_rwlock_t stress_l;
static long pair_a, pair_b;
static long writes_done;
static atomic_int active_readers, active_writers;

static void write_pair(int i)
{
    CHECK(atomic_fetch_add(&active_writers, 1) == 0);
    CHECK(atomic_load(&active_readers) == 0);
    long v = pair_a + 1;
    pair_a = v;
    if (i % 16 == 0)
        sched_yield();
    pair_b = v;
    writes_done++;
    atomic_fetch_sub(&active_writers, 1);
}

static void read_pair(int i)
{
    atomic_fetch_add(&active_readers, 1);
    CHECK(atomic_load(&active_writers) == 0);
    long a = pair_a;
    if (i % 16 == 1)
        sched_yield();
    long b = pair_b;
    CHECK(a == b);
    atomic_fetch_sub(&active_readers, 1);
}

static void *stress_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < STRESS_ITERS; i++) {
        int write = (i + id) % 4 == 0;
        int rc;
        switch ((i / 4 + id) % 3) {
        case 0:
            rc = write ? pthread_rwlock_wrlock(&stress_l)
                       : pthread_rwlock_rdlock(&stress_l);
            break;
        case 1:
            rc = write ? pthread_rwlock_trywrlock(&stress_l)
                       : pthread_rwlock_tryrdlock(&stress_l);
            if (rc == EBUSY)
                rc = write ? pthread_rwlock_wrlock(&stress_l)
                           : pthread_rwlock_rdlock(&stress_l);
            break;
        default: {
            struct timespec ts = deadline_in(CLOCK_MONOTONIC, 60000);
            rc = write
                ? pthread_rwlock_clockwrlock(&stress_l, CLOCK_MONOTONIC, &ts)
                : pthread_rwlock_clockrdlock(&stress_l, CLOCK_MONOTONIC, &ts);
            break;
        }
        }
        CHECK_RC(rc, 0);
        if (write)
            write_pair(i);
        else
            read_pair(i);
        CHECK_RC(pthread_rwlock_unlock(&stress_l), 0);
    }
    return arg;
}

static void run_stress(int kind)
{
    pthread_t t[NSTRESS];
    rwlock_init_kind(&stress_l, kind);
    pair_a = pair_b = 0;
    writes_done = 0;
    for (int i = 0; i < NSTRESS; i++)
        CHECK_RC(pthread_create(&t[i], NULL, stress_main,
                                (void *)(intptr_t)i), 0);
    for (int i = 0; i < NSTRESS; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(writes_done == (long)NSTRESS * STRESS_ITERS / 4);
    CHECK(pair_a == writes_done && pair_b == writes_done);
    CHECK_RC(pthread_rwlock_destroy(&stress_l), 0);
}

static void test_stress(void)
{
    run_stress(PTHREAD_RWLOCK_PREFER_READER_NP);
    run_stress(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
}

int main(void)
{
    test_attrs();
    test_errors();
    test_shared_readers();
    test_preference();
    test_stress();
    return 0;
}
