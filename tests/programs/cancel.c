/* Deferred cancellation of threads blocked at every kind of cancellation
 * point: pipe read, accept, recv, poll, select, epoll_wait, pause,
 * nanosleep, sleep, condition wait, sem_wait, join, and the calls that
 * block in the kernel (waitpid, msgrcv, open of a FIFO).  Each victim
 * pushes a cleanup handler, says it is about to block, and blocks; main
 * cancels it and joins it: the result is PTHREAD_CANCELED, the handler ran
 * once, and nothing after the call ran.  A request that comes before the
 * victim blocks acts at the call's entry, so the outcome is the same
 * whichever comes first; main gives the victim a moment to block only so
 * that the blocked case is the one usually tested.
 *
 * Also: which calls act upon a request pending when they begin without
 * having to wait (as glibc's); a disabled state defers the request past cancellation points
 * until it is enabled again; pthread_testcancel; the asynchronous type
 * acts at once on a pending request, and on a thread that computes; handlers run innermost first and a
 * condition waiter's run with the mutex locked, without taking a signal
 * from another waiter; cancelling an exited thread is 0 and leaves its
 * result; 200 readers cancelled at once; the error numbers of
 * pthread_setcancelstate and pthread_setcanceltype. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"

enum call {
    READ, ACCEPT, RECV, POLL, SELECT, EPOLL, PAUSE, NANOSLEEP, SLEEP, COND, SEM, JOIN,
    WAITPID, MSGRCV, FIFO_OPEN, NCALLS
};

static const char *const names[NCALLS] = {
    "read", "accept", "recv", "poll", "select", "epoll_wait", "pause", "nanosleep",
    "sleep", "pthread_cond_wait", "sem_wait", "pthread_join", "waitpid", "msgrcv",
    "open(FIFO)",
};

static int pipefd[2], listener, sockpair[2], epfd, msqid, child_pipe;
static pid_t child;
static char fifo[64];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static pthread_t forever;  /* a thread that never ends while joined */
static int forever_pipe[2];

struct victim {
    enum call call;
    atomic_int blocking;
    atomic_int cleaned;
    atomic_int after;
    atomic_int mutex_held;  /* COND: the handler found mu locked */
};

static void cleanup(void *arg)
{
    struct victim *v = arg;
    if (v->call == COND) {
        /* Locked by this thread again before the handler runs. */
        atomic_store(&v->mutex_held, pthread_mutex_trylock(&mu) == EBUSY);
        CHECK_RC(pthread_mutex_unlock(&mu), 0);
    }
    atomic_fetch_add(&v->cleaned, 1);
}

static void *forever_thread(void *arg)
{
    char c;
    (void)arg;
    CHECK(read(forever_pipe[0], &c, 1) == 1);
    return NULL;
}

static void block(struct victim *v)
{
    char buf[16];
    switch (v->call) {
    case READ:
        read(pipefd[0], buf, sizeof buf);
        break;
    case ACCEPT:
        accept(listener, NULL, NULL);
        break;
    case RECV:
        recv(sockpair[0], buf, sizeof buf, 0);
        break;
    case POLL: {
        struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
        poll(&p, 1, -1);
        break;
    }
    case SELECT: {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(pipefd[0], &rd);
        select(pipefd[0] + 1, &rd, NULL, NULL, NULL);
        break;
    }
    case EPOLL: {
        struct epoll_event ev;
        epoll_wait(epfd, &ev, 1, -1);
        break;
    }
    case PAUSE:
        pause();
        break;
    case NANOSLEEP: {
        struct timespec ts = { 3600, 0 };
        nanosleep(&ts, NULL);
        break;
    }
    case SLEEP:
        sleep(3600);
        break;
    case COND:
        CHECK_RC(pthread_mutex_lock(&mu), 0);
        atomic_store(&v->blocking, 1);
        for (;;)
            pthread_cond_wait(&cv, &mu);
    case SEM:
        sem_wait(&sem);
        break;
    case JOIN:
        pthread_join(forever, NULL);
        break;
    case WAITPID:
        waitpid(child, NULL, 0);
        break;
    case MSGRCV: {
        struct { long type; char text[8]; } msg;
        msgrcv(msqid, &msg, sizeof msg.text, 0, 0);
        break;
    }
    case FIFO_OPEN:
        open(fifo, O_RDONLY);
        break;
    case NCALLS:
        break;
    }
}

