/* A pipe passed to a child through fork and exec keeps the file status
 * flags this program gave it, whatever the threads did with it before: an
 * M:N runtime that made fds non-blocking behind the program's back would
 * hand a child (which may not run the runtime) a pipe whose reads fail
 * with EAGAIN.
 *
 * Two pipes, each first used by two threads: a blocking one, through
 * which a writer thread sends 256 KiB in one write() while a reader
 * thread reads it in small pieces (so both wait: the pipe holds less),
 * and one the program set O_NONBLOCK on, through which the same data
 * goes with non-blocking calls and poll().  Then this program is exec'd
 * as the child, once with the environment as it is (under a preload the
 * child runs it too) and once without LD_PRELOAD, and given both ends of
 * a pipe.  For the blocking pipe the child checks that neither end has
 * O_NONBLOCK and that a read of the empty pipe waits until the parent
 * writes, 200 ms after the child said it was about to read; for the other
 * pipe, that both ends have O_NONBLOCK, a read of the empty pipe fails at
 * once with EAGAIN, and writes fill the pipe up to EAGAIN. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"

#define DATA_LEN (256 * 1024)
#define CHUNK 1000
#define DELAY_MS 200

extern char **environ;

static int pp[2];   /* the pipe the threads use */
static bool nonblocking;
static unsigned char sent[DATA_LEN];

/* Both forms: fcntl may be interposed, syscall(SYS_fcntl) is the kernel's
 * answer. */
static bool has_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    long raw = syscall(SYS_fcntl, fd, F_GETFL);
    CHECK(raw == fl);
    return fl & O_NONBLOCK;
}

static void wait_ready(int fd, short events)
{
    struct pollfd p = { .fd = fd, .events = events };
    int r;
    while ((r = poll(&p, 1, 10000)) < 0 && errno_now() == EINTR)
        ;
    CHECK(r == 1);
}

static void *writer(void *arg)
{
    (void)arg;
    if (!nonblocking) {
        /* One call: a blocking pipe write returns when all is written. */
        CHECK(write(pp[1], sent, DATA_LEN) == DATA_LEN);
        return NULL;
    }
    size_t done = 0;
    while (done < DATA_LEN) {
        ssize_t n = write(pp[1], sent + done, DATA_LEN - done);
        if (n < 0) {
            CHECK(errno_now() == EAGAIN);
            wait_ready(pp[1], POLLOUT);
            continue;
        }
        done += (size_t)n;
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    static unsigned char got[DATA_LEN];
    size_t done = 0;
    while (done < DATA_LEN) {
        size_t want = DATA_LEN - done < CHUNK ? DATA_LEN - done : CHUNK;
        ssize_t n = read(pp[0], got + done, want);
        if (n < 0 && nonblocking && errno_now() == EAGAIN) {
            wait_ready(pp[0], POLLIN);
            continue;
        }
        CHECK(n > 0);
        done += (size_t)n;
    }
    CHECK(memcmp(got, sent, DATA_LEN) == 0);
    return NULL;
}

/* The environment without LD_PRELOAD. */
static char **env_without_preload(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 1, sizeof *env);
    CHECK(env != NULL);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            env[k++] = environ[i];
    return env;
}

/* Waits for the child, which must exit with status 0. */
static void reap(pid_t pid, char **env)
{
    int status;
    pid_t r;
    while ((r = waitpid(pid, &status, 0)) < 0 && errno_now() == EINTR)
        ;
    CHECK(r == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pipe_inherit: %s child (%s): status %#x\n",
                nonblocking ? "non-blocking" : "blocking",
                env == environ ? "environment as is" : "without LD_PRELOAD",
                status);
        fflush(stderr);
        abort();
    }
}

