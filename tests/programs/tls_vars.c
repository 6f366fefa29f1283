/* Thread-local storage stays with its thread across migrations.  64 threads
 * write their id into __thread variables of the program (initialized and
 * zero-initialized), of a linked shared library, and of a library the
 * program dlopens while the threads run, set errno, then park (sleep,
 * yield, condvar wait) thousands of times and find every value intact after
 * each wake.  Every thread also sees fresh initial values when it starts,
 * whatever an earlier thread left, and distinct addresses for its
 * variables.  sched_getcpu returns a CPU the process may run on. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#include "check.h"

#define NT 64
#define ROUNDS 2000

__thread long prog_init = 1234;
__thread long prog_zero;
__thread char prog_buf[256];

long *dep_init_addr(void);
long *dep_zero_addr(void);

static long *(*dl_init_addr)(void);
static char *(*dl_buf_addr)(void);
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static atomic_int started, dl_ready;
static atomic_long tick;
static long *addrs[NT];

static void park_somehow(int round, int id)
{
    switch ((round + id) % 3) {
    case 0:
        sched_yield();
        break;
    case 1: {
        struct timespec ts = { 0, 1000 * (1 + round % 5) };
        CHECK(nanosleep(&ts, NULL) == 0);
        break;
    }
    default: {
        /* A short timed condvar wait: a park woken by a timer or by the
         * broadcast of another thread. */
        CHECK_RC(pthread_mutex_lock(&m), 0);
        long t = atomic_load(&tick);
        struct timespec ts;
        CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
        ts.tv_nsec += 200000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        while (atomic_load(&tick) == t) {
            int rc = pthread_cond_timedwait(&c, &m, &ts);
            if (rc == ETIMEDOUT)
                break;
            CHECK_RC(rc, 0);
        }
        atomic_fetch_add(&tick, 1);
        CHECK_RC(pthread_cond_broadcast(&c), 0);
        CHECK_RC(pthread_mutex_unlock(&m), 0);
        break;
    }
    }
}

static void *worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    /* Fresh initial values, whatever the thread before left. */
    CHECK(prog_init == 1234);
    CHECK(prog_zero == 0);
    for (size_t i = 0; i < sizeof prog_buf; i++)
        CHECK(prog_buf[i] == 0);
    CHECK(*dep_init_addr() == 42);
    CHECK(*dep_zero_addr() == 0);
    addrs[id] = &prog_init;

    prog_init = id;
    prog_zero = id * 3;
    memset(prog_buf, (int)id, sizeof prog_buf);
    *dep_init_addr() = id + 100;
    *dep_zero_addr() = id + 200;
    atomic_fetch_add(&started, 1);

    bool dl_seen = false;
    for (int r = 0; r < ROUNDS; r++) {
        if (!dl_seen && atomic_load(&dl_ready)) {
            /* Dynamic TLS of a module loaded after this thread began. */
            CHECK(*dl_init_addr() == 7);
            *dl_init_addr() = id + 300;
            memset(dl_buf_addr(), (int)id, 4096);
            dl_seen = true;
        }
        errno_set((int)id + 1);
        park_somehow(r, (int)id);
        CHECK(errno_now() == (int)id + 1);
        CHECK(prog_init == id);
        CHECK(prog_zero == id * 3);
        CHECK(prog_buf[0] == (char)id && prog_buf[sizeof prog_buf - 1] == (char)id);
        CHECK(*dep_init_addr() == id + 100);
        CHECK(*dep_zero_addr() == id + 200);
        if (dl_seen) {
            CHECK(*dl_init_addr() == id + 300);
            CHECK(dl_buf_addr()[0] == (char)id && dl_buf_addr()[4095] == (char)id);
        }
        int cpu = sched_getcpu();
        CHECK(cpu >= 0 && cpu < CPU_SETSIZE);
    }
    CHECK(dl_seen);
    return NULL;
}

static void load_dl(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n] = '\0';
    snprintf(path, sizeof path, "%s/.libs/libtls_dl.so", dirname(exe));
    void *h = dlopen(path, RTLD_NOW);
    if (!h)
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    CHECK(h != NULL);
    dl_init_addr = (long *(*)(void))dlsym(h, "dl_init_addr");
    dl_buf_addr = (char *(*)(void))dlsym(h, "dl_buf_addr");
    CHECK(dl_init_addr && dl_buf_addr);
}

int main(void)
{
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    int cpu = sched_getcpu();
    CHECK(cpu >= 0 && CPU_ISSET(cpu, &set));

    /* Two waves: the second reuses what the first left behind. */
    for (int wave = 0; wave < 2; wave++) {
        pthread_t th[NT];
        atomic_store(&started, 0);
        for (long i = 0; i < NT; i++)
            CHECK_RC(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
        WAIT_UNTIL(atomic_load(&started) == NT, 30000);
        if (wave == 0)
            load_dl();
        atomic_store(&dl_ready, 1);
        check_thread_limit();
        for (int i = 0; i < NT; i++)
            CHECK_RC(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < NT; i++)
            for (int j = i + 1; j < NT; j++)
                CHECK(addrs[i] != addrs[j]);
    }
    /* The main thread's own TLS was never touched by the others. */
    CHECK(prog_init == 1234 && prog_zero == 0);
    return 0;
}
