/* A thread blocked in I/O or in a wait for another process must not stop
 * the other threads.  In each case a ticker thread wakes every 10 ms on
 * absolute deadlines and records how late each tick is, while a blocker
 * thread spends about 300 ms in one call; every tick must come within
 * 25 ms of its due time, and at least 20 must fall in the blocked window.
 * Under GOMAXPROCS=1 that takes goshim parking the blocker's G in netpoll
 * or handing its P to another kernel thread.  The cases, each runnable
 * alone as "io_ticks CASE", all in turn without an argument:
 *
 *   fifo     read() of an empty FIFO (netpoll)
 *   waitpid  waitpid() of a child that exits after 300 ms (hand-off)
 *   flock    flock(LOCK_EX) of a file another process holds locked
 *   pause    syscall(SYS_pause), ended by SIGUSR1 from another process
 *   fgets    fgets() on an idle socket: glibc's stdio reads through its
 *            internal read, which no preload can interpose, so only a
 *            monitor that notices the kernel thread asleep in the kernel
 *            with a P can keep the ticker going
 *   fprintf  fprintf() and fflush() of a 64 KiB line into a full pipe:
 *            stdio's internal write, hidden in the same way
 *
 * The other side of each wait is a child process (fork, then only
 * async-signal-safe calls), never a thread of this one: when the blocker
 * wrongly holds the only P, a thread could not run to end the wait, and
 * the case would hang instead of failing with the ticker's lateness.  The
 * child starts its 300 ms when the blocker writes to a "go" pipe just
 * before its call, so the call blocks at least that long however the
 * threads are scheduled.
 *
 * A failed case prints its name, the worst lateness and the tick count on
 * stderr and runs again, up to three times in all (see main); the other
 * cases still run, and the exit status is 1.  A
 * blocking call that does not return within 5 s fails its case (the
 * thread is left behind).  A peer process that fails aborts the run,
 * saying how it ended.  alarm() bounds the whole run: a watchdog thread
 * could not run while the only P is held. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"

#define TICK_NS (10 * NSEC_PER_MSEC)
#define LATE_MAX_NS (25 * NSEC_PER_MSEC)
#define MIN_TICKS 20
#define BLOCK_MS 300
#define CASE_TIMEOUT_MS 5000
#define WATCHDOG_S 30
#define ATTEMPTS 3
#define STR_(x) #x
#define STR(x) STR_(x)
#define LINE_LEN (64 * 1024)

/* --------------------------------------------------------------- ticker */

static atomic_int tick_stop;
static atomic_long tick_count;
static _Atomic int64_t tick_worst_ns;

static void *ticker(void *arg)
{
    (void)arg;
    int64_t due = now_ns();
    while (!atomic_load(&tick_stop)) {
        due += TICK_NS;
        struct timespec ts = ns_to_ts(due);
        int r;
        while ((r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
                                    NULL)) == EINTR)
            ;
        CHECK_RC(r, 0);
        /* A stall shows as one very late tick, then a burst of catching
         * up (the deadlines are absolute): the worst is the stall. */
        int64_t late = now_ns() - due;
        if (late > atomic_load(&tick_worst_ns))
            atomic_store(&tick_worst_ns, late);
        atomic_fetch_add(&tick_count, 1);
    }
    return NULL;
}

/* ---------------------------------------------------------------- peers */

/* The child process at the other end of a case's wait. */
struct peer {
    pid_t pid;
    int go;     /* write end: one byte when the blocker is about to block */
};

typedef void (*peer_fn)(void);

static void peer_sleep(void)
{
    struct timespec ts = ns_to_ts(BLOCK_MS * NSEC_PER_MSEC);
    while (nanosleep(&ts, &ts) != 0)
        if (errno != EINTR)
            _exit(101);
}

static const char *volatile current = "none";  /* read by on_alarm */

