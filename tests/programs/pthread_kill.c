/* pthread_kill, with the results glibc 2.36 gives natively: the handler
 * runs in the thread the signal was sent to (pthread_self there is the
 * target), and ends its blocking call as the kernel would.
 * - To itself: the handler has run when pthread_kill returns.
 * - A thread blocked in read of an empty pipe or in sem_wait: EINTR when
 *   the handler was installed without SA_RESTART; with it the call goes
 *   on waiting (and ends with the write or post that follows).
 * - A thread that runs (yielding in a loop until its handler sets a
 *   flag): the handler comes.
 * - A thread waiting for the signal in sigwait or sigwaitinfo (blocking
 *   it), sent before, while or after it waits: the wait returns it (the
 *   information the kernel gives the thread itself for one), and no
 *   handler runs; sigtimedwait then
 *   finds nothing: EAGAIN.  A thread in sigsuspend with a mask that lets
 *   it through: the handler runs in it, then EINTR.
 * - A thread that blocks the signal: sigpending shows it, no handler
 *   until it unblocks it, then the handler has run when pthread_sigmask
 *   returns.
 * - pthread_sigqueue: the value reaches an SA_SIGINFO handler (SI_QUEUE),
 *   in the caller at once or in the thread that waits; sigwaitinfo
 *   returns it; EINVAL as pthread_kill.  sigpending(NULL): EFAULT.
 * - Two signals sent 50 ms apart, the lower-numbered second, while the
 *   sender computes (a collector's suspend and restart): the first one's
 *   handler runs first.
 * - An ignored signal is discarded; signal 0 checks the thread only;
 *   EINVAL for -1, NSIG and glibc's internal signals 32 and 33. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>

#include "check.h"

#define TRY_MS 5000

static atomic_int handled;
static _Atomic pthread_t handled_in;

static void on_usr1(int sig)
{
    (void)sig;
    atomic_store(&handled_in, pthread_self());
    atomic_fetch_add(&handled, 1);
}

static void install(int flags)
{
    struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = flags };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    atomic_store(&handled, 0);
    atomic_store(&handled_in, (pthread_t)0);
}

static sigset_t only(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    return s;
}

/* ---- a blocked call ---- */

enum call { READ, SEM_WAIT };

static int pipefd[2];
static sem_t sem;

struct blocked {
    enum call call;
    atomic_int started, done;
    long ret;
    int err;
};

static void *blocked_call(void *arg)
{
    struct blocked *b = arg;
    char c;
    atomic_store(&b->started, 1);
    b->ret = b->call == READ ? read(pipefd[0], &c, 1) : sem_wait(&sem);
    b->err = errno_now();
    atomic_store(&b->done, 1);
    return NULL;
}

static void kill_thread(void *arg)
{
    CHECK_RC(pthread_kill(*(pthread_t *)arg, SIGUSR1), 0);
}

static void run_blocked(enum call call, int flags)
{
    CHECK(pipe(pipefd) == 0);
    CHECK(sem_init(&sem, 0, 0) == 0);
    install(flags);
    struct blocked b = { .call = call };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, blocked_call, &b), 0);
    wait_flag(&b.started, 1, TRY_MS);
    if (!(flags & SA_RESTART)) {
        CHECK(signal_until(&b.done, &handled, 0, kill_thread, &t, TRY_MS));
        CHECK_RC(pthread_join(t, NULL), 0);
        CHECK(b.ret == -1 && b.err == EINTR);
    } else {
        CHECK(signal_until(&b.done, &handled, 5, kill_thread, &t, TRY_MS));
        CHECK(!atomic_load(&b.done));
        if (call == READ)
            CHECK(write(pipefd[1], "x", 1) == 1);
        else
            CHECK(sem_post(&sem) == 0);
        CHECK_RC(pthread_join(t, NULL), 0);
        CHECK(b.ret == (call == READ ? 1 : 0));
    }
    CHECK(atomic_load(&handled) >= 1);
    CHECK(pthread_equal(atomic_load(&handled_in), t));
    CHECK(close(pipefd[0]) == 0 && close(pipefd[1]) == 0);
    CHECK(sem_destroy(&sem) == 0);
}

/* ---- a thread that runs ---- */

static void *runner(void *arg)
{
    atomic_int *started = arg;
    atomic_store(started, 1);
    int64_t deadline = now_ns() + TRY_MS * NSEC_PER_MSEC;
    while (atomic_load(&handled) == 0 && now_ns() < deadline)
        sched_yield();
    return NULL;
}

/* Starts fn(&started), sends it SIGUSR1 once it has started, joins it. */
static pthread_t kill_started(void *(*fn)(void *))
{
    install(SA_RESTART);
    atomic_int started = 0;
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, fn, &started), 0);
    wait_flag(&started, 1, TRY_MS);
    CHECK_RC(pthread_kill(t, SIGUSR1), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    return t;
}

