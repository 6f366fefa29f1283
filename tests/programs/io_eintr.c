/* A handler of a process-directed signal interrupts a thread blocked in
 * I/O or asleep as the kernel would: a read of an empty pipe ends with
 * EINTR when the handler was installed without SA_RESTART, goes on
 * waiting when with it; poll, recv on a socket with SO_RCVTIMEO, pause,
 * nanosleep, clock_nanosleep and usleep end with EINTR either way (the
 * kernel never restarts them), sleep with the whole seconds not slept.
 * And only the thread the kernel picks: the main thread when it does not
 * block the signal.
 *
 * main blocks SIGUSR1 before it creates the blocked thread, which unblocks
 * it: natively that thread is the only one the kernel can deliver the
 * signal to.  main sends the signal every 10 ms until the thread is back:
 * a signal that comes before the thread blocks only runs the handler, as
 * natively, and the next one finds it blocked. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdbool.h>

#include "check.h"

#define TRY_MS 5000

static atomic_int handled;
static int pipefd[2];

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&handled, 1);
}

static void install(int flags)
{
    struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = flags };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    /* The program reads back what it installed, not goshim's own. */
    struct sigaction now;
    CHECK(sigaction(SIGUSR1, NULL, &now) == 0);
    CHECK(now.sa_handler == on_usr1);
    CHECK((now.sa_flags & SA_SIGINFO) == 0);
    CHECK((now.sa_flags & SA_RESTART) == (flags & SA_RESTART));
}

enum call { READ, POLL, TIMED_RECV, PAUSE, NANOSLEEP, SLEEP, USLEEP, CLOCK_NANOSLEEP };

struct blocked {
    enum call call;
    atomic_int done;
    long ret;
    int err;
    struct timespec rem;
};

static void *blocked_call(void *arg)
{
    struct blocked *b = arg;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL), 0);
    char c;
    struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
    switch (b->call) {
    case READ:
        b->ret = read(pipefd[0], &c, 1);
        break;
    case POLL:
        b->ret = poll(&p, 1, -1);
        break;
    case TIMED_RECV:
        b->ret = recv(pipefd[0], &c, 1, 0);
        break;
    case PAUSE:
        b->ret = pause();
        break;
    case NANOSLEEP: {
        struct timespec ts = { 30, 0 };
        b->ret = nanosleep(&ts, &b->rem);
        break;
    }
    case SLEEP:
        b->ret = sleep(30);
        break;
    case USLEEP:
        b->ret = usleep(900000);
        break;
    case CLOCK_NANOSLEEP: {
        struct timespec ts = { 30, 0 };
        int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &b->rem);
        b->ret = r ? -1 : 0;
        errno = r;
        break;
    }
    }
    b->err = errno_now();
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    atomic_store(&b->done, 1);
    return NULL;
}

static void kill_process(void *arg)
{
    (void)arg;
    CHECK(kill(getpid(), SIGUSR1) == 0);
}

static void run(enum call call, int flags, bool want_eintr)
{
    if (call == TIMED_RECV) {
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pipefd) == 0);
        struct timeval tv = { .tv_sec = 30 };
        CHECK(setsockopt(pipefd[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    } else {
        CHECK(pipe(pipefd) == 0);
    }
    install(flags);
    atomic_store(&handled, 0);
    struct blocked b = { .call = call };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, blocked_call, &b), 0);
    if (want_eintr) {
        CHECK(signal_until(&b.done, &handled, 0, kill_process, NULL, TRY_MS));
        CHECK_RC(pthread_join(t, NULL), 0);
        if (call == SLEEP) {
            /* The whole seconds not slept. */
            CHECK(b.ret > 0 && b.ret < 30 && b.err == EINTR);
        } else {
            CHECK(b.ret == -1 && b.err == EINTR);
        }
        if (call == NANOSLEEP || call == CLOCK_NANOSLEEP)
            CHECK(b.rem.tv_sec < 30 && b.rem.tv_sec > 20);
    } else {
        /* Several signals handled while it waits, and it still waits. */
        CHECK(signal_until(&b.done, &handled, 5, kill_process, NULL, TRY_MS));
        CHECK(!atomic_load(&b.done));
        CHECK(write(pipefd[1], "x", 1) == 1);
        CHECK_RC(pthread_join(t, NULL), 0);
        CHECK(b.ret == 1);
    }
    CHECK(atomic_load(&handled) >= 1);
    CHECK(close(pipefd[0]) == 0 && close(pipefd[1]) == 0);
}

