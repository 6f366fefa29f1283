/* Process-shared objects between two processes: a PTHREAD_PROCESS_SHARED
 * mutex and condvar, and two unnamed semaphores (pshared = 1), in shared
 * memory.  Each process runs two threads: one ping-pongs 1,000 times with
 * the other process through the mutex and condvar (a turn variable), the
 * other 1,000 times through the two semaphores.  All waits are timed (30
 * s) so that a lost wake-up fails instead of hanging.
 * - fork: the memory is a MAP_SHARED|MAP_ANONYMOUS mapping; the child
 *   runs the same code as the parent (under goshim: both run it).
 * - fork + exec of this program ("child FD NAME"), with LD_PRELOAD removed
 *   from the environment, so the other process is native: the memory is a
 *   memfd (memfd_create, without close-on-exec) that the child maps from
 *   the inherited descriptor.  Also two named semaphores (NAME.a, NAME.b)
 *   the parent creates and the child opens, 200 more ping-pongs.  The
 *   child checks it has no LD_PRELOAD.
 * - the same exec with the environment kept (both run goshim).
 * The parent waits for the child with waitpid and checks it exited 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"

#define ROUNDS 1000
#define NAMED_ROUNDS 200

struct shared {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int turn;          /* 0: the parent's, 1: the child's */
    int moves;         /* under m */
    sem_t to_child;
    sem_t to_parent;
};

extern char **environ;

static struct timespec deadline_in(clockid_t clk, int64_t ms)
{
    return ns_to_ts(clock_ns(clk) + ms * NSEC_PER_MSEC);
}

static void shared_init(struct shared *sh)
{
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    int v;
    CHECK_RC(pthread_mutexattr_init(&ma), 0);
    CHECK_RC(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_mutexattr_getpshared(&ma, &v), 0);
    CHECK(v == PTHREAD_PROCESS_SHARED);
    CHECK_RC(pthread_mutex_init(&sh->m, &ma), 0);
    CHECK_RC(pthread_mutexattr_destroy(&ma), 0);
    CHECK_RC(pthread_condattr_init(&ca), 0);
    CHECK_RC(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED), 0);
    CHECK_RC(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
    CHECK_RC(pthread_cond_init(&sh->cv, &ca), 0);
    CHECK_RC(pthread_condattr_destroy(&ca), 0);
    sh->turn = 0;
    sh->moves = 0;
    CHECK(sem_init(&sh->to_child, 1, 0) == 0);
    CHECK(sem_init(&sh->to_parent, 1, 0) == 0);
}

static void shared_destroy(struct shared *sh)
{
    CHECK(sh->moves == 2 * ROUNDS);
    int v = -1;
    CHECK(sem_getvalue(&sh->to_child, &v) == 0 && v == 0);
    CHECK(sem_getvalue(&sh->to_parent, &v) == 0 && v == 0);
    CHECK_RC(pthread_cond_destroy(&sh->cv), 0);
    CHECK_RC(pthread_mutex_destroy(&sh->m), 0);
    CHECK(sem_destroy(&sh->to_child) == 0);
    CHECK(sem_destroy(&sh->to_parent) == 0);
}

/* ---- the two ping-pongs, from either side ---- */

struct side {
    struct shared *sh;
    int me;            /* 0 parent, 1 child */
};

static void *cond_pingpong(void *arg)
{
    struct side *s = arg;
    struct shared *sh = s->sh;
    struct timespec deadline = deadline_in(CLOCK_MONOTONIC, 30000);
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_RC(pthread_mutex_lock(&sh->m), 0);
        while (sh->turn != s->me)
            CHECK_RC(pthread_cond_timedwait(&sh->cv, &sh->m, &deadline), 0);
        sh->turn = !s->me;
        sh->moves++;
        CHECK_RC(pthread_cond_signal(&sh->cv), 0);
        CHECK_RC(pthread_mutex_unlock(&sh->m), 0);
    }
    return NULL;
}

static void sem_pingpong(sem_t *mine, sem_t *theirs, int me, int rounds)
{
    struct timespec deadline = deadline_in(CLOCK_REALTIME, 30000);
    for (int i = 0; i < rounds; i++) {
        if (me == 0) {
            CHECK(sem_post(theirs) == 0);
            CHECK(sem_timedwait(mine, &deadline) == 0);
        } else {
            CHECK(sem_timedwait(mine, &deadline) == 0);
            CHECK(sem_post(theirs) == 0);
        }
    }
}