static void *victim_main(void *arg)
{
    struct victim *v = arg;
    pthread_cleanup_push(cleanup, v);
    if (v->call != COND)
        atomic_store(&v->blocking, 1);
    block(v);
    atomic_store(&v->after, 1);
    pthread_cleanup_pop(0);
    return NULL;
}

static void cancel_blocked(enum call call)
{
    struct victim v = { .call = call };
    pthread_t th;
    CHECK_RC(pthread_create(&th, NULL, victim_main, &v), 0);
    wait_flag(&v.blocking, 1, 10000);
    sleep_ms(20);
    CHECK_RC(pthread_cancel(th), 0);
    void *ret;
    CHECK_RC(pthread_join(th, &ret), 0);
    if (ret != PTHREAD_CANCELED || atomic_load(&v.cleaned) != 1 || atomic_load(&v.after)) {
        fprintf(stderr, "cancel in %s: ret %p cleaned %d after %d\n", names[call], ret,
                atomic_load(&v.cleaned), atomic_load(&v.after));
        abort();
    }
    if (call == COND)
        CHECK(atomic_load(&v.mutex_held));
}

static void setup(void)
{
    CHECK(pipe(pipefd) == 0);
    CHECK(pipe(forever_pipe) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sockpair) == 0);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listener >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK(bind(listener, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(listener, 8) == 0);
    epfd = epoll_create1(0);
    CHECK(epfd >= 0);
    struct epoll_event ev = { .events = EPOLLIN };
    CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, pipefd[0], &ev) == 0);
    CHECK(sem_init(&sem, 0, 0) == 0);
    msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(msqid >= 0);
    snprintf(fifo, sizeof fifo, "/tmp/goshim-cancel-%d", (int)getpid());
    CHECK(mkfifo(fifo, 0600) == 0);
    /* A child that waits for main to close its end of a pipe. */
    int cp[2];
    CHECK(pipe(cp) == 0);
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        char c;
        close(cp[1]);
        read(cp[0], &c, 1);
        _exit(0);
    }
    close(cp[0]);
    child_pipe = cp[1];
    CHECK_RC(pthread_create(&forever, NULL, forever_thread, NULL), 0);
}

static void teardown(void)
{
    close(child_pipe);
    CHECK(waitpid(child, NULL, 0) == child);
    CHECK(write(forever_pipe[1], "x", 1) == 1);
    CHECK_RC(pthread_join(forever, NULL), 0);
    CHECK(msgctl(msqid, IPC_RMID, NULL) == 0);
    CHECK(unlink(fifo) == 0);
}

/* ------------------------------------------------------- on entry */

/* A request pending when a call begins that need not wait: glibc acts
 * upon it in every cancellation point here but sem_clockwait.  Each case
 * runs in a thread that cancels itself first (deferred). */
static int entry_pipe[2];
static sem_t entry_sem;
/* Cancelled in a condition wait: the mutex is locked again. */
static void entry_unlock(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_mutex_unlock(&mu), 0);
}

