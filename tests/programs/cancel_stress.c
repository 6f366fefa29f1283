/* Cancellation under load: rounds of 100 threads that each go 50 times
 * through a random cancellation point (a short sleep, a timed condition
 * wait with a cleanup handler that unlocks the mutex, a timed semaphore
 * wait, a poll with a short timeout, pthread_testcancel, a read of a pipe
 * that main fills at the end of the round), while main cancels a random
 * third of them at random moments.  Every thread either finishes or is
 * cancelled, a cancelled one has run its cleanup handler exactly once, a
 * finished one never; the mutex is free at the end of each round.  The
 * delays are random only to vary the interleavings: the outcome does not
 * depend on them. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>

#include "check.h"

#define THREADS 2000
#define ROUND 100
#define STEPS 50

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static int pipefd[2];
static atomic_int cleaned[THREADS], finished[THREADS];

static void on_cancel(void *arg)
{
    atomic_fetch_add(&cleaned[(intptr_t)arg], 1);
}

static void unlock_mu(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_mutex_unlock(&mu), 0);
}

static struct timespec soon(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

static void step(unsigned *seed)
{
    char c;
    switch (rand_r(seed) % 6) {
    case 0: {
        struct timespec ts = { 0, (rand_r(seed) % 200) * 1000 };
        nanosleep(&ts, NULL);
        break;
    }
    case 1: {
        CHECK_RC(pthread_mutex_lock(&mu), 0);
        pthread_cleanup_push(unlock_mu, NULL);
        struct timespec ts = soon();
        int r = pthread_cond_timedwait(&cv, &mu, &ts);
        CHECK(r == 0 || r == ETIMEDOUT);
        pthread_cleanup_pop(1);
        break;
    }
    case 2: {
        struct timespec ts = soon();
        CHECK(sem_timedwait(&sem, &ts) == 0 || errno == ETIMEDOUT);
        break;
    }
    case 3: {
        struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
        CHECK(poll(&p, 1, rand_r(seed) % 2) >= 0);
        break;
    }
    case 4:
        pthread_testcancel();
        break;
    case 5:
        if (rand_r(seed) % 2)
            CHECK(read(pipefd[0], &c, 1) == 1);
        break;
    }
}

static void *worker(void *arg)
{
    intptr_t i = (intptr_t)arg;
    unsigned seed = (unsigned)i + 1;
    pthread_cleanup_push(on_cancel, arg);
    for (int s = 0; s < STEPS; s++)
        step(&seed);
    atomic_fetch_add(&finished[i], 1);
    pthread_cleanup_pop(0);
    return NULL;
}

int main(void)
{
    static pthread_t th[THREADS];
    static const char fill[ROUND * STEPS]; /* the most the reads can take */
    unsigned seed = 1;
    int cancelled = 0;
    CHECK(pipe(pipefd) == 0);
    CHECK(sem_init(&sem, 0, 0) == 0);
    for (int r = 0; r < THREADS; r += ROUND) {
        for (intptr_t i = r; i < r + ROUND; i++)
            CHECK_RC(pthread_create(&th[i], NULL, worker, (void *)i), 0);
        for (int i = r; i < r + ROUND; i++) {
            if (rand_r(&seed) % 3)
                continue;
            struct timespec ts = { 0, (rand_r(&seed) % 300) * 1000 };
            nanosleep(&ts, NULL);
            CHECK_RC(pthread_cancel(th[i]), 0);
        }
        CHECK(write(pipefd[1], fill, sizeof fill) == (ssize_t)sizeof fill);
        for (int i = r; i < r + ROUND; i++) {
            void *ret;
            CHECK_RC(pthread_join(th[i], &ret), 0);
            bool was = ret == PTHREAD_CANCELED;
            cancelled += was;
            CHECK(atomic_load(&cleaned[i]) == (was ? 1 : 0));
            CHECK(atomic_load(&finished[i]) == (was ? 0 : 1));
        }
        CHECK_RC(pthread_mutex_trylock(&mu), 0);
        CHECK_RC(pthread_mutex_unlock(&mu), 0);
        char buf[sizeof fill];
        struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
        while (poll(&p, 1, 0) > 0)
            CHECK(read(pipefd[0], buf, sizeof buf) > 0);
    }
    CHECK(cancelled > 0);
    printf("cancel_stress: %d of %d threads cancelled\n", cancelled, THREADS);
    return 0;
}
