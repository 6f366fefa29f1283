/* POSIX semaphores, with the results glibc 2.36 gives natively.
 * - sem_init: values up to SEM_VALUE_MAX, EINVAL above; any non-zero
 *   pshared is accepted.
 * - sem_trywait on 0: EAGAIN; sem_wait blocks until a post.
 * - sem_timedwait / sem_clockwait (REALTIME, MONOTONIC): ETIMEDOUT at the
 *   deadline (100 ms), at once for a past deadline; with a count they take
 *   it even for a past or negative deadline.  EINVAL for tv_nsec < 0 or
 *   >= 1e9 and for clocks other than REALTIME/MONOTONIC, checked even when
 *   the semaphore could be taken (the count stays).
 * - sem_post at SEM_VALUE_MAX: -1/EOVERFLOW, the value unchanged.
 * - Producers/consumers through a 16-slot ring guarded by two counting
 *   semaphores (and a binary one for the indexes): 100,000 items, 1:1 and
 *   2:2 threads, checksum exact.
 * - Named semaphores: sem_open with O_CREAT|O_EXCL (EEXIST the second
 *   time), O_CREAT alone opens the existing one (value kept), no O_CREAT
 *   on a missing name: ENOENT; value above SEM_VALUE_MAX and names with an
 *   inner '/' or nothing after the '/': EINVAL; two handles see the same
 *   count; sem_close; sem_unlink then ENOENT. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

static struct timespec deadline_in(clockid_t clk, int64_t ms)
{
    return ns_to_ts(clock_ns(clk) + ms * NSEC_PER_MSEC);
}

static int value_of(sem_t *s)
{
    int v = -1;
    CHECK(sem_getvalue(s, &v) == 0);
    return v;
}

/* ---- basics ---- */

static void *post_later(void *arg)
{
    sleep_ms(20);
    CHECK(sem_post(arg) == 0);
    return NULL;
}

static void test_basics(void)
{
    sem_t s;
    CHECK_ERRNO(sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1), EINVAL);
    CHECK_ERRNO(sem_init(&s, 0, UINT_MAX), EINVAL);
    CHECK(sem_init(&s, 0, SEM_VALUE_MAX) == 0);
    CHECK(value_of(&s) == SEM_VALUE_MAX);
    CHECK_ERRNO(sem_post(&s), EOVERFLOW);
    CHECK(value_of(&s) == SEM_VALUE_MAX);
    CHECK(sem_trywait(&s) == 0);
    CHECK(value_of(&s) == SEM_VALUE_MAX - 1);
    CHECK(sem_post(&s) == 0);
    CHECK_ERRNO(sem_post(&s), EOVERFLOW);
    CHECK(sem_destroy(&s) == 0);

    CHECK(sem_init(&s, 1, 0) == 0);
    CHECK(sem_destroy(&s) == 0);
    CHECK(sem_init(&s, 5, 2) == 0);
    CHECK(value_of(&s) == 2);
    CHECK(sem_wait(&s) == 0);
    CHECK(sem_trywait(&s) == 0);
    CHECK(value_of(&s) == 0);
    CHECK_ERRNO(sem_trywait(&s), EAGAIN);
    CHECK(value_of(&s) == 0);
    CHECK(sem_post(&s) == 0);
    CHECK(sem_post(&s) == 0);
    CHECK(value_of(&s) == 2);
    CHECK(sem_destroy(&s) == 0);

    /* sem_wait blocks until another thread posts. */
    CHECK(sem_init(&s, 0, 0) == 0);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, post_later, &s), 0);
    int64_t t0 = now_ns();
    CHECK(sem_wait(&s) == 0);
    CHECK_ELAPSED(t0, 15, 10000);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(value_of(&s) == 0);

    /* ... and a timed wait too, before its deadline. */
    CHECK_RC(pthread_create(&t, NULL, post_later, &s), 0);
    struct timespec ts = deadline_in(CLOCK_REALTIME, 20000);
    t0 = now_ns();
    CHECK(sem_timedwait(&s, &ts) == 0);
    CHECK_ELAPSED(t0, 15, 10000);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_create(&t, NULL, post_later, &s), 0);
    ts = deadline_in(CLOCK_MONOTONIC, 20000);
    CHECK(sem_clockwait(&s, CLOCK_MONOTONIC, &ts) == 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(value_of(&s) == 0);
    CHECK(sem_destroy(&s) == 0);
}

/* ---- timed waits ---- */