/* Says how the peer ended, on stderr, and aborts. */
static void peer_failed(pid_t pid, int status, const char *when)
{
    if (WIFSIGNALED(status))
        fprintf(stderr, "io_ticks: %s: peer process %d %s: killed by "
                "signal %d (%s)\n", current, (int)pid, when,
                WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        fprintf(stderr, "io_ticks: %s: peer process %d %s: exit status "
                "%d\n", current, (int)pid, when, WEXITSTATUS(status));
    fflush(stderr);
    abort();
}

/* Forks the peer: prepare runs at once and is done when this returns; act
 * runs BLOCK_MS after peer_go.  The child calls only async-signal-safe
 * functions and reports failure by its exit status (1xx: the step). */
static struct peer peer_start(peer_fn prepare, peer_fn act)
{
    int go[2], ready[2];
    CHECK(pipe2(go, O_CLOEXEC) == 0);
    CHECK(pipe2(ready, O_CLOEXEC) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        close(ready[0]);
        if (prepare)
            prepare();
        if (write(ready[1], "r", 1) != 1)
            _exit(102);
        char c;
        ssize_t n;
        while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR)
            ;
        if (n != 1)
            _exit(103);  /* no go byte: the parent gave up or is gone */
        peer_sleep();
        act();
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    char c;
    ssize_t n;
    while ((n = read(ready[0], &c, 1)) < 0 && errno_now() == EINTR)
        ;
    if (n == 0) {
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        peer_failed(pid, status, "ended before it was ready");
    }
    CHECK(n == 1);
    close(ready[0]);
    return (struct peer){ pid, go[1] };
}

static void peer_reap(struct peer *pr);

static void peer_go(struct peer *pr)
{
    ssize_t n;
    while ((n = write(pr->go, "x", 1)) < 0 && errno_now() == EINTR)
        ;
    if (n != 1)
        peer_reap(pr);  /* EPIPE: the peer died; say how */
    CHECK(n == 1);
    close(pr->go);
    pr->go = -1;
}

/* The peer must have exited with status 0. */
static void peer_reap(struct peer *pr)
{
    int status;
    pid_t r;
    while ((r = waitpid(pr->pid, &status, 0)) < 0 && errno_now() == EINTR)
        ;
    CHECK(r == pr->pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        peer_failed(pr->pid, status, "failed");
}

/* ---------------------------------------------------------------- cases */

/* A file named name in a new directory under TMPDIR (or /tmp), for a
 * case's setup, which removes both with tmp_remove once the file is open
 * where it is needed: a run that aborts later leaves nothing behind. */
static char tmp_dir[256], tmp_file[300];

static const char *tmp_path(const char *name)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || *base == '\0')
        base = "/tmp";
    int n = snprintf(tmp_dir, sizeof tmp_dir, "%s/io_ticks.XXXXXX", base);
    CHECK(n > 0 && (size_t)n < sizeof tmp_dir);
    CHECK(mkdtemp(tmp_dir) != NULL);
    n = snprintf(tmp_file, sizeof tmp_file, "%s/%s", tmp_dir, name);
    CHECK(n > 0 && (size_t)n < sizeof tmp_file);
    return tmp_file;
}

static void tmp_remove(void)
{
    CHECK(unlink(tmp_file) == 0);
    CHECK(rmdir(tmp_dir) == 0);
}

/* A case: setup (in main, before the ticker), blocker (its own thread,
 * calls peer_go right before the call under test), teardown (in main,
 * after the blocker returned). */
struct io_case {
    const char *name;
    void (*setup)(void);
    void (*blocker)(void);
    void (*teardown)(void);
};

static struct peer peer;

/* fifo: the FIFO is opened O_RDWR (Linux: no wait for a peer, and a
 * writer always exists, so an empty FIFO blocks rather than reads EOF);
 * the child writes through its copy of the descriptor. */
static int fifo_fd;

static void fifo_act(void)
{
    if (write(fifo_fd, "f", 1) != 1)
        _exit(110);
}

static void fifo_setup(void)
{
    const char *path = tmp_path("fifo");
    CHECK(mkfifo(path, 0600) == 0);
    fifo_fd = open(path, O_RDWR | O_CLOEXEC);
    CHECK(fifo_fd >= 0);
    tmp_remove();
    peer = peer_start(NULL, fifo_act);
}

static void fifo_blocker(void)
{
    char c;
    peer_go(&peer);
    CHECK(read(fifo_fd, &c, 1) == 1);
    CHECK(c == 'f');
}

