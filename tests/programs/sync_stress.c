/* 64 threads each run a seeded random mixture of 3,000 mutex and condition
 * variable operations (stopping early after 2.5 s):
 *   - pthread_mutex_lock, trylock (0 or EBUSY), timedlock with a deadline
 *     0-2 ms ahead (0 or ETIMEDOUT, never early), already passed (0 or
 *     ETIMEDOUT) or malformed (0 or EINVAL), on five mutexes: three
 *     normal/default, one recursive, one errorcheck; two at once in index
 *     order; some critical sections yield;
 *   - recursive locking 1-3 deep with lock/trylock/timedlock, and the
 *     error returns: errorcheck relock EDEADLK, trylock EBUSY, unlock when
 *     not the owner EPERM (errorcheck and recursive);
 *   - token pools on condition variables, one per mutex kind (the normal
 *     pool's variable on CLOCK_REALTIME, the errorcheck pool's on
 *     CLOCK_MONOTONIC, the recursive pool's default): give a token (half
 *     of them to the normal pool) and signal or broadcast (inside or
 *     outside the lock), take one with
 *     pthread_cond_timedwait (deadline 0-3 ms ahead, never early; already
 *     passed; malformed: EINVAL) or, on the normal pool, pthread_cond_wait.
 * Inside every critical section the thread checks it is alone (an in-section
 * counter goes 0 -> 1) and records itself as the owner, which must still be
 * it on leaving. At the end each mutex's count of critical sections equals
 * the threads' tallies and each pool's tokens equal gives minus takes.
 *
 * No deadlock: a thread holds two mutexes only in index order and waits on
 * a condition variable holding nothing else; untimed waiters give up when
 * every other thread is finished or itself in an untimed wait (a thread
 * finishing broadcasts), so they cannot all sleep. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define NT 64
#define OPS 3000
#define TIME_CAP_MS 2500

enum { M_DEFAULT, M_NORMAL, M_STATIC, M_REC, M_ERR, NMU };

struct guarded {
    pthread_mutex_t mu;
    int kind; /* PTHREAD_MUTEX_* */
    atomic_int in;
    atomic_int owner; /* thread index, or -1 */
    long count;       /* critical sections, under mu */
};

static struct guarded g[NMU] = {
    [M_STATIC] = { .mu = PTHREAD_MUTEX_INITIALIZER },
};

/* Token pools: each on one of the guarded mutexes. */
enum { NPOOL = 3 };
struct pool {
    int m;          /* index into g */
    clockid_t clk;  /* the condition variable's clock */
    pthread_cond_t cv;
    long tokens;    /* under g[m].mu */
};
static struct pool pools[NPOOL] = {
    { .m = M_STATIC, .clk = CLOCK_REALTIME },
    { .m = M_ERR, .clk = CLOCK_MONOTONIC },
    { .m = M_REC, .clk = CLOCK_REALTIME },
};
/* Untimed waits, pool 0 only; under g[pools[0].m].mu. */
static int finished, untimed_waiting;

struct tally {
    long acquired[NMU];
    long given[NPOOL], taken[NPOOL];
    long busy, timedout, ops, untimed_gaveup;
} __attribute__((aligned(64)));
static struct tally tallies[NT];

static int64_t deadline_ns; /* the time cap, monotonic */

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static unsigned below(uint64_t *s, unsigned n)
{
    return (unsigned)(rnd(s) >> 33) % n;
}

/* Critical section bookkeeping, after acquiring (outermost level). */
static void enter(int m, int me)
{
    CHECK(atomic_fetch_add(&g[m].in, 1) == 0);
    int none = -1;
    CHECK(atomic_compare_exchange_strong(&g[m].owner, &none, me));
    g[m].count++;
    tallies[me].acquired[m]++;
}

/* Before releasing (outermost level) or waiting on a condition variable. */
static void leave(int m, int me)
{
    int mine = me;
    CHECK(atomic_compare_exchange_strong(&g[m].owner, &mine, -1));
    CHECK(atomic_fetch_sub(&g[m].in, 1) == 1);
}

static void body(int m, int me, uint64_t *s)
{
    CHECK(atomic_load(&g[m].owner) == me);
    CHECK(atomic_load(&g[m].in) == 1);
    if (below(s, 8) == 0)
        CHECK(sched_yield() == 0);
    CHECK(atomic_load(&g[m].owner) == me);
    CHECK(atomic_load(&g[m].in) == 1);
}

