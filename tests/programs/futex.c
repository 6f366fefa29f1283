/* Raw futexes through syscall(SYS_futex, ...), with the results Linux
 * gives natively; each part runs with FUTEX_PRIVATE_FLAG and without.
 * - FUTEX_WAIT / FUTEX_WAIT_BITSET with a value that does not match:
 *   -1/EAGAIN at once.
 * - FUTEX_WAIT with a relative timeout: ETIMEDOUT after it (50 ms); a
 *   zero timeout: at once.  FUTEX_CLOCK_REALTIME with FUTEX_WAIT or
 *   FUTEX_WAKE: ENOSYS.
 *   FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline, and with
 *   FUTEX_CLOCK_REALTIME an absolute CLOCK_REALTIME one: ETIMEDOUT at the
 *   deadline, at once for a past one.  tv_nsec outside [0, 1e9): EINVAL.
 * - Bitset 0 for WAIT_BITSET or WAKE_BITSET: EINVAL; a misaligned address:
 *   EINVAL; an unknown op: ENOSYS.
 * - FUTEX_WAKE returns how many it woke: 8 waiters, woken by repeated
 *   WAKEs (with INT_MAX, and with 1) until the counts add up to 8 exactly;
 *   WAKE with nobody waiting returns 0.
 * - FUTEX_WAKE_BITSET with a mask disjoint from the waiter's wakes nobody
 *   (0); an overlapping one wakes it; plain WAKE wakes bitset waiters.
 * - FUTEX_CMP_REQUEUE: EAGAIN when *uaddr differs from val3; waiters
 *   requeued to a second word (the returns add up to their number) are
 *   not woken by a WAKE on the first but by one on the second; with
 *   nr_wake 1 it wakes one and moves the rest.  FUTEX_REQUEUE likewise.
 * - A futex-based mutex (Drepper's 0/1/2 mutex): 8 threads x 20,000
 *   increments, count exact. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "check.h"

static int priv; /* FUTEX_PRIVATE_FLAG or 0, for the part running */

static long futex(void *uaddr, int op, uint32_t val,
                  const struct timespec *ts, void *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op | priv, val, ts, uaddr2, val3);
}

/* The requeue ops take a count where the timeout pointer goes. */
static long futex_requeue(void *uaddr, int op, uint32_t nr_wake,
                          uint32_t nr_requeue, void *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op | priv, nr_wake,
                   (void *)(uintptr_t)nr_requeue, uaddr2, val3);
}

static long wake(void *uaddr, int n)
{
    long r = futex(uaddr, FUTEX_WAKE, (uint32_t)n, NULL, NULL, 0);
    CHECK(r >= 0);
    return r;
}

/* ---- errors and timeouts ---- */

