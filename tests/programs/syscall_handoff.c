/* A thread blocked in the kernel through syscall() (here a raw nanosleep of
 * 300 ms, which goshim does not turn into a timer) must not stop the other
 * threads: a ticker that sleeps 10 ms at a time keeps ticking, with no gap
 * over 100 ms, while two such calls block (under GOMAXPROCS=1 that takes
 * sysmon retaking the P from the blocked kernel thread).  syscall()'s own
 * contract is glibc's: the kernel's result, or -1 with errno. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static atomic_int stop;
static atomic_long max_gap_ns, ticks;

static void *ticker(void *arg)
{
    (void)arg;
    int64_t last = now_ns();
    while (!atomic_load(&stop)) {
        sleep_ms(10);
        int64_t now = now_ns();
        if (now - last > atomic_load(&max_gap_ns))
            atomic_store(&max_gap_ns, now - last);
        last = now;
        atomic_fetch_add(&ticks, 1);
    }
    return NULL;
}

static void *blocker(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 300 * NSEC_PER_MSEC };
    CHECK(syscall(SYS_nanosleep, &ts, NULL) == 0);
    return NULL;
}

int main(void)
{
    CHECK_ERRNO(syscall(SYS_close, -1), EBADF);
    CHECK(syscall(SYS_getpid) == getpid());
    CHECK_ERRNO(syscall(-1L), ENOSYS);

    pthread_t t, b[2];
    CHECK_RC(pthread_create(&t, NULL, ticker, NULL), 0);
    WAIT_UNTIL(atomic_load(&ticks) > 2, 10000);
    atomic_store(&max_gap_ns, 0);
    long before = atomic_load(&ticks);
    int64_t t0 = now_ns();
    for (int i = 0; i < 2; i++)
        CHECK_RC(pthread_create(&b[i], NULL, blocker, NULL), 0);
    for (int i = 0; i < 2; i++)
        CHECK_RC(pthread_join(b[i], NULL), 0);
    CHECK_ELAPSED(t0, 300, 5000);
    long n = atomic_load(&ticks) - before;
    atomic_store(&stop, 1);
    CHECK_RC(pthread_join(t, NULL), 0);
    int64_t gap = atomic_load(&max_gap_ns);
    if (n < 10 || gap > 100 * NSEC_PER_MSEC) {
        fprintf(stderr, "%ld ticks, longest gap %.1f ms\n", n, gap / 1e6);
        return 1;
    }
    return 0;
}