static void entry_call(int i)
{
    char c;
    struct timespec zero = { 0, 0 }, later;
    switch (i) {
    case 0: read(entry_pipe[0], &c, 1); break;
    case 1: write(entry_pipe[1], "x", 1); break;
    case 2: sem_wait(&entry_sem); break;
    case 3:
        clock_gettime(CLOCK_REALTIME, &later);
        later.tv_sec += 5;
        sem_timedwait(&entry_sem, &later);
        break;
    case 4:
        clock_gettime(CLOCK_MONOTONIC, &later);
        later.tv_sec += 5;
        sem_clockwait(&entry_sem, CLOCK_MONOTONIC, &later);
        break;
    case 5: {
        struct pollfd p = { .fd = entry_pipe[0], .events = POLLIN };
        poll(&p, 1, 0);
        break;
    }
    case 6: {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(entry_pipe[0], &rd);
        struct timeval tv = { 0, 0 };
        select(entry_pipe[0] + 1, &rd, NULL, NULL, &tv);
        break;
    }
    case 7: {
        struct epoll_event ev;
        epoll_wait(epfd, &ev, 1, 0);
        break;
    }
    case 8: nanosleep(&zero, NULL); break;
    case 9: usleep(0); break;
    case 10: sleep(0); break;
    case 11: close(dup(0)); break;
    case 12: close(open("/dev/null", O_RDONLY)); break;
    case 13: fsync(1); break;
    case 14: waitpid(-1, NULL, WNOHANG); break;
    case 15: {
        struct { long type; char text[8]; } msg;
        msgrcv(msqid, &msg, sizeof msg.text, 0, IPC_NOWAIT);
        break;
    }
    case 16: {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        sigtimedwait(&set, NULL, &zero);
        break;
    }
    case 17: send(sockpair[1], "x", 1, 0); break;
    case 18: {
        int f = open("/dev/null", O_RDONLY);
        pread(f, &c, 1, 0);
        close(f);
        break;
    }
    case 19:
        CHECK_RC(pthread_mutex_lock(&mu), 0);
        pthread_cleanup_push(entry_unlock, NULL);
        pthread_cond_timedwait(&cv, &mu, &zero);
        pthread_cleanup_pop(1);
        break;
    }
}

/* glibc 2.36's answers: 1 acted upon, 0 not. */
static const struct {
    const char *name;
    int acts;
} entry_cases[] = {
    { "read", 1 }, { "write", 1 }, { "sem_wait", 1 }, { "sem_timedwait", 1 },
    { "sem_clockwait", 0 }, { "poll", 1 }, { "select", 1 }, { "epoll_wait", 1 },
    { "nanosleep", 1 }, { "usleep", 1 }, { "sleep", 1 }, { "close", 1 },
    { "open", 1 }, { "fsync", 1 }, { "waitpid WNOHANG", 1 }, { "msgrcv IPC_NOWAIT", 1 },
    { "sigtimedwait", 1 }, { "send", 1 }, { "pread", 1 },
    { "pthread_cond_timedwait (past)", 1 },
};
#define NENTRY ((int)(sizeof entry_cases / sizeof entry_cases[0]))

static void *entry_main(void *arg)
{
    CHECK_RC(pthread_cancel(pthread_self()), 0);
    entry_call((int)(intptr_t)arg);
    return NULL;
}

static void check_entry(void)
{
    CHECK(pipe(entry_pipe) == 0);
    for (int i = 0; i < NENTRY; i++) {
        CHECK(write(entry_pipe[1], "ab", 2) == 2);
        CHECK(sem_init(&entry_sem, 0, 1) == 0);
        pthread_t th;
        void *ret;
        CHECK_RC(pthread_create(&th, NULL, entry_main, (void *)(intptr_t)i), 0);
        CHECK_RC(pthread_join(th, &ret), 0);
        int acted = ret == PTHREAD_CANCELED;
        if (acted != entry_cases[i].acts) {
            fprintf(stderr, "a pending request %s in %s\n",
                    acted ? "acted" : "did not act", entry_cases[i].name);
            abort();
        }
        CHECK(sem_destroy(&entry_sem) == 0);
    }
    close(entry_pipe[0]);
    close(entry_pipe[1]);
}

/* ---------------------------------------------------------------- disabled */

static atomic_int disabled_stage;

