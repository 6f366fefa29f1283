/* Shared part of the echo programs (echo_tcp, echo_unix, echo_pipe): 10,000
 * "connections", each a client thread and a server thread of this process
 * talking over a pair of file descriptors, all open at once.
 *
 * A connection's server echoes what it reads until EOF (echo_serve). Its
 * client, once connected, waits at a gate until every connection is open
 * and has its server; main then checks the kernel threads and opens the
 * gate. Each client sends ECHO_MSGS messages, one at a time, reads each
 * reply in full and compares it byte for byte (echo_client), then
 * half-closes its side and must read EOF: the server saw EOF and closed.
 * At the end the verified replies, the bytes sent and echoed, and the EOFs
 * seen on both sides are counted against what they must be.
 *
 * Under goshim every blocking read, write, accept and connect here parks a
 * user thread on the netpoller; 10,000 of each at once, with every
 * connection's server and client blocked at the same time, is the point.
 *
 * No signal handler is installed (SIGPIPE is ignored, so that a write to a
 * closed peer shows as EPIPE in a check rather than a silent death): no call
 * may fail with EINTR, and the checks fail if one does.
 *
 * The 10,000 connections need 20,000 file descriptors or more: RLIMIT_NOFILE
 * is raised as far as needed, and if its hard limit cannot be, the program
 * opens as many connections as fit and says so on stderr (echo_fit_nofile).
 *
 * Every wait is bounded by a watchdog thread that aborts after
 * ECHO_TIMEOUT_S with the progress counters, so a hang ends the program. */
#ifndef ECHO_H
#define ECHO_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "check.h"

#define ECHO_CONNS 10000
#define ECHO_MSGS 5
#define ECHO_MSG_MAX 96
#define ECHO_STACK (64 * 1024)
#define ECHO_TIMEOUT_S 100
/* File descriptors besides the connections': stdio, a listener, the
 * /proc/self/status that threads_now opens. */
#define ECHO_SPARE_FDS 32
/* Fewer connections than ECHO_CONNS are accepted when RLIMIT_NOFILE's hard
 * limit is too low and cannot be raised (echo_fit_nofile), down to this. */
#define ECHO_MIN_CONNS (ECHO_CONNS / 4)
/* Socket programs: the listen backlog asked for (the kernel caps it at
 * net.core.somaxconn), and how many client threads main creates ahead of
 * the acceptor. The window is below any somaxconn default (128 before
 * Linux 5.4, 4096 since), so the accept queue never fills: a full TCP
 * queue drops SYNs, which the client resends after 1 s (a slow run, not a
 * failure), and a full unix queue blocks connect. */
#define ECHO_BACKLOG 4096
#define ECHO_WINDOW 64

/* ECHO_SYS(expr): expr, a call that fails with -1 and errno, must not
 * fail; its value. (CHECK reads errno before it evaluates its condition,
 * so CHECK(call() == 0) would show the errno of an earlier call; errno_now
 * reads the errno of the thread as it is after the call.) */
