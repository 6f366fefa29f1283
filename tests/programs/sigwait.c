/* The dedicated signal thread: main blocks SIGUSR1 and SIGUSR2 before it
 * starts any thread (so every thread, and every kernel thread goshim
 * makes, blocks them); a thread takes SIGUSR2 with sigwait, three times,
 * then with sigwaitinfo, and sees who sent it; nothing else sees the
 * signals.  sigwait returns 0 and the signal, not -1.  A thread blocked
 * in sigwait is cancelled (a cancellation point), and sigwait with a
 * signal pending returns at once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "check.h"

static atomic_int taken;

static void *taker(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    for (int i = 0; i < 3; i++) {
        int sig = 0;
        CHECK_RC(sigwait(&set, &sig), 0);
        CHECK(sig == SIGUSR2);
        atomic_fetch_add(&taken, 1);
    }
    siginfo_t si;
    CHECK(sigwaitinfo(&set, &si) == SIGUSR2);
    CHECK(si.si_pid == getpid() && si.si_code == SI_USER);
    atomic_fetch_add(&taken, 1);
    return NULL;
}

static atomic_int cancel_ready;

static void *waits_usr1(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    atomic_store(&cancel_ready, 1);
    int sig;
    sigwait(&set, &sig);
    return NULL;
}

int main(void)
{
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &both, NULL), 0);

    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, taker, NULL), 0);
    for (int i = 1; i <= 4; i++) {
        CHECK(kill(getpid(), SIGUSR2) == 0);
        /* One at a time: pending signals of one kind merge. */
        wait_flag(&taken, i, 10000);
    }
    CHECK_RC(pthread_join(t, NULL), 0);

    CHECK_RC(pthread_create(&t, NULL, waits_usr1, NULL), 0);
    wait_flag(&cancel_ready, 1, 10000);
    sleep_ms(20);
    CHECK_RC(pthread_cancel(t), 0);
    void *ret;
    CHECK_RC(pthread_join(t, &ret), 0);
    CHECK(ret == PTHREAD_CANCELED);

    /* Pending already: taken at once. */
    CHECK(kill(getpid(), SIGUSR1) == 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    int sig = 0;
    CHECK_RC(sigwait(&usr1, &sig), 0);
    CHECK(sig == SIGUSR1);
    puts("sigwait: ok");
    return 0;
}