/* Both ping-pongs at once: the condvar one in a new thread. */
static void play(struct shared *sh, int me)
{
    struct side s = { sh, me };
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, cond_pingpong, &s), 0);
    if (me == 0)
        sem_pingpong(&sh->to_parent, &sh->to_child, 0, ROUNDS);
    else
        sem_pingpong(&sh->to_child, &sh->to_parent, 1, ROUNDS);
    CHECK_RC(pthread_join(t, NULL), 0);
}

static void wait_child(pid_t pid)
{
    int status;
    pid_t r;
    while ((r = waitpid(pid, &status, 0)) < 0 && errno_now() == EINTR)
        ;
    CHECK(r == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pshared: child status 0x%x\n", status);
        CHECK(0);
    }
}

/* ---- fork ---- */

static void test_fork(void)
{
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    shared_init(sh);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        play(sh, 1);
        _exit(0);
    }
    play(sh, 0);
    wait_child(pid);
    shared_destroy(sh);
    CHECK(munmap(sh, sizeof *sh) == 0);
}

/* ---- exec ---- */

static void named(char *buf, size_t len, const char *base, char which)
{
    snprintf(buf, len, "%s.%c", base, which);
}

/* The exec'd child: argv = { prog, "child", FD, NAME }. */
static int child_main(char **argv)
{
    CHECK(getenv("EXPECT_PRELOAD") != NULL);
    if (strcmp(getenv("EXPECT_PRELOAD"), "0") == 0)
        CHECK(getenv("LD_PRELOAD") == NULL);
    int fd = atoi(argv[2]);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                             MAP_SHARED, fd, 0);
    CHECK(sh != MAP_FAILED);
    CHECK(close(fd) == 0);
    play(sh, 1);

    char na[80], nb[80];
    named(na, sizeof na, argv[3], 'a');
    named(nb, sizeof nb, argv[3], 'b');
    sem_t *a = sem_open(na, 0);
    sem_t *b = sem_open(nb, 0);
    CHECK(a != SEM_FAILED && b != SEM_FAILED);
    sem_pingpong(a, b, 1, NAMED_ROUNDS);
    CHECK(sem_close(a) == 0);
    CHECK(sem_close(b) == 0);
    CHECK(munmap(sh, sizeof *sh) == 0);
    return 0;
}

static void test_exec(int keep_preload)
{
    int fd = memfd_create("goshim_pshared", 0);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, sizeof(struct shared)) == 0);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                             MAP_SHARED, fd, 0);
    CHECK(sh != MAP_FAILED);
    shared_init(sh);

    char base[48], na[80], nb[80];
    snprintf(base, sizeof base, "/goshim_pshared_%ld_%d", (long)getpid(),
             keep_preload);
    named(na, sizeof na, base, 'a');
    named(nb, sizeof nb, base, 'b');
    sem_unlink(na); /* leftovers of a crashed run */
    sem_unlink(nb);
    sem_t *a = sem_open(na, O_CREAT | O_EXCL, 0600, 0);
    sem_t *b = sem_open(nb, O_CREAT | O_EXCL, 0600, 0);
    CHECK(a != SEM_FAILED && b != SEM_FAILED);

    /* The child's environment and arguments, made before fork. */
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 2, sizeof *env);
    CHECK(env != NULL);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "EXPECT_PRELOAD=", 15) == 0)
            continue;
        if (!keep_preload && strncmp(environ[i], "LD_PRELOAD=", 11) == 0)
            continue;
        env[k++] = environ[i];
    }
    env[k++] = keep_preload ? "EXPECT_PRELOAD=1" : "EXPECT_PRELOAD=0";
    env[k] = NULL;
    char fdstr[16];
    snprintf(fdstr, sizeof fdstr, "%d", fd);
    char *args[] = { "pshared", "child", fdstr, base, NULL };

    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execve("/proc/self/exe", args, env);
        _exit(127);
    }
    free(env);
    play(sh, 0);
    sem_pingpong(b, a, 0, NAMED_ROUNDS);
    wait_child(pid);

    int v = -1;
    CHECK(sem_getvalue(a, &v) == 0 && v == 0);
    CHECK(sem_getvalue(b, &v) == 0 && v == 0);
    CHECK(sem_close(a) == 0);
    CHECK(sem_close(b) == 0);
    CHECK(sem_unlink(na) == 0);
    CHECK(sem_unlink(nb) == 0);
    shared_destroy(sh);
    CHECK(munmap(sh, sizeof *sh) == 0);
    CHECK(close(fd) == 0);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "child") == 0)
        return child_main(argv);
    CHECK(argc == 1);
    test_fork();
    test_exec(0);
    test_exec(1);
    return 0;
}
