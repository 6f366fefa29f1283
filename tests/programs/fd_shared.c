/* Whether an fd is blocking belongs to its open file description, which
 * other fds (dup), other processes (fork, posix_spawn, system, popen,
 * SCM_RIGHTS) and libc itself (an fclose, then an open that gets the same
 * number) share or replace.  A runtime that remembers "this fd is
 * blocking" to save a system call per wait must forget it whenever the
 * program or anyone else may have changed it: a read of an empty socket
 * or pipe whose description became non-blocking fails at once with EAGAIN
 * natively, and must not wait.
 *
 * Each case first makes a blocking read wait on the fd (so that whatever
 * the runtime learns of the fd on a wait, it has learnt), then changes
 * the description some way, and checks that a read of the empty fd fails
 * with EAGAIN at once.  A rescue thread writes a byte 3 s later, so a
 * read that wrongly waits fails the check instead of hanging.  Ways:
 * fcntl on a dup, on an F_DUPFD_CLOEXEC copy; ioctl(FIONBIO) (and back: a
 * read waits again); SO_RCVTIMEO set afterwards (the read times out); a
 * fork child, a posix_spawn'd, system()'d and popen()'d copy of this
 * program setting O_NONBLOCK on the inherited fd; a process the fd is
 * sent to in SCM_RIGHTS setting it; fclose of an fdopen'd socket, and a
 * non-blocking socket that gets its number from a raw system call; a
 * socket closed by a system call of the program's own (no libc name sees
 * it) and another made on its number, non-blocking (EAGAIN) or blocking
 * (the read gets data written later: the wait is not lost).  A
 * reader woken for nothing by a write into a pipe whose read end's number
 * now names its socket reads only its own data.  Then the errno
 * contracts of socket, socketpair, pipe2, dup, ioctl, setsockopt,
 * posix_spawn and popen. */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "check.h"

#define LEARN_DELAY_MS 30
#define RESCUE_MS 3000

extern char **environ;

static char self[4096];

struct later {
    int fd;
    long ms;
    _Atomic bool cancel;
    pthread_t th;
};

static void *later_main(void *arg)
{
    struct later *l = arg;
    for (long t = 0; t < l->ms && !atomic_load(&l->cancel); t += 10)
        sleep_ms(10);
    if (!atomic_load(&l->cancel))
        CHECK(write(l->fd, "x", 1) == 1);
    return NULL;
}

/* Writes a byte into fd after ms, unless later_stop comes first. */
static void later_start(struct later *l, int fd, long ms)
{
    l->fd = fd;
    l->ms = ms;
    atomic_store(&l->cancel, false);
    CHECK_RC(pthread_create(&l->th, NULL, later_main, l), 0);
}

static void later_stop(struct later *l)
{
    atomic_store(&l->cancel, true);
    CHECK_RC(pthread_join(l->th, NULL), 0);
}

/* A blocking read of fd waits until a byte comes through peer. */
static void learn(int fd, int peer)
{
    struct later l;
    later_start(&l, peer, LEARN_DELAY_MS);
    char c;
    CHECK(read(fd, &c, 1) == 1);
    later_stop(&l);
}

/* A read of the empty fd fails with EAGAIN within ms (a rescue byte
 * through peer, later, would end a wrong wait). */
static void check_eagain_within(int fd, int peer, long ms)
{
    struct later l;
    later_start(&l, peer, 2 * ms);
    char c;
    int64_t t0 = now_ns();
    CHECK_ERRNO(read(fd, &c, 1), EAGAIN);
    CHECK((now_ns() - t0) / NSEC_PER_MSEC < ms);
    later_stop(&l);
}

/* ... at once. */
static void check_eagain(int fd, int peer)
{
    check_eagain_within(fd, peer, RESCUE_MS / 2);
}

static void set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    CHECK(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0);
}

static void new_pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
}

static void close_pair(int sv[2])
{
    CHECK(close(sv[0]) == 0);
    CHECK(close(sv[1]) == 0);
}

static void test_dup(void)
{
    int sv[2];
    new_pair(sv);
    learn(sv[0], sv[1]);
    int d = dup(sv[0]);
    CHECK(d >= 0);
    set_nonblock(d, true);
    check_eagain(sv[0], sv[1]);
    CHECK(close(d) == 0);
    close_pair(sv);

    int pp[2];
    CHECK(pipe(pp) == 0);
    learn(pp[0], pp[1]);
    d = fcntl(pp[0], F_DUPFD_CLOEXEC, 100);
    CHECK(d >= 100);
    set_nonblock(d, true);
    check_eagain(pp[0], pp[1]);
    CHECK(close(d) == 0);
    close_pair(pp);
}

