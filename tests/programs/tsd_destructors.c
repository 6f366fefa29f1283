/* Thread-specific data: pthread_key_create/delete, get/setspecific and
 * destructors.
 * - a new thread sees NULL for every key;
 * - values survive sleeps and yields in the thread;
 * - at thread exit (return or pthread_exit) each non-NULL value's
 *   destructor runs exactly once, in that thread, with that value; a NULL
 *   value's destructor does not run;
 * - a destructor that sets its key again runs again, for exactly
 *   PTHREAD_DESTRUCTOR_ITERATIONS rounds;
 * - pthread_key_delete runs no destructor, and a key created afterwards
 *   starts NULL;
 * - keys can be created until EAGAIN, at least 1,000 of them, and a thread
 *   with a value in every one of them gets every destructor called. */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define NT 500

struct slot {
    _Atomic pthread_t owner; /* thread i */
    atomic_int val_calls;    /* d_val calls with this slot as value */
    atomic_int again_calls;  /* d_again calls in thread i */
};

static struct slot slots[NT];
static pthread_key_t k_val, k_again, k_del;
static atomic_int del_calls;
static atomic_int arrived;
static atomic_int released;

static void d_val(void *v)
{
    struct slot *s = v;
    CHECK(s >= slots && s < slots + NT);
    /* Runs in the thread that set it. */
    CHECK(pthread_equal(pthread_self(), atomic_load(&s->owner)));
    CHECK(pthread_getspecific(k_val) == NULL);
    atomic_fetch_add(&s->val_calls, 1);
}

/* k_again's value in thread i for destructor round r (r >= 1). */
#define AGAIN(i, r) ((void *)((uintptr_t)(i) * 16 + (uintptr_t)(r)))

/* Checks the value is this thread's and this round's, then sets it again
 * for the next round. */
static void d_again(void *v)
{
    uintptr_t i = (uintptr_t)v / 16, round = (uintptr_t)v % 16;
    CHECK(i < NT);
    CHECK(pthread_equal(pthread_self(), atomic_load(&slots[i].owner)));
    int n = atomic_fetch_add(&slots[i].again_calls, 1) + 1;
    CHECK(round == (uintptr_t)n);
    CHECK(pthread_getspecific(k_again) == NULL);
    CHECK_RC(pthread_setspecific(k_again, AGAIN(i, round + 1)), 0);
}

static void d_del(void *v)
{
    (void)v;
    atomic_fetch_add(&del_calls, 1);
}

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    atomic_store(&slots[i].owner, pthread_self());
    CHECK(pthread_getspecific(k_val) == NULL);
    CHECK(pthread_getspecific(k_again) == NULL);
    CHECK(pthread_getspecific(k_del) == NULL);

    /* i % 4 == 1: never set; i % 4 == 2: set, then set back to NULL. */
    if (i % 4 != 1)
        CHECK_RC(pthread_setspecific(k_val, &slots[i]), 0);
    if (i % 4 == 2)
        CHECK_RC(pthread_setspecific(k_val, NULL), 0);
    void *want = i % 4 == 1 || i % 4 == 2 ? NULL : &slots[i];
    CHECK_RC(pthread_setspecific(k_again, AGAIN(i, 1)), 0);
    CHECK_RC(pthread_setspecific(k_del, &del_calls), 0);

    for (int r = 0; r < 3; r++) {
        usleep(500);
        CHECK(sched_yield() == 0);
        CHECK(pthread_getspecific(k_val) == want);
        CHECK(pthread_getspecific(k_again) == AGAIN(i, 1));
        CHECK(pthread_getspecific(k_del) == &del_calls);
    }

    /* Wait, alive, while main deletes k_del. */
    atomic_fetch_add(&arrived, 1);
    wait_flag(&released, 1, 60000);
    CHECK(pthread_getspecific(k_val) == want);
    CHECK(pthread_getspecific(k_again) == AGAIN(i, 1));
    if (i % 2)
        pthread_exit(arg);
    return arg;
}

/* Many keys: count destructor calls of a thread with values in all. */
static pthread_key_t many[PTHREAD_KEYS_MAX];
static int nmany;
static atomic_int many_calls;

