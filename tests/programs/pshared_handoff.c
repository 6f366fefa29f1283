/* A thread blocked on a process-shared object held by another process
 * blocks its kernel thread in glibc; the other threads must keep running.
 * The child process locks a PTHREAD_PROCESS_SHARED mutex (and holds a
 * process-shared semaphore at 0) for 300 ms; meanwhile one thread of the
 * parent waits for the mutex, another for the semaphore, and a third
 * ticks every 10 ms: it must tick throughout (with GOMAXPROCS=1 it can
 * only if the P was handed off).  Then the same for a pthread_barrier in
 * shared memory and a raw futex op goshim does not emulate (FUTEX_LOCK_PI
 * on a word the child owns).  Last, a process-shared robust mutex taken
 * and released by four threads that yield while they hold it: glibc keeps
 * it on the holder's robust list, in the holder's TCB.  And a peer process
 * that does not run goshim (this program exec'd again without LD_PRELOAD)
 * plays ping-pong with a thread of this one through a process-shared mutex
 * and condition variable in a memfd mapping. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"

struct shared {
    pthread_mutex_t m;
    sem_t ready;     /* child -> parent: it holds everything */
    sem_t gate;      /* posted by the child when it lets go */
    pthread_mutex_t robust;
    _Atomic uint32_t pi; /* PI futex word: the child's tid while it holds it */
};

static struct shared *sh;
static atomic_int ticks, stop;

static void *ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        sleep_ms(10);
        atomic_fetch_add(&ticks, 1);
    }
    return NULL;
}

static void *lock_mutex(void *arg)
{
    (void)arg;
    CHECK_RC(pthread_mutex_lock(&sh->m), 0);
    CHECK_RC(pthread_mutex_unlock(&sh->m), 0);
    return NULL;
}

static void *wait_gate(void *arg)
{
    (void)arg;
    while (sem_wait(&sh->gate) != 0)
        CHECK(errno_now() == EINTR);
    return NULL;
}

static void *lock_pi(void *arg)
{
    (void)arg;
    long r;
    while ((r = syscall(SYS_futex, &sh->pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0)) != 0)
        CHECK(errno_now() == EINTR || errno_now() == EAGAIN);
    CHECK(syscall(SYS_futex, &sh->pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0) == 0);
    return NULL;
}

static void *robust_user(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        CHECK_RC(pthread_mutex_lock(&sh->robust), 0);
        sched_yield();
        CHECK_RC(pthread_mutex_unlock(&sh->robust), 0);
    }
    return NULL;
}

/* The ping-pong between this process and the exec'd peer. */
struct pingpong {
    pthread_mutex_t m;
    pthread_cond_t c;
    int turn;   /* 0: this process, 1: the peer */
    int rounds;
};
#define ROUNDS 1000

static void play(struct pingpong *pp, int me)
{
    CHECK_RC(pthread_mutex_lock(&pp->m), 0);
    for (int i = 0; i < ROUNDS; i++) {
        while (pp->turn != me)
            CHECK_RC(pthread_cond_wait(&pp->c, &pp->m), 0);
        pp->turn = 1 - me;
        pp->rounds++;
        CHECK_RC(pthread_cond_broadcast(&pp->c), 0);
    }
    CHECK_RC(pthread_mutex_unlock(&pp->m), 0);
}

static struct pingpong *map_pingpong(int fd)
{
    struct pingpong *pp = mmap(NULL, sizeof *pp, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(pp != MAP_FAILED);
    return pp;
}

static void *player(void *arg)
{
    play(arg, 0);
    return NULL;
}

static void with_native_peer(const char *self)
{
    int fd = memfd_create("goshim-pingpong", 0);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, sizeof(struct pingpong)) == 0);
    struct pingpong *pp = map_pingpong(fd);
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    CHECK_RC(pthread_mutexattr_init(&ma), 0);
    CHECK_RC(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_mutex_init(&pp->m, &ma), 0);
    CHECK_RC(pthread_condattr_init(&ca), 0);
    CHECK_RC(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_cond_init(&pp->c, &ca), 0);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char fdarg[16];
        snprintf(fdarg, sizeof fdarg, "%d", fd);
        unsetenv("LD_PRELOAD");
        execl(self, self, "peer", fdarg, (char *)NULL);
        _exit(127);
    }
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, player, pp), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(pp->rounds == 2 * ROUNDS);
}

static void child(void)
{
    CHECK_RC(pthread_mutex_lock(&sh->m), 0);
    atomic_store(&sh->pi, (uint32_t)syscall(SYS_gettid));
    CHECK(sem_post(&sh->ready) == 0);
    /* A PI futex belongs to the kernel thread that locked it, so the hold
     * sleeps in the kernel: a thread's sleep under goshim may resume on
     * another kernel thread, whose unlock the kernel would refuse. */
    struct timespec hold = { 0, 300 * 1000000L };
    CHECK(syscall(SYS_nanosleep, &hold, NULL) == 0);
    CHECK(syscall(SYS_futex, &sh->pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0) == 0);
    CHECK_RC(pthread_mutex_unlock(&sh->m), 0);
    CHECK(sem_post(&sh->gate) == 0);
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "peer") == 0) {
        /* The exec'd peer: no goshim here. */
        CHECK(getenv("LD_PRELOAD") == NULL);
        play(map_pingpong(atoi(argv[2])), 1);
        return 0;
    }
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    pthread_mutexattr_t ma;
    CHECK_RC(pthread_mutexattr_init(&ma), 0);
    CHECK_RC(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_mutex_init(&sh->m, &ma), 0);
    CHECK(sem_init(&sh->ready, 1, 0) == 0);
    CHECK(sem_init(&sh->gate, 1, 0) == 0);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        child();
    while (sem_wait(&sh->ready) != 0)
        CHECK(errno_now() == EINTR);

    pthread_t t, w[3];
    CHECK_RC(pthread_create(&t, NULL, ticker, NULL), 0);
    int64_t t0 = now_ns();
    CHECK_RC(pthread_create(&w[0], NULL, lock_mutex, NULL), 0);
    CHECK_RC(pthread_create(&w[1], NULL, wait_gate, NULL), 0);
    CHECK_RC(pthread_create(&w[2], NULL, lock_pi, NULL), 0);
    for (int i = 0; i < 3; i++)
        CHECK_RC(pthread_join(w[i], NULL), 0);
    int64_t waited_ms = (now_ns() - t0) / NSEC_PER_MSEC;
    int n = atomic_load(&ticks);
    atomic_store(&stop, 1);
    CHECK_RC(pthread_join(t, NULL), 0);

    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* About 25 ticks in 250+ ms natively; fewer than 5 means the waiters
     * held the only P. */
    CHECK(waited_ms >= 100);
    if (n < 5) {
        fprintf(stderr, "only %d ticks in %lld ms\n", n, (long long)waited_ms);
        return 1;
    }
    CHECK_RC(pthread_mutex_destroy(&sh->m), 0);

    CHECK_RC(pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST), 0);
    CHECK_RC(pthread_mutex_init(&sh->robust, &ma), 0);
    for (int i = 0; i < 3; i++)
        CHECK_RC(pthread_create(&w[i], NULL, robust_user, NULL), 0);
    robust_user(NULL);
    for (int i = 0; i < 3; i++)
        CHECK_RC(pthread_join(w[i], NULL), 0);

    with_native_peer(argv[0]);
    return 0;
}