#define ECHO_SYS(expr)                                                  \
    ({                                                                  \
        long echo_sys_ = (long)(expr);                                  \
        if (echo_sys_ == -1)                                            \
            check_fail_(__FILE__, __LINE__, #expr, errno_now());        \
        echo_sys_;                                                      \
    })

static const char *echo_name;
static int echo_conns; /* connections opened: ECHO_CONNS unless too few fds */
static pthread_attr_t echo_attr;
static pthread_t echo_watchdog_thread;
static pthread_t echo_clients[ECHO_CONNS], echo_servers[ECHO_CONNS];

/* The gate. The counters change under echo_mu; they are atomic so that the
 * watchdog can print them without the lock. */
static pthread_mutex_t echo_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t echo_progress = PTHREAD_COND_INITIALIZER; /* main */
static pthread_cond_t echo_gate = PTHREAD_COND_INITIALIZER;     /* clients */
static atomic_int echo_connected, echo_served, echo_go;

static atomic_long echo_replies, echo_bytes_sent, echo_bytes_echoed;
static atomic_int echo_client_eofs, echo_server_eofs;
static atomic_int echo_done;
static _Atomic(const char *) echo_phase = "starting";

/* Message seq of client id: a header naming both, so that every message
 * of the run is distinct, then 0 to 40 filler bytes, then a newline: 24 to
 * 64 bytes, of lengths that vary from one message to the next. */
static inline size_t echo_message(int id, int seq, char *buf)
{
    int n = snprintf(buf, ECHO_MSG_MAX, "client %05d message %d:", id, seq);
    CHECK(n > 0 && n < ECHO_MSG_MAX - 42);
    size_t len = (size_t)n + (size_t)((id * 7 + seq * 13) % 41);
    for (size_t i = (size_t)n; i < len; i++)
        buf[i] = (char)('a' + ((size_t)id + (size_t)seq * 3 + i) % 26);
    buf[len++] = '\n';
    return len;
}

/* The most kernel threads the watchdog saw, sampling every 10 ms from
 * start to end. */
static atomic_long echo_max_threads;

/* The thread count allowed throughout: the environment's limit plus one,
 * as a program doing I/O under goshim may have a thread blocked in the
 * netpoller besides the GOMAXPROCS+3 of check_thread_limit. No limit
 * natively. Checked at the end against the watchdog's samples and once
 * more with every connection open. */
static inline long echo_thread_limit(void)
{
    /* More Ps than CPUs: the kernel preempts Ms inside short system calls,
     * sysmon hands their Ps to new Ms, and the count grows by the calls
     * caught so. The bound is for the schedules that fit the machine. */
    const char *procs = getenv("GOMAXPROCS");
    if (procs && atol(procs) > sysconf(_SC_NPROCESSORS_ONLN))
        return -1;
    return thread_limit();
}

static inline void echo_check_thread_limit(void)
{
    long lim = echo_thread_limit();
    if (lim < 0)
        return;
    long n = threads_now();
    if (n < atomic_load(&echo_max_threads))
        n = atomic_load(&echo_max_threads);
    if (n > lim + 1) {
        fprintf(stderr, "%s: %ld kernel threads at most, "
                "limit GOSHIM_TEST_MAX_THREADS+1=%ld\n", echo_name, n,
                lim + 1);
        fflush(stderr);
        abort();
    }
}

static inline void *echo_watchdog(void *arg)
{
    int64_t deadline = now_ns() + ECHO_TIMEOUT_S * NSEC_PER_SEC;
    bool sample = echo_thread_limit() >= 0;
    while (!atomic_load(&echo_done)) {
        if (sample) {
            long n = threads_now();
            if (n > atomic_load(&echo_max_threads))
                atomic_store(&echo_max_threads, n);
        }
        if (now_ns() > deadline) {
            fprintf(stderr, "%s: watchdog: not done after %d s, %s: "
                    "%d/%d connected, %d/%d served, %ld/%d replies, "
                    "%d/%d client EOFs, %d/%d server EOFs\n",
                    echo_name, ECHO_TIMEOUT_S, atomic_load(&echo_phase),
                    atomic_load(&echo_connected), echo_conns,
                    atomic_load(&echo_served), echo_conns,
                    atomic_load(&echo_replies), echo_conns * ECHO_MSGS,
                    atomic_load(&echo_client_eofs), echo_conns,
                    atomic_load(&echo_server_eofs), echo_conns);
            fflush(stderr);
            abort();
        }
        sleep_ms(10);
    }
    return arg;
}

/* How many connections of fds_per_conn file descriptors to open: ECHO_CONNS,
 * with RLIMIT_NOFILE's soft limit raised to fit them, and the hard one too
 * if it is lower (which takes CAP_SYS_RESOURCE). Where the hard limit
 * stands in the way (a container may cap it at 20,000 and drop
 * CAP_SYS_RESOURCE even for root), as many as fit under it, with one line
 * on stderr to say so; exit with a message if not even ECHO_MIN_CONNS fit. */
static inline int echo_fit_nofile(int fds_per_conn)
{
    rlim_t need = (rlim_t)ECHO_CONNS * (rlim_t)fds_per_conn + ECHO_SPARE_FDS;
    struct rlimit rl;
    ECHO_SYS(getrlimit(RLIMIT_NOFILE, &rl));
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return ECHO_CONNS;
    struct rlimit want = { need, rl.rlim_max };
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
        want.rlim_max = need;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0)
        return ECHO_CONNS;
    int err = errno_now();
    long conns = 0;
    if (rl.rlim_max > ECHO_SPARE_FDS)
        conns = (long)((rl.rlim_max - ECHO_SPARE_FDS) / (rlim_t)fds_per_conn);
    if (conns < ECHO_MIN_CONNS || conns >= ECHO_CONNS) {
        fprintf(stderr, "%s: needs %llu open files, RLIMIT_NOFILE is %llu "
                "(hard %llu) and cannot be raised: %s\n", echo_name,
                (unsigned long long)need, (unsigned long long)rl.rlim_cur,
                (unsigned long long)rl.rlim_max, strerror(err));
        exit(1);
    }
    want.rlim_cur = rl.rlim_max;
    want.rlim_max = rl.rlim_max;
    ECHO_SYS(setrlimit(RLIMIT_NOFILE, &want));
    fprintf(stderr, "%s: %ld connections, not %d: RLIMIT_NOFILE's hard "
            "limit %llu cannot be raised to %llu (%s)\n", echo_name, conns,
            ECHO_CONNS, (unsigned long long)rl.rlim_max,
            (unsigned long long)need, strerror(err));
    return (int)conns;
}