/* Runs the child on pp with env, playing the parent's part. */
static void run_child(char **env)
{
    int ready[2];
    CHECK(pipe2(ready, O_CLOEXEC) == 0);
    /* Besides stdio, only these reach the child: both ends of pp and
     * ready's write end. */
    CHECK(fcntl(pp[0], F_SETFD, 0) == 0);
    CHECK(fcntl(pp[1], F_SETFD, 0) == 0);
    CHECK(fcntl(ready[1], F_SETFD, 0) == 0);
    char args[3][16];
    snprintf(args[0], sizeof args[0], "%d", pp[0]);
    snprintf(args[1], sizeof args[1], "%d", pp[1]);
    snprintf(args[2], sizeof args[2], "%d", ready[1]);
    char *argv[] = { "pipe_inherit", "child",
                     nonblocking ? "nonblock" : "block",
                     args[0], args[1], args[2], NULL };

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execve("/proc/self/exe", argv, env);
        _exit(127);
    }
    CHECK(close(ready[1]) == 0);
    CHECK(fcntl(pp[0], F_SETFD, FD_CLOEXEC) == 0);
    CHECK(fcntl(pp[1], F_SETFD, FD_CLOEXEC) == 0);
    char c;
    ssize_t n;
    while ((n = read(ready[0], &c, 1)) < 0 && errno_now() == EINTR)
        ;
    if (n == 0)
        reap(pid, env);  /* it failed before it was ready: say how */
    CHECK(n == 1);
    CHECK(close(ready[0]) == 0);
    if (!nonblocking) {
        /* The delay is what the child measures its read against. */
        sleep_ms(DELAY_MS);
        CHECK(write(pp[1], "w", 1) == 1);
    }
    reap(pid, env);
    if (nonblocking) {
        /* Empty again for the next child. */
        static char buf[4096];
        while ((n = read(pp[0], buf, sizeof buf)) > 0)
            ;
        CHECK(n < 0 && errno_now() == EAGAIN);
    }
}

static void parent(bool nb, char **bare_env)
{
    nonblocking = nb;
    CHECK(pipe2(pp, O_CLOEXEC) == 0);
    if (nb) {
        for (int i = 0; i < 2; i++) {
            int fl = fcntl(pp[i], F_GETFL);
            CHECK(fl >= 0);
            CHECK(fcntl(pp[i], F_SETFL, fl | O_NONBLOCK) == 0);
        }
    }
    pthread_t w, r;
    CHECK_RC(pthread_create(&r, NULL, reader, NULL), 0);
    CHECK_RC(pthread_create(&w, NULL, writer, NULL), 0);
    CHECK_RC(pthread_join(w, NULL), 0);
    CHECK_RC(pthread_join(r, NULL), 0);
    CHECK(has_nonblock(pp[0]) == nb && has_nonblock(pp[1]) == nb);

    run_child(environ);
    run_child(bare_env);
    CHECK(has_nonblock(pp[0]) == nb && has_nonblock(pp[1]) == nb);
    CHECK(close(pp[0]) == 0);
    CHECK(close(pp[1]) == 0);
}

static int child(const char *mode, int rfd, int wfd, int ready)
{
    alarm(10);  /* a read or write that blocks when it must not */
    bool nb = strcmp(mode, "nonblock") == 0;
    CHECK(nb || strcmp(mode, "block") == 0);
    CHECK(has_nonblock(rfd) == nb);
    CHECK(has_nonblock(wfd) == nb);
    char c;
    int64_t t0 = now_ns();
    CHECK(write(ready, "r", 1) == 1);
    CHECK(close(ready) == 0);
    if (!nb) {
        /* Blocks until the parent writes, DELAY_MS after our byte. */
        ssize_t n;
        while ((n = read(rfd, &c, 1)) < 0 && errno_now() == EINTR)
            ;
        CHECK(n == 1 && c == 'w');
        CHECK_ELAPSED(t0, DELAY_MS - 10, 10000);
        return 0;
    }
    CHECK_ERRNO(read(rfd, &c, 1), EAGAIN);
    static char buf[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = write(wfd, buf, sizeof buf)) > 0) {
        total += (size_t)n;
        CHECK(total <= 16 * 1024 * 1024);
    }
    CHECK(n < 0 && errno_now() == EAGAIN);
    CHECK(total > 0);
    CHECK_ELAPSED(t0, 0, 1000);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "child") == 0)
        return child(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    CHECK(argc == 1);
    alarm(30);
    for (size_t i = 0; i < DATA_LEN; i++)
        sent[i] = (unsigned char)(i * 7 + i / 251);
    char **bare_env = env_without_preload();
    parent(false, bare_env);
    parent(true, bare_env);
    free(bare_env);
    return 0;
}
