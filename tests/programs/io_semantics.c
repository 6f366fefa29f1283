/* Blocking and non-blocking I/O on pipes and sockets: return values, error
 * numbers and timings as Linux and glibc 2.36 give them natively.  Under
 * goshim every wait here parks a user thread on the netpoller, so each
 * result below is goshim's reconstruction of the kernel's blocking call.
 * - SO_RCVTIMEO: recv, read, readv, recvmsg and accept wait the timeout,
 *   then -1 with EAGAIN; data arriving first ends the wait; the timeout is
 *   per call.
 * - poll: an idle fd times out (0); poll(NULL, 0, ms) sleeps; a write from
 *   another thread wakes it (POLLIN); POLLNVAL for a closed fd, negative
 *   fds ignored; POLLHUP when the last writer goes; POLLOUT|POLLERR for a
 *   pipe without readers.
 * - select over 200 pipes: one written by another thread is the only bit
 *   left set; Linux writes the time left back into the timeval; a timeout
 *   clears the sets; zero timeout polls; EINVAL for a negative timeval,
 *   EBADF for a closed fd (sets untouched either way); select(0, ...)
 *   sleeps.
 * - epoll_wait in a thread running an echo loop over 16 socketpairs, 16,000
 *   round trips; a timeout returns 0; EINVAL for maxevents <= 0 or a fd
 *   that is no epoll instance, EBADF for a closed one.
 * - A regular file the program set O_NONBLOCK on, its pages dropped from
 *   the page cache: an 8 MiB write goes in whole, the reads wait for the
 *   disk and never fail with EAGAIN.
 * - O_NONBLOCK, however set (SOCK_NONBLOCK, accept4, fcntl, FIONBIO), gives
 *   EAGAIN at once and shows in F_GETFL exactly while it is set; so does
 *   MSG_DONTWAIT on a blocking socket; a non-blocking write into a pipe
 *   fills it and then gets EAGAIN; a blocking fd never shows O_NONBLOCK,
 *   whatever was done on it, nor to another thread during 3,000 blocking
 *   connects.
 * - Blocking calls complete: a 4 MiB write into a socketpair and into a
 *   pipe read slowly in 4 KiB pieces; MSG_WAITALL collects 1 MiB sent in
 *   1000-byte pieces, and stops short at EOF; connect gives ECONNREFUSED
 *   or 0; EPIPE (SIGPIPE ignored), also for a writer blocked when its peer
 *   closes; EBADF, ENOTSOCK (accept on a pipe too: no waiting for it to
 *   become readable); a blocked reader sees 0 at the peer's shutdown.
 * - 10,000 one-byte ping-pongs between two threads over two pipes; 64
 *   readers blocked at once use no kernel thread each.
 * - Blocking reads of an eventfd and a timerfd wait for the write and the
 *   expiry (under GOMAXPROCS=1 the writer could not run if the reader
 *   held the only kernel thread).
 * Signals, EINTR and cancellation are not exercised. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "check.h"

#define SLACK_MS 400 /* tolerance above the asked duration: the machine
                        may be busy with other tests (natively, 320 ms
                        late has been seen at a load average of 15 on two
                        CPUs) */
#define TIMEO_MS 100 /* SO_RCVTIMEO, and poll's idle timeout */
#define DELAY_MS 50  /* a helper thread's delay before it acts, and the
                        shorter timeouts */

#define BIG (4 << 20)        /* bytes of the large blocking writes */
#define CHUNK 4096           /* the slow reader's read size */
#define WAITALL (1 << 20)    /* bytes of the MSG_WAITALL receive */
#define PIECE 1000           /* the MSG_WAITALL sender's send size */
#define NPIPES 200           /* pipes select watches */
#define READY_PIPE 137       /* the one written to */
#define NPAIRS 16            /* socketpairs of the epoll loop */
#define ROUNDS 1000          /* echo rounds over all NPAIRS */
#define PINGPONGS 10000
#define NREADERS 64          /* readers blocked at once */
#define NCONNECTS 3000       /* connects watched by another thread */
#define WATCHDOG_MS 15000    /* a run takes about 2 s */

/* The test running, for the watchdog's message. */
static _Atomic(const char *) stage = "start";

/* A wait that never ends is a failure with a message, not a hang until
 * the harness's timeout. */
static void *watchdog_main(void *arg)
{
    sleep_ms(WATCHDOG_MS);
    fprintf(stderr, "io_semantics: %s still running after %d ms\n",
            atomic_load(&stage), WATCHDOG_MS);
    fflush(stderr);
    abort();
    return arg;
}

static uint8_t pattern(size_t i)
{
    /* A multiplicative hash of the offset, not periodic in any size used
     * here: a piece lost, repeated or moved shows. */
    return (uint8_t)((uint32_t)i * 2654435761u >> 24);
}

static int nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    return (fl & O_NONBLOCK) != 0;
}

static void set_nonblocking(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    CHECK(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0);
}

static void set_rcvtimeo(int fd, long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
}

/* ---- sockets ---- */

/* A TCP socket listening on 127.0.0.1 at a port the kernel picks. */
static int tcp_listener(struct sockaddr_in *addr)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(l >= 0);
    *addr = (struct sockaddr_in){ .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK(bind(l, (struct sockaddr *)addr, sizeof *addr) == 0);
    CHECK(listen(l, 16) == 0);
    socklen_t len = sizeof *addr;
    CHECK(getsockname(l, (struct sockaddr *)addr, &len) == 0);
    return l;
}

/* A connected TCP pair over loopback: fds[0] the client's (made with
 * cflags), fds[1] accepted (with aflags). */
