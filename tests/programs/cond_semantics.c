/* Condition variables, with the results glibc 2.36 gives natively.
 * - pthread_condattr_*: the clock is CLOCK_REALTIME by default and can be
 *   set to CLOCK_MONOTONIC or CLOCK_REALTIME only (EINVAL for the CPU-time
 *   clocks, MONOTONIC_RAW, BOOTTIME, REALTIME_COARSE, bad ids, and the
 *   clock is left as it was); pshared PRIVATE by default, EINVAL for a bad
 *   value.
 * - PTHREAD_COND_INITIALIZER and zero-filled condvars work without init;
 *   signal and broadcast with no waiters return 0.
 * - Timed waits expire on time (100 ms, checked within [99, 300] ms): a
 *   REALTIME condvar's timedwait, a MONOTONIC condvar's timedwait,
 *   pthread_cond_clockwait with either clock on either condvar; a deadline
 *   in the past (or a negative tv_sec) gives ETIMEDOUT at once; the mutex
 *   is held on return (another thread's trylock gives EBUSY).
 *   clockwait with another clock, or any wait with tv_nsec < 0 or >= 1e9,
 *   gives EINVAL at once, the mutex still held.
 * - 10,000 threads wait on one condvar; one broadcast wakes them all.
 * - No lost wake-ups: 1,000 rounds in which main adds tokens and signals
 *   once per token, only while at least that many waiters are known to be
 *   blocked (counted under the mutex); every token is consumed.
 * - Destroying a condvar right after a broadcast, while the woken waiters
 *   have not reacquired the mutex yet (main holds it), returns 0 (glibc
 *   waits for the waiters to leave the condvar); the waiters must not
 *   touch it after (its memory is scribbled over). */
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

/* Another thread's trylock of m (unlocking what it takes). */
static void *trylock_main(void *arg)
{
    pthread_mutex_t *m = arg;
    int rc = pthread_mutex_trylock(m);
    if (rc == 0)
        CHECK_RC(pthread_mutex_unlock(m), 0);
    return (void *)(intptr_t)rc;
}

static int other_trylock(pthread_mutex_t *m)
{
    pthread_t t;
    void *ret;
    CHECK_RC(pthread_create(&t, NULL, trylock_main, m), 0);
    CHECK_RC(pthread_join(t, &ret), 0);
    return (int)(intptr_t)ret;
}

/* ---- attributes ---- */

static void test_attrs(void)
{
    pthread_condattr_t a;
    clockid_t c;
    int v;
    CHECK_RC(pthread_condattr_init(&a), 0);
    CHECK_RC(pthread_condattr_getclock(&a, &c), 0);
    CHECK(c == CLOCK_REALTIME);
    CHECK_RC(pthread_condattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_PRIVATE);

    CHECK_RC(pthread_condattr_setclock(&a, CLOCK_MONOTONIC), 0);
    CHECK_RC(pthread_condattr_getclock(&a, &c), 0);
    CHECK(c == CLOCK_MONOTONIC);
    static const clockid_t bad[] = {
        CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
        CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_REALTIME_COARSE,
        CLOCK_MONOTONIC_COARSE, -1, 12345,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RC(pthread_condattr_setclock(&a, bad[i]), EINVAL);
        CHECK_RC(pthread_condattr_getclock(&a, &c), 0);
        CHECK(c == CLOCK_MONOTONIC);
    }
    CHECK_RC(pthread_condattr_setclock(&a, CLOCK_REALTIME), 0);
    CHECK_RC(pthread_condattr_getclock(&a, &c), 0);
    CHECK(c == CLOCK_REALTIME);

    CHECK_RC(pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_condattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_condattr_setpshared(&a, 2), EINVAL);
    CHECK_RC(pthread_condattr_setpshared(&a, -1), EINVAL);
    CHECK_RC(pthread_condattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_condattr_setpshared(&a, PTHREAD_PROCESS_PRIVATE), 0);
    CHECK_RC(pthread_condattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_PRIVATE);

    /* A condvar made with the attr works. */
    pthread_cond_t cv;
    CHECK_RC(pthread_condattr_setclock(&a, CLOCK_MONOTONIC), 0);
    CHECK_RC(pthread_cond_init(&cv, &a), 0);
    CHECK_RC(pthread_condattr_destroy(&a), 0);
    CHECK_RC(pthread_cond_signal(&cv), 0);
    CHECK_RC(pthread_cond_destroy(&cv), 0);
}

