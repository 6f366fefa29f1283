/* pthread_self and pthread_equal over 1,000 threads alive at once: the
 * values are pairwise distinct, stable across sleeps and yields, and equal
 * to what pthread_create returned. Thread names: pthread_setname_np and
 * pthread_getname_np on oneself and on another thread, their ERANGE cases,
 * and a new thread's name being its creator's name at creation (Linux). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define N 1000

static _Atomic pthread_t created[N]; /* from pthread_create, via main */
static atomic_int published[N];
static pthread_t selfs[N];           /* from pthread_self, in each thread */
static atomic_int arrived;
static atomic_int released;

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    pthread_t me = pthread_self();
    CHECK(pthread_equal(me, me));
    wait_flag(&published[i], 1, 60000);
    CHECK(pthread_equal(me, atomic_load(&created[i])));
    selfs[i] = me;
    atomic_fetch_add(&arrived, 1);
    wait_flag(&released, 1, 60000);
    CHECK(pthread_equal(pthread_self(), me));
    usleep(1000);
    CHECK(sched_yield() == 0);
    CHECK(pthread_equal(pthread_self(), me));
    return arg;
}

static void test_self_equal(void)
{
    static pthread_t tids[N];
    pthread_attr_t attr;
    CHECK_RC(pthread_attr_init(&attr), 0);
    CHECK_RC(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
    for (int i = 0; i < N; i++) {
        CHECK_RC(pthread_create(&tids[i], &attr, worker, (void *)(intptr_t)i),
                 0);
        atomic_store(&created[i], tids[i]);
        atomic_store(&published[i], 1);
    }
    CHECK_RC(pthread_attr_destroy(&attr), 0);
    WAIT_UNTIL(atomic_load(&arrived) == N, 60000);
    check_thread_limit();

    pthread_t me = pthread_self();
    for (int i = 0; i < N; i++) {
        CHECK(pthread_equal(selfs[i], tids[i]));
        CHECK(!pthread_equal(selfs[i], me));
        for (int j = 0; j < i; j++)
            CHECK(!pthread_equal(selfs[i], selfs[j]));
    }
    atomic_store(&released, 1);
    for (int i = 0; i < N; i++) {
        void *ret;
        CHECK_RC(pthread_join(tids[i], &ret), 0);
        CHECK(ret == (void *)(intptr_t)i);
    }
    CHECK(pthread_equal(pthread_self(), me));
}

static void check_name(pthread_t t, const char *want)
{
    char buf[64];
    memset(buf, 'x', sizeof buf);
    CHECK_RC(pthread_getname_np(t, buf, sizeof buf), 0);
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "thread name is \"%s\", expected \"%s\"\n", buf,
                want);
        CHECK(strcmp(buf, want) == 0);
    }
}

static void *grandchild(void *arg)
{
    check_name(pthread_self(), "se-child");
    return arg;
}

static void *child(void *arg)
{
    pthread_t t;
    /* Named as main was when it created this thread. */
    check_name(pthread_self(), "se-main");
    CHECK_RC(pthread_setname_np(pthread_self(), "se-child"), 0);
    check_name(pthread_self(), "se-child");
    CHECK_RC(pthread_create(&t, NULL, grandchild, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    return arg;
}

static atomic_int peer_state; /* 0 start, 1 ready, 2 renamed by main,
                                 3 renamed by itself, 4 may exit */

static void *peer(void *arg)
{
    atomic_store(&peer_state, 1);
    int64_t deadline = now_ns() + 60 * NSEC_PER_SEC;
    while (atomic_load(&peer_state) != 2) {
        CHECK(now_ns() < deadline);
        usleep(1000);
    }
    check_name(pthread_self(), "se-peer-renamed");
    CHECK_RC(pthread_setname_np(pthread_self(), "se-peer-self"), 0);
    atomic_store(&peer_state, 3);
    while (atomic_load(&peer_state) != 4) { /* stay alive to be looked at */
        CHECK(now_ns() < deadline);
        usleep(1000);
    }
    return arg;
}

static void test_names(void)
{
    char buf[16];
    pthread_t me = pthread_self();

    CHECK_RC(pthread_setname_np(me, "0123456789abcde"), 0); /* 15: fits */
    check_name(me, "0123456789abcde");
    CHECK_RC(pthread_setname_np(me, "0123456789abcdef"), ERANGE);
    CHECK_RC(pthread_setname_np(me, "a name much longer than sixteen"),
             ERANGE);
    check_name(me, "0123456789abcde");
    CHECK_RC(pthread_getname_np(me, buf, 15), ERANGE);
    CHECK_RC(pthread_getname_np(me, buf, 16), 0);
    CHECK(strcmp(buf, "0123456789abcde") == 0);

    CHECK_RC(pthread_setname_np(me, "se-main"), 0);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, child, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    check_name(me, "se-main");

    /* Another thread's name, read and written from here. */
    CHECK_RC(pthread_create(&t, NULL, peer, NULL), 0);
    WAIT_UNTIL(atomic_load(&peer_state) == 1, 10000);
    check_name(t, "se-main");
    CHECK_RC(pthread_setname_np(t, "se-peer-renamed"), 0);
    CHECK_RC(pthread_setname_np(t, "0123456789abcdef"), ERANGE);
    check_name(t, "se-peer-renamed");
    CHECK_RC(pthread_getname_np(t, buf, 10), ERANGE);
    atomic_store(&peer_state, 2);
    WAIT_UNTIL(atomic_load(&peer_state) == 3, 10000);
    check_name(t, "se-peer-self");
    atomic_store(&peer_state, 4);
    CHECK_RC(pthread_join(t, NULL), 0);
    check_name(me, "se-main");
}

int main(void)
{
    test_self_equal();
    test_names();
    return 0;
}
