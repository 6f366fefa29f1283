/* Two threads take turns strictly through an atomic turn counter, each
 * waiting for its turn with sched_yield only: 200,000 hops in all. Under a
 * single processor this finishes only if sched_yield lets the other
 * thread run. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define HOPS 200000

static atomic_long turn;     /* hop number; player (turn % 2) moves next */
static atomic_int last = 1;  /* player that moved last */
static atomic_long yields;

static void *player(void *arg)
{
    int me = (int)(intptr_t)arg;
    long moves = 0;
    long my_yields = 0;
    int64_t deadline = now_ns() + 60 * NSEC_PER_SEC;
    for (;;) {
        long t = atomic_load(&turn);
        if (t >= HOPS)
            break;
        if (t % 2 != me) {
            CHECK(sched_yield() == 0);
            if (++my_yields % 1024 == 0)
                CHECK(now_ns() < deadline);
            continue;
        }
        CHECK(atomic_load(&last) == 1 - me);
        atomic_store(&last, me);
        moves++;
        atomic_store(&turn, t + 1); /* release: hands the turn over */
    }
    atomic_fetch_add(&yields, my_yields);
    return (void *)(intptr_t)moves;
}

int main(void)
{
    pthread_t t[2];
    void *moves[2];
    int64_t t0 = now_ns();
    for (int i = 0; i < 2; i++)
        CHECK_RC(pthread_create(&t[i], NULL, player, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 2; i++)
        CHECK_RC(pthread_join(t[i], &moves[i]), 0);
    CHECK(atomic_load(&turn) == HOPS);
    CHECK((intptr_t)moves[0] == HOPS / 2);
    CHECK((intptr_t)moves[1] == HOPS / 2);
    CHECK(atomic_load(&yields) >= 1); /* somebody had to wait */
    CHECK_ELAPSED(t0, 0, 60000);
    return 0;
}
