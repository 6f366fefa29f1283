/* A thread with a 1 MiB stack (pthread_attr_setstacksize) recurses through
 * about 900 KiB of it, sleeping at the deepest point; every frame's buffer
 * is checked after its callee returns. pthread_getattr_np in that thread
 * reports a stack of at least 1 MiB holding its locals; the main thread's
 * pthread_getattr_np range holds a local of main's too. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "check.h"

#define STACK_SIZE (1024 * 1024)
#define FRAME_BUF 4096
#define TARGET_USE (900 * 1024)

static uintptr_t stack_top_local; /* address of a local in the thread's
                                     outermost frame */
static uintptr_t deepest_local;

static void check_in_own_stack(uintptr_t local, size_t min_size)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    CHECK_RC(pthread_getattr_np(pthread_self(), &attr), 0);
    CHECK_RC(pthread_attr_getstack(&attr, &addr, &size), 0);
    CHECK(size >= min_size);
    CHECK(local >= (uintptr_t)addr && local < (uintptr_t)addr + size);
    CHECK_RC(pthread_attr_destroy(&attr), 0);
}

/* Each frame holds FRAME_BUF bytes; returns the sum of all frames' bytes. */
__attribute__((noinline)) static uint64_t recurse(int depth, int max_depth)
{
    volatile unsigned char buf[FRAME_BUF];
    for (int i = 0; i < FRAME_BUF; i++)
        buf[i] = (unsigned char)(depth * 31 + i);
    uint64_t below = 0;
    if (depth < max_depth) {
        below = recurse(depth + 1, max_depth);
    } else {
        deepest_local = (uintptr_t)&buf[0];
        check_in_own_stack(deepest_local, STACK_SIZE);
        /* Sleep and yield at the deepest point: the stack must survive. */
        usleep(1000);
        CHECK(sched_yield() == 0);
        usleep(1000);
    }
    uint64_t sum = 0;
    for (int i = 0; i < FRAME_BUF; i++) {
        CHECK(buf[i] == (unsigned char)(depth * 31 + i));
        sum += buf[i];
    }
    return sum + below;
}

static uint64_t expected_sum(int max_depth)
{
    uint64_t sum = 0;
    for (int d = 0; d <= max_depth; d++)
        for (int i = 0; i < FRAME_BUF; i++)
            sum += (unsigned char)(d * 31 + i);
    return sum;
}

static void *deep(void *arg)
{
    (void)arg;
    volatile int local = 0;
    stack_top_local = (uintptr_t)&local;
    check_in_own_stack(stack_top_local, STACK_SIZE);

    /* Probe the frame size with a short recursion, then size the real one
     * to use about TARGET_USE bytes. */
    int max_depth = 4;
    CHECK(recurse(0, max_depth) == expected_sum(max_depth));
    uintptr_t per_frame = (stack_top_local - deepest_local) / (max_depth + 1);
    CHECK(per_frame >= FRAME_BUF && per_frame < 2 * FRAME_BUF);
    max_depth = (int)(TARGET_USE / per_frame);

    CHECK(recurse(0, max_depth) == expected_sum(max_depth));
    uintptr_t used = stack_top_local - deepest_local;
    CHECK(used >= TARGET_USE - 2 * per_frame && used < STACK_SIZE);
    return (void *)(uintptr_t)used;
}

int main(void)
{
    volatile int local = 0;
    check_in_own_stack((uintptr_t)&local, 16 * 1024);

    pthread_attr_t attr;
    CHECK_RC(pthread_attr_init(&attr), 0);
    CHECK_RC(pthread_attr_setstacksize(&attr, STACK_SIZE), 0);
    for (int round = 0; round < 3; round++) {
        pthread_t t;
        void *used;
        CHECK_RC(pthread_create(&t, &attr, deep, NULL), 0);
        CHECK_RC(pthread_join(t, &used), 0);
        CHECK((uintptr_t)used >= 800 * 1024);
    }
    CHECK_RC(pthread_attr_destroy(&attr), 0);
    return 0;
}