static void test_fionbio(void)
{
    int sv[2];
    new_pair(sv);
    learn(sv[0], sv[1]);
    int on = 1;
    CHECK(ioctl(sv[0], FIONBIO, &on) == 0);
    check_eagain(sv[0], sv[1]);
    on = 0;
    CHECK(ioctl(sv[0], FIONBIO, &on) == 0);
    learn(sv[0], sv[1]);
    close_pair(sv);
}

static void test_rcvtimeo(void)
{
    int sv[2];
    new_pair(sv);
    learn(sv[0], sv[1]);
    struct timeval tv = { 0, 100 * 1000 };
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    char c;
    int64_t t0 = now_ns();
    CHECK_ERRNO(read(sv[0], &c, 1), EAGAIN);
    CHECK_ELAPSED(t0, 80, 2000);
    close_pair(sv);
}

static void wait_child(pid_t pid)
{
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_fork(void)
{
    int sv[2];
    new_pair(sv);
    learn(sv[0], sv[1]);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        set_nonblock(sv[0], true);
        _exit(0);
    }
    wait_child(pid);
    check_eagain(sv[0], sv[1]);
    close_pair(sv);
}

enum spawn_how { BY_POSIX_SPAWN, BY_SYSTEM, BY_POPEN };

/* A copy of this program sets O_NONBLOCK on its inherited fd. */
static void run_setnb(enum spawn_how how, int fd)
{
    char num[16], cmd[4200];
    snprintf(num, sizeof num, "%d", fd);
    snprintf(cmd, sizeof cmd, "exec '%s' setnb %d", self, fd);
    if (how == BY_POSIX_SPAWN) {
        char *argv[] = { self, "setnb", num, NULL };
        pid_t pid;
        CHECK_RC(posix_spawn(&pid, self, NULL, NULL, argv, environ), 0);
        wait_child(pid);
    } else if (how == BY_SYSTEM) {
        int st = system(cmd);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    } else {
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        CHECK(pclose(f) == 0);
    }
}

static void test_spawn(void)
{
    for (int how = BY_POSIX_SPAWN; how <= BY_POPEN; how++) {
        int sv[2];
        new_pair(sv);
        learn(sv[0], sv[1]);
        run_setnb(how, sv[0]);
        check_eagain(sv[0], sv[1]);
        close_pair(sv);
    }
}

static void send_fd(int ch, int fd)
{
    char byte = 'f';
    struct iovec iov = { &byte, 1 };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    CHECK(sendmsg(ch, &m, 0) == 1);
}

static int recv_fd(int ch)
{
    char byte;
    struct iovec iov = { &byte, 1 };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    CHECK(recvmsg(ch, &m, 0) == 1);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    CHECK(c && c->cmsg_type == SCM_RIGHTS);
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/* The receiving process exists before the socket does: only the
 * SCM_RIGHTS message shares it. */
static void test_scm_rights(void)
{
    int ch[2];
    new_pair(ch);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        CHECK(close(ch[0]) == 0);
        int fd = recv_fd(ch[1]);
        set_nonblock(fd, true);
        CHECK(write(ch[1], "k", 1) == 1);
        _exit(0);
    }
    CHECK(close(ch[1]) == 0);
    int sv[2];
    new_pair(sv);
    learn(sv[0], sv[1]);
    send_fd(ch[0], sv[0]);
    char c;
    CHECK(read(ch[0], &c, 1) == 1);
    wait_child(pid);
    check_eagain(sv[0], sv[1]);
    close_pair(sv);
    CHECK(close(ch[0]) == 0);
}

/* stdio closes the socket (fclose), and a socket made where no interposed
 * name sees it (a raw system call, as a library may make) gets its number,
 * non-blocking. */
static void test_reopened_behind(void)
{
    int sv[2];
    new_pair(sv);
    learn(sv[0], sv[1]);
    int n = sv[0];
    FILE *f = fdopen(n, "r+");
    CHECK(f != NULL);
    CHECK(fclose(f) == 0);
    int nb[2];
    CHECK(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, nb) == 0);
    CHECK(nb[0] == n);  /* the lowest free number: the socket's */
    check_eagain(nb[0], nb[1]);
    close_pair(nb);
    CHECK(close(sv[1]) == 0);
}

struct blocked_read {
    int fd;
    char got;
    ssize_t r;
    _Atomic bool started;
};

static void *blocked_read_main(void *arg)
{
    struct blocked_read *b = arg;
    atomic_store(&b->started, true);
    b->r = read(b->fd, &b->got, 1);
    return NULL;
}

/* A write into a pipe may wake the readers of its other end early; once
 * that number names another file (the read end closed after a dup, a
 * socketpair made in its place), a reader there wakes for nothing at
 * most, and still reads only its own data. */