static void *disabled_main(void *arg)
{
    (void)arg;
    int old;
    CHECK_RC(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old), 0);
    CHECK(old == PTHREAD_CANCEL_ENABLE);
    atomic_store(&disabled_stage, 1);
    wait_flag(&disabled_stage, 2, 10000);  /* main has cancelled */
    /* Cancellation points pass while disabled. */
    struct timespec ts = { 0, 1000000 };
    CHECK(nanosleep(&ts, NULL) == 0);
    pthread_testcancel();
    char c;
    CHECK(read(pipefd[0], &c, 0) == 0);
    CHECK_RC(pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old), 0);
    CHECK(old == PTHREAD_CANCEL_DISABLE);
    atomic_store(&disabled_stage, 3);
    pthread_testcancel();
    atomic_store(&disabled_stage, 4);
    return NULL;
}

static void check_disabled(void)
{
    pthread_t th;
    CHECK_RC(pthread_create(&th, NULL, disabled_main, NULL), 0);
    wait_flag(&disabled_stage, 1, 10000);
    CHECK_RC(pthread_cancel(th), 0);
    CHECK_RC(pthread_cancel(th), 0);  /* twice is still 0 */
    atomic_store(&disabled_stage, 2);
    void *ret;
    CHECK_RC(pthread_join(th, &ret), 0);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK(atomic_load(&disabled_stage) == 3);
}

/* ---------------------------------------------------------------- async */

static atomic_int async_reached;

static void *async_main(void *arg)
{
    (void)arg;
    /* Cancel itself: deferred, so nothing happens until a cancellation
     * point, or until the type becomes asynchronous. */
    CHECK_RC(pthread_cancel(pthread_self()), 0);
    atomic_store(&async_reached, 1);
    int old;
    CHECK_RC(pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old), 0);
    atomic_store(&async_reached, 2);
    return NULL;
}

static void check_async(void)
{
    pthread_t th;
    CHECK_RC(pthread_create(&th, NULL, async_main, NULL), 0);
    void *ret;
    CHECK_RC(pthread_join(th, &ret), 0);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK(atomic_load(&async_reached) == 1);
}

/* A thread computing with the asynchronous type is cancelled where it
 * is.  Under goshim with one P the spinner would keep the P from main
 * until preemption exists (a later step): skipped there. */
static atomic_int spinning, spin_cleaned;
static volatile unsigned long spins;

static void spin_cleanup(void *arg)
{
    (void)arg;
    atomic_store(&spin_cleaned, 1);
}

static void *spin_main(void *arg)
{
    (void)arg;
    pthread_cleanup_push(spin_cleanup, NULL);
    CHECK_RC(pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL), 0);
    atomic_store(&spinning, 1);
    for (;;)
        spins++;
    pthread_cleanup_pop(0);
    return NULL;
}

static void check_async_running(void)
{
    const char *procs = getenv("GOMAXPROCS");
    if (procs && atoi(procs) == 1)
        return;
    pthread_t th;
    CHECK_RC(pthread_create(&th, NULL, spin_main, NULL), 0);
    wait_flag(&spinning, 1, 10000);
    CHECK_RC(pthread_cancel(th), 0);
    void *ret;
    CHECK_RC(pthread_join(th, &ret), 0);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK(atomic_load(&spin_cleaned) == 1);
}

/* ---------------------------------------------------------------- order */

static char order[8];
static atomic_int norder;

static void push_order(void *arg)
{
    order[atomic_fetch_add(&norder, 1)] = *(const char *)arg;
}