static void tcp_pair(int fds[2], int cflags, int aflags)
{
    struct sockaddr_in addr;
    int l = tcp_listener(&addr);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | cflags, 0);
    CHECK(c >= 0);
    if (cflags & SOCK_NONBLOCK) {
        errno_clear();
        int rc = connect(c, (struct sockaddr *)&addr, sizeof addr);
        CHECK(rc == 0 || errno_now() == EINPROGRESS);
        struct pollfd p = { .fd = c, .events = POLLOUT };
        CHECK(poll(&p, 1, 10000) == 1);
        CHECK(p.revents == POLLOUT);
        int err = -1;
        socklen_t len = sizeof err;
        CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
        CHECK(err == 0);
    } else {
        CHECK(connect(c, (struct sockaddr *)&addr, sizeof addr) == 0);
    }
    int s = accept4(l, NULL, NULL, SOCK_CLOEXEC | aflags);
    CHECK(s >= 0);
    CHECK(close(l) == 0);
    fds[0] = c;
    fds[1] = s;
}

static void close_pair(int fds[2])
{
    CHECK(close(fds[0]) == 0);
    CHECK(close(fds[1]) == 0);
}

/* ---- a thread that acts on a fd a while after the waiter is about to
 * wait ---- */

enum later_what { LATER_WRITE, LATER_CLOSE, LATER_SHUT_WR, LATER_EVENT };

struct later {
    pthread_barrier_t bar;
    pthread_t thread;
    enum later_what what;
    int fd;
    long ms;
};

static void *later_main(void *arg)
{
    struct later *l = arg;
    int rc = pthread_barrier_wait(&l->bar);
    CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
    /* The wait under test is the waiter's: this sleep is what it waits
     * for, not how the two threads are ordered. */
    sleep_ms(l->ms);
    switch (l->what) {
    case LATER_WRITE:
        CHECK(write(l->fd, "x", 1) == 1);
        break;
    case LATER_CLOSE:
        CHECK(close(l->fd) == 0);
        break;
    case LATER_SHUT_WR:
        CHECK(shutdown(l->fd, SHUT_WR) == 0);
        break;
    case LATER_EVENT: {
        uint64_t one = 1;
        CHECK(write(l->fd, &one, sizeof one) == (ssize_t)sizeof one);
        break;
    }
    }
    return NULL;
}

static void later_start(struct later *l, enum later_what what, int fd, long ms)
{
    l->what = what;
    l->fd = fd;
    l->ms = ms;
    CHECK_RC(pthread_barrier_init(&l->bar, NULL, 2), 0);
    CHECK_RC(pthread_create(&l->thread, NULL, later_main, l), 0);
}

/* Releases the helper: its ms start now, right before the caller's wait. */
static void later_arm(struct later *l)
{
    int rc = pthread_barrier_wait(&l->bar);
    CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
}

static void later_join(struct later *l)
{
    CHECK_RC(pthread_join(l->thread, NULL), 0);
    CHECK_RC(pthread_barrier_destroy(&l->bar), 0);
}

/* ---- 1. SO_RCVTIMEO ---- */

static void test_rcvtimeo(void)
{
    int tp[2], up[2];
    char c;
    tcp_pair(tp, 0, 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, up) == 0);
    set_rcvtimeo(tp[1], TIMEO_MS);
    set_rcvtimeo(up[1], TIMEO_MS);

    int64_t t0 = now_ns();
    CHECK_ERRNO(recv(tp[1], &c, 1, 0), EAGAIN);
    CHECK_ELAPSED(t0, TIMEO_MS - 1, TIMEO_MS + SLACK_MS);
    CHECK(EWOULDBLOCK == EAGAIN);

    t0 = now_ns();
    CHECK_ERRNO(read(tp[1], &c, 1), EAGAIN);
    CHECK_ELAPSED(t0, TIMEO_MS - 1, TIMEO_MS + SLACK_MS);

    struct iovec iov = { &c, 1 };
    t0 = now_ns();
    CHECK_ERRNO(readv(up[1], &iov, 1), EAGAIN);
    CHECK_ELAPSED(t0, TIMEO_MS - 1, TIMEO_MS + SLACK_MS);

    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    t0 = now_ns();
    CHECK_ERRNO(recvmsg(up[1], &m, 0), EAGAIN);
    CHECK_ELAPSED(t0, TIMEO_MS - 1, TIMEO_MS + SLACK_MS);

    /* The timeout bounds each call: data already there comes at once. */
    CHECK(send(tp[0], "a", 1, 0) == 1);
    t0 = now_ns();
    CHECK(recv(tp[1], &c, 1, 0) == 1 && c == 'a');
    CHECK_ELAPSED(t0, 0, SLACK_MS);

    /* Data arriving during the wait ends it. */
    set_rcvtimeo(tp[1], 5000);
    struct later l;
    later_start(&l, LATER_WRITE, tp[0], DELAY_MS);
    t0 = now_ns();
    later_arm(&l);
    CHECK(recv(tp[1], &c, 1, 0) == 1 && c == 'x');
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    later_join(&l);

    /* accept on a listener with SO_RCVTIMEO: EAGAIN too. */
    struct sockaddr_in addr;
    int lfd = tcp_listener(&addr);
    set_rcvtimeo(lfd, TIMEO_MS);
    t0 = now_ns();
    CHECK_ERRNO(accept(lfd, NULL, NULL), EAGAIN);
    CHECK_ELAPSED(t0, TIMEO_MS - 1, TIMEO_MS + SLACK_MS);
    int c2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c2 >= 0);
    CHECK(connect(c2, (struct sockaddr *)&addr, sizeof addr) == 0);
    t0 = now_ns();
    int s2 = accept(lfd, NULL, NULL);
    CHECK(s2 >= 0);
    CHECK_ELAPSED(t0, 0, SLACK_MS);

    int all[] = { tp[0], tp[1], up[0], up[1], lfd, c2, s2 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(!nonblocking(all[i]));
        CHECK(close(all[i]) == 0);
    }
}

