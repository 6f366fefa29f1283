/* Sleeping calls: durations, return values and error numbers, as glibc
 * 2.36 gives them natively, first in main, then from several threads at
 * once; then many overlapping sleepers, which under one processor must
 * overlap rather than run one after another.
 * - nanosleep/usleep/sleep sleep at least as asked, not absurdly longer;
 * - nanosleep with tv_nsec outside [0, 1e9) or tv_sec < 0: -1, EINVAL;
 * - clock_nanosleep relative and TIMER_ABSTIME on CLOCK_MONOTONIC and
 *   CLOCK_REALTIME (relative on CLOCK_BOOTTIME too); an absolute deadline
 *   in the past returns 0 at once;
 * - clock_nanosleep returns the error number and leaves errno alone:
 *   EINVAL for a bad tv_nsec or a negative tv_sec, for
 *   CLOCK_THREAD_CPUTIME_ID and for an unknown clock id (12345); ENOTSUP
 *   for CLOCK_MONOTONIC_RAW and CLOCK_REALTIME_COARSE (Linux has no
 *   sleeping on them);
 * - zero-length sleeps return 0 at once; sched_yield returns 0. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define SLACK_MS 150 /* tolerance above the asked duration: the machine
                        may be busy with other tests */
#define NT 8         /* threads running the battery at once */
#define NOVERLAP 100 /* overlapping sleepers */

static void test_nanosleep(void)
{
    struct timespec ts = { 0, 50 * NSEC_PER_MSEC };
    struct timespec rem = { 7, 7 };
    int64_t t0 = now_ns();
    CHECK(nanosleep(&ts, &rem) == 0);
    CHECK_ELAPSED(t0, 50, 50 + SLACK_MS);

    struct timespec bad[] = {
        { 0, NSEC_PER_SEC }, { 0, -1 }, { -1, 0 }, { 1, NSEC_PER_SEC + 1 },
    };
    t0 = now_ns();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_ERRNO(nanosleep(&bad[i], NULL), EINVAL);
    CHECK_ELAPSED(t0, 0, SLACK_MS);

    struct timespec zero = { 0, 0 };
    t0 = now_ns();
    CHECK(nanosleep(&zero, NULL) == 0);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
}

static void test_clock_nanosleep(void)
{
    static const clockid_t rel_clocks[] = {
        CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME,
    };
    for (size_t i = 0; i < sizeof rel_clocks / sizeof rel_clocks[0]; i++) {
        struct timespec ts = { 0, 20 * NSEC_PER_MSEC };
        int64_t t0 = now_ns();
        CHECK_RC(clock_nanosleep(rel_clocks[i], 0, &ts, NULL), 0);
        CHECK_ELAPSED(t0, 20, 20 + SLACK_MS);
    }

    static const clockid_t abs_clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME };
    for (size_t i = 0; i < sizeof abs_clocks / sizeof abs_clocks[0]; i++) {
        clockid_t clk = abs_clocks[i];
        int64_t deadline = clock_ns(clk) + 30 * NSEC_PER_MSEC;
        struct timespec ts = ns_to_ts(deadline);
        int64_t t0 = now_ns();
        CHECK_RC(clock_nanosleep(clk, TIMER_ABSTIME, &ts, NULL), 0);
        CHECK(clock_ns(clk) >= deadline);
        CHECK_ELAPSED(t0, 0, 30 + SLACK_MS);

        /* A deadline in the past: at once. */
        struct timespec past = ns_to_ts(clock_ns(clk) - NSEC_PER_SEC);
        t0 = now_ns();
        CHECK_RC(clock_nanosleep(clk, TIMER_ABSTIME, &past, NULL), 0);
        struct timespec epoch = { 0, 0 };
        CHECK_RC(clock_nanosleep(clk, TIMER_ABSTIME, &epoch, NULL), 0);
        CHECK_ELAPSED(t0, 0, SLACK_MS);
    }

    /* Errors come back as the return value; errno stays as it was. */
    int64_t t0 = now_ns();
    errno_set(EDOM);
    struct timespec ok = { 0, 1000 };
    struct timespec bad_nsec[] = { { 0, NSEC_PER_SEC }, { 0, -1 } };
    for (size_t i = 0; i < 2; i++) {
        CHECK_RC(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad_nsec[i], NULL),
                 EINVAL);
        CHECK_RC(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &bad_nsec[i],
                                 NULL), EINVAL);
    }
    struct timespec neg = { -1, 0 };
    CHECK_RC(clock_nanosleep(CLOCK_MONOTONIC, 0, &neg, NULL), EINVAL);
    CHECK_RC(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &neg, NULL),
             EINVAL);
    CHECK_RC(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ok, NULL), EINVAL);
    CHECK_RC(clock_nanosleep((clockid_t)12345, 0, &ok, NULL), EINVAL);
    CHECK_RC(clock_nanosleep(CLOCK_MONOTONIC_RAW, 0, &ok, NULL), ENOTSUP);
    CHECK_RC(clock_nanosleep(CLOCK_REALTIME_COARSE, 0, &ok, NULL), ENOTSUP);
    CHECK(errno_now() == EDOM);
    CHECK_ELAPSED(t0, 0, SLACK_MS);

    struct timespec zero = { 0, 0 };
    t0 = now_ns();
    CHECK_RC(clock_nanosleep(CLOCK_MONOTONIC, 0, &zero, NULL), 0);
    CHECK_RC(clock_nanosleep(CLOCK_REALTIME, 0, &zero, NULL), 0);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
}