static void check_bad_args(sem_t *s)
{
    int v = value_of(s);
    struct timespec ts = deadline_in(CLOCK_REALTIME, 1000);
    ts.tv_nsec = NSEC_PER_SEC;
    CHECK_ERRNO(sem_timedwait(s, &ts), EINVAL);
    CHECK_ERRNO(sem_clockwait(s, CLOCK_MONOTONIC, &ts), EINVAL);
    ts.tv_nsec = -1;
    CHECK_ERRNO(sem_timedwait(s, &ts), EINVAL);
    CHECK_ERRNO(sem_clockwait(s, CLOCK_REALTIME, &ts), EINVAL);
    ts = deadline_in(CLOCK_MONOTONIC, 1000);
    CHECK_ERRNO(sem_clockwait(s, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
    CHECK_ERRNO(sem_clockwait(s, CLOCK_THREAD_CPUTIME_ID, &ts), EINVAL);
    CHECK_ERRNO(sem_clockwait(s, CLOCK_MONOTONIC_RAW, &ts), EINVAL);
    CHECK_ERRNO(sem_clockwait(s, CLOCK_BOOTTIME, &ts), EINVAL);
    CHECK_ERRNO(sem_clockwait(s, 12345, &ts), EINVAL);
    CHECK(value_of(s) == v);
}

static void test_timed(void)
{
    sem_t s;
    CHECK(sem_init(&s, 0, 0) == 0);
    struct timespec ts;
    int64_t t0;

    ts = deadline_in(CLOCK_REALTIME, 100);
    t0 = now_ns();
    CHECK_ERRNO(sem_timedwait(&s, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, 99, 300);
    ts = deadline_in(CLOCK_REALTIME, 100);
    t0 = now_ns();
    CHECK_ERRNO(sem_clockwait(&s, CLOCK_REALTIME, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, 99, 300);
    ts = deadline_in(CLOCK_MONOTONIC, 100);
    t0 = now_ns();
    CHECK_ERRNO(sem_clockwait(&s, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, 99, 300);

    t0 = now_ns();
    ts = deadline_in(CLOCK_REALTIME, -1);
    CHECK_ERRNO(sem_timedwait(&s, &ts), ETIMEDOUT);
    struct timespec epoch = { 0, 0 }, negative = { -1, 0 };
    CHECK_ERRNO(sem_timedwait(&s, &epoch), ETIMEDOUT);
    CHECK_ERRNO(sem_timedwait(&s, &negative), ETIMEDOUT);
    ts = deadline_in(CLOCK_MONOTONIC, -1);
    CHECK_ERRNO(sem_clockwait(&s, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
    CHECK_ERRNO(sem_clockwait(&s, CLOCK_REALTIME, &negative), ETIMEDOUT);
    CHECK_ELAPSED(t0, 0, 200);
    check_bad_args(&s); /* unavailable */
    CHECK(value_of(&s) == 0);

    /* Available: past deadlines take it, bad arguments do not. */
    CHECK(sem_post(&s) == 0);
    check_bad_args(&s);
    CHECK(value_of(&s) == 1);
    CHECK(sem_timedwait(&s, &negative) == 0);
    CHECK(sem_post(&s) == 0);
    CHECK(sem_timedwait(&s, &epoch) == 0);
    CHECK(sem_post(&s) == 0);
    ts = deadline_in(CLOCK_MONOTONIC, -1000);
    CHECK(sem_clockwait(&s, CLOCK_MONOTONIC, &ts) == 0);
    CHECK(sem_post(&s) == 0);
    ts = deadline_in(CLOCK_REALTIME, 1000);
    CHECK(sem_clockwait(&s, CLOCK_REALTIME, &ts) == 0);
    CHECK(value_of(&s) == 0);
    CHECK(sem_destroy(&s) == 0);
}

/* ---- producers and consumers ---- */

#define RING 16
#define NITEMS 100000

static sem_t empty_slots, full_slots, index_lock;
static long ring[RING];
static unsigned head, tail;
static int nprod, ncons;
static atomic_long consumed_sum, consumed_count;

static void *producer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (long i = id; i < NITEMS; i += nprod) {
        if (i % 3 == 0) {
            if (sem_trywait(&empty_slots) != 0) {
                CHECK(errno_now() == EAGAIN);
                CHECK(sem_wait(&empty_slots) == 0);
            }
        } else {
            CHECK(sem_wait(&empty_slots) == 0);
        }
        CHECK(sem_wait(&index_lock) == 0);
        ring[head++ % RING] = i + 1;
        CHECK(sem_post(&index_lock) == 0);
        CHECK(sem_post(&full_slots) == 0);
    }
    return arg;
}

static void *consumer(void *arg)
{
    int id = (int)(intptr_t)arg;
    long n = NITEMS / ncons + (id < NITEMS % ncons);
    long sum = 0;
    for (long k = 0; k < n; k++) {
        if (k % 2 == 0) {
            CHECK(sem_wait(&full_slots) == 0);
        } else {
            struct timespec ts = deadline_in(CLOCK_MONOTONIC, 60000);
            CHECK(sem_clockwait(&full_slots, CLOCK_MONOTONIC, &ts) == 0);
        }
        CHECK(sem_wait(&index_lock) == 0);
        long v = ring[tail++ % RING];
        CHECK(sem_post(&index_lock) == 0);
        CHECK(sem_post(&empty_slots) == 0);
        CHECK(v >= 1 && v <= NITEMS);
        sum += v;
    }
    atomic_fetch_add(&consumed_sum, sum);
    atomic_fetch_add(&consumed_count, n);
    return arg;
}

static void run_prodcons(int np, int nc)
{
    pthread_t p[2], c[2];
    nprod = np;
    ncons = nc;
    head = tail = 0;
    atomic_store(&consumed_sum, 0);
    atomic_store(&consumed_count, 0);
    CHECK(sem_init(&empty_slots, 0, RING) == 0);
    CHECK(sem_init(&full_slots, 0, 0) == 0);
    CHECK(sem_init(&index_lock, 0, 1) == 0);
    for (int i = 0; i < nc; i++)
        CHECK_RC(pthread_create(&c[i], NULL, consumer, (void *)(intptr_t)i),
                 0);
    for (int i = 0; i < np; i++)
        CHECK_RC(pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i),
                 0);
    for (int i = 0; i < np; i++)
        CHECK_RC(pthread_join(p[i], NULL), 0);
    for (int i = 0; i < nc; i++)
        CHECK_RC(pthread_join(c[i], NULL), 0);
    CHECK(atomic_load(&consumed_count) == NITEMS);
    CHECK(atomic_load(&consumed_sum) == (long)NITEMS * (NITEMS + 1) / 2);
    CHECK(head == NITEMS && tail == NITEMS);
    CHECK(value_of(&empty_slots) == RING);
    CHECK(value_of(&full_slots) == 0);
    CHECK(value_of(&index_lock) == 1);
    CHECK(sem_destroy(&empty_slots) == 0);
    CHECK(sem_destroy(&full_slots) == 0);
    CHECK(sem_destroy(&index_lock) == 0);
}

/* ---- named semaphores ---- */

static void test_named(void)
{
    char name[64];
    snprintf(name, sizeof name, "/goshim_sem_test_%ld", (long)getpid());
    sem_unlink(name); /* a leftover from a crashed run */

    errno_clear();
    CHECK(sem_open(name, 0) == SEM_FAILED);
    CHECK(errno_now() == ENOENT);
    errno_clear();
    CHECK(sem_open(name, O_CREAT | O_EXCL, 0600,
                   (unsigned)SEM_VALUE_MAX + 1) == SEM_FAILED);
    CHECK(errno_now() == EINVAL);
    errno_clear();
    CHECK(sem_open("/goshim/inner", O_CREAT, 0600, 0) == SEM_FAILED);
    CHECK(errno_now() == EINVAL);
    errno_clear();
    CHECK(sem_open("/", O_CREAT, 0600, 0) == SEM_FAILED);
    CHECK(errno_now() == EINVAL);

    sem_t *a = sem_open(name, O_CREAT | O_EXCL, 0600, 3);
    CHECK(a != SEM_FAILED);
    CHECK(value_of(a) == 3);
    errno_clear();
    CHECK(sem_open(name, O_CREAT | O_EXCL, 0600, 1) == SEM_FAILED);
    CHECK(errno_now() == EEXIST);
    sem_t *b = sem_open(name, O_CREAT, 0600, 7); /* exists: value kept */
    CHECK(b != SEM_FAILED);
    CHECK(value_of(b) == 3);
    sem_t *c = sem_open(name, 0);
    CHECK(c != SEM_FAILED);

    CHECK(sem_wait(a) == 0);
    CHECK(value_of(b) == 2 && value_of(c) == 2);
    CHECK(sem_post(c) == 0);
    CHECK(sem_post(c) == 0);
    CHECK(value_of(a) == 4);
    for (int i = 0; i < 4; i++)
        CHECK(sem_trywait(b) == 0);
    CHECK_ERRNO(sem_trywait(a), EAGAIN);
    struct timespec ts = deadline_in(CLOCK_REALTIME, 50);
    int64_t t0 = now_ns();
    CHECK_ERRNO(sem_timedwait(c, &ts), ETIMEDOUT);
    CHECK_ELAPSED(t0, 49, 250);

    /* A thread blocked on one handle is woken by a post on another. */
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, post_later, a), 0);
    CHECK(sem_wait(b) == 0);
    CHECK_RC(pthread_join(t, NULL), 0);

    CHECK(sem_close(c) == 0);
    CHECK(sem_close(b) == 0);
    CHECK(sem_unlink(name) == 0);
    CHECK_ERRNO(sem_unlink(name), ENOENT);
    errno_clear();
    CHECK(sem_open(name, 0) == SEM_FAILED);
    CHECK(errno_now() == ENOENT);
    /* Still usable through the handle left open. */
    CHECK(sem_post(a) == 0);
    CHECK(sem_wait(a) == 0);
    CHECK(sem_close(a) == 0);
    CHECK_ERRNO(sem_unlink(name), ENOENT);
}

int main(void)
{
    test_basics();
    test_timed();
    run_prodcons(1, 1);
    run_prodcons(2, 2);
    test_named();
    return 0;
}