static struct timespec abs_in(clockid_t clk, int64_t ns)
{
    return ns_to_ts(clock_ns(clk) + ns);
}

static void lock(int m, int me)
{
    CHECK_RC(pthread_mutex_lock(&g[m].mu), 0);
    enter(m, me);
}

static void unlock(int m, int me)
{
    leave(m, me);
    CHECK_RC(pthread_mutex_unlock(&g[m].mu), 0);
}

/* A mutex acquisition attempt of a random flavour; returns whether held. */
static int try_acquire(int m, int me, uint64_t *s)
{
    int rc;
    struct timespec ts;
    switch (below(s, 6)) {
    case 0:
    case 1:
        CHECK_RC(pthread_mutex_lock(&g[m].mu), 0);
        break;
    case 2:
        rc = pthread_mutex_trylock(&g[m].mu);
        CHECK(rc == 0 || rc == EBUSY);
        if (rc) {
            tallies[me].busy++;
            return 0;
        }
        break;
    case 3: {
        int64_t ahead = (int64_t)below(s, 2000) * 1000;
        ts = abs_in(CLOCK_REALTIME, ahead);
        rc = pthread_mutex_timedlock(&g[m].mu, &ts);
        CHECK(rc == 0 || rc == ETIMEDOUT);
        if (rc) {
            CHECK(clock_ns(CLOCK_REALTIME) >=
                  (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec);
            tallies[me].timedout++;
            return 0;
        }
        break;
    }
    case 4:
        /* Already passed: a second ago, or the epoch. */
        ts = below(s, 2) ? abs_in(CLOCK_REALTIME, -NSEC_PER_SEC)
                         : (struct timespec){ 0, 0 };
        rc = pthread_mutex_timedlock(&g[m].mu, &ts);
        CHECK(rc == 0 || rc == ETIMEDOUT);
        if (rc) {
            tallies[me].timedout++;
            return 0;
        }
        break;
    default:
        /* Malformed: checked, at the latest, when the call would block. */
        ts = abs_in(CLOCK_REALTIME, NSEC_PER_MSEC);
        ts.tv_nsec = below(s, 2) ? -1 : NSEC_PER_SEC;
        rc = pthread_mutex_timedlock(&g[m].mu, &ts);
        CHECK(rc == 0 || rc == EINVAL);
        if (rc)
            return 0;
        break;
    }
    enter(m, me);
    return 1;
}

static void op_one_mutex(int me, uint64_t *s)
{
    int m = (int)below(s, NMU);
    if (try_acquire(m, me, s)) {
        body(m, me, s);
        unlock(m, me);
    }
}

static void op_two_mutexes(int me, uint64_t *s)
{
    int a = (int)below(s, NMU), b = (int)below(s, NMU - 1);
    if (b >= a)
        b++;
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    lock(a, me);
    if (try_acquire(b, me, s)) {
        body(b, me, s);
        body(a, me, s);
        unlock(b, me);
    }
    unlock(a, me);
}

static void op_recursive(int me, uint64_t *s)
{
    int depth = 1 + (int)below(s, 3);
    lock(M_REC, me);
    for (int d = 1; d < depth; d++) {
        struct timespec ts = abs_in(CLOCK_REALTIME, -NSEC_PER_SEC);
        switch (below(s, 3)) {
        case 0: CHECK_RC(pthread_mutex_lock(&g[M_REC].mu), 0); break;
        case 1: CHECK_RC(pthread_mutex_trylock(&g[M_REC].mu), 0); break;
        default: CHECK_RC(pthread_mutex_timedlock(&g[M_REC].mu, &ts), 0); break;
        }
        body(M_REC, me, s);
    }
    for (int d = 1; d < depth; d++) {
        CHECK_RC(pthread_mutex_unlock(&g[M_REC].mu), 0);
        body(M_REC, me, s);
    }
    unlock(M_REC, me);
    /* Not the owner any more (another thread may be). */
    CHECK_RC(pthread_mutex_unlock(&g[M_REC].mu), EPERM);
}

static void op_errorcheck(int me, uint64_t *s)
{
    struct timespec ts = abs_in(CLOCK_REALTIME, NSEC_PER_MSEC);
    CHECK_RC(pthread_mutex_unlock(&g[M_ERR].mu), EPERM);
    lock(M_ERR, me);
    CHECK_RC(pthread_mutex_lock(&g[M_ERR].mu), EDEADLK);
    CHECK_RC(pthread_mutex_trylock(&g[M_ERR].mu), EBUSY);
    CHECK_RC(pthread_mutex_timedlock(&g[M_ERR].mu, &ts), EDEADLK);
    body(M_ERR, me, s);
    unlock(M_ERR, me);
    CHECK_RC(pthread_mutex_unlock(&g[M_ERR].mu), EPERM);
}

static void pool_lock(struct pool *p, int me)
{
    lock(p->m, me);
}

static void op_give(int me, uint64_t *s)
{
    /* Pool 0 gets half the tokens: its untimed waiters need them. */
    int pi = below(s, 2) ? 0 : 1 + (int)below(s, NPOOL - 1);
    struct pool *p = &pools[pi];
    int bcast = below(s, 4) == 0, outside = below(s, 2);
    pool_lock(p, me);
    p->tokens++;
    tallies[me].given[pi]++;
    if (!outside)
        CHECK_RC(bcast ? pthread_cond_broadcast(&p->cv)
                       : pthread_cond_signal(&p->cv), 0);
    unlock(p->m, me);
    if (outside)
        CHECK_RC(bcast ? pthread_cond_broadcast(&p->cv)
                       : pthread_cond_signal(&p->cv), 0);
}

static void take_if_any(struct pool *p, int pi, int me)
{
    if (p->tokens > 0) {
        p->tokens--;
        tallies[me].taken[pi]++;
    }
}

static void op_take_timed(int me, uint64_t *s)
{
    int pi = (int)below(s, NPOOL);
    struct pool *p = &pools[pi];
    int kind = (int)below(s, 8);
    int64_t ahead = (int64_t)below(s, 3000) * 1000;
    pool_lock(p, me);
    if (kind == 0) {
        /* Malformed deadline: EINVAL, the mutex held throughout (the
         * section stays entered: a thread that got in meanwhile fails). */
        struct timespec ts = abs_in(p->clk, NSEC_PER_MSEC);
        ts.tv_nsec = NSEC_PER_SEC + 5;
        CHECK_RC(pthread_cond_timedwait(&p->cv, &g[p->m].mu, &ts), EINVAL);
        body(p->m, me, s);
    } else if (kind == 1) {
        /* Already passed: returns at once, the mutex reacquired. */
        struct timespec ts = abs_in(p->clk, -NSEC_PER_MSEC);
        leave(p->m, me);
        int rc = pthread_cond_timedwait(&p->cv, &g[p->m].mu, &ts);
        CHECK(rc == 0 || rc == ETIMEDOUT);
        enter(p->m, me);
    } else {
        struct timespec ts = abs_in(p->clk, ahead);
        while (p->tokens == 0) {
            leave(p->m, me);
            int rc = pthread_cond_timedwait(&p->cv, &g[p->m].mu, &ts);
            enter(p->m, me);
            CHECK(rc == 0 || rc == ETIMEDOUT);
            if (rc == ETIMEDOUT) {
                CHECK(clock_ns(p->clk) >=
                      (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec);
                tallies[me].timedout++;
                break;
            }
        }
    }
    take_if_any(p, pi, me);
    unlock(p->m, me);
}

static void op_take_untimed(int me)
{
    struct pool *p = &pools[0];
    pool_lock(p, me);
    if (p->tokens == 0) {
        untimed_waiting++;
        while (p->tokens == 0 && finished + untimed_waiting < NT) {
            leave(p->m, me);
            CHECK_RC(pthread_cond_wait(&p->cv, &g[p->m].mu), 0);
            enter(p->m, me);
        }
        if (p->tokens == 0)
            tallies[me].untimed_gaveup++;
        untimed_waiting--;
    }
    take_if_any(p, 0, me);
    unlock(p->m, me);
}

static atomic_int started;

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(me + 1) | 1;
    atomic_fetch_add(&started, 1);
    for (int i = 0; i < OPS && now_ns() < deadline_ns; i++) {
        unsigned r = below(&seed, 100);
        if (r < 40)
            op_one_mutex(me, &seed);
        else if (r < 48)
            op_two_mutexes(me, &seed);
        else if (r < 55)
            op_recursive(me, &seed);
        else if (r < 60)
            op_errorcheck(me, &seed);
        else if (r < 78)
            op_give(me, &seed);
        else if (r < 95)
            op_take_timed(me, &seed);
        else
            op_take_untimed(me);
        tallies[me].ops++;
    }
    struct pool *p = &pools[0];
    pool_lock(p, me);
    finished++;
    if (finished + untimed_waiting == NT)
        CHECK_RC(pthread_cond_broadcast(&p->cv), 0);
    unlock(p->m, me);
    return NULL;
}

int main(void)
{
    pthread_mutexattr_t ma;
    CHECK_RC(pthread_mutexattr_init(&ma), 0);
    for (int m = 0; m < NMU; m++) {
        int kind = m == M_REC ? PTHREAD_MUTEX_RECURSIVE
                 : m == M_ERR ? PTHREAD_MUTEX_ERRORCHECK
                 : PTHREAD_MUTEX_NORMAL;
        g[m].kind = kind;
        atomic_store(&g[m].owner, -1);
        if (m == M_STATIC)
            continue;
        if (m == M_DEFAULT) {
            CHECK_RC(pthread_mutex_init(&g[m].mu, NULL), 0);
            continue;
        }
        CHECK_RC(pthread_mutexattr_settype(&ma, kind), 0);
        CHECK_RC(pthread_mutex_init(&g[m].mu, &ma), 0);
    }
    CHECK_RC(pthread_mutexattr_destroy(&ma), 0);
    for (int i = 0; i < NPOOL; i++) {
        pthread_condattr_t ca;
        CHECK_RC(pthread_condattr_init(&ca), 0);
        CHECK_RC(pthread_condattr_setclock(&ca, pools[i].clk), 0);
        CHECK_RC(pthread_cond_init(&pools[i].cv, i == 2 ? NULL : &ca), 0);
        CHECK_RC(pthread_condattr_destroy(&ca), 0);
    }

    deadline_ns = now_ns() + TIME_CAP_MS * NSEC_PER_MSEC;
    pthread_t tids[NT];
    for (int i = 0; i < NT; i++)
        CHECK_RC(pthread_create(&tids[i], NULL, worker, (void *)(intptr_t)i), 0);
    check_thread_limit();
    for (int i = 0; i < NT; i++)
        CHECK_RC(pthread_join(tids[i], NULL), 0);
    CHECK(atomic_load(&started) == NT);

    long ops = 0;
    for (int m = 0; m < NMU; m++) {
        long sum = 0;
        for (int t = 0; t < NT; t++)
            sum += tallies[t].acquired[m];
        CHECK(sum == g[m].count);
        CHECK(atomic_load(&g[m].in) == 0);
        CHECK(atomic_load(&g[m].owner) == -1);
        CHECK_RC(pthread_mutex_trylock(&g[m].mu), 0);
        CHECK_RC(pthread_mutex_unlock(&g[m].mu), 0);
        if (m == M_ERR || m == M_REC)
            CHECK_RC(pthread_mutex_unlock(&g[m].mu), EPERM);
    }
    for (int i = 0; i < NPOOL; i++) {
        long given = 0, taken = 0;
        for (int t = 0; t < NT; t++) {
            given += tallies[t].given[i];
            taken += tallies[t].taken[i];
        }
        CHECK(given - taken == pools[i].tokens);
        CHECK(pools[i].tokens >= 0);
        CHECK_RC(pthread_cond_destroy(&pools[i].cv), 0);
    }
    for (int t = 0; t < NT; t++) {
        CHECK(tallies[t].ops >= 1);
        ops += tallies[t].ops;
    }
    CHECK(finished == NT && untimed_waiting == 0);
    for (int m = 0; m < NMU; m++)
        CHECK_RC(pthread_mutex_destroy(&g[m].mu), 0);
    if (getenv("SYNC_STRESS_VERBOSE")) {
        long busy = 0, tout = 0, gaveup = 0;
        for (int t = 0; t < NT; t++) {
            busy += tallies[t].busy;
            tout += tallies[t].timedout;
            gaveup += tallies[t].untimed_gaveup;
        }
        fprintf(stderr, "ops=%ld busy=%ld timedout=%ld gaveup=%ld tokens=%ld/%ld/%ld\n",
                ops, busy, tout, gaveup, pools[0].tokens, pools[1].tokens,
                pools[2].tokens);
    }
    return 0;
}
