/* pselect, ppoll and epoll_pwait with a mask that lets through a signal
 * the thread blocks otherwise, as GNU make waits for SIGCHLD on its
 * jobserver pipe: SIGCHLD blocked, a child started, the call waits on an
 * idle pipe with SIGCHLD unblocked in its mask; the child's exit ends it
 * with EINTR (a hang before), and the handler runs.
 * Afterwards SIGCHLD is blocked again. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>

#include "check.h"

static atomic_int chld;

static void on_chld(int sig)
{
    (void)sig;
    atomic_fetch_add(&chld, 1);
}

enum how { PSELECT, PPOLL, EPOLL_PWAIT };

static void run(enum how how, int rfd, int ep)
{
    sigset_t block, during, now;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
    CHECK(sigprocmask(SIG_BLOCK, NULL, &during) == 0);
    sigdelset(&during, SIGCHLD);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(0);
    struct timespec ts = { 10, 0 };
    int64_t t0 = now_ns();
    int r;
    if (how == PSELECT) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(rfd, &rd);
        r = pselect(rfd + 1, &rd, NULL, NULL, &ts, &during);
    } else if (how == PPOLL) {
        struct pollfd p = { .fd = rfd, .events = POLLIN };
        r = ppoll(&p, 1, &ts, &during);
    } else {
        struct epoll_event ev;
        r = epoll_pwait(ep, &ev, 1, 10000, &during);
    }
    CHECK(r == -1 && errno_now() == EINTR);
    CHECK((now_ns() - t0) / NSEC_PER_MSEC < 9000);
    CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0);
    CHECK(sigismember(&now, SIGCHLD));
    CHECK(waitpid(pid, NULL, 0) == pid);
    CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
}

int main(void)
{
    struct sigaction sa = { .sa_handler = on_chld };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    int ep = epoll_create1(0);
    CHECK(ep >= 0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    for (int i = 0; i < 3; i++) {
        run(PSELECT, p[0], ep);
        run(PPOLL, p[0], ep);
        run(EPOLL_PWAIT, p[0], ep);
    }
    /* The handler of a process-directed signal runs on whichever kernel
     * thread goshim has it unblocked on, not always before the wait ends
     * (natively: in this thread, before), and SIGCHLDs merge: at least
     * one has run. */
    WAIT_UNTIL(atomic_load(&chld) > 0, 5000);
    check_thread_limit();
    return 0;
}
