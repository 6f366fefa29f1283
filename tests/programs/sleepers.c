/* 10,000 threads each nanosleep 200 ms, then exit. Each checks its own
 * sleep lasted at least 200 ms; main checks the kernel thread count while
 * they sleep, joins them all, and checks the whole run took at least
 * 200 ms and far less than the 2,000 s the sleeps would take one after
 * another (they overlap). */
#include <pthread.h>
#include <stdatomic.h>

#include "check.h"

#define N 10000
#define SLEEP_MS 200

static atomic_int done;

static void *sleeper(void *arg)
{
    (void)arg;
    struct timespec ts = ns_to_ts(SLEEP_MS * NSEC_PER_MSEC);
    int64_t t0 = now_ns();
    CHECK(nanosleep(&ts, NULL) == 0);
    CHECK(now_ns() - t0 >= SLEEP_MS * NSEC_PER_MSEC);
    atomic_fetch_add(&done, 1);
    return arg;
}

int main(void)
{
    static pthread_t tids[N];
    pthread_attr_t attr;
    CHECK_RC(pthread_attr_init(&attr), 0);
    CHECK_RC(pthread_attr_setstacksize(&attr, 64 * 1024), 0);

    int64_t t0 = now_ns();
    int max_alive = 0; /* most threads alive at a thread-count check */
    for (int i = 0; i < N; i++) {
        CHECK_RC(pthread_create(&tids[i], &attr, sleeper,
                                (void *)(intptr_t)i), 0);
        if ((i + 1) % 500 == 0) {
            int alive = i + 1 - atomic_load(&done);
            check_thread_limit();
            if (alive > max_alive)
                max_alive = alive;
        }
    }
    int alive = N - atomic_load(&done);
    check_thread_limit();
    if (alive > max_alive)
        max_alive = alive;
    /* The limit check means something only if many threads were alive:
     * creating 1,000 threads must take far less than the 200 ms sleep. */
    if (thread_limit() >= 0)
        CHECK(max_alive >= 1000);

    for (int i = 0; i < N; i++) {
        void *ret;
        CHECK_RC(pthread_join(tids[i], &ret), 0);
        CHECK(ret == (void *)(intptr_t)i);
    }
    CHECK(atomic_load(&done) == N);
    CHECK_ELAPSED(t0, SLEEP_MS, 10000);
    CHECK_RC(pthread_attr_destroy(&attr), 0);
    return 0;
}