static void *order_main(void *arg)
{
    (void)arg;
    pthread_cleanup_push(push_order, "a");
    pthread_cleanup_push(push_order, "b");
    pthread_cleanup_push(push_order, "x");
    pthread_cleanup_pop(0);  /* popped without running */
    pthread_cleanup_push(push_order, "c");
    pthread_testcancel();
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static void check_order(void)
{
    pthread_t th;
    CHECK_RC(pthread_create(&th, NULL, order_main, NULL), 0);
    CHECK_RC(pthread_cancel(th), 0);
    void *ret;
    CHECK_RC(pthread_join(th, &ret), 0);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK(atomic_load(&norder) == 3 && memcmp(order, "cba", 3) == 0);
}

/* ------------------------------------------------- condvar: no lost signal */

static atomic_int woken;

static void unlock_mu(void *arg)
{
    (void)arg;
    pthread_mutex_unlock(&mu);
}

static int go_flag;  /* mu */

static void *cond_waiter(void *arg)
{
    atomic_int *waiting = arg;
    CHECK_RC(pthread_mutex_lock(&mu), 0);
    pthread_cleanup_push(unlock_mu, NULL);
    atomic_fetch_add(waiting, 1);
    while (!go_flag)
        CHECK_RC(pthread_cond_wait(&cv, &mu), 0);
    go_flag = 0;
    atomic_fetch_add(&woken, 1);
    pthread_cleanup_pop(1);
    return NULL;
}

static void check_cond_signal_kept(void)
{
    atomic_int waiting = 0;
    pthread_t a, b;
    CHECK_RC(pthread_create(&a, NULL, cond_waiter, &waiting), 0);
    CHECK_RC(pthread_create(&b, NULL, cond_waiter, &waiting), 0);
    wait_flag(&waiting, 2, 10000);
    sleep_ms(20);
    CHECK_RC(pthread_cancel(a), 0);
    void *ret;
    CHECK_RC(pthread_join(a, &ret), 0);
    CHECK(ret == PTHREAD_CANCELED);
    /* One signal still wakes the other waiter (if the cancelled one woke
     * first and returned normally, it is b that got cancelled: then a
     * took the wake-up, and b must still get this one). */
    CHECK_RC(pthread_mutex_lock(&mu), 0);
    go_flag = 1;
    CHECK_RC(pthread_cond_signal(&cv), 0);
    CHECK_RC(pthread_mutex_unlock(&mu), 0);
    CHECK_RC(pthread_join(b, &ret), 0);
    CHECK(ret == NULL);
    CHECK(atomic_load(&woken) == 1);
}

/* ---------------------------------------------------------------- misc */

static void *returns_7(void *arg)
{
    (void)arg;
    return (void *)7;
}

static void check_exited(void)
{
    pthread_t th;
    CHECK_RC(pthread_create(&th, NULL, returns_7, NULL), 0);
    /* Once it has exited, a cancellation changes nothing. */
    sleep_ms(20);
    CHECK_RC(pthread_cancel(th), 0);
    void *ret;
    CHECK_RC(pthread_join(th, &ret), 0);
    CHECK(ret == (void *)7);
}

static void check_errors(void)
{
    int old;
    CHECK_RC(pthread_setcancelstate(7, &old), EINVAL);
    CHECK_RC(pthread_setcanceltype(7, &old), EINVAL);
    CHECK_RC(pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL), 0);
    CHECK_RC(pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL), 0);
}

#define NREADERS 200

static atomic_int readers_blocked;

static void *reader(void *arg)
{
    char c;
    (void)arg;
    atomic_fetch_add(&readers_blocked, 1);
    read(pipefd[0], &c, 1);
    return NULL;
}

static void check_many(void)
{
    static pthread_t th[NREADERS];
    for (int i = 0; i < NREADERS; i++)
        CHECK_RC(pthread_create(&th[i], NULL, reader, NULL), 0);
    wait_flag(&readers_blocked, NREADERS, 30000);
    for (int i = 0; i < NREADERS; i++)
        CHECK_RC(pthread_cancel(th[i]), 0);
    for (int i = 0; i < NREADERS; i++) {
        void *ret;
        CHECK_RC(pthread_join(th[i], &ret), 0);
        CHECK(ret == PTHREAD_CANCELED);
    }
}

int main(void)
{
    setup();
    for (enum call c = 0; c < NCALLS; c++)
        cancel_blocked(c);
    check_entry();
    teardown();
    check_disabled();
    check_async();
    check_async_running();
    check_order();
    check_cond_signal_kept();
    check_exited();
    check_errors();
    check_many();
    puts("cancel: ok");
    return 0;
}
