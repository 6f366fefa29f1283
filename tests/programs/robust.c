/* Robust mutexes (PTHREAD_MUTEX_ROBUST), with the results glibc 2.36 gives
 * natively.
 * - A thread that returns (or calls pthread_exit) holding a robust mutex:
 *   the next lock, trylock, timedlock or clocklock (even with a deadline in
 *   the past) gives EOWNERDEAD and the caller owns the mutex;
 *   pthread_mutex_consistent makes it an ordinary mutex again.
 * - Unlocked without pthread_mutex_consistent: every later lock, trylock,
 *   timedlock gives ENOTRECOVERABLE (in any thread); consistent gives
 *   EINVAL; destroy (0) and init make it usable.  (glibc 2.36's trylock
 *   leaves the lock word taken when it returns ENOTRECOVERABLE, a bug, so
 *   trylock comes last, before destroy.)
 * - pthread_mutex_consistent on a non-robust mutex, or on a robust one that
 *   is consistent (free or held): EINVAL.
 * - The owner dies while other threads are blocked in lock or timedlock:
 *   exactly one gets EOWNERDEAD; after consistent+unlock the others get 0.
 * - Robust recursive: the new owner's count is 1 after EOWNERDEAD; while
 *   inconsistent it can lock again (0), but an unlock that only counts
 *   down gives ENOTRECOVERABLE (the last one gives 0); robust
 *   errorcheck: EDEADLK on relock, also from trylock (a non-robust one
 *   gives EBUSY there); robust normal: trylock by the owner EBUSY; every
 *   robust kind: unlock by a non-owner (or of a free mutex) gives EPERM.
 * - pthread_exit holding two robust mutexes: both come back EOWNERDEAD.
 * - Destroying a locked robust mutex gives 0 (glibc's EBUSY check is for
 *   non-robust mutexes only). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

static void robust_init(pthread_mutex_t *m, int type)
{
    pthread_mutexattr_t a;
    int v;
    CHECK_RC(pthread_mutexattr_init(&a), 0);
    CHECK_RC(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
    CHECK_RC(pthread_mutexattr_getrobust(&a, &v), 0);
    CHECK(v == PTHREAD_MUTEX_ROBUST);
    CHECK_RC(pthread_mutexattr_settype(&a, type), 0);
    CHECK_RC(pthread_mutex_init(m, &a), 0);
    CHECK_RC(pthread_mutexattr_destroy(&a), 0);
}

static struct timespec deadline_in(clockid_t clk, int64_t ms)
{
    return ns_to_ts(clock_ns(clk) + ms * NSEC_PER_MSEC);
}

/* ---- threads that die holding mutexes ---- */

struct dier {
    pthread_mutex_t *m[2];
    int nlocks;           /* times to lock m[0] (recursive: > 1) */
    int use_exit;         /* pthread_exit from a nested call */
    long hold_ms;         /* hold this long before dying */
    atomic_int *arrived;  /* > 0: wait until *arrived >= wait_for */
    int wait_for;
    atomic_int holding;
};

static void nested_exit(struct dier *d)
{
    pthread_exit(d);
}

static void *die_holding(void *arg)
{
    struct dier *d = arg;
    for (int i = 0; i < d->nlocks; i++)
        CHECK_RC(pthread_mutex_lock(d->m[0]), 0);
    if (d->m[1] != NULL)
        CHECK_RC(pthread_mutex_lock(d->m[1]), 0);
    atomic_store(&d->holding, 1);
    if (d->arrived != NULL)
        WAIT_UNTIL(atomic_load(d->arrived) >= d->wait_for, 30000);
    if (d->hold_ms > 0)
        sleep_ms(d->hold_ms);
    if (d->use_exit)
        nested_exit(d);
    return d;
}

/* Start a thread that locks m (nlocks times) and dies; wait until it holds
 * it. */
static pthread_t start_dier(struct dier *d, pthread_mutex_t *m, int nlocks)
{
    pthread_t t;
    d->m[0] = m;
    d->nlocks = nlocks;
    atomic_store(&d->holding, 0);
    CHECK_RC(pthread_create(&t, NULL, die_holding, d), 0);
    WAIT_UNTIL(atomic_load(&d->holding), 10000);
    return t;
}

