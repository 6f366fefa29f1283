/* Shared helpers for the test programs: plain pthread programs that know
 * nothing about goshim and must pass natively as well as under the preload.
 *
 * A failed check prints file:line and the expression on stderr and aborts
 * (libdill style). Everything here is header-only: each program is one .c.
 *
 * The helpers themselves wait only with sleeps and yields on C11 atomics,
 * so that they do not depend on the synchronization objects the programs
 * test. */
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline void check_fail_(const char *file, int line, const char *expr,
                               int err)
{
    if (err != 0)
        fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n",
                file, line, expr, err, strerror(err));
    else
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}

/* CHECK(cond): cond must hold; errno at the time of the check is shown. */
#define CHECK(cond)                                                     \
    do {                                                                \
        int check_errno_ = errno;                                       \
        if (!(cond))                                                    \
            check_fail_(__FILE__, __LINE__, #cond, check_errno_);       \
    } while (0)

/* CHECK_RC(expr, want): expr returns an error number (pthread style),
 * which must equal want (0 or an E* constant). */
#define CHECK_RC(expr, want)                                            \
    do {                                                                \
        int check_got_ = (expr);                                        \
        int check_want_ = (want);                                       \
        if (check_got_ != check_want_) {                                \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", \
                    __FILE__, __LINE__, #expr, check_got_,              \
                    strerror(check_got_), check_want_,                  \
                    strerror(check_want_));                             \
            fflush(stderr);                                             \
            abort();                                                    \
        }                                                               \
    } while (0)

/* errno read and written afresh, out of line.  A compiler may compute
 * errno's address once per function; an M:N runtime whose TLS belonged to
 * the kernel thread would then read another thread's errno after a sleep
 * moved the thread.  goshim's TLS is the thread's, and tls_vars checks
 * that errno survives parks; the helpers keep the other programs' errno
 * checks independent of that. */
static __attribute__((noinline, unused)) int errno_now(void)
{
    return errno;
}

static __attribute__((noinline, unused)) void errno_set(int e)
{
    errno = e;
}

static __attribute__((noinline, unused)) void errno_clear(void)
{
    errno_set(0);
}

/* CHECK_ERRNO(expr, want): expr must return -1 with errno == want. */
#define CHECK_ERRNO(expr, want)                                         \
    do {                                                                \
        errno_clear();                                                  \
        long check_got_ = (long)(expr);                                 \
        int check_errno_ = errno_now();                                 \
        if (check_got_ != -1 || check_errno_ != (want)) {               \
            fprintf(stderr, "%s:%d: %s returned %ld with errno %d (%s), " \
                    "expected -1 with errno %d (%s)\n",                 \
                    __FILE__, __LINE__, #expr, check_got_,              \
                    check_errno_, strerror(check_errno_), (want),       \
                    strerror(want));                                    \
            fflush(stderr);                                             \
            abort();                                                    \
        }                                                               \
    } while (0)

#define NSEC_PER_SEC 1000000000LL
#define NSEC_PER_MSEC 1000000LL

static inline int64_t clock_ns(clockid_t clk)
{
    struct timespec ts;
    CHECK(clock_gettime(clk, &ts) == 0);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Monotonic time in nanoseconds. */
static inline int64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static inline struct timespec ns_to_ts(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / NSEC_PER_SEC),
                           (long)(ns % NSEC_PER_SEC) };
    return ts;
}

/* Sleep ms milliseconds with nanosleep, resuming after EINTR. */
static inline void sleep_ms(long ms)
{
    struct timespec ts = ns_to_ts(ms * NSEC_PER_MSEC);
    while (nanosleep(&ts, &ts) != 0)
        CHECK(errno == EINTR);
}

/* Elapsed time in [lo_ms, hi_ms]: the tolerance is the caller's, and
 * generous, since the machine running the tests is shared. */
#define CHECK_ELAPSED(start_ns, lo_ms, hi_ms)                           \
    do {                                                                \
        int64_t check_el_ = now_ns() - (start_ns);                      \
        if (check_el_ < (int64_t)(lo_ms) * NSEC_PER_MSEC ||             \
            check_el_ > (int64_t)(hi_ms) * NSEC_PER_MSEC) {             \
            fprintf(stderr, "%s:%d: elapsed %.3f ms, expected "         \
                    "[%ld, %ld] ms\n", __FILE__, __LINE__,              \
                    check_el_ / 1e6, (long)(lo_ms), (long)(hi_ms));     \
            fflush(stderr);                                             \
            abort();                                                    \
        }                                                               \
    } while (0)

/* Kernel threads of this process, from the Threads: line of
 * /proc/self/status (read with plain open/read: no stdio, no malloc). */
static inline long threads_now(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        CHECK(n >= 0);
        if (n == 0 || (len += (size_t)n) == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    char *p = strstr(buf, "\nThreads:");
    CHECK(p != NULL);
    return strtol(p + sizeof "\nThreads:" - 1, NULL, 10);
}

/* The limit on kernel threads the environment imposes, or -1 for none
 * (GOSHIM_TEST_MAX_THREADS unset: a native run). */
static inline long thread_limit(void)
{
    const char *s = getenv("GOSHIM_TEST_MAX_THREADS");
    if (s == NULL || *s == '\0')
        return -1;
    char *end;
    long v = strtol(s, &end, 10);
    CHECK(*end == '\0' && v > 0);
    return v;
}

/* With GOSHIM_TEST_MAX_THREADS set, the process must have at most that many
 * kernel threads now. Call it while many threads are alive. */
#define check_thread_limit() check_thread_limit_(__FILE__, __LINE__)
static inline void check_thread_limit_(const char *file, int line)
{
    long lim = thread_limit();
    if (lim < 0)
        return;
    long n = threads_now();
    if (n > lim) {
        fprintf(stderr, "%s:%d: %ld kernel threads, limit "
                "GOSHIM_TEST_MAX_THREADS=%ld\n", file, line, n, lim);
        fflush(stderr);
        abort();
    }
}

/* Poll an atomic condition with short sleeps, at most timeout_ms; CHECK
 * fails if it never holds. cond is re-evaluated each round. */
#define WAIT_UNTIL(cond, timeout_ms)                                    \
    do {                                                                \
        int64_t wait_deadline_ = now_ns() +                             \
                                 (int64_t)(timeout_ms) * NSEC_PER_MSEC; \
        while (!(cond)) {                                               \
            if (now_ns() > wait_deadline_)                              \
                check_fail_(__FILE__, __LINE__,                         \
                            "timed out waiting for " #cond, 0);         \
            usleep(1000);                                               \
        }                                                               \
    } while (0)

/* Park the calling thread until *flag == want, polling with sleeps that
 * back off from 1 ms to 16 ms (thousands of threads may wait at once: short
 * fixed polls would swamp a native run); fail after timeout_ms. */
#define wait_flag(flag, want, timeout_ms)                               \
    wait_flag_(__FILE__, __LINE__, (flag), (want), (timeout_ms))
static inline void wait_flag_(const char *file, int line, atomic_int *flag,
                              int want, long timeout_ms)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * NSEC_PER_MSEC;
    long us = 1000;
    while (atomic_load(flag) != want) {
        if (now_ns() > deadline)
            check_fail_(file, line, "wait_flag timed out", 0);
        usleep((useconds_t)us);
        if (us < 16000)
            us *= 2;
    }
}

/* Sends a signal (send(arg)) every 10 ms until *done or, with
 * until_handled, until *handled has reached it; false if neither came
 * within timeout_ms.  A signal that comes before the thread it is for
 * blocks only runs the handler, as natively; the next one finds it
 * blocked. */
static inline bool signal_until(atomic_int *done, atomic_int *handled, int until_handled,
                                void (*send)(void *), void *arg, long timeout_ms)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * NSEC_PER_MSEC;
    while (!atomic_load(done) && now_ns() < deadline) {
        if (until_handled && atomic_load(handled) >= until_handled)
            return true;
        send(arg);
        sleep_ms(10);
    }
    return atomic_load(done) || (until_handled && atomic_load(handled) >= until_handled);
}

#endif /* CHECK_H */