static void d_many(void *v)
{
    CHECK(v == (void *)&many_calls);
    atomic_fetch_add(&many_calls, 1);
}

static void *set_all(void *arg)
{
    for (int i = 0; i < nmany; i++)
        CHECK(pthread_getspecific(many[i]) == NULL);
    for (int i = 0; i < nmany; i++)
        CHECK_RC(pthread_setspecific(many[i], &many_calls), 0);
    usleep(1000);
    for (int i = 0; i < nmany; i++)
        CHECK(pthread_getspecific(many[i]) == &many_calls);
    return arg;
}

int main(void)
{
    static pthread_t tids[NT];
    CHECK_RC(pthread_key_create(&k_val, d_val), 0);
    CHECK_RC(pthread_key_create(&k_again, d_again), 0);
    CHECK_RC(pthread_key_create(&k_del, d_del), 0);

    /* main's own values do not leak into the threads. */
    CHECK_RC(pthread_setspecific(k_val, &slots[0]), 0);
    CHECK_RC(pthread_setspecific(k_again, (void *)99), 0);

    for (int i = 0; i < NT; i++)
        CHECK_RC(pthread_create(&tids[i], NULL, worker, (void *)(intptr_t)i),
                 0);
    WAIT_UNTIL(atomic_load(&arrived) == NT, 60000);
    check_thread_limit();
    CHECK_RC(pthread_key_delete(k_del), 0);
    atomic_store(&released, 1);
    for (int i = 0; i < NT; i++) {
        void *ret;
        CHECK_RC(pthread_join(tids[i], &ret), 0);
        CHECK(ret == (void *)(intptr_t)i);
    }
    for (int i = 0; i < NT; i++) {
        int want = i % 4 == 1 || i % 4 == 2 ? 0 : 1;
        CHECK(atomic_load(&slots[i].val_calls) == want);
        CHECK(atomic_load(&slots[i].again_calls) ==
              PTHREAD_DESTRUCTOR_ITERATIONS);
    }
    CHECK(atomic_load(&del_calls) == 0);
    CHECK(pthread_getspecific(k_val) == &slots[0]);
    CHECK(pthread_getspecific(k_again) == (void *)99);
    CHECK_RC(pthread_setspecific(k_val, NULL), 0);
    CHECK_RC(pthread_setspecific(k_again, NULL), 0);

    /* A key created after a delete starts NULL, even if it reuses the
     * deleted key's slot. */
    for (int r = 0; r < 100; r++) {
        pthread_key_t k, k2;
        CHECK_RC(pthread_key_create(&k, NULL), 0);
        CHECK(pthread_getspecific(k) == NULL);
        CHECK_RC(pthread_setspecific(k, &k), 0);
        CHECK(pthread_getspecific(k) == &k);
        CHECK_RC(pthread_key_delete(k), 0);
        CHECK_RC(pthread_key_create(&k2, NULL), 0);
        CHECK(pthread_getspecific(k2) == NULL);
        CHECK_RC(pthread_key_delete(k2), 0);
    }

    /* Create keys until EAGAIN. */
    for (;;) {
        CHECK(nmany < PTHREAD_KEYS_MAX);
        int rc = pthread_key_create(&many[nmany], d_many);
        if (rc == EAGAIN)
            break;
        CHECK_RC(rc, 0);
        nmany++;
    }
    CHECK(nmany >= 1000);
    for (int i = 0; i < nmany; i++)
        for (int j = 0; j < i; j++)
            CHECK(many[i] != many[j]);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, set_all, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(atomic_load(&many_calls) == nmany);
    for (int i = 0; i < nmany; i++)
        CHECK_RC(pthread_key_delete(many[i]), 0);
    pthread_key_t k;
    CHECK_RC(pthread_key_create(&k, NULL), 0);
    CHECK_RC(pthread_key_delete(k), 0);

    CHECK_RC(pthread_key_delete(k_val), 0);
    CHECK_RC(pthread_key_delete(k_again), 0);
    return 0;
}