static void fifo_teardown(void)
{
    peer_reap(&peer);
    CHECK(close(fifo_fd) == 0);
}

/* waitpid: the blocker reaps the child itself. */
static void exit_act(void)
{
    _exit(7);
}

static void waitpid_setup(void)
{
    peer = peer_start(NULL, exit_act);
}

static void waitpid_blocker(void)
{
    int status;
    peer_go(&peer);
    CHECK(waitpid(peer.pid, &status, 0) == peer.pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 7)
        peer_failed(peer.pid, status, "did not exit with status 7");
}

static void waitpid_teardown(void)
{
}

/* flock: the child opens the file itself (a lock belongs to the open
 * file description, which an inherited descriptor would share) and holds
 * the lock until it exits. */
static int lock_fd;

static void flock_prepare(void)
{
    int fd = open(tmp_file, O_RDWR | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) != 0)
        _exit(120);
}

static void nothing_act(void)
{
}

static void flock_setup(void)
{
    lock_fd = open(tmp_path("lock"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                   0600);
    CHECK(lock_fd >= 0);
    peer = peer_start(flock_prepare, nothing_act);
    tmp_remove();
    if (flock(lock_fd, LOCK_EX | LOCK_NB) == 0) {
        /* The peer died, or its lock does not conflict: a live peer
         * ends at EOF on its go pipe (exit status 103), and peer_reap
         * says how it ended. */
        CHECK(close(peer.go) == 0);
        peer_reap(&peer);
        CHECK(!"the peer's lock does not conflict");
    }
    CHECK(errno_now() == EWOULDBLOCK);
}

static void flock_blocker(void)
{
    peer_go(&peer);
    CHECK(flock(lock_fd, LOCK_EX) == 0);
    CHECK(flock(lock_fd, LOCK_UN) == 0);
}

static void flock_teardown(void)
{
    peer_reap(&peer);
    CHECK(close(lock_fd) == 0);
}

/* pause: SIGUSR1 is blocked in every thread but the blocker (main blocks
 * it before creating any; the blocker unblocks it for the call), so that
 * natively the kernel delivers the child's process-directed kill to the
 * blocker and interrupts its pause.  Under goshim the mask is its kernel
 * thread's, and another kernel thread may take the signal: the handler's
 * flag, not the thread it ran on, is what is checked. */
static atomic_int usr1_seen;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the flag must be lock-free");

static void on_usr1(int sig)
{
    (void)sig;
    atomic_store(&usr1_seen, 1);
}

static void kill_act(void)
{
    if (kill(getppid(), SIGUSR1) != 0)
        _exit(130);
}

static void pause_setup(void)
{
    atomic_store(&usr1_seen, 0);
    peer = peer_start(NULL, kill_act);
}

static void pause_blocker(void)
{
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL), 0);
    peer_go(&peer);
    /* The child signals BLOCK_MS after the go byte: by then this thread
     * is long inside pause (a signal that came first would be lost to
     * pause, and the case would time out). */
    CHECK_ERRNO(syscall(SYS_pause), EINTR);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    CHECK(atomic_load(&usr1_seen) == 1);
}

static void pause_teardown(void)
{
    peer_reap(&peer);
}

/* fgets: a socketpair, this end under stdio; the child writes a line. */
static int sock[2];
static FILE *sock_in;

static void sock_prepare(void)
{
    close(sock[0]);
}

static void sock_act(void)
{
    if (write(sock[1], "tick\n", 5) != 5)
        _exit(140);
}

static void fgets_setup(void)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) == 0);
    sock_in = fdopen(sock[0], "r");
    CHECK(sock_in != NULL);
    peer = peer_start(sock_prepare, sock_act);
    CHECK(close(sock[1]) == 0);
}

static void fgets_blocker(void)
{
    char line[64];
    peer_go(&peer);
    char *r = fgets(line, sizeof line, sock_in);
    if (r == NULL)
        peer_reap(&peer);   /* EOF: the peer died; say how */
    CHECK(r == line);
    CHECK(strcmp(line, "tick\n") == 0);
}