static void run_running(void)
{
    pthread_t t = kill_started(runner);
    CHECK(atomic_load(&handled) == 1);
    CHECK(pthread_equal(atomic_load(&handled_in), t));
}

/* ---- sigwait, sigwaitinfo, sigsuspend ---- */

struct sigwaiting {
    int round;
    int got;
    siginfo_t info;
};

static void *waiter(void *arg)
{
    struct sigwaiting *w = arg;
    sigset_t usr2 = only(SIGUSR2);
    if (w->round % 2)
        CHECK_RC(sigwait(&usr2, &w->got), 0);
    else
        w->got = sigwaitinfo(&usr2, &w->info);
    return NULL;
}

/* The signal comes before, while or after the thread waits: it takes
 * it either way, and no handler runs. */
static void run_sigwait(void)
{
    install(SA_RESTART);
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    sigset_t usr2 = only(SIGUSR2);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr2, NULL), 0);
    /* The kernel's si_code for a signal sent to a thread: SI_TKILL, or
     * SI_USER on newer kernels. */
    siginfo_t self;
    CHECK_RC(pthread_kill(pthread_self(), SIGUSR2), 0);
    CHECK(sigwaitinfo(&usr2, &self) == SIGUSR2);
    int tkill_code = self.si_code;
    CHECK(tkill_code == SI_TKILL || tkill_code == SI_USER);
    for (int round = 0; round < 50; round++) {
        struct sigwaiting w = { .round = round };
        pthread_t t;
        CHECK_RC(pthread_create(&t, NULL, waiter, &w), 0);
        if (round % 5 == 0)
            sleep_ms(5);
        bool queued = round % 4 == 0;
        if (queued)
            CHECK_RC(pthread_sigqueue(t, SIGUSR2, (union sigval){ .sival_int = round }), 0);
        else
            CHECK_RC(pthread_kill(t, SIGUSR2), 0);
        CHECK_RC(pthread_join(t, NULL), 0);
        CHECK(w.got == SIGUSR2);
        if (round % 2 == 0) {
            CHECK(w.info.si_signo == SIGUSR2);
            CHECK(w.info.si_code == (queued ? SI_QUEUE : tkill_code));
            CHECK(w.info.si_pid == getpid() && w.info.si_uid == getuid());
            CHECK(!queued || w.info.si_value.sival_int == round);
        }
    }
    CHECK(atomic_load(&handled) == 0);
    /* Nothing left for a wait that times out. */
    struct timespec ts = { 0, 20 * NSEC_PER_MSEC };
    errno = 0;
    CHECK(sigtimedwait(&usr2, NULL, &ts) == -1 && errno == EAGAIN);
    CHECK_RC(pthread_sigmask(SIG_UNBLOCK, &usr2, NULL), 0);
    sa.sa_handler = SIG_DFL;
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
}

static void *suspender(void *arg)
{
    atomic_int *started = arg;
    sigset_t usr1 = only(SIGUSR1), none;
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    sigemptyset(&none);
    atomic_store(started, 1);
    CHECK(sigsuspend(&none) == -1 && errno_now() == EINTR);
    CHECK(atomic_load(&handled) == 1);
    CHECK(pthread_equal(atomic_load(&handled_in), pthread_self()));
    return NULL;
}


/* ---- a thread that blocks it ---- */

static atomic_int phase;

static void *blocker(void *arg)
{
    (void)arg;
    sigset_t usr1 = only(SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    atomic_store(&phase, 1);
    wait_flag(&phase, 2, TRY_MS);
    sleep_ms(20);
    CHECK(atomic_load(&handled) == 0);
    sigset_t pending;
    CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1));
    CHECK_RC(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL), 0);
    CHECK(atomic_load(&handled) == 1);
    CHECK(pthread_equal(atomic_load(&handled_in), pthread_self()));
    return NULL;
}

static void run_blocker(void)
{
    install(SA_RESTART);
    atomic_store(&phase, 0);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, blocker, NULL), 0);
    wait_flag(&phase, 1, TRY_MS);
    CHECK_RC(pthread_kill(t, SIGUSR1), 0);
    atomic_store(&phase, 2);
    CHECK_RC(pthread_join(t, NULL), 0);
}

/* ---- a value ---- */

static atomic_int queued_value;

static void on_usr1_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (sig == SIGUSR1 && si->si_code == SI_QUEUE)
        atomic_store(&queued_value, si->si_value.sival_int);
    on_usr1(sig);
}

static void *idle(void *arg);