/* The owner of m returns, and is joined. */
static void kill_owner(pthread_mutex_t *m, int nlocks)
{
    struct dier d = { .m = { NULL, NULL } };
    pthread_t t = start_dier(&d, m, nlocks);
    void *ret;
    CHECK_RC(pthread_join(t, &ret), 0);
    CHECK(ret == &d);
}

/* ---- operations in another thread ---- */

enum op { OP_TRYLOCK, OP_LOCK, OP_UNLOCK };

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
        break;
    case OP_LOCK:
        r->rc = pthread_mutex_lock(r->m);
        break;
    case OP_UNLOCK:
        r->rc = pthread_mutex_unlock(r->m);
        break;
    }
    if (r->rc == 0 && r->op != OP_UNLOCK)
        CHECK_RC(pthread_mutex_unlock(r->m), 0);
    return NULL;
}

static int in_other(pthread_mutex_t *m, enum op op)
{
    struct opreq r = { m, op, -1 };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, do_op, &r), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    return r.rc;
}

/* ---- parts ---- */

static void test_owner_dead(void)
{
    pthread_mutex_t m;
    robust_init(&m, PTHREAD_MUTEX_NORMAL);

    /* lock */
    kill_owner(&m, 1);
    CHECK_RC(pthread_mutex_lock(&m), EOWNERDEAD);
    CHECK_RC(in_other(&m, OP_TRYLOCK), EBUSY); /* the caller owns it */
    CHECK_RC(in_other(&m, OP_UNLOCK), EPERM);
    CHECK_RC(pthread_mutex_trylock(&m), EBUSY);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_consistent(&m), EINVAL); /* consistent already */
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), EPERM);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(in_other(&m, OP_LOCK), 0);

    /* trylock */
    kill_owner(&m, 1);
    CHECK_RC(pthread_mutex_trylock(&m), EOWNERDEAD);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);

    /* timedlock, clocklock: also with deadlines in the past */
    struct timespec ts = deadline_in(CLOCK_REALTIME, 5000);
    kill_owner(&m, 1);
    int64_t t0 = now_ns();
    CHECK_RC(pthread_mutex_timedlock(&m, &ts), EOWNERDEAD);
    CHECK_ELAPSED(t0, 0, 1000);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);

    struct timespec past = { 0, 0 };
    kill_owner(&m, 1);
    CHECK_RC(pthread_mutex_timedlock(&m, &past), EOWNERDEAD);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);

    kill_owner(&m, 1);
    ts = deadline_in(CLOCK_MONOTONIC, -1000);
    CHECK_RC(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts), EOWNERDEAD);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);

    /* The new owner dies too: the next one gets EOWNERDEAD again. */
    kill_owner(&m, 1);
    struct opreq r = { &m, OP_LOCK, -1 };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, do_op, &r), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    /* do_op locked (EOWNERDEAD, not unlocked) and returned holding it. */
    CHECK_RC(r.rc, EOWNERDEAD);
    CHECK_RC(pthread_mutex_lock(&m), EOWNERDEAD);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);

    CHECK_RC(pthread_mutex_destroy(&m), 0);
}

