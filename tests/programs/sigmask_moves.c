/* A thread's signal mask is its own wherever it runs: a process-directed
 * signal's handler never runs in a thread that blocks the signal.  Four
 * threads block SIGUSR1 and four do not, all switching in and out (they
 * yield and sleep in turn, so under M:N each runs on whichever kernel
 * thread is free); main sends the process SIGUSR1 1,000 times, 200 us
 * apart, and the handler checks a thread-local flag that says whether
 * the thread it runs in blocks it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include "check.h"

#define THREADS 8
#define SIGNALS 1000

static __thread int blocks_usr1;
static atomic_int wrong, handled, stop;

static void on_usr1(int sig)
{
    (void)sig;
    if (blocks_usr1)
        atomic_fetch_add(&wrong, 1);
    atomic_fetch_add(&handled, 1);
}

static void *worker(void *arg)
{
    if (arg) {
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
        blocks_usr1 = 1;
    }
    while (!atomic_load(&stop)) {
        for (volatile int i = 0; i < 2000; i++)
            ;
        sched_yield();
        usleep(50);
    }
    return NULL;
}

int main(void)
{
    struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        CHECK_RC(pthread_create(&t[i], NULL, worker, (void *)(i % 2)), 0);
    for (int i = 0; i < SIGNALS; i++) {
        CHECK(kill(getpid(), SIGUSR1) == 0);
        usleep(200);
    }
    /* Signals sent while one is pending merge into it. */
    WAIT_UNTIL(atomic_load(&handled) >= 1, 5000);
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(atomic_load(&wrong) == 0);
    return 0;
}
