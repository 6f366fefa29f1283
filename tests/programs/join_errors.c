/* pthread_join and its variants: results and error numbers, as glibc 2.36
 * gives them natively.
 * - joining oneself: EDEADLK (pthread_join, pthread_timedjoin_np);
 *   pthread_tryjoin_np on oneself: EBUSY (the thread is running);
 * - a detached thread (detached while still running): join, timedjoin and
 *   clockjoin give EINVAL; a second pthread_detach gives EINVAL;
 * - a running thread: tryjoin gives EBUSY; timedjoin/clockjoin with a past
 *   deadline (also epoch 0 or a negative tv_sec) give ETIMEDOUT at once,
 *   with a deadline 50 ms ahead ETIMEDOUT after >= 50 ms; the thread stays
 *   joinable afterwards;
 * - clockjoin accepts only CLOCK_REALTIME and CLOCK_MONOTONIC: any other
 *   clock, valid or not, gives EINVAL;
 * - a thread that has exited but is not joined yet is joinable with its
 *   value (join, tryjoin, timedjoin, clockjoin);
 * - a thread already joined: join, timedjoin and detach give ESRCH.
 *   glibc marks a joined descriptor (tid = -1) and keeps it in its stack
 *   cache, so natively this holds as long as no thread is created in
 *   between (checked natively thousands of times); the program creates
 *   none there.
 * - a deadline with tv_nsec outside [0, 1e9) gives EINVAL: tested only
 *   under goshim (GOSHIM_TEST_MAX_THREADS set), since glibc 2.36 natively
 *   retries the futex's EINVAL forever and never returns. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

struct waiter {
    atomic_int release;
    atomic_int done;
};

/* Runs until released (bounded), then returns its argument. */
static void *wait_release(void *arg)
{
    struct waiter *w = arg;
    int64_t deadline = now_ns() + 60 * NSEC_PER_SEC;
    while (!atomic_load(&w->release)) {
        CHECK(now_ns() < deadline);
        usleep(1000);
    }
    atomic_store(&w->done, 1);
    return arg;
}

static void *return_arg(void *arg)
{
    return arg;
}

static void *self_join(void *arg)
{
    struct timespec ts = ns_to_ts(clock_ns(CLOCK_REALTIME) + NSEC_PER_SEC);
    CHECK_RC(pthread_join(pthread_self(), NULL), EDEADLK);
    CHECK_RC(pthread_timedjoin_np(pthread_self(), NULL, &ts), EDEADLK);
    CHECK_RC(pthread_tryjoin_np(pthread_self(), NULL), EBUSY);
    return arg;
}

static struct timespec deadline_in(clockid_t clk, int64_t ns)
{
    return ns_to_ts(clock_ns(clk) + ns);
}

/* Start a thread running wait_release on w. */
static pthread_t start_waiter(struct waiter *w)
{
    pthread_t t;
    atomic_store(&w->release, 0);
    atomic_store(&w->done, 0);
    CHECK_RC(pthread_create(&t, NULL, wait_release, w), 0);
    return t;
}

static void test_self(void)
{
    static int token;
    void *ret;
    pthread_t t;
    CHECK_RC(pthread_join(pthread_self(), NULL), EDEADLK);
    CHECK_RC(pthread_create(&t, NULL, self_join, &token), 0);
    CHECK_RC(pthread_join(t, &ret), 0);
    CHECK(ret == &token);
}

static void test_detached(void)
{
    struct waiter w;
    pthread_t t = start_waiter(&w);
    usleep(5000);
    CHECK_RC(pthread_detach(t), 0);
    CHECK_RC(pthread_join(t, NULL), EINVAL);
    CHECK_RC(pthread_detach(t), EINVAL);
    struct timespec rt = deadline_in(CLOCK_REALTIME, NSEC_PER_SEC);
    CHECK_RC(pthread_timedjoin_np(t, NULL, &rt), EINVAL);
    struct timespec mt = deadline_in(CLOCK_MONOTONIC, NSEC_PER_SEC);
    CHECK_RC(pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &mt), EINVAL);
    CHECK(atomic_load(&w.done) == 0);
    atomic_store(&w.release, 1);
    WAIT_UNTIL(atomic_load(&w.done), 10000);
    sleep_ms(20); /* let it finish exiting: w lives on this stack */
}

