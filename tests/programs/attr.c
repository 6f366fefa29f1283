/* pthread_attr_*: defaults of a fresh attr, every getter/setter round trip,
 * the error numbers glibc 2.36 gives for bad values, pthread_getattr_np of
 * running threads (detached, caller-provided stack, sizes), and
 * pthread_getattr_default_np/pthread_setattr_default_np. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "check.h"

/* PTHREAD_STACK_MIN is a sysconf call under _GNU_SOURCE (glibc 2.34+). */
#define STACK_MIN ((size_t)PTHREAD_STACK_MIN)

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    CHECK(p > 0);
    return (size_t)p;
}

/* glibc's default thread stack size: RLIMIT_STACK (2 MiB on x86-64 when
 * unlimited), at least PTHREAD_STACK_MIN, rounded up to a page. */
static size_t expected_default_stacksize(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_STACK, &rl) == 0);
    size_t size = rl.rlim_cur == RLIM_INFINITY ? 2 * 1024 * 1024
                                               : (size_t)rl.rlim_cur;
    if (size < STACK_MIN)
        size = STACK_MIN;
    size_t ps = page_size();
    return (size + ps - 1) / ps * ps;
}

static void test_defaults(void)
{
    pthread_attr_t a;
    int v;
    size_t sz;
    struct sched_param sp = { .sched_priority = 42 };
    sigset_t ss;

    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_getdetachstate(&a, &v), 0);
    CHECK(v == PTHREAD_CREATE_JOINABLE);
    CHECK_RC(pthread_attr_getinheritsched(&a, &v), 0);
    CHECK(v == PTHREAD_INHERIT_SCHED);
    CHECK_RC(pthread_attr_getschedpolicy(&a, &v), 0);
    CHECK(v == SCHED_OTHER);
    CHECK_RC(pthread_attr_getschedparam(&a, &sp), 0);
    CHECK(sp.sched_priority == 0);
    CHECK_RC(pthread_attr_getscope(&a, &v), 0);
    CHECK(v == PTHREAD_SCOPE_SYSTEM);
    CHECK_RC(pthread_attr_getguardsize(&a, &sz), 0);
    CHECK(sz == page_size());
    CHECK_RC(pthread_attr_getstacksize(&a, &sz), 0);
    CHECK(sz == expected_default_stacksize());
    CHECK_RC(pthread_attr_getsigmask_np(&a, &ss), PTHREAD_ATTR_NO_SIGMASK_NP);
    CHECK_RC(pthread_attr_destroy(&a), 0);
}

