/* Barriers and spin locks, with the results glibc 2.36 gives natively.
 * Barriers:
 * - pthread_barrier_init with count 0 gives EINVAL, as do counts from
 *   INT_MAX up (glibc's limit: INT_MAX - 1 is accepted); count 1: every
 *   wait returns PTHREAD_BARRIER_SERIAL_THREAD at once.
 * - pthread_barrierattr_*: pshared PRIVATE by default, SHARED settable,
 *   EINVAL for a bad value.
 * - 50 rounds of 32 threads (main not among them): in each round exactly
 *   one wait returns PTHREAD_BARRIER_SERIAL_THREAD, the others 0, and no
 *   thread leaves a round before all 32 arrived.
 * - The serial thread destroys the barrier as soon as its wait returns,
 *   while the others may still be on their way out: destroy returns 0
 *   (glibc waits for them to leave) and the others must not touch the
 *   barrier after (its memory is scribbled over); 20 rounds.
 * Spin locks:
 * - pthread_spin_init accepts PRIVATE, SHARED and (glibc ignores pshared)
 *   any other value; trylock of a held lock gives EBUSY (also from the
 *   holder).  On x86 glibc's free lock is 1 and a held one 0, so a
 *   zero-filled lock never passed to init is held (trylock EBUSY) until
 *   unlocked.
 * - 8 threads x 10,000 increments under a spin lock (lock, and trylock
 *   with sched_yield), count exact: must finish on one kernel thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

/* ---- barrier basics ---- */

static void test_barrier_basics(void)
{
    pthread_barrier_t b;
    CHECK_RC(pthread_barrier_init(&b, NULL, 0), EINVAL);
    CHECK_RC(pthread_barrier_init(&b, NULL, UINT_MAX), EINVAL);
    CHECK_RC(pthread_barrier_init(&b, NULL, (unsigned)INT_MAX + 1), EINVAL);
    CHECK_RC(pthread_barrier_init(&b, NULL, INT_MAX), EINVAL);
    CHECK_RC(pthread_barrier_init(&b, NULL, INT_MAX - 1), 0);
    CHECK_RC(pthread_barrier_destroy(&b), 0);

    CHECK_RC(pthread_barrier_init(&b, NULL, 1), 0);
    for (int i = 0; i < 10; i++)
        CHECK_RC(pthread_barrier_wait(&b), PTHREAD_BARRIER_SERIAL_THREAD);
    CHECK_RC(pthread_barrier_destroy(&b), 0);

    pthread_barrierattr_t a;
    int v;
    CHECK_RC(pthread_barrierattr_init(&a), 0);
    CHECK_RC(pthread_barrierattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_PRIVATE);
    CHECK_RC(pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_barrierattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_barrierattr_setpshared(&a, 2), EINVAL);
    CHECK_RC(pthread_barrierattr_setpshared(&a, -1), EINVAL);
    CHECK_RC(pthread_barrierattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_barrier_init(&b, &a, 1), 0);
    CHECK_RC(pthread_barrier_wait(&b), PTHREAD_BARRIER_SERIAL_THREAD);
    CHECK_RC(pthread_barrier_destroy(&b), 0);
    CHECK_RC(pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_PRIVATE), 0);
    CHECK_RC(pthread_barrierattr_getpshared(&a, &v), 0);
    CHECK(v == PTHREAD_PROCESS_PRIVATE);
    CHECK_RC(pthread_barrier_init(&b, &a, 1), 0);
    CHECK_RC(pthread_barrier_wait(&b), PTHREAD_BARRIER_SERIAL_THREAD);
    CHECK_RC(pthread_barrier_destroy(&b), 0);
    CHECK_RC(pthread_barrierattr_destroy(&a), 0);
}

/* ---- rounds ---- */

#define NB 32
#define BROUNDS 50

static pthread_barrier_t round_b;
static atomic_int arrived[BROUNDS];
static atomic_int serial[BROUNDS];
static atomic_int left[BROUNDS];

static void *rounds_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int r = 0; r < BROUNDS; r++) {
        /* Nobody may arrive at round r before all left round r - 1...
         * at least, not before all arrived there. */
        if (r > 0)
            CHECK(atomic_load(&arrived[r - 1]) == NB);
        atomic_fetch_add(&arrived[r], 1);
        if ((r + id) % 8 == 0)
            sched_yield();
        int rc = pthread_barrier_wait(&round_b);
        if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
            atomic_fetch_add(&serial[r], 1);
        else
            CHECK_RC(rc, 0);
        CHECK(atomic_load(&arrived[r]) == NB);
        atomic_fetch_add(&left[r], 1);
    }
    return arg;
}

static void test_rounds(void)
{
    pthread_t t[NB];
    CHECK_RC(pthread_barrier_init(&round_b, NULL, NB), 0);
    for (int i = 0; i < NB; i++)
        CHECK_RC(pthread_create(&t[i], NULL, rounds_main,
                                (void *)(intptr_t)i), 0);
    for (int i = 0; i < NB; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    for (int r = 0; r < BROUNDS; r++) {
        CHECK(atomic_load(&arrived[r]) == NB);
        CHECK(atomic_load(&serial[r]) == 1);
        CHECK(atomic_load(&left[r]) == NB);
    }
    CHECK_RC(pthread_barrier_destroy(&round_b), 0);
}

/* ---- destroy by the serial thread ---- */

#define ND 8

static pthread_barrier_t *destroy_b;
static atomic_int destroy_serials;

static void *destroy_main(void *arg)
{
    pthread_barrier_t *b = destroy_b;
    int rc = pthread_barrier_wait(b);
    if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
        CHECK_RC(pthread_barrier_destroy(b), 0);
        memset(b, 0xa5, sizeof *b);
        atomic_fetch_add(&destroy_serials, 1);
    } else {
        CHECK_RC(rc, 0);
    }
    return arg;
}