static void test_not_recoverable(void)
{
    pthread_mutex_t m;
    robust_init(&m, PTHREAD_MUTEX_NORMAL);
    kill_owner(&m, 1);
    CHECK_RC(pthread_mutex_lock(&m), EOWNERDEAD);
    CHECK_RC(pthread_mutex_unlock(&m), 0); /* without consistent */

    struct timespec ts = deadline_in(CLOCK_REALTIME, 5000);
    int64_t t0 = now_ns();
    CHECK_RC(pthread_mutex_lock(&m), ENOTRECOVERABLE);
    CHECK_RC(pthread_mutex_timedlock(&m, &ts), ENOTRECOVERABLE);
    CHECK_RC(pthread_mutex_clocklock(&m, CLOCK_REALTIME, &ts),
             ENOTRECOVERABLE);
    CHECK_RC(pthread_mutex_lock(&m), ENOTRECOVERABLE);
    CHECK_RC(in_other(&m, OP_LOCK), ENOTRECOVERABLE);
    CHECK_RC(pthread_mutex_consistent(&m), EINVAL);
    /* Last: glibc 2.36's trylock leaves the lock word taken when it
     * returns ENOTRECOVERABLE (later locks would block), so nothing but
     * destroy follows it. */
    CHECK_RC(pthread_mutex_trylock(&m), ENOTRECOVERABLE);
    CHECK_ELAPSED(t0, 0, 2000);

    CHECK_RC(pthread_mutex_destroy(&m), 0);
    robust_init(&m, PTHREAD_MUTEX_NORMAL);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(in_other(&m, OP_LOCK), 0);
    CHECK_RC(pthread_mutex_destroy(&m), 0);
}

static void test_consistent_einval(void)
{
    pthread_mutex_t n = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    pthread_mutex_t e = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    CHECK_RC(pthread_mutex_consistent(&n), EINVAL);
    CHECK_RC(pthread_mutex_lock(&n), 0);
    CHECK_RC(pthread_mutex_consistent(&n), EINVAL);
    CHECK_RC(pthread_mutex_unlock(&n), 0);
    CHECK_RC(pthread_mutex_consistent(&r), EINVAL);
    CHECK_RC(pthread_mutex_consistent(&e), EINVAL);

    pthread_mutex_t m;
    robust_init(&m, PTHREAD_MUTEX_NORMAL);
    CHECK_RC(pthread_mutex_consistent(&m), EINVAL);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    CHECK_RC(pthread_mutex_consistent(&m), EINVAL);
    CHECK_RC(pthread_mutex_trylock(&m), EBUSY);
    CHECK_RC(in_other(&m, OP_UNLOCK), EPERM);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    /* Robust normal: unlocking a free mutex is checked too. */
    CHECK_RC(pthread_mutex_unlock(&m), EPERM);
    CHECK_RC(pthread_mutex_destroy(&m), 0);
}

/* Threads blocked in lock (or timedlock) when the owner dies. */
static pthread_mutex_t wait_m;
static atomic_int waiters_arrived;
static atomic_int owner_dead_count, zero_count;

static void *blocked_locker(void *arg)
{
    int timed = (int)(intptr_t)arg;
    int rc;
    atomic_fetch_add(&waiters_arrived, 1);
    if (timed) {
        struct timespec ts = deadline_in(CLOCK_MONOTONIC, 30000);
        rc = pthread_mutex_clocklock(&wait_m, CLOCK_MONOTONIC, &ts);
    } else {
        rc = pthread_mutex_lock(&wait_m);
    }
    if (rc == EOWNERDEAD) {
        atomic_fetch_add(&owner_dead_count, 1);
        CHECK_RC(pthread_mutex_consistent(&wait_m), 0);
    } else {
        CHECK_RC(rc, 0);
        atomic_fetch_add(&zero_count, 1);
    }
    sched_yield();
    CHECK_RC(pthread_mutex_unlock(&wait_m), 0);
    return NULL;
}

static void run_blocked(int nwaiters, int timed, int type)
{
    robust_init(&wait_m, type);
    atomic_store(&waiters_arrived, 0);
    atomic_store(&owner_dead_count, 0);
    atomic_store(&zero_count, 0);

    /* The owner dies 50 ms after every waiter announced itself: the
     * waiters are then (almost surely) blocked; the result must be the
     * same if one is not. */
    struct dier d = { .m = { NULL, NULL }, .hold_ms = 50,
                      .arrived = &waiters_arrived, .wait_for = nwaiters };
    pthread_t owner = start_dier(&d, &wait_m, 1);
    pthread_t w[8];
    CHECK(nwaiters <= 8);
    for (int i = 0; i < nwaiters; i++)
        CHECK_RC(pthread_create(&w[i], NULL, blocked_locker,
                                (void *)(intptr_t)(timed && i % 2 == 0)),
                 0);
    int64_t t0 = now_ns();
    CHECK_RC(pthread_join(owner, NULL), 0);
    for (int i = 0; i < nwaiters; i++)
        CHECK_RC(pthread_join(w[i], NULL), 0);
    CHECK_ELAPSED(t0, 0, 10000);
    CHECK(atomic_load(&owner_dead_count) == 1);
    CHECK(atomic_load(&zero_count) == nwaiters - 1);
    CHECK_RC(pthread_mutex_lock(&wait_m), 0);
    CHECK_RC(pthread_mutex_unlock(&wait_m), 0);
    CHECK_RC(pthread_mutex_destroy(&wait_m), 0);
}