/* The kernel gives a process-directed signal to the main thread when it
 * does not block it, even while it runs: then no other thread's call is
 * interrupted.  Here main unblocks SIGUSR1 and signals itself while a
 * thread that does not block it either sleeps and polls: both end at
 * their time, not early. */
static atomic_int sleeper_ready;

static void *sleeper(void *arg)
{
    long *ret = arg;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL), 0);
    atomic_store(&sleeper_ready, 1);
    struct timespec ts = { 0, 300 * NSEC_PER_MSEC };
    ret[0] = nanosleep(&ts, NULL);
    struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
    ret[1] = poll(&p, 1, 300);
    return NULL;
}

static void not_main_s_to_take(void)
{
    CHECK(pipe(pipefd) == 0);
    install(0);
    atomic_store(&handled, 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL), 0);
    long ret[2] = { -2, -2 };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, sleeper, ret), 0);
    wait_flag(&sleeper_ready, 1, TRY_MS);
    for (int i = 0; i < 20; i++) {
        CHECK(kill(getpid(), SIGUSR1) == 0);
        sleep_ms(20);
    }
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(atomic_load(&handled) == 20);
    CHECK(ret[0] == 0 && ret[1] == 0);
    CHECK(close(pipefd[0]) == 0 && close(pipefd[1]) == 0);
}

/* The mask calls' contracts: EINVAL for a bad how (with a set), the
 * old mask as set, SIGKILL never blocked. */
static void *mask_contracts(void *arg)
{
    (void)arg;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGKILL);
    CHECK_RC(pthread_sigmask(99, &set, NULL), EINVAL);
    errno = 0;
    CHECK(sigprocmask(99, &set, NULL) == -1 && errno == EINVAL);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
    CHECK(!sigismember(&old, SIGUSR2));
    CHECK_RC(pthread_sigmask(99, NULL, &old), 0);  /* how unused: a query */
    CHECK(sigismember(&old, SIGUSR2) && !sigismember(&old, SIGKILL));
    CHECK(sigprocmask(SIG_UNBLOCK, &set, &old) == 0);
    CHECK(sigismember(&old, SIGUSR2));
    CHECK(sigprocmask(SIG_SETMASK, NULL, &old) == 0);
    CHECK(!sigismember(&old, SIGUSR2));
    return NULL;
}

int main(void)
{
    pthread_t mt;
    CHECK_RC(pthread_create(&mt, NULL, mask_contracts, NULL), 0);
    CHECK_RC(pthread_join(mt, NULL), 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);

    run(READ, 0, true);             /* no SA_RESTART: EINTR */
    run(READ, SA_RESTART, false);   /* SA_RESTART: restarted */
    run(POLL, SA_RESTART, true);    /* EINTR despite SA_RESTART */
    run(POLL, 0, true);
    run(TIMED_RECV, SA_RESTART, true);
    run(TIMED_RECV, 0, true);
    run(PAUSE, SA_RESTART, true);   /* pause is never restarted */
    run(NANOSLEEP, SA_RESTART, true);   /* neither are the sleeps */
    run(SLEEP, 0, true);
    run(USLEEP, SA_RESTART, true);
    run(CLOCK_NANOSLEEP, 0, true);
    not_main_s_to_take();
    return 0;
}