/* ---- 2. poll ---- */

static void test_poll(void)
{
    int p[2];
    char c;
    CHECK(pipe2(p, O_CLOEXEC) == 0);

    struct pollfd pfd = { .fd = p[0], .events = POLLIN, .revents = 77 };
    int64_t t0 = now_ns();
    CHECK(poll(&pfd, 1, TIMEO_MS) == 0);
    CHECK_ELAPSED(t0, TIMEO_MS, TIMEO_MS + SLACK_MS);
    CHECK(pfd.revents == 0);

    t0 = now_ns();
    CHECK(poll(NULL, 0, DELAY_MS) == 0);
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);

    /* A negative fd is skipped, its revents cleared. */
    struct pollfd neg = { .fd = -1, .events = POLLIN, .revents = 77 };
    t0 = now_ns();
    CHECK(poll(&neg, 1, DELAY_MS) == 0);
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    CHECK(neg.revents == 0);

    struct later l;
    later_start(&l, LATER_WRITE, p[1], DELAY_MS);
    pfd.revents = 77;
    t0 = now_ns();
    later_arm(&l);
    CHECK(poll(&pfd, 1, 10000) == 1);
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    CHECK(pfd.revents == POLLIN);
    later_join(&l);
    CHECK(read(p[0], &c, 1) == 1 && c == 'x');

    /* A closed fd is reported, counted, and does not wait. */
    int closed = dup(p[0]);
    CHECK(closed >= 0);
    CHECK(close(closed) == 0);
    struct pollfd two[2] = {
        { .fd = closed, .events = POLLIN, .revents = 0 },
        { .fd = p[0], .events = POLLIN, .revents = 77 },
    };
    t0 = now_ns();
    CHECK(poll(two, 2, 10000) == 1);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(two[0].revents == POLLNVAL);
    CHECK(two[1].revents == 0);

    /* The write end ready at once. */
    struct pollfd w = { .fd = p[1], .events = POLLOUT };
    CHECK(poll(&w, 1, 10000) == 1);
    CHECK(w.revents == POLLOUT);

    /* The last writer closing wakes a waiting reader with POLLHUP alone:
     * no data, so no POLLIN. */
    later_start(&l, LATER_CLOSE, p[1], DELAY_MS);
    pfd.revents = 77;
    t0 = now_ns();
    later_arm(&l);
    CHECK(poll(&pfd, 1, 10000) == 1);
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    CHECK(pfd.revents == POLLHUP);
    later_join(&l);
    CHECK(read(p[0], &c, 1) == 0);
    CHECK(close(p[0]) == 0);

    /* A pipe without readers: writable, in error. */
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(close(p[0]) == 0);
    w = (struct pollfd){ .fd = p[1], .events = POLLOUT };
    CHECK(poll(&w, 1, 10000) == 1);
    CHECK(w.revents == (POLLOUT | POLLERR));
    CHECK(close(p[1]) == 0);
}

/* ---- 3. select ---- */

/* A pipe per slot, all with fds below FD_SETSIZE. */
static int sel_pipes[NPIPES][2];

static void open_pipes(int *nfds)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < 512 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    if (rl.rlim_cur < 512) {
        fprintf(stderr, "io_semantics: RLIMIT_NOFILE is %lu, below the 512 "
                "the select test needs\n", (unsigned long)rl.rlim_cur);
        abort();
    }
    *nfds = 0;
    for (int i = 0; i < NPIPES; i++) {
        CHECK(pipe2(sel_pipes[i], O_CLOEXEC) == 0);
        CHECK(sel_pipes[i][0] < FD_SETSIZE && sel_pipes[i][1] < FD_SETSIZE);
        if (sel_pipes[i][0] + 1 > *nfds)
            *nfds = sel_pipes[i][0] + 1;
        if (sel_pipes[i][1] + 1 > *nfds)
            *nfds = sel_pipes[i][1] + 1;
    }
}

static void all_read_ends(fd_set *s)
{
    FD_ZERO(s);
    for (int i = 0; i < NPIPES; i++)
        FD_SET(sel_pipes[i][0], s);
}

static int set_count(const fd_set *s, int nfds)
{
    int n = 0;
    for (int fd = 0; fd < nfds; fd++)
        n += FD_ISSET(fd, s) != 0;
    return n;
}