static void test_blocked_waiters(void)
{
    run_blocked(1, 0, PTHREAD_MUTEX_NORMAL);
    run_blocked(1, 1, PTHREAD_MUTEX_NORMAL);
    run_blocked(4, 0, PTHREAD_MUTEX_NORMAL);
    run_blocked(6, 1, PTHREAD_MUTEX_ERRORCHECK);
    run_blocked(4, 1, PTHREAD_MUTEX_RECURSIVE);

    /* Main itself blocked in a timed lock when the owner dies. */
    pthread_mutex_t m;
    robust_init(&m, PTHREAD_MUTEX_NORMAL);
    struct dier d = { .m = { NULL, NULL }, .hold_ms = 50 };
    pthread_t t = start_dier(&d, &m, 1);
    struct timespec ts = deadline_in(CLOCK_REALTIME, 20000);
    int64_t t0 = now_ns();
    CHECK_RC(pthread_mutex_timedlock(&m, &ts), EOWNERDEAD);
    CHECK_ELAPSED(t0, 0, 10000);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(pthread_join(t, NULL), 0);

    /* A timed lock that runs out while the owner lives. */
    d.hold_ms = 400;
    t = start_dier(&d, &m, 1);
    ts = deadline_in(CLOCK_MONOTONIC, 50);
    t0 = now_ns();
    CHECK_RC(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);
    CHECK_RC(pthread_mutex_trylock(&m), EBUSY);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_mutex_lock(&m), EOWNERDEAD);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(pthread_mutex_destroy(&m), 0);
}

static void test_recursive(void)
{
    pthread_mutex_t m;
    robust_init(&m, PTHREAD_MUTEX_RECURSIVE);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    CHECK_RC(pthread_mutex_trylock(&m), 0);
    CHECK_RC(in_other(&m, OP_UNLOCK), EPERM);
    CHECK_RC(in_other(&m, OP_TRYLOCK), EBUSY);
    for (int i = 0; i < 3; i++)
        CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), EPERM);
    CHECK_RC(in_other(&m, OP_LOCK), 0);

    /* The owner dies holding it three levels deep: the new owner holds it
     * once. */
    kill_owner(&m, 3);
    CHECK_RC(pthread_mutex_lock(&m), EOWNERDEAD);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(in_other(&m, OP_TRYLOCK), EBUSY);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(in_other(&m, OP_TRYLOCK), 0);
    CHECK_RC(pthread_mutex_unlock(&m), EPERM);

    /* Relocking while inconsistent, then unlocking without consistent:
     * glibc's inner unlock gives ENOTRECOVERABLE (but counts down). */
    kill_owner(&m, 2);
    CHECK_RC(pthread_mutex_trylock(&m), EOWNERDEAD);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), ENOTRECOVERABLE);
    CHECK_RC(in_other(&m, OP_TRYLOCK), EBUSY);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(pthread_mutex_lock(&m), ENOTRECOVERABLE);
    CHECK_RC(pthread_mutex_destroy(&m), 0);
}