/* ---- timed waits ---- */

/* One timed wait on cv with m held; it must time out after about
 * wait_ms (< 0: at once); the mutex is held after. */
enum how { TIMEDWAIT, CLOCKWAIT_RT, CLOCKWAIT_MONO };

static void timed_out(pthread_cond_t *cv, pthread_mutex_t *m, enum how how,
                      clockid_t cv_clock, int64_t wait_ms)
{
    struct timespec ts;
    int64_t t0 = now_ns();
    int rc;
    switch (how) {
    case TIMEDWAIT:
        ts = deadline_in(cv_clock, wait_ms);
        rc = pthread_cond_timedwait(cv, m, &ts);
        break;
    case CLOCKWAIT_RT:
        ts = deadline_in(CLOCK_REALTIME, wait_ms);
        rc = pthread_cond_clockwait(cv, m, CLOCK_REALTIME, &ts);
        break;
    default:
        ts = deadline_in(CLOCK_MONOTONIC, wait_ms);
        rc = pthread_cond_clockwait(cv, m, CLOCK_MONOTONIC, &ts);
        break;
    }
    CHECK_RC(rc, ETIMEDOUT);
    if (wait_ms > 0)
        CHECK_ELAPSED(t0, wait_ms - 1, wait_ms + 200);
    else
        CHECK_ELAPSED(t0, 0, 200);
    CHECK_RC(other_trylock(m), EBUSY);
}

static void check_einval(pthread_cond_t *cv, pthread_mutex_t *m)
{
    int64_t t0 = now_ns();
    struct timespec ts = deadline_in(CLOCK_MONOTONIC, 1000);
    CHECK_RC(pthread_cond_clockwait(cv, m, CLOCK_PROCESS_CPUTIME_ID, &ts),
             EINVAL);
    CHECK_RC(pthread_cond_clockwait(cv, m, CLOCK_THREAD_CPUTIME_ID, &ts),
             EINVAL);
    CHECK_RC(pthread_cond_clockwait(cv, m, CLOCK_MONOTONIC_RAW, &ts),
             EINVAL);
    CHECK_RC(pthread_cond_clockwait(cv, m, CLOCK_BOOTTIME, &ts), EINVAL);
    CHECK_RC(pthread_cond_clockwait(cv, m, 12345, &ts), EINVAL);
    ts.tv_nsec = NSEC_PER_SEC;
    CHECK_RC(pthread_cond_clockwait(cv, m, CLOCK_MONOTONIC, &ts), EINVAL);
    CHECK_RC(pthread_cond_timedwait(cv, m, &ts), EINVAL);
    ts.tv_nsec = -1;
    CHECK_RC(pthread_cond_clockwait(cv, m, CLOCK_REALTIME, &ts), EINVAL);
    CHECK_RC(pthread_cond_timedwait(cv, m, &ts), EINVAL);
    CHECK_ELAPSED(t0, 0, 200);
    CHECK_RC(other_trylock(m), EBUSY);
}