static int64_t tv_us(const struct timeval *tv)
{
    return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static void test_select(void)
{
    int nfds;
    char c;
    open_pipes(&nfds);
    int k = sel_pipes[READY_PIPE][0];

    fd_set rd, saved;
    all_read_ends(&rd);
    struct later l;
    later_start(&l, LATER_WRITE, sel_pipes[READY_PIPE][1], DELAY_MS);
    struct timeval tv = { 5, 0 };
    int64_t t0 = now_ns();
    later_arm(&l);
    int64_t t1 = now_ns();
    CHECK(select(nfds, &rd, NULL, NULL, &tv) == 1);
    int64_t sel_us = (now_ns() - t1) / 1000;
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    later_join(&l);
    CHECK(set_count(&rd, nfds) == 1);
    CHECK(FD_ISSET(k, &rd));
    /* Linux's select writes back the time left: 5 s less the call's own
     * time, which is at most sel_us (and may be well under DELAY_MS, if
     * this thread was descheduled between the barrier and the call). */
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK(tv_us(&tv) <= 5000000);
    CHECK(tv_us(&tv) >= 5000000 - sel_us - 1);

    /* Zero timeout: a poll of the sets, which come back cleared when
     * nothing is ready, and no time written back but zero. */
    CHECK(read(sel_pipes[READY_PIPE][0], &c, 1) == 1 && c == 'x');
    all_read_ends(&rd);
    fd_set wr;
    FD_ZERO(&wr);
    tv = (struct timeval){ 0, 0 };
    t0 = now_ns();
    CHECK(select(nfds, &rd, &wr, NULL, &tv) == 0);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(set_count(&rd, nfds) == 0);
    CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);

    /* A timeout clears the sets as well, and leaves zero time. */
    all_read_ends(&rd);
    tv = (struct timeval){ 0, DELAY_MS * 1000 };
    t0 = now_ns();
    CHECK(select(nfds, &rd, NULL, NULL, &tv) == 0);
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    CHECK(set_count(&rd, nfds) == 0);
    CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);

    /* Read and write sets together: only the write end is ready. */
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(sel_pipes[5][0], &rd);
    FD_SET(sel_pipes[5][1], &wr);
    tv = (struct timeval){ 5, 0 };
    CHECK(select(nfds, &rd, &wr, NULL, &tv) == 1);
    CHECK(set_count(&rd, nfds) == 0);
    CHECK(set_count(&wr, nfds) == 1 && FD_ISSET(sel_pipes[5][1], &wr));

    /* Bad timevals: EINVAL at once, the sets as they were. */
    static const struct timeval bad[] = { { 0, -1 }, { 1, -1 }, { -1, 0 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        all_read_ends(&rd);
        saved = rd;
        tv = bad[i];
        t0 = now_ns();
        CHECK_ERRNO(select(nfds, &rd, NULL, NULL, &tv), EINVAL);
        CHECK_ELAPSED(t0, 0, SLACK_MS);
        CHECK(memcmp(&rd, &saved, sizeof rd) == 0);
    }

    /* A closed fd: EBADF at once, the sets untouched. */
    int closed = dup(sel_pipes[0][0]);
    CHECK(closed >= 0 && closed < FD_SETSIZE);
    CHECK(close(closed) == 0);
    all_read_ends(&rd);
    FD_SET(closed, &rd);
    saved = rd;
    tv = (struct timeval){ 5, 0 };
    int n = nfds > closed ? nfds : closed + 1;
    t0 = now_ns();
    CHECK_ERRNO(select(n, &rd, NULL, NULL, &tv), EBADF);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(memcmp(&rd, &saved, sizeof rd) == 0);

    /* No fds: a sleep. */
    tv = (struct timeval){ 0, DELAY_MS * 1000 };
    t0 = now_ns();
    CHECK(select(0, NULL, NULL, NULL, &tv) == 0);
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);

    for (int i = 0; i < NPIPES; i++)
        close_pair(sel_pipes[i]);
}

/* ---- 4. epoll_wait in a thread ---- */

struct echo_loop {
    int epfd;
    int fds[NPAIRS]; /* the loop's ends */
    long echoed;
};

/* libevent's shape: one thread waits on an epoll instance and serves
 * whichever fd is ready, until every peer has closed. */
static void *echo_loop_main(void *arg)
{
    struct echo_loop *el = arg;
    int open = NPAIRS;
    while (open > 0) {
        struct epoll_event evs[NPAIRS];
        int n = epoll_wait(el->epfd, evs, NPAIRS, -1);
        CHECK(n >= 1 && n <= NPAIRS);
        for (int i = 0; i < n; i++) {
            CHECK(evs[i].data.u32 < NPAIRS);
            CHECK((evs[i].events & EPOLLIN) != 0);
            int fd = el->fds[evs[i].data.u32];
            char c;
            ssize_t r = read(fd, &c, 1);
            if (r == 1) {
                CHECK(write(fd, &c, 1) == 1);
                el->echoed++;
                continue;
            }
            CHECK(r == 0);
            CHECK(epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL) == 0);
            CHECK(close(fd) == 0);
            open--;
        }
    }
    return NULL;
}

static void test_epoll(void)
{
    struct echo_loop el = { .echoed = 0 };
    int mine[NPAIRS];
    el.epfd = epoll_create1(EPOLL_CLOEXEC);
    CHECK(el.epfd >= 0);
    for (int i = 0; i < NPAIRS; i++) {
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        mine[i] = sv[0];
        el.fds[i] = sv[1];
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        CHECK(epoll_ctl(el.epfd, EPOLL_CTL_ADD, sv[1], &ev) == 0);
    }
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, echo_loop_main, &el), 0);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NPAIRS; i++) {
            char b = (char)pattern((size_t)(r * NPAIRS + i)), got = 0;
            CHECK(write(mine[i], &b, 1) == 1);
            CHECK(read(mine[i], &got, 1) == 1);
            CHECK(got == b);
        }
    }
    for (int i = 0; i < NPAIRS; i++)
        CHECK(close(mine[i]) == 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(el.echoed == (long)ROUNDS * NPAIRS);

    /* Timeouts and errors, on an instance watching an idle pipe. */
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 };
    CHECK(epoll_ctl(el.epfd, EPOLL_CTL_ADD, p[0], &ev) == 0);
    struct epoll_event evs[4];
    int64_t t0 = now_ns();
    CHECK(epoll_wait(el.epfd, evs, 4, DELAY_MS) == 0);
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);

    /* volatile: a constant -1 is a compile-time warning, the call is
     * what is tested. */
    volatile int neg_max = -1;
    t0 = now_ns();
    CHECK_ERRNO(epoll_wait(el.epfd, evs, 0, 1000), EINVAL);
    CHECK_ERRNO(epoll_wait(el.epfd, evs, neg_max, 1000), EINVAL);
    CHECK_ERRNO(epoll_wait(p[0], evs, 4, 1000), EINVAL);
    int closed = dup(el.epfd);
    CHECK(closed >= 0);
    CHECK(close(closed) == 0);
    CHECK_ERRNO(epoll_wait(closed, evs, 4, 1000), EBADF);
    CHECK_ELAPSED(t0, 0, SLACK_MS);

    /* Ready at once once the pipe has data. */
    CHECK(write(p[1], "e", 1) == 1);
    CHECK(epoll_wait(el.epfd, evs, 4, 10000) == 1);
    CHECK(evs[0].events == EPOLLIN && evs[0].data.u32 == 7);
    close_pair(p);
    CHECK(close(el.epfd) == 0);
}