static void fgets_teardown(void)
{
    peer_reap(&peer);
    CHECK(fclose(sock_in) == 0);
}

/* fprintf: the pipe is filled with non-blocking writes, then made
 * blocking again; the child drains it all, BLOCK_MS after the go byte,
 * and checks the byte count. */
static int full_pipe[2];
static FILE *pipe_out;
static size_t pipe_filled;
static char line_buf[LINE_LEN + 1];

static void pipe_prepare(void)
{
    close(full_pipe[1]);
}

static void pipe_act(void)
{
    static char buf[16384];
    size_t total = 0;
    for (;;) {
        ssize_t n = read(full_pipe[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            _exit(150);
        if (n == 0)
            break;
        total += (size_t)n;
    }
    if (total != pipe_filled + LINE_LEN + 1)
        _exit(151);
}

static void fprintf_setup(void)
{
    CHECK(pipe2(full_pipe, O_CLOEXEC) == 0);
    int fl = fcntl(full_pipe[1], F_GETFL);
    CHECK(fl >= 0);
    CHECK(fcntl(full_pipe[1], F_SETFL, fl | O_NONBLOCK) == 0);
    static char chunk[4096];
    memset(chunk, 'p', sizeof chunk);
    pipe_filled = 0;
    /* Page-sized writes fill the pipe's pages, single bytes any tail. */
    for (size_t len = sizeof chunk; len > 0; len = len > 1 ? 1 : 0) {
        ssize_t n;
        while ((n = write(full_pipe[1], chunk, len)) > 0)
            pipe_filled += (size_t)n;
        CHECK(n < 0 && errno_now() == EAGAIN);
    }
    CHECK(pipe_filled > 0);
    CHECK(fcntl(full_pipe[1], F_SETFL, fl) == 0);
    memset(line_buf, 'l', LINE_LEN);
    line_buf[LINE_LEN] = '\0';
    pipe_out = fdopen(full_pipe[1], "w");
    CHECK(pipe_out != NULL);
    peer = peer_start(pipe_prepare, pipe_act);
    CHECK(close(full_pipe[0]) == 0);
}

static void fprintf_blocker(void)
{
    peer_go(&peer);
    int n = fprintf(pipe_out, "%s\n", line_buf);
    if (n < 0 || fflush(pipe_out) != 0)
        peer_reap(&peer);   /* EPIPE: the peer died; say how */
    CHECK(n == LINE_LEN + 1);
    CHECK(!ferror(pipe_out));
}

static void fprintf_teardown(void)
{
    /* EOF ends the child's drain. */
    CHECK(fclose(pipe_out) == 0);
    peer_reap(&peer);
}

static const struct io_case cases[] = {
    { "fifo", fifo_setup, fifo_blocker, fifo_teardown },
    { "waitpid", waitpid_setup, waitpid_blocker, waitpid_teardown },
    { "flock", flock_setup, flock_blocker, flock_teardown },
    { "pause", pause_setup, pause_blocker, pause_teardown },
    { "fgets", fgets_setup, fgets_blocker, fgets_teardown },
    { "fprintf", fprintf_setup, fprintf_blocker, fprintf_teardown },
};

/* ------------------------------------------------------------- harness */

static _Atomic int64_t blocked_ns;
static bool case_hung;

static void *run_blocker(void *arg)
{
    const struct io_case *c = arg;
    int64_t t0 = now_ns();
    c->blocker();
    atomic_store(&blocked_ns, now_ns() - t0);
    return NULL;
}

/* Runs one case; returns false, having said why, if it failed. */
static bool run_case(const struct io_case *c)
{
    current = c->name;
    c->setup();
    atomic_store(&tick_stop, 0);
    atomic_store(&tick_count, 0);
    atomic_store(&tick_worst_ns, 0);
    atomic_store(&blocked_ns, 0);
    pthread_t t, b;
    CHECK_RC(pthread_create(&t, NULL, ticker, NULL), 0);
    WAIT_UNTIL(atomic_load(&tick_count) >= 2, 10000);
    long before = atomic_load(&tick_count);
    CHECK_RC(pthread_create(&b, NULL, run_blocker, (void *)c), 0);
    struct timespec deadline =
        ns_to_ts(now_ns() + CASE_TIMEOUT_MS * NSEC_PER_MSEC);
    int jr = pthread_clockjoin_np(b, NULL, CLOCK_MONOTONIC, &deadline);
    long n = atomic_load(&tick_count) - before;
    atomic_store(&tick_stop, 1);
    CHECK_RC(pthread_join(t, NULL), 0);
    int64_t worst = atomic_load(&tick_worst_ns);

    if (jr == ETIMEDOUT) {
        int status = 0;
        pid_t r = waitpid(peer.pid, &status, WNOHANG);
        fprintf(stderr, "io_ticks: %s: the blocking call did not return "
                "within %d ms (SIGUSR1 handled: %s; peer process ",
                c->name, CASE_TIMEOUT_MS,
                atomic_load(&usr1_seen) ? "yes" : "no");
        if (r != peer.pid)
            fprintf(stderr, "still running");
        else if (WIFSIGNALED(status))
            fprintf(stderr, "killed by signal %d", WTERMSIG(status));
        else
            fprintf(stderr, "ended with status %#x", status);
        fprintf(stderr, "); worst tick %.1f ms late, %ld ticks\n",
                worst / 1e6, n);
        fflush(stderr);
        case_hung = true;
        return false;   /* the blocker and the peer are left behind */
    }
    CHECK_RC(jr, 0);
    c->teardown();
    int64_t blocked = atomic_load(&blocked_ns);
    /* The peer acts BLOCK_MS after the go byte, sent inside the window. */
    CHECK(blocked >= BLOCK_MS * NSEC_PER_MSEC);
    if (worst > LATE_MAX_NS || n < MIN_TICKS) {
        fprintf(stderr, "io_ticks: %s: worst tick %.1f ms late (at most "
                "%lld), %ld ticks while blocked %.1f ms (at least %d)\n",
                c->name, worst / 1e6, LATE_MAX_NS / NSEC_PER_MSEC, n,
                blocked / 1e6, MIN_TICKS);
        fflush(stderr);
        return false;
    }
    return true;
}

/* write(2) only: it runs in a signal handler. */
static void say(const char *s)
{
    ssize_t n = write(2, s, strlen(s));
    (void)n;
}

static void on_alarm(int sig)
{
    (void)sig;
    say("io_ticks: watchdog: the run took over " STR(WATCHDOG_S)
        " s, in case ");
    say(current);
    say("\n");
    abort();
}

int main(int argc, char **argv)
{
    size_t ncases = sizeof cases / sizeof cases[0];
    const struct io_case *only = NULL;
    if (argc > 2)
        goto usage;
    if (argc == 2) {
        for (size_t i = 0; i < ncases; i++)
            if (strcmp(argv[1], cases[i].name) == 0)
                only = &cases[i];
        if (!only)
            goto usage;
    }

    struct sigaction sa = { .sa_handler = on_alarm };
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    alarm(WATCHDOG_S);
    /* No SA_RESTART: pause must end with EINTR. */
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
    /* A peer that dies mid-case must fail with a message, not kill this
     * process with SIGPIPE. */
    CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);

    /* A late tick on a machine busy with other work is delayed natively
     * too, once; a thread that holds the only P stalls the ticker every
     * time: a late case runs again, up to ATTEMPTS times. */
    bool ok = true;
    for (size_t i = 0; i < ncases; i++) {
        if (only && only != &cases[i])
            continue;
        for (int attempt = 1;; attempt++) {
            if (run_case(&cases[i]))
                break;
            if (case_hung || attempt == ATTEMPTS) {
                ok = false;
                break;
            }
            fprintf(stderr, "io_ticks: %s: attempt %d of %d\n",
                    cases[i].name, attempt + 1, ATTEMPTS);
        }
    }
    alarm(0);
    return ok ? 0 : 1;

usage:
    fprintf(stderr, "usage: io_ticks [");
    for (size_t i = 0; i < ncases; i++)
        fprintf(stderr, "%s%s", i ? "|" : "", cases[i].name);
    fprintf(stderr, "]\n");
    return 2;
}