static void test_destroy(void)
{
    pthread_barrier_t *b = malloc(sizeof *b);
    CHECK(b != NULL);
    for (int round = 0; round < 20; round++) {
        pthread_t t[ND];
        CHECK_RC(pthread_barrier_init(b, NULL, ND), 0);
        destroy_b = b;
        atomic_store(&destroy_serials, 0);
        for (int i = 0; i < ND; i++)
            CHECK_RC(pthread_create(&t[i], NULL, destroy_main, NULL), 0);
        for (int i = 0; i < ND; i++)
            CHECK_RC(pthread_join(t[i], NULL), 0);
        CHECK(atomic_load(&destroy_serials) == 1);
    }
    free(b);

    /* Main takes part and destroys after the round (as a non-serial
     * thread, or the serial one). */
    pthread_barrier_t mb;
    for (int round = 0; round < 10; round++) {
        pthread_t t[3];
        CHECK_RC(pthread_barrier_init(&mb, NULL, 4), 0);
        destroy_b = &mb;
        atomic_store(&destroy_serials, 0);
        for (int i = 0; i < 3; i++)
            CHECK_RC(pthread_create(&t[i], NULL, destroy_main, NULL), 0);
        int rc = pthread_barrier_wait(&mb);
        if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
            CHECK_RC(pthread_barrier_destroy(&mb), 0);
        } else {
            CHECK_RC(rc, 0);
        }
        for (int i = 0; i < 3; i++)
            CHECK_RC(pthread_join(t[i], NULL), 0);
        CHECK(atomic_load(&destroy_serials) ==
              (rc == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : 1));
    }
}

/* ---- spin locks ---- */

static pthread_spinlock_t spin;
static pthread_spinlock_t zero_spin; /* static storage: zero */
static long spin_count;

static void *spin_trylock_main(void *arg)
{
    pthread_spinlock_t *s = arg;
    int rc = pthread_spin_trylock(s);
    if (rc == 0)
        CHECK_RC(pthread_spin_unlock(s), 0);
    return (void *)(intptr_t)rc;
}

static int other_spin_trylock(pthread_spinlock_t *s)
{
    pthread_t t;
    void *ret;
    CHECK_RC(pthread_create(&t, NULL, spin_trylock_main, (void *)s), 0);
    CHECK_RC(pthread_join(t, &ret), 0);
    return (int)(intptr_t)ret;
}

static void test_spin_basics(void)
{
    pthread_spinlock_t s;
    CHECK_RC(pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE), 0);
    CHECK_RC(pthread_spin_trylock(&s), 0);
    CHECK_RC(pthread_spin_trylock(&s), EBUSY);
    CHECK_RC(other_spin_trylock(&s), EBUSY);
    CHECK_RC(pthread_spin_unlock(&s), 0);
    CHECK_RC(pthread_spin_lock(&s), 0);
    CHECK_RC(pthread_spin_trylock(&s), EBUSY);
    CHECK_RC(pthread_spin_unlock(&s), 0);
    CHECK_RC(pthread_spin_destroy(&s), 0);

    CHECK_RC(pthread_spin_init(&s, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_spin_lock(&s), 0);
    CHECK_RC(pthread_spin_trylock(&s), EBUSY);
    CHECK_RC(pthread_spin_unlock(&s), 0);
    CHECK_RC(pthread_spin_destroy(&s), 0);

    CHECK_RC(pthread_spin_init(&s, 12345), 0);
    CHECK_RC(pthread_spin_trylock(&s), 0);
    CHECK_RC(pthread_spin_unlock(&s), 0);
    CHECK_RC(pthread_spin_destroy(&s), 0);

#if defined(__x86_64__) || defined(__i386__)
    /* glibc's x86 spin locks are 1 when free and 0 when held: a zero-filled
     * lock never passed to init is held. */
    CHECK_RC(pthread_spin_trylock(&zero_spin), EBUSY);
    CHECK_RC(other_spin_trylock(&zero_spin), EBUSY);
    CHECK_RC(pthread_spin_unlock(&zero_spin), 0);
    CHECK_RC(pthread_spin_trylock(&zero_spin), 0);
    CHECK_RC(other_spin_trylock(&zero_spin), EBUSY);
    CHECK_RC(pthread_spin_unlock(&zero_spin), 0);
    CHECK_RC(other_spin_trylock(&zero_spin), 0);
#endif
}

#define NSPIN 8
#define SPIN_ITERS 10000

static void *spin_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < SPIN_ITERS; i++) {
        if (id % 2 == 0) {
            CHECK_RC(pthread_spin_lock(&spin), 0);
        } else {
            int rc;
            while ((rc = pthread_spin_trylock(&spin)) == EBUSY)
                sched_yield();
            CHECK_RC(rc, 0);
        }
        spin_count++;
        CHECK_RC(pthread_spin_unlock(&spin), 0);
    }
    return arg;
}

static void test_spin_counter(void)
{
    pthread_t t[NSPIN];
    CHECK_RC(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), 0);
    for (int i = 0; i < NSPIN; i++)
        CHECK_RC(pthread_create(&t[i], NULL, spin_main, (void *)(intptr_t)i),
                 0);
    for (int i = 0; i < NSPIN; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(spin_count == (long)NSPIN * SPIN_ITERS);
    CHECK_RC(pthread_spin_destroy(&spin), 0);
}

int main(void)
{
    test_barrier_basics();
    test_rounds();
    test_destroy();
    test_spin_basics();
    test_spin_counter();
    return 0;
}