/* ---- 5. non-blocking fds ---- */

static void *write_later_main(void *arg)
{
    sleep_ms(DELAY_MS);
    CHECK(write((int)(intptr_t)arg, "w", 1) == 1);
    return NULL;
}

static void test_nonblocking(void)
{
    char buf[PIPE_BUF];
    int tp[2];

    /* SOCK_NONBLOCK at creation, and accept4's. */
    tcp_pair(tp, SOCK_NONBLOCK, SOCK_NONBLOCK);
    CHECK(nonblocking(tp[0]) && nonblocking(tp[1]));
    int64_t t0 = now_ns();
    CHECK_ERRNO(recv(tp[0], buf, 1, 0), EAGAIN);
    CHECK_ERRNO(recv(tp[1], buf, 1, 0), EAGAIN);
    CHECK_ERRNO(read(tp[1], buf, 1), EAGAIN);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(nonblocking(tp[0]) && nonblocking(tp[1]));
    CHECK(send(tp[0], "n", 1, 0) == 1);
    struct pollfd pfd = { .fd = tp[1], .events = POLLIN };
    CHECK(poll(&pfd, 1, 10000) == 1 && pfd.revents == POLLIN);
    CHECK(recv(tp[1], buf, sizeof buf, 0) == 1 && buf[0] == 'n');
    CHECK_ERRNO(recv(tp[1], buf, 1, 0), EAGAIN);
    close_pair(tp);

    /* A non-blocking listener with nothing pending. */
    struct sockaddr_in addr;
    int lfd = tcp_listener(&addr);
    set_nonblocking(lfd, 1);
    t0 = now_ns();
    CHECK_ERRNO(accept(lfd, NULL, NULL), EAGAIN);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(close(lfd) == 0);

    /* fcntl on a blocking pipe, then ioctl(FIONBIO): the read follows
     * the flag, and F_GETFL shows it exactly while it is set. */
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(!nonblocking(p[0]));
    set_nonblocking(p[0], 1);
    CHECK(nonblocking(p[0]));
    t0 = now_ns();
    CHECK_ERRNO(read(p[0], buf, 1), EAGAIN);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(nonblocking(p[0]));
    set_nonblocking(p[0], 0);
    CHECK(!nonblocking(p[0]));

    int on = 1, off = 0;
    CHECK(ioctl(p[0], FIONBIO, &on) == 0);
    CHECK(nonblocking(p[0]));
    t0 = now_ns();
    CHECK_ERRNO(read(p[0], buf, 1), EAGAIN);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(ioctl(p[0], FIONBIO, &off) == 0);
    CHECK(!nonblocking(p[0]));
    /* Blocking again: the read waits for the writer rather than fail. */
    pthread_t t;
    t0 = now_ns();
    CHECK_RC(pthread_create(&t, NULL, write_later_main,
                            (void *)(intptr_t)p[1]), 0);
    CHECK(read(p[0], buf, 1) == 1 && buf[0] == 'w');
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(!nonblocking(p[0]));

    /* MSG_DONTWAIT on a blocking socket: this call only. */
    tcp_pair(tp, 0, 0);
    t0 = now_ns();
    CHECK_ERRNO(recv(tp[1], buf, 1, MSG_DONTWAIT), EAGAIN);
    CHECK_ERRNO(recv(tp[0], buf, 1, MSG_DONTWAIT), EAGAIN);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(!nonblocking(tp[0]) && !nonblocking(tp[1]));
    CHECK(send(tp[0], "d", 1, MSG_DONTWAIT) == 1);
    CHECK(recv(tp[1], buf, 1, 0) == 1 && buf[0] == 'd');
    CHECK(!nonblocking(tp[0]) && !nonblocking(tp[1]));
    close_pair(tp);

    /* A non-blocking write end: a write larger than the pipe is cut
     * short, then the full pipe answers EAGAIN, even to a write of
     * PIPE_BUF (which must go whole or not at all). */
    set_nonblocking(p[1], 1);
    size_t big = 1 << 20;
    uint8_t *src = malloc(big);
    CHECK(src != NULL);
    for (size_t i = 0; i < big; i++)
        src[i] = pattern(i);
    ssize_t w = write(p[1], src, big);
    CHECK(w > 0 && (size_t)w < big);
    size_t in_pipe = (size_t)w;
    for (;;) {
        errno_clear();
        ssize_t r = write(p[1], src + in_pipe, 1);
        if (r < 0) {
            CHECK(errno_now() == EAGAIN);
            break;
        }
        CHECK(r == 1);
        in_pipe++;
        CHECK(in_pipe < big);
    }
    t0 = now_ns();
    CHECK_ERRNO(write(p[1], src, PIPE_BUF), EAGAIN);
    CHECK_ERRNO(write(p[1], src, 1), EAGAIN);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(nonblocking(p[1]) && !nonblocking(p[0]));
    /* Everything accepted is in the pipe, in order. */
    uint8_t *dst = malloc(in_pipe);
    CHECK(dst != NULL);
    size_t got = 0;
    while (got < in_pipe) {
        ssize_t r = read(p[0], dst + got, in_pipe - got);
        CHECK(r > 0);
        got += (size_t)r;
    }
    CHECK(memcmp(dst, src, in_pipe) == 0);
    set_nonblocking(p[0], 1);
    CHECK_ERRNO(read(p[0], dst, 1), EAGAIN);
    free(dst);
    free(src);
    close_pair(p);
}

