/* Stopping the world with signals, as the Boehm-Demers-Weiser collector
 * and others do: the collector sends every thread a "suspend" signal with
 * pthread_kill; each handler posts a semaphore and waits in sigsuspend
 * until a "resume" signal, so the collector knows, once it has taken one
 * post per thread, that no thread runs.  Natively the handler runs at
 * once in a thread that waits for a mutex, a condition variable, a
 * read-write lock, a barrier, a join or a raw futex, and the wait goes
 * on after it (a condition variable may return spuriously); the
 * threads that sit in sigsuspend do not keep the collector from running;
 * and a handler ends on the kernel thread it began on (gettid).
 *
 * ROUNDS rounds of stop and resume over: threads blocked for the whole
 * run in each of those waits (main holds what they wait for), and
 * WORKERS threads passing a token around a condition variable until the
 * stops are over.  Every
 * stop must be acknowledged by every thread within TRY_MS; while the world
 * is stopped, no worker moves the token.  Then main releases the blocked
 * threads: each got what it waited for only then, and exclusion held.
 *
 * Then EXIT_ROUNDS times: a thread leaves by pthread_exit from a handler
 * that blocks every signal, and the next thread (goshim reuses the
 * record) must still run the handler of a signal sent to it. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define WORKERS 6
#define ROUNDS 200
#define TRY_MS 10000

#define SIG_SUSPEND SIGPWR
#define SIG_RESUME SIGXCPU

static sem_t acks;
static atomic_int stop_gen, resume_gen;
static atomic_long handlers_run, handlers_moved;

static void on_suspend(int sig)
{
    (void)sig;
    int my = atomic_load(&stop_gen);
    pid_t tid = gettid();
    atomic_fetch_add(&handlers_run, 1);
    sigset_t wait_mask;
    sigfillset(&wait_mask);
    sigdelset(&wait_mask, SIG_RESUME);
    sem_post(&acks);
    while (atomic_load(&resume_gen) < my)
        sigsuspend(&wait_mask);
    /* A handler runs on one kernel thread from start to end. */
    if (gettid() != tid)
        atomic_fetch_add(&handlers_moved, 1);
}

static void on_resume(int sig)
{
    (void)sig;
}

/* What the blocked threads wait for, held by main until the end. */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t barrier;
static _Atomic uint32_t futex_word;
static atomic_bool released;    /* main let them go */
static atomic_int got;          /* blocked threads through, after release */
static bool cond_ready;         /* cond_mu */

static void *lock_waiter(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_mutex_lock(&held), 0);
    CHECK(atomic_load(&released));
    CHECK_RC(pthread_mutex_unlock(&held), 0);
    atomic_fetch_add(&got, 1);
    return NULL;
}

static void *cond_waiter(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_mutex_lock(&cond_mu), 0);
    while (!cond_ready)
        CHECK_RC(pthread_cond_wait(&cond, &cond_mu), 0);
    CHECK(atomic_load(&released));
    CHECK_RC(pthread_mutex_unlock(&cond_mu), 0);
    atomic_fetch_add(&got, 1);
    return NULL;
}

static void *rw_waiter(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_rwlock_wrlock(&rw), 0);
    CHECK(atomic_load(&released));
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);
    atomic_fetch_add(&got, 1);
    return NULL;
}

static void *barrier_waiter(void *arg)
{
    (void)arg;
    int r = pthread_barrier_wait(&barrier);
    CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
    CHECK(atomic_load(&released));
    atomic_fetch_add(&got, 1);
    return NULL;
}

static void *futex_waiter(void *arg)
{
    (void)arg;
    /* A signal may end the wait (EINTR, or 0 as a spurious wake-up). */
    while (atomic_load(&futex_word) == 0) {
        long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        CHECK(r == 0 || errno == EINTR || errno == EAGAIN);
    }
    CHECK(atomic_load(&released));
    atomic_fetch_add(&got, 1);
    return NULL;
}

static pthread_t joined_thread;

static void *join_waiter(void *arg)
{
    (void)arg;
    void *ret;
    CHECK_RC(pthread_join(joined_thread, &ret), 0);
    CHECK(ret == &futex_word);
    CHECK(atomic_load(&released));
    atomic_fetch_add(&got, 1);
    return NULL;
}

