/* 2,000 detached threads (half detached by attribute, a quarter by
 * themselves, a quarter by main) each sleep 10 ms and count themselves
 * done; 2,000 joinable threads wait alive until main releases them. Main
 * checks the kernel thread count while all are alive, waits for the
 * detached ones by polling their counter (bounded), and joins the others.
 * Then it returns from main while 500 more threads are still sleeping:
 * the process must exit at once with status 0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define NDETACHED 2000
#define NJOINABLE 2000
#define NLEFT 500

static atomic_int detached_started;
static atomic_int detached_done;
static atomic_int joinable_arrived;
static atomic_int released;

static void *detached_worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    if (i % 4 == 2)
        CHECK_RC(pthread_detach(pthread_self()), 0);
    atomic_fetch_add(&detached_started, 1);
    sleep_ms(10);
    atomic_fetch_add(&detached_done, 1);
    return NULL;
}

static void *joinable_worker(void *arg)
{
    atomic_fetch_add(&joinable_arrived, 1);
    wait_flag(&released, 1, 60000);
    return arg;
}

static void *left_sleeping(void *arg)
{
    for (int i = 0; i < 300; i++) /* 30 s: far past the end of main */
        sleep_ms(100);
    fprintf(stderr, "many_waiters_exit: process did not exit\n");
    abort();
    return arg;
}

int main(void)
{
    static pthread_t joinable[NJOINABLE];
    pthread_attr_t det, small;
    CHECK_RC(pthread_attr_init(&small), 0);
    CHECK_RC(pthread_attr_setstacksize(&small, 64 * 1024), 0);
    CHECK_RC(pthread_attr_init(&det), 0);
    CHECK_RC(pthread_attr_setstacksize(&det, 64 * 1024), 0);
    CHECK_RC(pthread_attr_setdetachstate(&det, PTHREAD_CREATE_DETACHED), 0);

    for (int i = 0; i < NJOINABLE; i++)
        CHECK_RC(pthread_create(&joinable[i], &small, joinable_worker,
                                (void *)(intptr_t)i), 0);
    int64_t t0 = now_ns();
    for (int i = 0; i < NDETACHED; i++) {
        pthread_t t;
        CHECK_RC(pthread_create(&t, i % 2 ? &det : &small, detached_worker,
                                (void *)(intptr_t)i), 0);
        if (i % 4 == 0)
            CHECK_RC(pthread_detach(t), 0);
    }
    /* All joinable threads are alive here, and detached ones still
     * sleeping. */
    WAIT_UNTIL(atomic_load(&joinable_arrived) == NJOINABLE, 60000);
    check_thread_limit();
    WAIT_UNTIL(atomic_load(&detached_done) == NDETACHED, 60000);
    CHECK(atomic_load(&detached_started) == NDETACHED);
    /* All detached threads sleep 10 ms: the wait overlaps them. */
    CHECK_ELAPSED(t0, 10, 20000);
    check_thread_limit();

    atomic_store(&released, 1);
    for (int i = 0; i < NJOINABLE; i++) {
        void *ret;
        CHECK_RC(pthread_join(joinable[i], &ret), 0);
        CHECK(ret == (void *)(intptr_t)i);
    }
    CHECK(atomic_load(&detached_done) == NDETACHED);

    for (int i = 0; i < NLEFT; i++) {
        pthread_t t;
        CHECK_RC(pthread_create(&t, i % 2 ? &det : &small, left_sleeping,
                                NULL), 0);
    }
    check_thread_limit();
    CHECK_RC(pthread_attr_destroy(&det), 0);
    CHECK_RC(pthread_attr_destroy(&small), 0);
    usleep(1000);
    return 0;
}