static void test_round_trips(void)
{
    pthread_attr_t a;
    int v;
    size_t sz;
    void *addr;
    struct sched_param sp;
    CHECK_RC(pthread_attr_init(&a), 0);

    CHECK_RC(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED), 0);
    CHECK_RC(pthread_attr_getdetachstate(&a, &v), 0);
    CHECK(v == PTHREAD_CREATE_DETACHED);
    CHECK_RC(pthread_attr_setdetachstate(&a, 99), EINVAL);
    CHECK_RC(pthread_attr_getdetachstate(&a, &v), 0);
    CHECK(v == PTHREAD_CREATE_DETACHED);
    CHECK_RC(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_JOINABLE), 0);
    CHECK_RC(pthread_attr_getdetachstate(&a, &v), 0);
    CHECK(v == PTHREAD_CREATE_JOINABLE);

    CHECK_RC(pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED), 0);
    CHECK_RC(pthread_attr_getinheritsched(&a, &v), 0);
    CHECK(v == PTHREAD_EXPLICIT_SCHED);
    CHECK_RC(pthread_attr_setinheritsched(&a, 99), EINVAL);
    CHECK_RC(pthread_attr_setinheritsched(&a, PTHREAD_INHERIT_SCHED), 0);
    CHECK_RC(pthread_attr_getinheritsched(&a, &v), 0);
    CHECK(v == PTHREAD_INHERIT_SCHED);

    CHECK_RC(pthread_attr_setscope(&a, PTHREAD_SCOPE_SYSTEM), 0);
    CHECK_RC(pthread_attr_setscope(&a, PTHREAD_SCOPE_PROCESS), ENOTSUP);
    CHECK_RC(pthread_attr_setscope(&a, 99), EINVAL);
    CHECK_RC(pthread_attr_getscope(&a, &v), 0);
    CHECK(v == PTHREAD_SCOPE_SYSTEM);

    /* glibc accepts only SCHED_OTHER, SCHED_FIFO and SCHED_RR here. */
    CHECK_RC(pthread_attr_setschedpolicy(&a, 99), EINVAL);
    CHECK_RC(pthread_attr_setschedpolicy(&a, SCHED_BATCH), EINVAL);
    CHECK_RC(pthread_attr_setschedpolicy(&a, SCHED_IDLE), EINVAL);
    CHECK_RC(pthread_attr_setschedpolicy(&a, SCHED_RR), 0);
    CHECK_RC(pthread_attr_getschedpolicy(&a, &v), 0);
    CHECK(v == SCHED_RR);
    CHECK_RC(pthread_attr_setschedpolicy(&a, SCHED_FIFO), 0);
    CHECK_RC(pthread_attr_getschedpolicy(&a, &v), 0);
    CHECK(v == SCHED_FIFO);

    /* The priority is checked against the attr's policy. */
    int lo = sched_get_priority_min(SCHED_FIFO);
    int hi = sched_get_priority_max(SCHED_FIFO);
    CHECK(lo >= 1 && hi > lo);
    sp.sched_priority = lo;
    CHECK_RC(pthread_attr_setschedparam(&a, &sp), 0);
    sp.sched_priority = hi;
    CHECK_RC(pthread_attr_setschedparam(&a, &sp), 0);
    sp.sched_priority = 0;
    CHECK_RC(pthread_attr_getschedparam(&a, &sp), 0);
    CHECK(sp.sched_priority == hi);
    sp.sched_priority = lo - 1;
    CHECK_RC(pthread_attr_setschedparam(&a, &sp), EINVAL);
    sp.sched_priority = hi + 1;
    CHECK_RC(pthread_attr_setschedparam(&a, &sp), EINVAL);
    CHECK_RC(pthread_attr_getschedparam(&a, &sp), 0);
    CHECK(sp.sched_priority == hi);
    CHECK_RC(pthread_attr_setschedpolicy(&a, SCHED_OTHER), 0);
    sp.sched_priority = 5;
    CHECK_RC(pthread_attr_setschedparam(&a, &sp), EINVAL);
    sp.sched_priority = -1;
    CHECK_RC(pthread_attr_setschedparam(&a, &sp), EINVAL);
    sp.sched_priority = 0;
    CHECK_RC(pthread_attr_setschedparam(&a, &sp), 0);
    CHECK_RC(pthread_attr_getschedparam(&a, &sp), 0);
    CHECK(sp.sched_priority == 0);

    CHECK_RC(pthread_attr_setstacksize(&a, STACK_MIN - 1), EINVAL);
    CHECK_RC(pthread_attr_setstacksize(&a, 0), EINVAL);
    CHECK_RC(pthread_attr_setstacksize(&a, STACK_MIN), 0);
    CHECK_RC(pthread_attr_getstacksize(&a, &sz), 0);
    CHECK(sz == STACK_MIN);
    CHECK_RC(pthread_attr_setstacksize(&a, STACK_MIN + 1), 0);
    CHECK_RC(pthread_attr_getstacksize(&a, &sz), 0);
    CHECK(sz == STACK_MIN + 1);
    CHECK_RC(pthread_attr_setstacksize(&a, 1024 * 1024), 0);
    CHECK_RC(pthread_attr_getstacksize(&a, &sz), 0);
    CHECK(sz == 1024 * 1024);

    CHECK_RC(pthread_attr_setguardsize(&a, 0), 0);
    CHECK_RC(pthread_attr_getguardsize(&a, &sz), 0);
    CHECK(sz == 0);
    CHECK_RC(pthread_attr_setguardsize(&a, 3 * page_size()), 0);
    CHECK_RC(pthread_attr_getguardsize(&a, &sz), 0);
    CHECK(sz == 3 * page_size());
    CHECK_RC(pthread_attr_setguardsize(&a, 1000), 0); /* kept as given */
    CHECK_RC(pthread_attr_getguardsize(&a, &sz), 0);
    CHECK(sz == 1000);

    /* setstack: too small is EINVAL; glibc 2.36 takes a misaligned stack
     * as it is (it aligns at pthread_create). */
    static char buf[256 * 1024] __attribute__((aligned(4096)));
    CHECK_RC(pthread_attr_setstack(&a, buf, STACK_MIN - 1), EINVAL);
    CHECK_RC(pthread_attr_setstack(&a, buf, 64 * 1024), 0);
    CHECK_RC(pthread_attr_getstack(&a, &addr, &sz), 0);
    CHECK(addr == buf && sz == 64 * 1024);
    CHECK_RC(pthread_attr_getstacksize(&a, &sz), 0);
    CHECK(sz == 64 * 1024);
    CHECK_RC(pthread_attr_setstack(&a, buf + 8, 64 * 1024 + 3), 0);
    CHECK_RC(pthread_attr_getstack(&a, &addr, &sz), 0);
    CHECK(addr == buf + 8 && sz == 64 * 1024 + 3);
    CHECK_RC(pthread_attr_destroy(&a), 0);

    /* Affinity: the process's own mask round trips. */
    cpu_set_t mask, got;
    CHECK(sched_getaffinity(0, sizeof mask, &mask) == 0);
    CHECK(CPU_COUNT(&mask) >= 1);
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_setaffinity_np(&a, sizeof mask, &mask), 0);
    CPU_ZERO(&got);
    CHECK_RC(pthread_attr_getaffinity_np(&a, sizeof got, &got), 0);
    CHECK(CPU_EQUAL(&mask, &got));
    CHECK_RC(pthread_attr_destroy(&a), 0);

    /* Signal mask. */
    sigset_t set, out;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_setsigmask_np(&a, &set), 0);
    sigemptyset(&out);
    CHECK_RC(pthread_attr_getsigmask_np(&a, &out), 0);
    CHECK(sigismember(&out, SIGUSR1) == 1);
    CHECK(sigismember(&out, SIGUSR2) == 1);
    CHECK(sigismember(&out, SIGTERM) == 0);
    CHECK_RC(pthread_attr_destroy(&a), 0);
}