static void test_single(void)
{
    static atomic_uint word;
    static uint32_t words[2];
    struct timespec rel, abs;
    int64_t t0;

    atomic_store(&word, 5);
    CHECK_ERRNO(futex(&word, FUTEX_WAIT, 4, NULL, NULL, 0), EAGAIN);
    CHECK_ERRNO(futex(&word, FUTEX_WAIT_BITSET, 6, NULL, NULL,
                      FUTEX_BITSET_MATCH_ANY), EAGAIN);
    rel = ns_to_ts(NSEC_PER_SEC);
    CHECK_ERRNO(futex(&word, FUTEX_WAIT, 0, &rel, NULL, 0), EAGAIN);

    /* Relative timeouts. */
    rel = ns_to_ts(50 * NSEC_PER_MSEC);
    t0 = now_ns();
    CHECK_ERRNO(futex(&word, FUTEX_WAIT, 5, &rel, NULL, 0), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);
    /* FUTEX_CLOCK_REALTIME goes with WAIT_BITSET only (Linux's man page
     * says FUTEX_WAIT too since 4.5; the kernel says ENOSYS). */
    CHECK_ERRNO(futex(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 5, &rel,
                      NULL, 0), ENOSYS);
    CHECK_ERRNO(futex(&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL,
                      NULL, 0), ENOSYS);
    rel = ns_to_ts(0);
    t0 = now_ns();
    CHECK_ERRNO(futex(&word, FUTEX_WAIT, 5, &rel, NULL, 0), ETIMEDOUT);
    CHECK_ELAPSED(t0, 0, 200);

    /* Absolute deadlines. */
    abs = ns_to_ts(clock_ns(CLOCK_MONOTONIC) + 50 * NSEC_PER_MSEC);
    t0 = now_ns();
    CHECK_ERRNO(futex(&word, FUTEX_WAIT_BITSET, 5, &abs, NULL,
                      FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);
    abs = ns_to_ts(clock_ns(CLOCK_REALTIME) + 50 * NSEC_PER_MSEC);
    t0 = now_ns();
    CHECK_ERRNO(futex(&word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 5,
                      &abs, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);
    t0 = now_ns();
    abs = ns_to_ts(clock_ns(CLOCK_MONOTONIC) - NSEC_PER_MSEC);
    CHECK_ERRNO(futex(&word, FUTEX_WAIT_BITSET, 5, &abs, NULL, 1),
                ETIMEDOUT);
    abs = ns_to_ts(clock_ns(CLOCK_REALTIME) - NSEC_PER_SEC);
    CHECK_ERRNO(futex(&word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 5,
                      &abs, NULL, 1), ETIMEDOUT);
    CHECK_ELAPSED(t0, 0, 200);

    /* Bad timeouts, bitsets, addresses, ops. */
    rel = ns_to_ts(NSEC_PER_SEC);
    rel.tv_nsec = NSEC_PER_SEC;
    CHECK_ERRNO(futex(&word, FUTEX_WAIT, 5, &rel, NULL, 0), EINVAL);
    rel.tv_nsec = -1;
    CHECK_ERRNO(futex(&word, FUTEX_WAIT, 5, &rel, NULL, 0), EINVAL);
    abs = ns_to_ts(clock_ns(CLOCK_MONOTONIC) + NSEC_PER_SEC);
    abs.tv_nsec = NSEC_PER_SEC;
    CHECK_ERRNO(futex(&word, FUTEX_WAIT_BITSET, 5, &abs, NULL,
                      FUTEX_BITSET_MATCH_ANY), EINVAL);
    CHECK_ERRNO(futex(&word, FUTEX_WAIT_BITSET, 5, NULL, NULL, 0), EINVAL);
    CHECK_ERRNO(futex(&word, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0), EINVAL);
    CHECK_ERRNO(futex((char *)words + 1, FUTEX_WAIT, 0, NULL, NULL, 0),
                EINVAL);
    CHECK_ERRNO(futex((char *)words + 2, FUTEX_WAKE, 1, NULL, NULL, 0),
                EINVAL);
    CHECK_ERRNO(futex(&word, 99, 0, NULL, NULL, 0), ENOSYS);

    /* Nobody waits. */
    CHECK(wake(&word, INT_MAX) == 0);
    CHECK(futex(&word, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 1) == 0);
    CHECK(atomic_load(&word) == 5);
}

/* ---- waiters ---- */

#define NW 8

struct waiter {
    void *addr;
    int op;           /* FUTEX_WAIT or FUTEX_WAIT_BITSET */
    uint32_t bitset;
    atomic_int started;
    atomic_int done;
    long rc;
    int err;
    pthread_t t;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    /* A long timeout only so that a lost wake-up fails instead of
     * hanging; the wait is expected to be ended by a wake. */
    struct timespec rel = ns_to_ts(60 * NSEC_PER_SEC);
    struct timespec abs = ns_to_ts(clock_ns(CLOCK_MONOTONIC) +
                                   60 * NSEC_PER_SEC);
    atomic_store(&w->started, 1);
    errno_clear();
    w->rc = futex(w->addr, w->op, 0,
                  w->op == FUTEX_WAIT_BITSET ? &abs : &rel, NULL, w->bitset);
    w->err = errno_now();
    atomic_store(&w->done, 1);
    return NULL;
}

static void start_waiter(struct waiter *w, void *addr, int op,
                         uint32_t bitset)
{
    w->addr = addr;
    w->op = op;
    w->bitset = bitset;
    w->rc = -2;
    atomic_store(&w->started, 0);
    atomic_store(&w->done, 0);
    CHECK_RC(pthread_create(&w->t, NULL, waiter_main, w), 0);
    WAIT_UNTIL(atomic_load(&w->started), 10000);
}

static void join_woken(struct waiter *w)
{
    CHECK_RC(pthread_join(w->t, NULL), 0);
    if (w->rc != 0) {
        fprintf(stderr, "futex waiter: rc %ld errno %d\n", w->rc, w->err);
        CHECK(w->rc == 0);
    }
}

/* Wake (FUTEX_WAKE with n, or WAKE_BITSET with mask) until the counts
 * add up to want; a count past want fails. */
static void wake_until(void *addr, int n, uint32_t mask, long want)
{
    int64_t deadline = now_ns() + 30 * NSEC_PER_SEC;
    long total = 0;
    while (total < want) {
        long r = mask == 0 ? wake(addr, n)
                           : futex(addr, FUTEX_WAKE_BITSET, (uint32_t)n,
                                   NULL, NULL, mask);
        CHECK(r >= 0 && r <= n);
        total += r;
        CHECK(total <= want);
        if (total < want) {
            CHECK(now_ns() < deadline);
            usleep(1000);
        }
    }
}

static void test_wake_count(void)
{
    static atomic_uint word;
    static struct waiter w[NW];
    atomic_store(&word, 0);
    for (int all = 1; all >= 0; all--) {
        for (int i = 0; i < NW; i++)
            start_waiter(&w[i], &word,
                         i % 2 ? FUTEX_WAIT : FUTEX_WAIT_BITSET,
                         FUTEX_BITSET_MATCH_ANY);
        wake_until(&word, all ? INT_MAX : 1, 0, NW);
        for (int i = 0; i < NW; i++)
            join_woken(&w[i]);
        CHECK(wake(&word, INT_MAX) == 0);
    }
}

static void test_bitset(void)
{
    static atomic_uint word;
    struct waiter a, b, c;
    atomic_store(&word, 0);
    start_waiter(&a, &word, FUTEX_WAIT_BITSET, 0x1);
    start_waiter(&b, &word, FUTEX_WAIT_BITSET, 0x6);
    start_waiter(&c, &word, FUTEX_WAIT_BITSET, 0x8);
    sleep_ms(20); /* they are (almost surely) blocked by now */

    /* Masks disjoint from every waiter's: nobody. */
    int64_t deadline = now_ns() + 30 * NSEC_PER_SEC;
    CHECK(futex(&word, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 0x10) == 0);
    CHECK(futex(&word, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 0xf0) == 0);
    /* b only, by a mask overlapping its bits (until it is blocked). */
    for (;;) {
        CHECK(futex(&word, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL,
                    0x10) == 0);
        long r = futex(&word, FUTEX_WAKE_BITSET, INT_MAX, NULL, NULL, 0x4);
        CHECK(r == 0 || r == 1);
        if (r == 1)
            break;
        CHECK(now_ns() < deadline);
        usleep(1000);
    }
    join_woken(&b);
    CHECK(!atomic_load(&a.done) && !atomic_load(&c.done));
    /* a by its exact bit; c by a plain FUTEX_WAKE (all bits). */
    wake_until(&word, INT_MAX, 0x1, 1);
    join_woken(&a);
    CHECK(!atomic_load(&c.done));
    wake_until(&word, INT_MAX, 0, 1);
    join_woken(&c);
}

static void test_requeue(void)
{
    static atomic_uint a_word, b_word;
    static struct waiter w[NW];
    atomic_store(&a_word, 0);
    atomic_store(&b_word, 7);

    for (int cmp = 1; cmp >= 0; cmp--) {
        int op = cmp ? FUTEX_CMP_REQUEUE : FUTEX_REQUEUE;
        for (int i = 0; i < NW; i++)
            start_waiter(&w[i], &a_word, FUTEX_WAIT, 0);
        if (cmp) {
            CHECK_ERRNO(futex_requeue(&a_word, op, 0, INT_MAX, &b_word, 1),
                        EAGAIN);
            CHECK_ERRNO(futex_requeue(&a_word, op, 1, INT_MAX, &b_word, 7),
                        EAGAIN);
        }
        /* Move them all to b_word, as they come. */
        int64_t deadline = now_ns() + 30 * NSEC_PER_SEC;
        long moved = 0;
        while (moved < NW) {
            long r = futex_requeue(&a_word, op, 0, INT_MAX, &b_word, 0);
            CHECK(r >= 0);
            moved += r;
            CHECK(moved <= NW);
            if (moved < NW) {
                CHECK(now_ns() < deadline);
                usleep(1000);
            }
        }
        /* Nobody is left on a_word. */
        CHECK(wake(&a_word, INT_MAX) == 0);
        for (int i = 0; i < NW; i++)
            CHECK(!atomic_load(&w[i].done));
        /* From b_word: wake 1, move 2 back to a_word, and the rest stay. */
        long r = futex_requeue(&b_word, op, 1, 2, &a_word, 7);
        CHECK(r == 3);
        CHECK(wake(&a_word, INT_MAX) == 2);
        CHECK(wake(&b_word, INT_MAX) == NW - 3);
        CHECK(wake(&b_word, INT_MAX) == 0);
        for (int i = 0; i < NW; i++)
            join_woken(&w[i]);
    }
}

/* ---- a futex mutex ---- */

#define NLOCKERS 8
#define NLOCK_ITERS 20000

static atomic_uint mutex_word; /* 0 free, 1 locked, 2 locked + waiters */
static long counter;

static void mutex_lock(void)
{
    unsigned c = 0;
    if (atomic_compare_exchange_strong(&mutex_word, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(&mutex_word, 2);
    while (c != 0) {
        long r = futex(&mutex_word, FUTEX_WAIT, 2, NULL, NULL, 0);
        CHECK(r == 0 || errno_now() == EAGAIN);
        c = atomic_exchange(&mutex_word, 2);
    }
}

static void mutex_unlock(void)
{
    if (atomic_fetch_sub(&mutex_word, 1) != 1) {
        atomic_store(&mutex_word, 0);
        CHECK(wake(&mutex_word, 1) <= 1);
    }
}

static void *locker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < NLOCK_ITERS; i++) {
        mutex_lock();
        counter++;
        if (i % 64 == id)
            sched_yield();
        mutex_unlock();
    }
    return arg;
}

static void test_mutex(void)
{
    pthread_t t[NLOCKERS];
    counter = 0;
    for (int i = 0; i < NLOCKERS; i++)
        CHECK_RC(pthread_create(&t[i], NULL, locker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NLOCKERS; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(counter == (long)NLOCKERS * NLOCK_ITERS);
    CHECK(atomic_load(&mutex_word) == 0);
}

int main(void)
{
    static const int flags[] = { FUTEX_PRIVATE_FLAG, 0 };
    for (int i = 0; i < 2; i++) {
        priv = flags[i];
        test_single();
        test_wake_count();
        test_bitset();
        test_requeue();
        test_mutex();
    }
    return 0;
}