/* O_NONBLOCK is the file's, shared by every thread: a blocking connect
 * must not show it to another thread even for the length of the call. */
static atomic_llong watched = -1; /* connect number << 32 | fd, or -1 */
static atomic_int watch_stop;
static atomic_long nonblock_seen;

static void *flag_watcher_main(void *arg)
{
    unsigned looks = 0;
    while (!atomic_load(&watch_stop)) {
        long long w = atomic_load(&watched);
        if (w >= 0) {
            int fl = fcntl((int)(w & 0xffffffff), F_GETFL);
            /* Counted only if that connect was still running: the fd was
             * the connecting socket, not a later file given its number. */
            if (fl >= 0 && (fl & O_NONBLOCK) && atomic_load(&watched) == w)
                atomic_fetch_add(&nonblock_seen, 1);
        }
        /* Now and then only, so that the looks come thick while a
         * connect runs on another processor; with one processor and no
         * preemption, main still gets its turn. */
        if (++looks % 64 == 0)
            sched_yield();
    }
    return arg;
}

static void test_connect_flags(void)
{
    /* Unix sockets connect without waiting, many per millisecond: the
     * watcher sees each connect's whole duration many times over. */
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(lfd >= 0);
    CHECK(bind(lfd, (struct sockaddr *)&addr, sizeof(sa_family_t)) == 0);
    CHECK(listen(lfd, 16) == 0);
    socklen_t alen = sizeof addr;
    CHECK(getsockname(lfd, (struct sockaddr *)&addr, &alen) == 0);

    atomic_store(&watch_stop, 0);
    atomic_store(&nonblock_seen, 0);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, flag_watcher_main, NULL), 0);
    for (int i = 0; i < NCONNECTS; i++) {
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(c >= 0);
        atomic_store(&watched, (long long)i << 32 | c);
        CHECK(connect(c, (struct sockaddr *)&addr, alen) == 0);
        atomic_store(&watched, -1);
        int s = accept(lfd, NULL, NULL);
        CHECK(s >= 0);
        CHECK(!nonblocking(c) && !nonblocking(s));
        CHECK(close(s) == 0);
        CHECK(close(c) == 0);
    }
    atomic_store(&watch_stop, 1);
    CHECK_RC(pthread_join(t, NULL), 0);
    long seen = atomic_load(&nonblock_seen);
    if (seen != 0)
        fprintf(stderr, "io_semantics: another thread saw O_NONBLOCK %ld "
                "times on sockets in a blocking connect\n", seen);
    CHECK(seen == 0);
    CHECK(close(lfd) == 0);
}

/* ---- 6. blocking calls complete ---- */

struct slow_reader {
    int fd;
    size_t want;
    size_t got;
};

/* Reads in CHUNK pieces, checking the pattern, until want bytes or EOF. */
static void *slow_reader_main(void *arg)
{
    struct slow_reader *sr = arg;
    uint8_t buf[CHUNK];
    unsigned reads = 0;
    while (sr->got < sr->want) {
        ssize_t r = read(sr->fd, buf, sizeof buf);
        CHECK(r >= 0);
        if (r == 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            CHECK(buf[i] == pattern(sr->got + (size_t)i));
        sr->got += (size_t)r;
        /* Slower than the writer, so that it finds the buffer full and
         * has to wait for room again and again. */
        if (++reads % 64 == 0)
            sleep_ms(1);
    }
    return NULL;
}

static void big_write(int wfd, int rfd, const uint8_t *src)
{
    struct slow_reader sr = { rfd, BIG, 0 };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, slow_reader_main, &sr), 0);
    CHECK(write(wfd, src, BIG) == BIG);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(sr.got == BIG);
    CHECK(!nonblocking(wfd) && !nonblocking(rfd));
}

struct piece_writer {
    int fd;
    const uint8_t *src;
    size_t n;
};

static void *piece_writer_main(void *arg)
{
    struct piece_writer *pw = arg;
    for (size_t off = 0; off < pw->n; off += PIECE) {
        size_t len = pw->n - off < PIECE ? pw->n - off : PIECE;
        CHECK(send(pw->fd, pw->src + off, len, 0) == (ssize_t)len);
    }
    return NULL;
}

struct blocked_writer {
    pthread_barrier_t bar;
    int fd;
    const uint8_t *src;
    ssize_t ret;
    int err;
};

static void *blocked_writer_main(void *arg)
{
    struct blocked_writer *bw = arg;
    int rc = pthread_barrier_wait(&bw->bar);
    CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
    errno_clear();
    bw->ret = write(bw->fd, bw->src, BIG);
    bw->err = errno_now();
    return NULL;
}