static void timed_waits(pthread_cond_t *cv, pthread_mutex_t *m,
                        clockid_t cv_clock, int slow)
{
    CHECK_RC(pthread_mutex_lock(m), 0);
    if (slow) {
        timed_out(cv, m, TIMEDWAIT, cv_clock, 100);
        timed_out(cv, m, CLOCKWAIT_RT, cv_clock, 100);
        timed_out(cv, m, CLOCKWAIT_MONO, cv_clock, 100);
    }
    timed_out(cv, m, TIMEDWAIT, cv_clock, -1);
    timed_out(cv, m, TIMEDWAIT, cv_clock, -2000);
    timed_out(cv, m, CLOCKWAIT_RT, cv_clock, -1);
    timed_out(cv, m, CLOCKWAIT_MONO, cv_clock, -1);
    struct timespec negative = { -1, 0 }, epoch = { 0, 0 };
    CHECK_RC(pthread_cond_timedwait(cv, m, &negative), ETIMEDOUT);
    CHECK_RC(pthread_cond_timedwait(cv, m, &epoch), ETIMEDOUT);
    CHECK_RC(pthread_cond_clockwait(cv, m, CLOCK_MONOTONIC, &epoch),
             ETIMEDOUT);
    CHECK_RC(other_trylock(m), EBUSY);
    check_einval(cv, m);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    CHECK_RC(other_trylock(m), 0);
    CHECK_RC(pthread_cond_signal(cv), 0);
    CHECK_RC(pthread_cond_broadcast(cv), 0);
}

/* A timed wait that a signal ends before the deadline returns 0. */
struct signaller {
    pthread_cond_t *cv;
    pthread_mutex_t *m;
    int flag;
};

static void *signal_later(void *arg)
{
    struct signaller *s = arg;
    sleep_ms(20);
    CHECK_RC(pthread_mutex_lock(s->m), 0);
    s->flag = 1;
    CHECK_RC(pthread_cond_signal(s->cv), 0);
    CHECK_RC(pthread_mutex_unlock(s->m), 0);
    return NULL;
}