/* Every thread of the program gets a small stack: 20,000 threads with
 * glibc's default 8 MiB would be 160 GiB of address space. */
static inline void echo_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    CHECK_RC(pthread_create(t, &echo_attr, fn, arg), 0);
}

/* Set up a program named name whose connections take fds_per_conn file
 * descriptors each, and start the watchdog. */
static inline void echo_start(const char *name, int fds_per_conn)
{
    echo_name = name;
    echo_conns = echo_fit_nofile(fds_per_conn);
    CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
    long min = sysconf(_SC_THREAD_STACK_MIN);
    size_t stack = min > ECHO_STACK ? (size_t)min : ECHO_STACK;
    CHECK_RC(pthread_attr_init(&echo_attr), 0);
    CHECK_RC(pthread_attr_setstacksize(&echo_attr, stack), 0);
    echo_spawn(&echo_watchdog_thread, echo_watchdog, NULL);
    atomic_store(&echo_phase, "opening connections");
}

static inline void echo_spawn_client(int i, void *(*fn)(void *), void *arg)
{
    echo_spawn(&echo_clients[i], fn, arg);
}

/* Start the server of one more connection, the i-th. */
static inline void echo_spawn_server(int i, void *(*fn)(void *), void *arg)
{
    echo_spawn(&echo_servers[i], fn, arg);
    CHECK_RC(pthread_mutex_lock(&echo_mu), 0);
    atomic_fetch_add(&echo_served, 1);
    CHECK_RC(pthread_cond_signal(&echo_progress), 0);
    CHECK_RC(pthread_mutex_unlock(&echo_mu), 0);
}

/* Main, before it creates client i: wait until fewer than ECHO_WINDOW of
 * the i clients created so far lack a server (are connecting, or queued on
 * the listener). */
static inline void echo_throttle(int i)
{
    CHECK_RC(pthread_mutex_lock(&echo_mu), 0);
    while (i - atomic_load(&echo_served) >= ECHO_WINDOW)
        CHECK_RC(pthread_cond_wait(&echo_progress, &echo_mu), 0);
    CHECK_RC(pthread_mutex_unlock(&echo_mu), 0);
}

/* Main: wait until every client is connected and every server started. */
static inline void echo_wait_all_open(void)
{
    CHECK_RC(pthread_mutex_lock(&echo_mu), 0);
    while (atomic_load(&echo_connected) < echo_conns ||
           atomic_load(&echo_served) < echo_conns)
        CHECK_RC(pthread_cond_wait(&echo_progress, &echo_mu), 0);
    CHECK_RC(pthread_mutex_unlock(&echo_mu), 0);
}

/* A client: count itself connected, then wait for the gate. */
static inline void echo_arrive(void)
{
    CHECK_RC(pthread_mutex_lock(&echo_mu), 0);
    if (atomic_fetch_add(&echo_connected, 1) + 1 == echo_conns)
        CHECK_RC(pthread_cond_signal(&echo_progress), 0);
    while (!atomic_load(&echo_go))
        CHECK_RC(pthread_cond_wait(&echo_gate, &echo_mu), 0);
    CHECK_RC(pthread_mutex_unlock(&echo_mu), 0);
}

static inline ssize_t echo_read(int fd, void *buf, size_t len)
{
    return ECHO_SYS(read(fd, buf, len));
}

static inline void echo_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = ECHO_SYS(write(fd, buf, len));
        CHECK(n > 0);
        buf += n;
        len -= (size_t)n;
    }
}

/* Exactly len bytes: the echo of one message may come in pieces. */
static inline void echo_read_full(int fd, char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = echo_read(fd, buf, len);
        CHECK(n > 0); /* no EOF before the whole reply */
        buf += n;
        len -= (size_t)n;
    }
}

/* Close the write side of a connection: for a socket (one fd both ways)
 * a shutdown, for a pipe pair the write end. */
static inline void echo_close_write(int rfd, int wfd)
{
    if (rfd == wfd)
        ECHO_SYS(shutdown(wfd, SHUT_WR));
    else
        ECHO_SYS(close(wfd));
}

/* Client id of a connection reading rfd and writing wfd (the same fd for a
 * socket), once connected. */
static inline void echo_client(int id, int rfd, int wfd)
{
    char msg[ECHO_MSG_MAX], reply[ECHO_MSG_MAX];
    echo_arrive();
    for (int seq = 0; seq < ECHO_MSGS; seq++) {
        size_t len = echo_message(id, seq, msg);
        echo_write_all(wfd, msg, len);
        echo_read_full(rfd, reply, len);
        CHECK(memcmp(reply, msg, len) == 0);
        atomic_fetch_add(&echo_bytes_sent, (long)len);
        atomic_fetch_add(&echo_replies, 1);
    }
    /* The server sees EOF and closes its side: nothing more comes. */
    echo_close_write(rfd, wfd);
    CHECK(echo_read(rfd, reply, sizeof reply) == 0);
    ECHO_SYS(close(rfd));
    atomic_fetch_add(&echo_client_eofs, 1);
}