static void test_errorcheck(void)
{
    pthread_mutex_t m;
    robust_init(&m, PTHREAD_MUTEX_ERRORCHECK);
    CHECK_RC(pthread_mutex_unlock(&m), EPERM);
    CHECK_RC(pthread_mutex_lock(&m), 0);
    CHECK_RC(pthread_mutex_lock(&m), EDEADLK);
    struct timespec ts = deadline_in(CLOCK_REALTIME, 1000);
    CHECK_RC(pthread_mutex_timedlock(&m, &ts), EDEADLK);
    /* Unlike a non-robust errorcheck mutex (EBUSY). */
    CHECK_RC(pthread_mutex_trylock(&m), EDEADLK);
    CHECK_RC(in_other(&m, OP_UNLOCK), EPERM);
    CHECK_RC(in_other(&m, OP_TRYLOCK), EBUSY);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), EPERM);

    kill_owner(&m, 1);
    CHECK_RC(in_other(&m, OP_UNLOCK), EPERM); /* nobody owns it */
    CHECK_RC(pthread_mutex_lock(&m), EOWNERDEAD);
    CHECK_RC(pthread_mutex_lock(&m), EDEADLK);
    CHECK_RC(in_other(&m, OP_UNLOCK), EPERM);
    CHECK_RC(pthread_mutex_consistent(&m), 0);
    CHECK_RC(pthread_mutex_unlock(&m), 0);
    CHECK_RC(in_other(&m, OP_LOCK), 0);
    CHECK_RC(pthread_mutex_destroy(&m), 0);
}

/* pthread_exit (from a nested call) holding two robust mutexes. */
static void test_exit_two(void)
{
    pthread_mutex_t a, b;
    robust_init(&a, PTHREAD_MUTEX_RECURSIVE);
    robust_init(&b, PTHREAD_MUTEX_ERRORCHECK);
    for (int round = 0; round < 3; round++) {
        struct dier d = { .m = { &a, &b }, .use_exit = 1 };
        pthread_t t = start_dier(&d, &a, 2);
        void *ret;
        CHECK_RC(pthread_join(t, &ret), 0);
        CHECK(ret == &d);
        if (round % 2 == 0) {
            CHECK_RC(pthread_mutex_lock(&b), EOWNERDEAD);
            CHECK_RC(pthread_mutex_lock(&a), EOWNERDEAD);
        } else {
            CHECK_RC(pthread_mutex_trylock(&a), EOWNERDEAD);
            CHECK_RC(pthread_mutex_trylock(&b), EOWNERDEAD);
        }
        CHECK_RC(pthread_mutex_consistent(&a), 0);
        CHECK_RC(pthread_mutex_consistent(&b), 0);
        CHECK_RC(pthread_mutex_unlock(&b), 0);
        CHECK_RC(pthread_mutex_unlock(&a), 0);
        CHECK_RC(in_other(&a, OP_LOCK), 0);
        CHECK_RC(in_other(&b, OP_LOCK), 0);
    }
    CHECK_RC(pthread_mutex_destroy(&a), 0);
    CHECK_RC(pthread_mutex_destroy(&b), 0);
}

/* Destroying a locked robust mutex: 0.  Done by the owner, which then
 * dies holding the (destroyed) mutex; main re-initializes it after the
 * owner was joined. */
static pthread_mutex_t destroyed_m;
static int destroy_rc = -1;

static void *lock_and_destroy(void *arg)
{
    CHECK_RC(pthread_mutex_lock(&destroyed_m), 0);
    destroy_rc = pthread_mutex_destroy(&destroyed_m);
    return arg;
}

static void test_destroy_locked(void)
{
    robust_init(&destroyed_m, PTHREAD_MUTEX_NORMAL);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, lock_and_destroy, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(destroy_rc, 0);
    robust_init(&destroyed_m, PTHREAD_MUTEX_NORMAL);
    CHECK_RC(pthread_mutex_lock(&destroyed_m), 0);
    CHECK_RC(pthread_mutex_unlock(&destroyed_m), 0);
    CHECK_RC(pthread_mutex_destroy(&destroyed_m), 0);
}

int main(void)
{
    test_owner_dead();
    test_not_recoverable();
    test_consistent_einval();
    test_blocked_waiters();
    test_recursive();
    test_errorcheck();
    test_exit_two();
    test_destroy_locked();
    return 0;
}
