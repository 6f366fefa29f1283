/* Semaphores and signal handlers, with the results glibc 2.36 gives
 * natively.
 * - A handler interrupts the thread it is delivered to in sem_wait with
 *   EINTR when installed without SA_RESTART, and not with it (the wait
 *   goes on through five handled signals and ends with a post);
 *   sem_timedwait and sem_clockwait end with EINTR either way (the
 *   kernel never restarts a timed futex wait).  A handler that posts the
 *   semaphore it interrupts leaves EINTR standing, and the count with it.
 * - sem_post is async-signal-safe: 2,000 posts from the handler of a
 *   200 us interval timer, each taken by main's sem_wait, while four
 *   threads pass a turn around through a mutex and a condition variable,
 *   with SA_RESTART and without (then main retries on EINTR).  Every
 *   eighth time the handler also sleeps 1 ms in poll, async-signal-safe
 *   as well, wherever the signal stopped the thread.
 *
 * main blocks SIGUSR1 before it creates the waiting thread, which
 * unblocks it: natively that thread is the only one the kernel can
 * deliver the signal to.  main sends the signal every 10 ms until the
 * thread is back; a signal that comes before the thread waits only runs
 * the handler, as natively, and the next one finds it waiting. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/time.h>

#include "check.h"

#define TRY_MS 5000

static sem_t sem;
static atomic_int handled;
static atomic_int post_in_handler;

static void on_signal(int sig)
{
    int e = errno;
    if (atomic_load(&post_in_handler))
        CHECK(sem_post(&sem) == 0);
    if (atomic_fetch_add(&handled, 1) % 8 == 7 && sig == SIGALRM)
        CHECK(poll(NULL, 0, 1) == 0);
    errno = e;
}

static void install(int sig, int flags)
{
    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

/* ---- EINTR ---- */

enum call { WAIT, TIMEDWAIT, CLOCKWAIT };

struct waiting {
    enum call call;
    atomic_int done;
    int ret, err;
};

static void *waiting_call(void *arg)
{
    struct waiting *w = arg;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL), 0);
    struct timespec ts;
    switch (w->call) {
    case WAIT:
        w->ret = sem_wait(&sem);
        break;
    case TIMEDWAIT:
        ts = ns_to_ts(clock_ns(CLOCK_REALTIME) + 30 * NSEC_PER_SEC);
        w->ret = sem_timedwait(&sem, &ts);
        break;
    case CLOCKWAIT:
        ts = ns_to_ts(clock_ns(CLOCK_MONOTONIC) + 30 * NSEC_PER_SEC);
        w->ret = sem_clockwait(&sem, CLOCK_MONOTONIC, &ts);
        break;
    }
    w->err = errno_now();
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    atomic_store(&w->done, 1);
    return NULL;
}

static void kill_process(void *arg)
{
    (void)arg;
    CHECK(kill(getpid(), SIGUSR1) == 0);
}

static int value_of(void)
{
    int v = -1;
    CHECK(sem_getvalue(&sem, &v) == 0);
    return v;
}

static void run(enum call call, int flags, bool want_eintr)
{
    CHECK(sem_init(&sem, 0, 0) == 0);
    install(SIGUSR1, flags);
    atomic_store(&handled, 0);
    struct waiting w = { .call = call };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, waiting_call, &w), 0);
    if (want_eintr) {
        CHECK(signal_until(&w.done, &handled, 0, kill_process, NULL, TRY_MS));
        CHECK_RC(pthread_join(t, NULL), 0);
        CHECK(w.ret == -1 && w.err == EINTR);
    } else {
        /* Several signals handled while it waits, and it still waits. */
        CHECK(signal_until(&w.done, &handled, 5, kill_process, NULL, TRY_MS));
        CHECK(!atomic_load(&w.done));
        CHECK(sem_post(&sem) == 0);
        CHECK_RC(pthread_join(t, NULL), 0);
        CHECK(w.ret == 0);
    }
    CHECK(atomic_load(&handled) >= 1);
    CHECK(value_of() == 0);
    CHECK(sem_destroy(&sem) == 0);
}

/* The handler posts from its second signal on: the first finds the
 * thread waiting (or about to), the post comes with an interruption.
 * EINTR stands and the count stays for the next taker; a thread not yet
 * waiting when the post came takes it instead. */
static void run_post_and_eintr(void)
{
    CHECK(sem_init(&sem, 0, 0) == 0);
    install(SIGUSR1, 0);
    atomic_store(&handled, 0);
    struct waiting w = { .call = WAIT };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, waiting_call, &w), 0);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    WAIT_UNTIL(atomic_load(&handled) == 1, TRY_MS);
    sleep_ms(10);
    atomic_store(&post_in_handler, 1);
    CHECK(signal_until(&w.done, &handled, 0, kill_process, NULL, TRY_MS));
    atomic_store(&post_in_handler, 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    int posts = atomic_load(&handled) - 1;
    if (w.ret == -1) {
        CHECK(w.err == EINTR);
        CHECK(value_of() == posts);
    } else {
        CHECK(w.ret == 0);
        CHECK(value_of() == posts - 1);
    }
    CHECK(sem_destroy(&sem) == 0);
}

/* ---- posts from a handler ---- */

#define POSTS 2000
#define PASSERS 4

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cv = PTHREAD_COND_INITIALIZER;
static long turn;
static bool stop;

static void *passer(void *arg)
{
    long me = (long)arg;
    CHECK_RC(pthread_mutex_lock(&turn_lock), 0);
    while (!stop) {
        if (turn % PASSERS == me) {
            turn++;
            CHECK_RC(pthread_cond_broadcast(&turn_cv), 0);
        } else {
            CHECK_RC(pthread_cond_wait(&turn_cv, &turn_lock), 0);
        }
    }
    CHECK_RC(pthread_mutex_unlock(&turn_lock), 0);
    return NULL;
}

static void run_handler_posts(int flags)
{
    CHECK(sem_init(&sem, 0, 0) == 0);
    install(SIGALRM, flags);
    atomic_store(&handled, 0);
    atomic_store(&post_in_handler, 1);
    stop = false;
    pthread_t t[PASSERS];
    for (long i = 0; i < PASSERS; i++)
        CHECK_RC(pthread_create(&t[i], NULL, passer, (void *)i), 0);
    struct itimerval it = { { 0, 200 }, { 0, 200 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    int64_t deadline = now_ns() + 60 * NSEC_PER_SEC;
    for (int i = 0; i < POSTS; i++) {
        while (sem_wait(&sem) != 0) {
            CHECK(errno_now() == EINTR && !(flags & SA_RESTART));
            CHECK(now_ns() < deadline);
        }
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    atomic_store(&post_in_handler, 0);
    CHECK_RC(pthread_mutex_lock(&turn_lock), 0);
    stop = true;
    CHECK_RC(pthread_cond_broadcast(&turn_cv), 0);
    CHECK_RC(pthread_mutex_unlock(&turn_lock), 0);
    for (int i = 0; i < PASSERS; i++)
        CHECK_RC(pthread_join(t[i], NULL), 0);
    CHECK(turn > 0);
    CHECK(sem_destroy(&sem) == 0);
}

int main(void)
{
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);

    run(WAIT, 0, true);
    run(WAIT, SA_RESTART, false);
    run(TIMEDWAIT, 0, true);
    run(TIMEDWAIT, SA_RESTART, true);
    run(CLOCKWAIT, 0, true);
    run(CLOCKWAIT, SA_RESTART, true);
    run_post_and_eintr();

    run_handler_posts(SA_RESTART);
    run_handler_posts(0);
    return 0;
}