/* Fill *a with pthread_getattr_np of the calling thread. */
static void self_attr(pthread_attr_t *a)
{
    CHECK_RC(pthread_getattr_np(pthread_self(), a), 0);
}

static void *check_joinable(void *arg)
{
    pthread_attr_t a;
    int v;
    struct sched_param sp = { .sched_priority = 42 };
    self_attr(&a);
    CHECK_RC(pthread_attr_getdetachstate(&a, &v), 0);
    CHECK(v == PTHREAD_CREATE_JOINABLE);
    CHECK_RC(pthread_attr_getschedpolicy(&a, &v), 0);
    CHECK(v == SCHED_OTHER);
    CHECK_RC(pthread_attr_getschedparam(&a, &sp), 0);
    CHECK(sp.sched_priority == 0);
    CHECK_RC(pthread_attr_getscope(&a, &v), 0);
    CHECK(v == PTHREAD_SCOPE_SYSTEM);
    CHECK_RC(pthread_attr_destroy(&a), 0);
    return arg;
}

struct detached_arg {
    atomic_int state; /* 0 started, 1 checked, 2 released, 3 done */
};

static void *detached_thread(void *arg)
{
    struct detached_arg *d = arg;
    pthread_attr_t a;
    int v;
    self_attr(&a);
    CHECK_RC(pthread_attr_getdetachstate(&a, &v), 0);
    CHECK(v == PTHREAD_CREATE_DETACHED);
    CHECK_RC(pthread_attr_destroy(&a), 0);
    atomic_store(&d->state, 1);
    int64_t deadline = now_ns() + 60 * NSEC_PER_SEC;
    while (atomic_load(&d->state) != 2) {
        CHECK(now_ns() < deadline);
        usleep(1000);
    }
    atomic_store(&d->state, 3);
    return NULL;
}