/* Server of a connection: echo everything read from rfd onto wfd, until
 * EOF; then close the connection. */
static inline void echo_serve(int rfd, int wfd)
{
    char buf[256];
    ssize_t n;
    while ((n = echo_read(rfd, buf, sizeof buf)) > 0) {
        echo_write_all(wfd, buf, (size_t)n);
        atomic_fetch_add(&echo_bytes_echoed, (long)n);
    }
    if (wfd != rfd)
        ECHO_SYS(close(wfd));
    ECHO_SYS(close(rfd));
    atomic_fetch_add(&echo_server_eofs, 1);
}

/* Main, with every connection open: check the kernel threads, open the
 * gate, join every client and server, check the counts, stop the
 * watchdog. */
static inline void echo_exchange_and_check(void)
{
    echo_check_thread_limit();
    atomic_store(&echo_phase, "echoing");
    CHECK_RC(pthread_mutex_lock(&echo_mu), 0);
    atomic_store(&echo_go, 1);
    CHECK_RC(pthread_cond_broadcast(&echo_gate), 0);
    CHECK_RC(pthread_mutex_unlock(&echo_mu), 0);

    for (int i = 0; i < echo_conns; i++)
        CHECK_RC(pthread_join(echo_clients[i], NULL), 0);
    for (int i = 0; i < echo_conns; i++)
        CHECK_RC(pthread_join(echo_servers[i], NULL), 0);

    long want_bytes = 0;
    char msg[ECHO_MSG_MAX];
    for (int id = 0; id < echo_conns; id++)
        for (int seq = 0; seq < ECHO_MSGS; seq++)
            want_bytes += (long)echo_message(id, seq, msg);
    CHECK(atomic_load(&echo_connected) == echo_conns);
    CHECK(atomic_load(&echo_served) == echo_conns);
    CHECK(atomic_load(&echo_replies) == (long)echo_conns * ECHO_MSGS);
    CHECK(atomic_load(&echo_bytes_sent) == want_bytes);
    CHECK(atomic_load(&echo_bytes_echoed) == want_bytes);
    CHECK(atomic_load(&echo_client_eofs) == echo_conns);
    CHECK(atomic_load(&echo_server_eofs) == echo_conns);

    atomic_store(&echo_done, 1);
    CHECK_RC(pthread_join(echo_watchdog_thread, NULL), 0);
    echo_check_thread_limit();
    CHECK_RC(pthread_attr_destroy(&echo_attr), 0);
}

/* Stream sockets (echo_tcp, echo_unix): the program binds a listener and
 * fills in echo_addr; echo_sock_open_all does the rest of the opening. */
static struct sockaddr_storage echo_addr;
static socklen_t echo_addrlen;

static inline void *echo_sock_client(void *arg)
{
    int fd = (int)ECHO_SYS(socket(echo_addr.ss_family, SOCK_STREAM, 0));
    /* Blocking: returns once the listener has queued the connection. */
    ECHO_SYS(connect(fd, (const struct sockaddr *)&echo_addr, echo_addrlen));
    echo_client((int)(intptr_t)arg, fd, fd);
    return NULL;
}

static inline void *echo_sock_server(void *arg)
{
    int fd = (int)(intptr_t)arg;
    echo_serve(fd, fd);
    return NULL;
}

/* One thread accepts every connection and starts its server thread. */
static inline void *echo_acceptor(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (int i = 0; i < echo_conns; i++) {
        int fd = (int)ECHO_SYS(accept(lfd, NULL, NULL));
        echo_spawn_server(i, echo_sock_server, (void *)(intptr_t)fd);
    }
    return NULL;
}

/* Listen on lfd (bound to echo_addr), open every connection, then close
 * the listener: the connections outlive it. */
static inline void echo_sock_open_all(int lfd)
{
    pthread_t acceptor;
    ECHO_SYS(listen(lfd, ECHO_BACKLOG));
    echo_spawn(&acceptor, echo_acceptor, (void *)(intptr_t)lfd);
    for (int i = 0; i < echo_conns; i++) {
        echo_throttle(i);
        echo_spawn_client(i, echo_sock_client, (void *)(intptr_t)i);
    }
    echo_wait_all_open();
    CHECK_RC(pthread_join(acceptor, NULL), 0);
    ECHO_SYS(close(lfd));
}

#endif /* ECHO_H */