static void *joined(void *arg)
{
    (void)arg;
    while (atomic_load(&futex_word) == 0) {
        long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        CHECK(r == 0 || errno == EINTR || errno == EAGAIN);
    }
    return &futex_word;
}

/* The token ring: worker i moves it when token % WORKERS == i. */
static pthread_mutex_t ring_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_cv = PTHREAD_COND_INITIALIZER;
static atomic_long token;
static bool in_ring_section;    /* ring_mu */
static bool ring_done;          /* ring_mu: the stops are over */

static void *worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (;;) {
        CHECK_RC(pthread_mutex_lock(&ring_mu), 0);
        while (!ring_done && atomic_load(&token) % WORKERS != id)
            CHECK_RC(pthread_cond_wait(&ring_cv, &ring_mu), 0);
        if (ring_done) {
            CHECK_RC(pthread_mutex_unlock(&ring_mu), 0);
            return NULL;
        }
        CHECK(!in_ring_section);
        in_ring_section = true;
        atomic_fetch_add(&token, 1);
        in_ring_section = false;
        CHECK_RC(pthread_cond_broadcast(&ring_cv), 0);
        CHECK_RC(pthread_mutex_unlock(&ring_mu), 0);
    }
}

#define EXIT_ROUNDS 20
#define SIG_EXIT SIGUSR1
#define SIG_PING SIGUSR2

static sem_t pings, hold;

static void on_exit_sig(int sig)
{
    (void)sig;
    pthread_exit(NULL);
}

static void on_ping(int sig)
{
    (void)sig;
    sem_post(&pings);
}

static void *holder(void *arg)
{
    while (sem_wait(&hold) != 0)
        CHECK(errno == EINTR);
    return arg;
}

static bool sem_take(sem_t *s, int64_t deadline_ns);

static void exit_from_handler(void)
{
    CHECK(sem_init(&pings, 0, 0) == 0);
    CHECK(sem_init(&hold, 0, 0) == 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_exit_sig;
    sigfillset(&sa.sa_mask);
    CHECK(sigaction(SIG_EXIT, &sa, NULL) == 0);
    sa.sa_handler = on_ping;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIG_PING, &sa, NULL) == 0);
    for (int i = 0; i < EXIT_ROUNDS; i++) {
        pthread_t t;
        void *ret = NULL;
        CHECK_RC(pthread_create(&t, NULL, holder, &hold), 0);
        CHECK_RC(pthread_kill(t, SIG_EXIT), 0);
        CHECK_RC(pthread_join(t, &ret), 0);
        CHECK(ret == NULL);  /* left from the handler */
        CHECK_RC(pthread_create(&t, NULL, holder, &hold), 0);
        CHECK_RC(pthread_kill(t, SIG_PING), 0);
        CHECK(sem_take(&pings, now_ns() + TRY_MS * NSEC_PER_MSEC));
        CHECK(sem_post(&hold) == 0);
        CHECK_RC(pthread_join(t, &ret), 0);
        CHECK(ret == &hold);
    }
}

/* A raw futex wait that a handler without SA_RESTART interrupts fails
 * with EINTR, as the kernel's (a signal that comes before the wait only
 * runs the handler: sent until the waiter reports EINTR). */
static _Atomic uint32_t eintr_word;
static atomic_int eintr_seen, pings_seen;

static void *futex_eintr_waiter(void *arg)
{
    (void)arg;
    while (!atomic_load(&eintr_seen)) {
        long r = syscall(SYS_futex, &eintr_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        CHECK(r == 0 || errno == EINTR || errno == EAGAIN);
        if (r != 0 && errno == EINTR)
            atomic_store(&eintr_seen, 1);
    }
    return NULL;
}

static void send_ping(void *arg)
{
    CHECK_RC(pthread_kill(*(pthread_t *)arg, SIG_PING), 0);
}

static void futex_eintr(void)
{
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, futex_eintr_waiter, NULL), 0);
    CHECK(signal_until(&eintr_seen, &pings_seen, 0, send_ping, &t, TRY_MS));
    CHECK_RC(pthread_join(t, NULL), 0);
}

