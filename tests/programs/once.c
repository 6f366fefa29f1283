/* 64 threads race on one pthread_once whose init routine sleeps 50 ms (and
 * then waits until every thread has reached pthread_once), so the others
 * must wait for it. The routine runs exactly once, and every caller returns
 * only after it completed. Three rounds, each with a fresh once control;
 * main joins the race in the last. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define NT 64
#define ROUNDS 3

static pthread_once_t once[ROUNDS] = { PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
                                       PTHREAD_ONCE_INIT };
static atomic_int init_calls[ROUNDS];
static atomic_int completed[ROUNDS];
static atomic_int entered[ROUNDS];
static atomic_int go[ROUNDS];
static atomic_int round_no;
static atomic_int callers_before_done; /* callers that saw the init done
                                          before they called: must be 0 */

static void init(void)
{
    int r = atomic_load(&round_no);
    CHECK(atomic_fetch_add(&init_calls[r], 1) == 0);
    sleep_ms(50);
    /* Everybody reaches pthread_once while this runs. */
    int want = NT + (r == ROUNDS - 1);
    WAIT_UNTIL(atomic_load(&entered[r]) == want, 30000);
    sleep_ms(5);
    atomic_store(&completed[r], 1);
}

static void call_once(int r)
{
    if (atomic_load(&completed[r]))
        atomic_fetch_add(&callers_before_done, 1);
    atomic_fetch_add(&entered[r], 1);
    CHECK_RC(pthread_once(&once[r], init), 0);
    CHECK(atomic_load(&completed[r]) == 1);
    CHECK(atomic_load(&init_calls[r]) == 1);
}

static void *racer(void *arg)
{
    int r = (int)(intptr_t)arg;
    int64_t deadline = now_ns() + 30 * NSEC_PER_SEC;
    while (!atomic_load(&go[r])) {
        CHECK(now_ns() < deadline);
        CHECK(sched_yield() == 0);
    }
    call_once(r);
    return arg;
}

int main(void)
{
    pthread_t tids[NT];
    for (int r = 0; r < ROUNDS; r++) {
        atomic_store(&round_no, r);
        for (int i = 0; i < NT; i++)
            CHECK_RC(pthread_create(&tids[i], NULL, racer,
                                    (void *)(intptr_t)r), 0);
        usleep(2000);
        int64_t t0 = now_ns();
        atomic_store(&go[r], 1);
        if (r == ROUNDS - 1)
            call_once(r);
        for (int i = 0; i < NT; i++)
            CHECK_RC(pthread_join(tids[i], NULL), 0);
        CHECK_ELAPSED(t0, 50, 30000);
        CHECK(atomic_load(&init_calls[r]) == 1);
        CHECK(atomic_load(&completed[r]) == 1);
        /* Later calls return at once without running it. */
        CHECK_RC(pthread_once(&once[r], init), 0);
        CHECK(atomic_load(&init_calls[r]) == 1);
    }
    CHECK(atomic_load(&callers_before_done) == 0);
    return 0;
}