static void test_usleep_sleep_yield(void)
{
    int64_t t0 = now_ns();
    CHECK(usleep(20000) == 0);
    CHECK_ELAPSED(t0, 20, 20 + SLACK_MS);

    t0 = now_ns();
    CHECK(usleep(0) == 0);
    CHECK(sleep(0) == 0);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    for (int i = 0; i < 100; i++)
        CHECK(sched_yield() == 0);

    t0 = now_ns();
    CHECK(sleep(1) == 0);
    CHECK_ELAPSED(t0, 1000, 1000 + SLACK_MS);
}

static void battery(void)
{
    test_nanosleep();
    test_clock_nanosleep();
    test_usleep_sleep_yield();
}

static void *battery_thread(void *arg)
{
    battery();
    return arg;
}

enum { BY_NANOSLEEP, BY_USLEEP, BY_CLOCK_REL, BY_CLOCK_ABS, NKINDS };

static atomic_int overlap_kind;
static int64_t abs_deadline; /* CLOCK_MONOTONIC, for BY_CLOCK_ABS */

static void *overlap_sleeper(void *arg)
{
    struct timespec ts = { 0, 100 * NSEC_PER_MSEC };
    int64_t t0 = now_ns();
    switch (atomic_load(&overlap_kind)) {
    case BY_NANOSLEEP:
        CHECK(nanosleep(&ts, NULL) == 0);
        break;
    case BY_USLEEP:
        CHECK(usleep(100000) == 0);
        break;
    case BY_CLOCK_REL:
        CHECK_RC(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL), 0);
        break;
    case BY_CLOCK_ABS:
        ts = ns_to_ts(abs_deadline);
        CHECK_RC(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL),
                 0);
        CHECK(now_ns() >= abs_deadline);
        return arg;
    }
    CHECK(now_ns() - t0 >= 100 * NSEC_PER_MSEC);
    return arg;
}

int main(void)
{
    battery();

    pthread_t tids[NOVERLAP];
    int64_t t0 = now_ns();
    for (int i = 0; i < NT; i++)
        CHECK_RC(pthread_create(&tids[i], NULL, battery_thread, NULL), 0);
    for (int i = 0; i < NT; i++)
        CHECK_RC(pthread_join(tids[i], NULL), 0);
    /* One battery takes about 1.2 s; NT of them one after another would
     * take NT times that. */
    CHECK_ELAPSED(t0, 1000, 3000);

    /* 100 sleepers of 100 ms: one after another they would need 10 s. */
    for (int k = 0; k < NKINDS; k++) {
        atomic_store(&overlap_kind, k);
        t0 = now_ns();
        abs_deadline = t0 + 100 * NSEC_PER_MSEC;
        for (int i = 0; i < NOVERLAP; i++)
            CHECK_RC(pthread_create(&tids[i], NULL, overlap_sleeper, NULL),
                     0);
        for (int i = 0; i < NOVERLAP; i++)
            CHECK_RC(pthread_join(tids[i], NULL), 0);
        CHECK_ELAPSED(t0, 100, 1000);
    }
    return 0;
}