static void run_sigqueue(void)
{
    struct sigaction sa = { .sa_sigaction = on_usr1_info, .sa_flags = SA_SIGINFO | SA_RESTART };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    atomic_store(&handled, 0);
    CHECK_RC(pthread_sigqueue(pthread_self(), SIGUSR1, (union sigval){ .sival_int = 42 }), 0);
    CHECK(atomic_load(&handled) == 1 && atomic_load(&queued_value) == 42);
    atomic_int go = 0;
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, idle, &go), 0);
    CHECK_RC(pthread_sigqueue(t, 32, (union sigval){ 0 }), EINVAL);
    CHECK_RC(pthread_sigqueue(t, NSIG, (union sigval){ 0 }), EINVAL);
    CHECK_RC(pthread_sigqueue(t, 0, (union sigval){ 0 }), 0);
    CHECK_RC(pthread_sigqueue(t, SIGUSR1, (union sigval){ .sival_int = 7 }), 0);
    WAIT_UNTIL(atomic_load(&handled) == 2, TRY_MS);
    CHECK(atomic_load(&queued_value) == 7);
    CHECK(pthread_equal(atomic_load(&handled_in), t));
    atomic_store(&go, 1);
    CHECK_RC(pthread_join(t, NULL), 0);
}

/* ---- two signals in the order they were sent ---- */

/* A garbage collector's stop-the-world: the suspend signal's handler
 * waits in sigsuspend for the restart signal.  The restart signal (here
 * SIGUSR1) is sent 50 ms after the suspend signal (SIGUSR2, the higher
 * number) while the sender computes without a pause: natively the target
 * thread, on another CPU or after a time slice, has long run the suspend
 * handler; under goshim with one P it has not run at all, and both wait
 * in it: the suspend handler must run first, as it came first, or it
 * waits for a restart that has already come and gone. */
static atomic_int suspended, restarted, restart_after_suspend, order_done;

static void on_restart(int sig)
{
    (void)sig;
    atomic_store(&restart_after_suspend, atomic_load(&suspended));
    atomic_store(&restarted, 1);
}

static void on_suspend(int sig)
{
    (void)sig;
    atomic_store(&suspended, 1);
    sigset_t wait_for;
    sigfillset(&wait_for);
    sigdelset(&wait_for, SIGUSR1);
    int64_t deadline = now_ns() + (int64_t)TRY_MS * NSEC_PER_MSEC;
    while (!atomic_load(&restarted) && now_ns() < deadline)
        sigsuspend(&wait_for);
}

static void *order_waiter(void *arg)
{
    (void)arg;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&mu);
    while (!atomic_load(&order_done)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * NSEC_PER_MSEC;
        if (ts.tv_nsec >= NSEC_PER_SEC) {
            ts.tv_sec++;
            ts.tv_nsec -= NSEC_PER_SEC;
        }
        pthread_cond_timedwait(&cv, &mu, &ts);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void run_order(void)
{
    struct sigaction sa = { .sa_handler = on_restart };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sa.sa_handler = on_suspend;
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, order_waiter, NULL), 0);
    sleep_ms(20);  /* not needed for the result: lets it wait first */
    CHECK_RC(pthread_kill(t, SIGUSR2), 0);
    int64_t until = now_ns() + 50 * NSEC_PER_MSEC;
    while (now_ns() < until)
        ;
    CHECK_RC(pthread_kill(t, SIGUSR1), 0);
    WAIT_UNTIL(atomic_load(&suspended) && atomic_load(&restarted), 2 * TRY_MS);
    CHECK(atomic_load(&restart_after_suspend));
    atomic_store(&order_done, 1);
    CHECK_RC(pthread_join(t, NULL), 0);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

/* ---- the rest ---- */

static void *idle(void *arg)
{
    wait_flag(arg, 1, TRY_MS);
    return NULL;
}

static void run_contracts(void)
{
    install(SA_RESTART);
    CHECK_RC(pthread_kill(pthread_self(), SIGUSR1), 0);
    CHECK(atomic_load(&handled) == 1);
    CHECK(pthread_equal(atomic_load(&handled_in), pthread_self()));

    atomic_int go = 0;
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, idle, &go), 0);
    CHECK_RC(pthread_kill(t, 0), 0);
    CHECK_RC(pthread_kill(t, -1), EINVAL);
    CHECK_RC(pthread_kill(t, NSIG), EINVAL);
    CHECK_RC(pthread_kill(t, 32), EINVAL);
    CHECK_RC(pthread_kill(t, 33), EINVAL);
    sigset_t *volatile nowhere = NULL;
    errno_clear();
    CHECK(sigpending(nowhere) == -1 && errno_now() == EFAULT);
    signal(SIGUSR1, SIG_IGN);
    CHECK_RC(pthread_kill(t, SIGUSR1), 0);
    CHECK_RC(pthread_kill(pthread_self(), SIGUSR1), 0);
    atomic_store(&go, 1);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(atomic_load(&handled) == 1);
}

int main(void)
{
    run_contracts();
    run_blocked(READ, 0);
    run_blocked(READ, SA_RESTART);
    run_blocked(SEM_WAIT, 0);
    run_blocked(SEM_WAIT, SA_RESTART);
    run_running();
    run_sigwait();
    kill_started(suspender);
    run_blocker();
    run_sigqueue();
    run_order();
    return 0;
}
