/* 100,000 threads created and joined in batches of 1,000. Each returns a
 * value computed from its index, checked on join. In some batches all
 * 1,000 threads stay alive until main releases them, and main checks the
 * kernel thread count meanwhile. Most batches use a 64 KiB stack (cheap
 * natively); every tenth uses the default attributes. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define BATCHES 100
#define BATCH 1000

static atomic_int arrived;
static atomic_int released;

static uintptr_t mix(uintptr_t x)
{
    x ^= x >> 17;
    x *= (uintptr_t)0xed5ad4bbU;
    x ^= x >> 11;
    x *= (uintptr_t)0xac4c1b51U;
    x ^= x >> 15;
    return x | 1; /* never NULL */
}

static void *worker(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    if (i % 7 == 0)
        CHECK(sched_yield() == 0);
    return (void *)mix(i);
}

static void *holder(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    atomic_fetch_add(&arrived, 1);
    wait_flag(&released, 1, 60000);
    return (void *)mix(i);
}

int main(void)
{
    static pthread_t tids[BATCH];
    pthread_attr_t small;
    CHECK_RC(pthread_attr_init(&small), 0);
    CHECK_RC(pthread_attr_setstacksize(&small, 64 * 1024), 0);

    for (int b = 0; b < BATCHES; b++) {
        /* Batches 0 and 57 hold their threads alive at once. */
        int hold = b == 0 || b == 57;
        atomic_store(&arrived, 0);
        atomic_store(&released, 0);
        for (int j = 0; j < BATCH; j++) {
            uintptr_t i = (uintptr_t)b * BATCH + j;
            CHECK_RC(pthread_create(&tids[j], b % 10 == 3 ? NULL : &small,
                                    hold ? holder : worker, (void *)i), 0);
        }
        if (hold) {
            WAIT_UNTIL(atomic_load(&arrived) == BATCH, 60000);
            check_thread_limit();
            atomic_store(&released, 1);
        }
        for (int j = 0; j < BATCH; j++) {
            uintptr_t i = (uintptr_t)b * BATCH + j;
            void *ret = NULL;
            CHECK_RC(pthread_join(tids[j], &ret), 0);
            CHECK(ret == (void *)mix(i));
        }
    }
    CHECK_RC(pthread_attr_destroy(&small), 0);
    return 0;
}