static void test_blocking(void)
{
    CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
    uint8_t *src = malloc(BIG), *dst = malloc(WAITALL);
    CHECK(src != NULL && dst != NULL);
    for (size_t i = 0; i < BIG; i++)
        src[i] = pattern(i);

    int sv[2], p[2], tp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    big_write(sv[0], sv[1], src);
    close_pair(sv);
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    big_write(p[1], p[0], src);
    close_pair(p);

    /* MSG_WAITALL gathers the pieces into one receive. */
    tcp_pair(tp, 0, 0);
    struct piece_writer pw = { tp[0], src, WAITALL };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, piece_writer_main, &pw), 0);
    CHECK(recv(tp[1], dst, WAITALL, MSG_WAITALL) == WAITALL);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK(memcmp(dst, src, WAITALL) == 0);
    /* ... and stops short at EOF. */
    CHECK(send(tp[0], src, 500, 0) == 500);
    CHECK(shutdown(tp[0], SHUT_WR) == 0);
    CHECK(recv(tp[1], dst, 1000, MSG_WAITALL) == 500);
    CHECK(memcmp(dst, src, 500) == 0);
    CHECK(recv(tp[1], dst, 1000, MSG_WAITALL) == 0);
    /* A write after the own side's shutdown: EPIPE. */
    CHECK_ERRNO(write(tp[0], src, 1), EPIPE);
    CHECK_ERRNO(send(tp[0], src, 1, 0), EPIPE);
    CHECK(!nonblocking(tp[0]) && !nonblocking(tp[1]));
    close_pair(tp);

    /* A port bound but not listening refuses; a listening one accepts. */
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int bound = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(bound >= 0);
    CHECK(bind(bound, (struct sockaddr *)&addr, sizeof addr) == 0);
    socklen_t alen = sizeof addr;
    CHECK(getsockname(bound, (struct sockaddr *)&addr, &alen) == 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c >= 0);
    int64_t t0 = now_ns();
    CHECK_ERRNO(connect(c, (struct sockaddr *)&addr, sizeof addr),
                ECONNREFUSED);
    CHECK_ELAPSED(t0, 0, SLACK_MS);
    CHECK(!nonblocking(c));
    CHECK(close(c) == 0);
    CHECK(close(bound) == 0);

    int lfd = tcp_listener(&addr);
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c >= 0);
    CHECK(connect(c, (struct sockaddr *)&addr, sizeof addr) == 0);
    int s = accept(lfd, NULL, NULL);
    CHECK(s >= 0);
    CHECK(!nonblocking(c) && !nonblocking(s) && !nonblocking(lfd));
    CHECK(close(lfd) == 0);

    /* A reader blocked on a socket wakes with 0 at the peer's shutdown;
     * data sent before it comes first. */
    char buf[16];
    struct later l;
    later_start(&l, LATER_SHUT_WR, c, DELAY_MS);
    t0 = now_ns();
    later_arm(&l);
    CHECK(read(s, buf, sizeof buf) == 0);
    CHECK_ELAPSED(t0, DELAY_MS, DELAY_MS + SLACK_MS);
    later_join(&l);
    CHECK(read(s, buf, sizeof buf) == 0);
    CHECK(recv(s, buf, sizeof buf, 0) == 0);
    CHECK(write(s, "abc", 3) == 3);
    CHECK(shutdown(s, SHUT_WR) == 0);
    CHECK(read(c, buf, sizeof buf) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK(read(c, buf, sizeof buf) == 0);
    CHECK(!nonblocking(c) && !nonblocking(s));
    CHECK(close(c) == 0);
    CHECK(close(s) == 0);

    /* EPIPE from a peer gone: socketpair, pipe. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(close(sv[1]) == 0);
    CHECK_ERRNO(write(sv[0], src, 1), EPIPE);
    CHECK_ERRNO(send(sv[0], src, 1, 0), EPIPE);
    CHECK(close(sv[0]) == 0);
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(close(p[0]) == 0);
    CHECK_ERRNO(write(p[1], src, 1), EPIPE);
    CHECK(close(p[1]) == 0);

    /* A writer blocked on a full socketpair when the peer closes: what
     * went before counts, else EPIPE. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    struct blocked_writer bw = { .fd = sv[0], .src = src };
    CHECK_RC(pthread_barrier_init(&bw.bar, NULL, 2), 0);
    CHECK_RC(pthread_create(&t, NULL, blocked_writer_main, &bw), 0);
    int rc = pthread_barrier_wait(&bw.bar);
    CHECK(rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD);
    sleep_ms(DELAY_MS);  /* lets the writer fill the buffer and wait */
    CHECK(close(sv[1]) == 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_barrier_destroy(&bw.bar), 0);
    CHECK((bw.ret > 0 && bw.ret < BIG) || (bw.ret == -1 && bw.err == EPIPE));
    CHECK_ERRNO(write(sv[0], src, 1), EPIPE);
    CHECK(close(sv[0]) == 0);

    /* Wrong fds. */
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    int closed = dup(p[0]);
    CHECK(closed >= 0);
    CHECK(close(closed) == 0);
    CHECK_ERRNO(read(closed, buf, 1), EBADF);
    CHECK_ERRNO(write(closed, buf, 1), EBADF);
    CHECK_ERRNO(write(p[0], "z", 1), EBADF);
    CHECK_ERRNO(read(p[1], buf, 1), EBADF);
    CHECK_ERRNO(recv(p[0], buf, 1, 0), ENOTSOCK);
    CHECK_ERRNO(send(p[1], "z", 1, 0), ENOTSOCK);
    CHECK_ERRNO(recv(closed, buf, 1, 0), EBADF);
    CHECK_ERRNO(accept(p[0], NULL, NULL), ENOTSOCK);
    close_pair(p);

    free(dst);
    free(src);
}

/* ---- 7. readers woken by writers ---- */

struct pingpong {
    int in, out;
};