static void test_detached(void)
{
    static struct detached_arg d;
    pthread_attr_t a;
    pthread_t t;
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED), 0);
    CHECK_RC(pthread_create(&t, &a, detached_thread, &d), 0);
    CHECK_RC(pthread_attr_destroy(&a), 0);
    WAIT_UNTIL(atomic_load(&d.state) == 1, 10000);
    CHECK_RC(pthread_join(t, NULL), EINVAL); /* it is alive: t is valid */
    atomic_store(&d.state, 2);
    WAIT_UNTIL(atomic_load(&d.state) == 3, 10000);
    sleep_ms(10);
}

struct stack_arg {
    void *addr;
    size_t size;
};

static void *on_given_stack(void *arg)
{
    struct stack_arg *s = arg;
    volatile int local = 0;
    uintptr_t p = (uintptr_t)&local;
    CHECK(p >= (uintptr_t)s->addr && p < (uintptr_t)s->addr + s->size);
    pthread_attr_t a;
    void *addr;
    size_t size, guard;
    self_attr(&a);
    CHECK_RC(pthread_attr_getstack(&a, &addr, &size), 0);
    CHECK(addr == s->addr && size == s->size);
    CHECK_RC(pthread_attr_getguardsize(&a, &guard), 0);
    CHECK(guard == 0); /* no guard on a caller's stack */
    CHECK_RC(pthread_attr_destroy(&a), 0);
    usleep(1000);
    CHECK(sched_yield() == 0);
    p = (uintptr_t)&local;
    CHECK(p >= (uintptr_t)s->addr && p < (uintptr_t)s->addr + s->size);
    return arg;
}

static void run_on_stack(void *addr, size_t size)
{
    struct stack_arg s = { addr, size };
    pthread_attr_t a;
    pthread_t t;
    void *ret;
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_setstack(&a, addr, size), 0);
    CHECK_RC(pthread_create(&t, &a, on_given_stack, &s), 0);
    CHECK_RC(pthread_attr_destroy(&a), 0);
    CHECK_RC(pthread_join(t, &ret), 0);
    CHECK(ret == &s);
}

static void test_given_stack(void)
{
    size_t size = 256 * 1024;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    run_on_stack(m, size);
    run_on_stack(m, size); /* reusable once the thread was joined */
    CHECK(munmap(m, size) == 0);

    void *h = NULL;
    CHECK_RC(posix_memalign(&h, 4096, size), 0);
    run_on_stack(h, size);
    free(h);
}

struct size_arg {
    size_t stack;
    size_t guard;
};

static void *check_sizes(void *arg)
{
    struct size_arg *s = arg;
    volatile int local = 0;
    pthread_attr_t a;
    void *addr;
    size_t size, guard;
    self_attr(&a);
    CHECK_RC(pthread_attr_getstack(&a, &addr, &size), 0);
    CHECK(size >= s->stack);
    CHECK((uintptr_t)&local >= (uintptr_t)addr &&
          (uintptr_t)&local < (uintptr_t)addr + size);
    CHECK_RC(pthread_attr_getguardsize(&a, &guard), 0);
    CHECK(guard == s->guard);
    CHECK_RC(pthread_attr_destroy(&a), 0);
    return arg;
}