static void test_stale_peer(void)
{
    int pp[2];
    CHECK(pipe(pp) == 0);
    int d = dup(pp[0]);
    CHECK(d >= 0);
    CHECK(close(pp[0]) == 0);
    int sv[2];
    new_pair(sv);
    CHECK(sv[0] == pp[0]);  /* the lowest free number */
    struct blocked_read b = { .fd = sv[0] };
    pthread_t th;
    CHECK_RC(pthread_create(&th, NULL, blocked_read_main, &b), 0);
    WAIT_UNTIL(atomic_load(&b.started), 10000);
    sleep_ms(LEARN_DELAY_MS);  /* not needed for correctness: lets it wait */
    for (int i = 0; i < 100; i++)
        CHECK(write(pp[1], "p", 1) == 1);
    sleep_ms(LEARN_DELAY_MS);
    CHECK(write(sv[1], "s", 1) == 1);
    CHECK_RC(pthread_join(th, NULL), 0);
    CHECK(b.r == 1 && b.got == 's');
    char buf[128];
    CHECK(read(d, buf, sizeof buf) == 100);
    CHECK(close(d) == 0);
    CHECK(close(pp[1]) == 0);
    close_pair(sv);
}

/* close(2) as a library with its own system call stubs makes it: no name
 * of libc's, nor syscall(), sees it. */
static long raw_close(int fd)
{
#ifdef __x86_64__
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "0"((long)SYS_close), "D"((long)fd)
                     : "rcx", "r11", "memory");
    return ret;
#else
    return syscall(SYS_close, fd);
#endif
}

/* The socket closed by such a stub, and another made on its number (a
 * raw socketpair, non-blocking, then blocking): a read of the first fails
 * with EAGAIN, and one of the second gets what is written into it 100 ms
 * later, both at the latest a few seconds later (natively at once). */
static void test_closed_unseen(void)
{
    for (int blocking = 0; blocking < 2; blocking++) {
        int sv[2];
        new_pair(sv);
        learn(sv[0], sv[1]);
        int n = sv[0];
        CHECK(raw_close(n) == 0);
        int nb[2];
        CHECK(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | (blocking ? 0 : SOCK_NONBLOCK), 0,
                      nb) == 0);
        CHECK(nb[0] == n);
        if (!blocking) {
            check_eagain_within(nb[0], nb[1], 5000);
        } else {
            struct later l;
            later_start(&l, nb[1], 100);
            char c;
            int64_t t0 = now_ns();
            CHECK(read(nb[0], &c, 1) == 1);
            CHECK((now_ns() - t0) / NSEC_PER_MSEC < 5000);
            later_stop(&l);
        }
        close_pair(nb);
        CHECK(close(sv[1]) == 0);
    }
}

static void test_errno(void)
{
    int fds[2];
    CHECK_ERRNO(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT);
    CHECK_ERRNO(socket(AF_UNIX, 12345, 0), EINVAL);
    CHECK_ERRNO(socketpair(AF_INET, SOCK_STREAM, 0, fds), EOPNOTSUPP);
    CHECK_ERRNO(pipe2(fds, 0x4000000), EINVAL);
    CHECK_ERRNO(dup(-1), EBADF);
    int on = 1;
    CHECK_ERRNO(ioctl(-1, FIONBIO, &on), EBADF);
    CHECK(pipe(fds) == 0);
    CHECK_ERRNO(ioctl(fds[0], 0x5401 /* TCGETS */, &on), ENOTTY);
    struct timeval tv = { 1, 0 };
    CHECK_ERRNO(setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), ENOTSOCK);
    CHECK_ERRNO(setsockopt(-1, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EBADF);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(s >= 0);
    CHECK_ERRNO(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, 3), EINVAL);
    CHECK(close(s) == 0);
    close_pair(fds);
    char *argv[] = { "goshim-no-such-program", NULL };
    pid_t pid;
    CHECK_RC(posix_spawn(&pid, "/nonexistent/goshim-no-such-program", NULL, NULL, argv,
                         environ), ENOENT);
    CHECK_RC(posix_spawnp(&pid, "goshim-no-such-program", NULL, NULL, argv, environ), ENOENT);
    errno_clear();
    CHECK(popen("true", "q") == NULL);
    CHECK(errno_now() == EINVAL);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "setnb") == 0) {
        set_nonblock(atoi(argv[2]), true);
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = '\0';

    test_dup();
    test_fionbio();
    test_rcvtimeo();
    test_fork();
    test_spawn();
    test_scm_rights();
    test_reopened_behind();
    test_stale_peer();
    test_closed_unseen();
    test_errno();
    check_thread_limit();
    return 0;
}