static void *pong_main(void *arg)
{
    struct pingpong *pp = arg;
    for (int i = 0; i < PINGPONGS; i++) {
        uint8_t b;
        CHECK(read(pp->in, &b, 1) == 1);
        CHECK(b == pattern((size_t)i));
        b ^= 0x5a;
        CHECK(write(pp->out, &b, 1) == 1);
    }
    return NULL;
}

static void test_pingpong(void)
{
    int a[2], b[2];
    CHECK(pipe2(a, O_CLOEXEC) == 0);
    CHECK(pipe2(b, O_CLOEXEC) == 0);
    struct pingpong pp = { a[0], b[1] };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, pong_main, &pp), 0);
    for (int i = 0; i < PINGPONGS; i++) {
        uint8_t x = pattern((size_t)i), y;
        CHECK(write(a[1], &x, 1) == 1);
        CHECK(read(b[0], &y, 1) == 1);
        CHECK(y == (uint8_t)(x ^ 0x5a));
    }
    CHECK_RC(pthread_join(t, NULL), 0);
    close_pair(a);
    close_pair(b);
}

static atomic_int readers_in;

static void *blocked_reader_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char c;
    atomic_fetch_add(&readers_in, 1);
    CHECK(read(fd, &c, 1) == 1 && c == 'x');
    return NULL;
}

/* Readers parked in read() hold no kernel thread each. */
static void test_many_blocked_readers(void)
{
    int p[NREADERS][2];
    pthread_t t[NREADERS];
    atomic_store(&readers_in, 0);
    for (int i = 0; i < NREADERS; i++) {
        CHECK(pipe2(p[i], O_CLOEXEC) == 0);
        CHECK_RC(pthread_create(&t[i], NULL, blocked_reader_main,
                                (void *)(intptr_t)p[i][0]), 0);
    }
    WAIT_UNTIL(atomic_load(&readers_in) == NREADERS, 10000);
    check_thread_limit();
    for (int i = 0; i < NREADERS; i++)
        CHECK(write(p[i][1], "x", 1) == 1);
    for (int i = 0; i < NREADERS; i++) {
        CHECK_RC(pthread_join(t[i], NULL), 0);
        close_pair(p[i]);
    }
}

/* ---- 8. eventfd and timerfd: blocking reads wait for the event ---- */

static void test_event_fds(void)
{
    int efd = eventfd(0, EFD_CLOEXEC);
    CHECK(efd >= 0);
    struct later l;
    later_start(&l, LATER_EVENT, efd, DELAY_MS);
    later_arm(&l);
    int64_t t0 = now_ns();
    uint64_t v = 0;
    CHECK(read(efd, &v, sizeof v) == (ssize_t)sizeof v);
    CHECK(v == 1);
    CHECK(now_ns() - t0 >= (DELAY_MS - 1) * NSEC_PER_MSEC);
    later_join(&l);
    CHECK(close(efd) == 0);

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    CHECK(tfd >= 0);
    struct itimerspec its = { .it_value = ns_to_ts(DELAY_MS * NSEC_PER_MSEC) };
    t0 = now_ns();
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
    CHECK(read(tfd, &v, sizeof v) == (ssize_t)sizeof v);
    CHECK(v == 1);
    CHECK(now_ns() - t0 >= DELAY_MS * NSEC_PER_MSEC);
    /* Disarmed and read: a non-blocking view would be EAGAIN now. */
    CHECK(fcntl(tfd, F_SETFL, O_NONBLOCK) == 0);
    CHECK_ERRNO(read(tfd, &v, sizeof v), EAGAIN);
    CHECK(close(tfd) == 0);
}

/* O_NONBLOCK means nothing to a regular file: a read of pages not in
 * the page cache waits for the disk, and a write goes in whole (GNU tar
 * opens every file it archives O_NONBLOCK).  The file's pages are dropped
 * from the cache first, so that the data must come from the disk. */
static void test_nonblocking_file(void)
{
    char path[] = "/tmp/goshim-io-semantics-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(unlink(path) == 0);
    enum { SIZE = 8 << 20 };
    uint8_t *buf = malloc(SIZE);
    CHECK(buf != NULL);
    for (size_t i = 0; i < SIZE; i++)
        buf[i] = (uint8_t)(i * 7 + i / 4096);
    set_nonblocking(fd, 1);
    CHECK(write(fd, buf, SIZE) == SIZE);
    CHECK(fsync(fd) == 0);
    CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    uint8_t *got = malloc(SIZE);
    CHECK(got != NULL);
    size_t total = 0;
    while (total < SIZE) {
        ssize_t n = read(fd, got + total, SIZE - total);
        CHECK(n > 0);
        total += (size_t)n;
    }
    CHECK(read(fd, got, 1) == 0);
    CHECK(memcmp(buf, got, SIZE) == 0);
    CHECK(close(fd) == 0);
    free(got);
    free(buf);
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        { "test_rcvtimeo", test_rcvtimeo },
        { "test_poll", test_poll },
        { "test_select", test_select },
        { "test_epoll", test_epoll },
        { "test_nonblocking", test_nonblocking },
        { "test_nonblocking_file", test_nonblocking_file },
        { "test_connect_flags", test_connect_flags },
        { "test_blocking", test_blocking },
        { "test_pingpong", test_pingpong },
        { "test_many_blocked_readers", test_many_blocked_readers },
        { "test_event_fds", test_event_fds },
    };
    pthread_t wd;
    CHECK_RC(pthread_create(&wd, NULL, watchdog_main, NULL), 0);
    CHECK_RC(pthread_detach(wd), 0);
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        atomic_store(&stage, tests[i].name);
        tests[i].fn();
    }
    return 0;
}