static void test_running(void)
{
    struct waiter w;
    pthread_t t = start_waiter(&w);
    void *ret = NULL;
    int64_t t0;

    CHECK_RC(pthread_tryjoin_np(t, &ret), EBUSY);

    struct timespec past = deadline_in(CLOCK_REALTIME, -NSEC_PER_SEC);
    t0 = now_ns();
    CHECK_RC(pthread_timedjoin_np(t, &ret, &past), ETIMEDOUT);
    struct timespec epoch = { 0, 0 };
    CHECK_RC(pthread_timedjoin_np(t, &ret, &epoch), ETIMEDOUT);
    struct timespec negative = { -1, 0 };
    CHECK_RC(pthread_timedjoin_np(t, &ret, &negative), ETIMEDOUT);
    struct timespec mpast = deadline_in(CLOCK_MONOTONIC, -NSEC_PER_MSEC);
    CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &mpast),
             ETIMEDOUT);
    CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_REALTIME, &past),
             ETIMEDOUT);
    CHECK_ELAPSED(t0, 0, 500);

    struct timespec soon = deadline_in(CLOCK_REALTIME, 50 * NSEC_PER_MSEC);
    t0 = now_ns();
    CHECK_RC(pthread_timedjoin_np(t, &ret, &soon), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 600);
    struct timespec msoon = deadline_in(CLOCK_MONOTONIC, 50 * NSEC_PER_MSEC);
    t0 = now_ns();
    CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &msoon),
             ETIMEDOUT);
    CHECK_ELAPSED(t0, 50, 600);

    /* Only CLOCK_REALTIME and CLOCK_MONOTONIC are accepted. */
    struct timespec any = deadline_in(CLOCK_MONOTONIC, NSEC_PER_SEC);
    CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_PROCESS_CPUTIME_ID, &any),
             EINVAL);
    CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_THREAD_CPUTIME_ID, &any),
             EINVAL);
    CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC_RAW, &any),
             EINVAL);
    CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_BOOTTIME, &any), EINVAL);
    CHECK_RC(pthread_clockjoin_np(t, &ret, 12345, &any), EINVAL);
    CHECK_RC(pthread_clockjoin_np(t, &ret, -1, &any), EINVAL);

    if (thread_limit() >= 0) {
        /* Under goshim only: see the comment at the top. */
        struct timespec bad = deadline_in(CLOCK_REALTIME, NSEC_PER_SEC);
        bad.tv_nsec = NSEC_PER_SEC;
        CHECK_RC(pthread_timedjoin_np(t, &ret, &bad), EINVAL);
        bad.tv_nsec = -1;
        CHECK_RC(pthread_timedjoin_np(t, &ret, &bad), EINVAL);
        struct timespec mbad = deadline_in(CLOCK_MONOTONIC, NSEC_PER_SEC);
        mbad.tv_nsec = NSEC_PER_SEC;
        CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &mbad),
                 EINVAL);
        mbad.tv_nsec = -1;
        CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &mbad),
                 EINVAL);
    }
    CHECK(ret == NULL);
    CHECK(atomic_load(&w.done) == 0);

    /* Still joinable after all that: a timed join that the thread's end
     * beats returns its value. */
    atomic_store(&w.release, 1);
    struct timespec later = deadline_in(CLOCK_REALTIME, 30 * NSEC_PER_SEC);
    t0 = now_ns();
    CHECK_RC(pthread_timedjoin_np(t, &ret, &later), 0);
    CHECK_ELAPSED(t0, 0, 10000);
    CHECK(ret == &w);
    CHECK(atomic_load(&w.done) == 1);

    t = start_waiter(&w);
    usleep(2000);
    atomic_store(&w.release, 1);
    struct timespec mlater = deadline_in(CLOCK_MONOTONIC, 30 * NSEC_PER_SEC);
    ret = NULL;
    CHECK_RC(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &mlater), 0);
    CHECK(ret == &w);
}

/* Threads that have exited but were not joined yet. */
static void test_exited(void)
{
    static int vals[4];
    pthread_t t[4];
    void *ret;
    for (int i = 0; i < 4; i++)
        CHECK_RC(pthread_create(&t[i], NULL, return_arg, &vals[i]), 0);
    sleep_ms(50);

    CHECK_RC(pthread_join(t[0], &ret), 0);
    CHECK(ret == &vals[0]);

    int64_t deadline = now_ns() + 10 * NSEC_PER_SEC;
    int rc;
    while ((rc = pthread_tryjoin_np(t[1], &ret)) == EBUSY) {
        CHECK(now_ns() < deadline);
        usleep(1000);
    }
    CHECK_RC(rc, 0);
    CHECK(ret == &vals[1]);

    struct timespec past = deadline_in(CLOCK_REALTIME, -NSEC_PER_SEC);
    WAIT_UNTIL((rc = pthread_timedjoin_np(t[2], &ret, &past)) != ETIMEDOUT,
               10000);
    CHECK_RC(rc, 0);
    CHECK(ret == &vals[2]);

    struct timespec mpast = deadline_in(CLOCK_MONOTONIC, -NSEC_PER_SEC);
    WAIT_UNTIL((rc = pthread_clockjoin_np(t[3], &ret, CLOCK_MONOTONIC,
                                          &mpast)) != ETIMEDOUT, 10000);
    CHECK_RC(rc, 0);
    CHECK(ret == &vals[3]);

    /* A NULL result pointer is fine. */
    pthread_t u;
    CHECK_RC(pthread_create(&u, NULL, return_arg, NULL), 0);
    CHECK_RC(pthread_join(u, NULL), 0);
}

/* Joined threads: no thread is created between the first join and the
 * checks (see the comment at the top). */
static void test_joined(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK_RC(pthread_create(&t[i], NULL, return_arg, NULL), 0);
    for (int i = 0; i < 3; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    struct timespec rt = deadline_in(CLOCK_REALTIME, NSEC_PER_SEC);
    CHECK_RC(pthread_join(t[0], NULL), ESRCH);
    CHECK_RC(pthread_detach(t[1]), ESRCH);
    CHECK_RC(pthread_timedjoin_np(t[2], NULL, &rt), ESRCH);
    CHECK_RC(pthread_join(t[2], NULL), ESRCH);
}

int main(void)
{
    test_self();
    test_detached();
    test_running();
    test_exited();
    for (int i = 0; i < 100; i++)
        test_joined();
    return 0;
}