static void test_created_sizes(void)
{
    pthread_attr_t a;
    pthread_t t;
    struct size_arg s;

    s.stack = expected_default_stacksize();
    s.guard = page_size();
    CHECK_RC(pthread_create(&t, NULL, check_sizes, &s), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_create(&t, NULL, check_joinable, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);

    s.stack = 256 * 1024;
    s.guard = 16 * page_size();
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_setstacksize(&a, s.stack), 0);
    CHECK_RC(pthread_attr_setguardsize(&a, s.guard), 0);
    CHECK_RC(pthread_create(&t, &a, check_sizes, &s), 0);
    CHECK_RC(pthread_join(t, NULL), 0);

    /* An attr with the process's affinity and a signal mask is usable. */
    cpu_set_t mask;
    sigset_t set;
    CHECK(sched_getaffinity(0, sizeof mask, &mask) == 0);
    CHECK_RC(pthread_attr_setaffinity_np(&a, sizeof mask, &mask), 0);
    sigemptyset(&set);
    CHECK_RC(pthread_attr_setsigmask_np(&a, &set), 0);
    CHECK_RC(pthread_create(&t, &a, check_sizes, &s), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    CHECK_RC(pthread_attr_destroy(&a), 0);
}

static void test_default_attr(void)
{
    pthread_attr_t saved, a, got;
    size_t sz;
    pthread_t t;
    CHECK_RC(pthread_getattr_default_np(&saved), 0);
    CHECK_RC(pthread_attr_getstacksize(&saved, &sz), 0);
    CHECK(sz == expected_default_stacksize());
    CHECK_RC(pthread_attr_getguardsize(&saved, &sz), 0);
    CHECK(sz == page_size());

    struct size_arg s = { 256 * 1024, 2 * page_size() };
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_setstacksize(&a, s.stack), 0);
    CHECK_RC(pthread_attr_setguardsize(&a, s.guard), 0);
    CHECK_RC(pthread_setattr_default_np(&a), 0);
    CHECK_RC(pthread_attr_destroy(&a), 0);

    CHECK_RC(pthread_getattr_default_np(&got), 0);
    CHECK_RC(pthread_attr_getstacksize(&got, &sz), 0);
    CHECK(sz == s.stack);
    CHECK_RC(pthread_attr_getguardsize(&got, &sz), 0);
    CHECK(sz == s.guard);
    CHECK_RC(pthread_attr_destroy(&got), 0);

    /* A fresh attr, and a thread created without one, use the new default. */
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_getstacksize(&a, &sz), 0);
    CHECK(sz == s.stack);
    CHECK_RC(pthread_attr_destroy(&a), 0);
    CHECK_RC(pthread_create(&t, NULL, check_sizes, &s), 0);
    CHECK_RC(pthread_join(t, NULL), 0);

    /* A default with a stack address is refused. */
    static char buf[64 * 1024] __attribute__((aligned(4096)));
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_setstack(&a, buf, sizeof buf), 0);
    CHECK_RC(pthread_setattr_default_np(&a), EINVAL);
    CHECK_RC(pthread_attr_destroy(&a), 0);

    CHECK_RC(pthread_setattr_default_np(&saved), 0);
    CHECK_RC(pthread_attr_destroy(&saved), 0);
    CHECK_RC(pthread_attr_init(&a), 0);
    CHECK_RC(pthread_attr_getstacksize(&a, &sz), 0);
    CHECK(sz == expected_default_stacksize());
    CHECK_RC(pthread_attr_destroy(&a), 0);
}

static void test_main_thread(void)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    int v;
    volatile int local = 0;
    self_attr(&a);
    CHECK_RC(pthread_attr_getstack(&a, &addr, &size), 0);
    CHECK((uintptr_t)&local >= (uintptr_t)addr &&
          (uintptr_t)&local < (uintptr_t)addr + size);
    CHECK_RC(pthread_attr_getdetachstate(&a, &v), 0);
    CHECK(v == PTHREAD_CREATE_JOINABLE);
    CHECK_RC(pthread_attr_destroy(&a), 0);
}

int main(void)
{
    test_defaults();
    test_round_trips();
    test_main_thread();
    test_detached();
    test_given_stack();
    test_created_sizes();
    test_default_attr();
    test_defaults();
    return 0;
}