static void signalled_wait(pthread_cond_t *cv, pthread_mutex_t *m,
                           clockid_t clk, int use_clockwait)
{
    struct signaller s = { cv, m, 0 };
    pthread_t t;
    CHECK_RC(pthread_mutex_lock(m), 0);
    CHECK_RC(pthread_create(&t, NULL, signal_later, &s), 0);
    struct timespec ts = deadline_in(clk, 20000);
    int64_t t0 = now_ns();
    while (!s.flag) {
        int rc = use_clockwait ? pthread_cond_clockwait(cv, m, clk, &ts)
                               : pthread_cond_timedwait(cv, m, &ts);
        CHECK_RC(rc, 0);
    }
    CHECK_ELAPSED(t0, 0, 10000);
    CHECK_RC(pthread_mutex_unlock(m), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
}

static pthread_cond_t static_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t zero_cv; /* static storage: zero bytes */
static pthread_mutex_t static_m = PTHREAD_MUTEX_INITIALIZER;

static void test_timed(void)
{
    CHECK_RC(pthread_cond_signal(&static_cv), 0);
    CHECK_RC(pthread_cond_broadcast(&static_cv), 0);
    CHECK_RC(pthread_cond_signal(&zero_cv), 0);
    CHECK_RC(pthread_cond_broadcast(&zero_cv), 0);

    /* Default (REALTIME) condvar: static, zero-filled, made by init. */
    timed_waits(&static_cv, &static_m, CLOCK_REALTIME, 1);
    timed_waits(&zero_cv, &static_m, CLOCK_REALTIME, 0);
    pthread_cond_t *z = malloc(sizeof *z);
    CHECK(z != NULL);
    memset(z, 0, sizeof *z);
    timed_waits(z, &static_m, CLOCK_REALTIME, 0);
    signalled_wait(z, &static_m, CLOCK_REALTIME, 0);
    CHECK_RC(pthread_cond_destroy(z), 0);
    free(z);

    pthread_cond_t cv;
    pthread_mutex_t m;
    CHECK_RC(pthread_mutex_init(&m, NULL), 0);
    CHECK_RC(pthread_cond_init(&cv, NULL), 0);
    timed_waits(&cv, &m, CLOCK_REALTIME, 0);
    CHECK_RC(pthread_cond_destroy(&cv), 0);

    /* MONOTONIC condvar: timedwait takes a monotonic deadline. */
    pthread_condattr_t a;
    CHECK_RC(pthread_condattr_init(&a), 0);
    CHECK_RC(pthread_condattr_setclock(&a, CLOCK_MONOTONIC), 0);
    CHECK_RC(pthread_cond_init(&cv, &a), 0);
    CHECK_RC(pthread_condattr_destroy(&a), 0);
    timed_waits(&cv, &m, CLOCK_MONOTONIC, 1);
    signalled_wait(&cv, &m, CLOCK_MONOTONIC, 0);
    signalled_wait(&cv, &m, CLOCK_REALTIME, 1);
    CHECK_RC(pthread_cond_destroy(&cv), 0);

    signalled_wait(&static_cv, &static_m, CLOCK_REALTIME, 0);
    signalled_wait(&static_cv, &static_m, CLOCK_MONOTONIC, 1);
    signalled_wait(&zero_cv, &static_m, CLOCK_MONOTONIC, 1);
    CHECK_RC(pthread_mutex_destroy(&m), 0);
}

/* ---- 10,000 waiters, one broadcast ---- */

#define NMANY 10000

static pthread_mutex_t many_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t many_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t many_main_cv = PTHREAD_COND_INITIALIZER;
static int many_waiting, many_go, many_woke;

static void *many_waiter(void *arg)
{
    CHECK_RC(pthread_mutex_lock(&many_m), 0);
    if (++many_waiting == NMANY)
        CHECK_RC(pthread_cond_signal(&many_main_cv), 0);
    while (!many_go)
        CHECK_RC(pthread_cond_wait(&many_cv, &many_m), 0);
    many_woke++;
    CHECK_RC(pthread_mutex_unlock(&many_m), 0);
    return arg;
}

static void test_many(void)
{
    static pthread_t t[NMANY];
    pthread_attr_t small;
    CHECK_RC(pthread_attr_init(&small), 0);
    CHECK_RC(pthread_attr_setstacksize(&small, 64 * 1024), 0);
    for (int i = 0; i < NMANY; i++)
        CHECK_RC(pthread_create(&t[i], &small, many_waiter, NULL), 0);
    CHECK_RC(pthread_attr_destroy(&small), 0);

    struct timespec ts = deadline_in(CLOCK_REALTIME, 60000);
    CHECK_RC(pthread_mutex_lock(&many_m), 0);
    while (many_waiting < NMANY)
        CHECK_RC(pthread_cond_timedwait(&many_main_cv, &many_m, &ts), 0);
    check_thread_limit();
    CHECK(many_woke == 0);
    many_go = 1;
    CHECK_RC(pthread_cond_broadcast(&many_cv), 0);
    CHECK_RC(pthread_mutex_unlock(&many_m), 0);
    for (int i = 0; i < NMANY; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(many_woke == NMANY);
}

/* ---- no lost wake-ups ---- */

#define NTOKEN_WAITERS 4
#define TOKEN_ROUNDS 1000

static pthread_mutex_t tok_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tok_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t tok_main_cv = PTHREAD_COND_INITIALIZER;
static int tok_waiting;  /* waiters in their wait loop */
static int tok_tokens;   /* tokens not consumed yet */
static long tok_consumed;
static int tok_stop;

static void *token_waiter(void *arg)
{
    CHECK_RC(pthread_mutex_lock(&tok_m), 0);
    for (;;) {
        tok_waiting++;
        CHECK_RC(pthread_cond_signal(&tok_main_cv), 0);
        while (tok_tokens == 0 && !tok_stop)
            CHECK_RC(pthread_cond_wait(&tok_cv, &tok_m), 0);
        tok_waiting--;
        if (tok_tokens == 0)
            break;
        tok_tokens--;
        tok_consumed++;
        CHECK_RC(pthread_cond_signal(&tok_main_cv), 0);
    }
    CHECK_RC(pthread_mutex_unlock(&tok_m), 0);
    return arg;
}

static void test_no_lost_wakeup(void)
{
    pthread_t t[NTOKEN_WAITERS];
    for (int i = 0; i < NTOKEN_WAITERS; i++)
        CHECK_RC(pthread_create(&t[i], NULL, token_waiter, NULL), 0);

    struct timespec deadline = deadline_in(CLOCK_REALTIME, 60000);
    unsigned seed = 12345;
    long issued = 0;
    CHECK_RC(pthread_mutex_lock(&tok_m), 0);
    for (int r = 0; r < TOKEN_ROUNDS; r++) {
        /* Waiters blocked (or about to be) that no token is meant for. */
        while (tok_waiting - tok_tokens < 1)
            CHECK_RC(pthread_cond_timedwait(&tok_main_cv, &tok_m, &deadline),
                     0);
        int avail = tok_waiting - tok_tokens;
        seed = seed * 1103515245u + 12345u;
        int k = 1 + (int)((seed >> 16) % (unsigned)avail);
        for (int i = 0; i < k; i++) {
            tok_tokens++;
            CHECK_RC(pthread_cond_signal(&tok_cv), 0);
        }
        issued += k;
        /* Sometimes let them run before the next round. */
        if (r % 7 == 0) {
            CHECK_RC(pthread_mutex_unlock(&tok_m), 0);
            sched_yield();
            CHECK_RC(pthread_mutex_lock(&tok_m), 0);
        }
    }
    /* Every token is consumed, without further signals. */
    while (tok_consumed < issued)
        CHECK_RC(pthread_cond_timedwait(&tok_main_cv, &tok_m, &deadline), 0);
    CHECK(tok_consumed == issued && tok_tokens == 0);
    tok_stop = 1;
    CHECK_RC(pthread_cond_broadcast(&tok_cv), 0);
    CHECK_RC(pthread_mutex_unlock(&tok_m), 0);
    for (int i = 0; i < NTOKEN_WAITERS; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(tok_waiting == 0);
}

/* ---- destroy right after broadcast ---- */

#define NDESTROY_WAITERS 8

static pthread_mutex_t d_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t d_main_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t *d_cv;
static int d_waiting, d_go, d_done;

static void *destroy_waiter(void *arg)
{
    int timed = (int)(intptr_t)arg;
    pthread_cond_t *cv = d_cv;
    CHECK_RC(pthread_mutex_lock(&d_m), 0);
    d_waiting++;
    CHECK_RC(pthread_cond_signal(&d_main_cv), 0);
    while (!d_go) {
        if (timed) {
            struct timespec ts = deadline_in(CLOCK_REALTIME, 60000);
            CHECK_RC(pthread_cond_timedwait(cv, &d_m, &ts), 0);
        } else {
            CHECK_RC(pthread_cond_wait(cv, &d_m), 0);
        }
    }
    d_done++;
    CHECK_RC(pthread_mutex_unlock(&d_m), 0);
    return arg;
}

static void test_destroy_after_broadcast(void)
{
    pthread_cond_t *cv = malloc(sizeof *cv);
    CHECK(cv != NULL);
    for (int round = 0; round < 20; round++) {
        pthread_t t[NDESTROY_WAITERS];
        CHECK_RC(pthread_cond_init(cv, NULL), 0);
        d_cv = cv;
        d_waiting = d_go = d_done = 0;
        for (int i = 0; i < NDESTROY_WAITERS; i++)
            CHECK_RC(pthread_create(&t[i], NULL, destroy_waiter,
                                    (void *)(intptr_t)(i % 2)), 0);
        struct timespec deadline = deadline_in(CLOCK_REALTIME, 30000);
        CHECK_RC(pthread_mutex_lock(&d_m), 0);
        while (d_waiting < NDESTROY_WAITERS)
            CHECK_RC(pthread_cond_timedwait(&d_main_cv, &d_m, &deadline), 0);
        d_go = 1;
        CHECK_RC(pthread_cond_broadcast(cv), 0);
        /* The waiters are woken but cannot have the mutex yet. */
        CHECK_RC(pthread_cond_destroy(cv), 0);
        memset(cv, 0xa5, sizeof *cv);
        CHECK(d_done == 0);
        CHECK_RC(pthread_mutex_unlock(&d_m), 0);
        for (int i = 0; i < NDESTROY_WAITERS; i++)
            CHECK_RC(pthread_join(t[i], NULL), 0);
        CHECK(d_done == NDESTROY_WAITERS);
    }
    free(cv);
}

int main(void)
{
    test_attrs();
    test_timed();
    test_no_lost_wakeup();
    test_destroy_after_broadcast();
    test_many();
    return 0;
}
