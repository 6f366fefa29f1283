/* Threads that only ever yield must not starve others: 300 threads loop on
 * sched_yield, more than one run queue holds (under goshim the rest wait in
 * the global queue); every one of them must get to start, and then one
 * more thread created while all of them keep yielding must run too. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "check.h"

#define NSPIN 300

static atomic_int stop, started, late_ran;

static void *spinner(void *arg)
{
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&stop))
        CHECK(sched_yield() == 0);
    return arg;
}

static void *late(void *arg)
{
    atomic_store(&late_ran, 1);
    return arg;
}

int main(void)
{
    pthread_t t[NSPIN], l;
    for (int i = 0; i < NSPIN; i++)
        CHECK_RC(pthread_create(&t[i], NULL, spinner, NULL), 0);
    int64_t deadline = now_ns() + 10 * NSEC_PER_SEC;
    while (atomic_load(&started) < NSPIN) {
        CHECK(now_ns() < deadline);
        CHECK(sched_yield() == 0);
    }
    CHECK_RC(pthread_create(&l, NULL, late, NULL), 0);
    while (!atomic_load(&late_ran)) {
        CHECK(now_ns() < deadline);
        CHECK(sched_yield() == 0);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NSPIN; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK_RC(pthread_join(l, NULL), 0);
    return 0;
}