static bool sem_take(sem_t *s, int64_t deadline_ns)
{
    struct timespec ts;
    int64_t real_deadline = clock_ns(CLOCK_REALTIME) + (deadline_ns - now_ns());
    ts = ns_to_ts(real_deadline);
    while (sem_timedwait(s, &ts) != 0) {
        if (errno != EINTR)
            return false;
    }
    return true;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK(sem_init(&acks, 0, 0) == 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_suspend;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    CHECK(sigaction(SIG_SUSPEND, &sa, NULL) == 0);
    sa.sa_handler = on_resume;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIG_RESUME, &sa, NULL) == 0);
    CHECK_RC(pthread_barrier_init(&barrier, NULL, 2), 0);

    CHECK_RC(pthread_mutex_lock(&held), 0);
    CHECK_RC(pthread_rwlock_rdlock(&rw), 0);
    CHECK_RC(pthread_create(&joined_thread, NULL, joined, NULL), 0);

    void *(*blocked_fns[])(void *) = { lock_waiter, cond_waiter, rw_waiter, barrier_waiter,
                                       futex_waiter, join_waiter };
    enum { NBLOCKED = sizeof blocked_fns / sizeof blocked_fns[0] };
    enum { NTHREADS = NBLOCKED + WORKERS + 1 };
    pthread_t all[NTHREADS];
    int n = 0;
    all[n++] = joined_thread;
    for (int i = 0; i < NBLOCKED; i++)
        CHECK_RC(pthread_create(&all[n++], NULL, blocked_fns[i], NULL), 0);
    for (long i = 0; i < WORKERS; i++)
        CHECK_RC(pthread_create(&all[n++], NULL, worker, (void *)(intptr_t)i), 0);

    long stopped_rounds = 0;
    for (int round = 1; round <= ROUNDS; round++) {
        atomic_store(&stop_gen, round);
        for (int i = 0; i < NTHREADS; i++)
            CHECK_RC(pthread_kill(all[i], SIG_SUSPEND), 0);
        int64_t deadline = now_ns() + TRY_MS * NSEC_PER_MSEC;
        for (int i = 0; i < NTHREADS; i++)
            CHECK(sem_take(&acks, deadline));
        /* The world is stopped: nobody moves the token. */
        long t0 = atomic_load(&token);
        sched_yield();
        CHECK(atomic_load(&token) == t0);
        stopped_rounds++;
        atomic_store(&resume_gen, round);
        for (int i = 0; i < NTHREADS; i++)
            CHECK_RC(pthread_kill(all[i], SIG_RESUME), 0);
    }

    CHECK(atomic_load(&got) == 0);
    CHECK_RC(pthread_mutex_lock(&ring_mu), 0);
    ring_done = true;
    CHECK_RC(pthread_cond_broadcast(&ring_cv), 0);
    CHECK_RC(pthread_mutex_unlock(&ring_mu), 0);
    atomic_store(&released, true);
    CHECK_RC(pthread_mutex_unlock(&held), 0);
    CHECK_RC(pthread_mutex_lock(&cond_mu), 0);
    cond_ready = true;
    CHECK_RC(pthread_cond_broadcast(&cond), 0);
    CHECK_RC(pthread_mutex_unlock(&cond_mu), 0);
    CHECK_RC(pthread_rwlock_unlock(&rw), 0);
    int r = pthread_barrier_wait(&barrier);
    CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
    atomic_store(&futex_word, 1);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0);

    /* joined_thread is join_waiter's to join. */
    for (int i = 1; i < NTHREADS; i++)
        CHECK_RC(pthread_join(all[i], NULL), 0);
    CHECK(atomic_load(&got) == NBLOCKED);
    CHECK(atomic_load(&token) > 0);
    CHECK(atomic_load(&handlers_run) > 0);
    CHECK(atomic_load(&handlers_moved) == 0);
    CHECK_RC(pthread_barrier_destroy(&barrier), 0);
    exit_from_handler();
    futex_eintr();
    printf("signal_stop: %ld stops, %ld handlers, %ld token passes, %d exits from a handler\n",
           stopped_rounds, atomic_load(&handlers_run), atomic_load(&token), EXIT_ROUNDS);
    return 0;
}
