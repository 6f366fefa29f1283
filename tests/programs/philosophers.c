/* Dining philosophers, with 5 and then 64 at the table, three ways:
 *   ordered  forks are mutexes, each philosopher locks the lower-numbered of
 *            its two forks first (no cycle, so no deadlock);
 *   waiter   one mutex and a condition variable guard which forks are in
 *            use; a philosopher waits until both of its forks are free and
 *            takes them together (no hold-and-wait);
 *   trylock  lock one fork, trylock the other; on EBUSY put the first back,
 *            sched_yield() and start from the other fork next time.
 * Each philosopher eats a fixed number of meals and yields while eating, so
 * the neighbours run into held forks. While eating it checks that it owns
 * both forks and that neither neighbour is eating; at the end every meal
 * count is exact. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define MAXN 64

enum variant { ORDERED, WAITER, TRYLOCK };

static int n, meals_each;
static enum variant variant;

static pthread_mutex_t forks[MAXN];
static atomic_int fork_owner[MAXN]; /* philosopher holding it, or -1 */
static atomic_int eating[MAXN];
static atomic_int eaters_now, eaters_max;
static long meals[MAXN];

/* Waiter variant: which forks are taken, under waiter_mu. */
static pthread_mutex_t waiter_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fork_freed = PTHREAD_COND_INITIALIZER;
static int fork_taken[MAXN];

static atomic_int go;
static int64_t program_start;

static int left_of(int i) { return i; }
static int right_of(int i) { return (i + 1) % n; }

static void took(int f, int me)
{
    int want = -1;
    CHECK(atomic_compare_exchange_strong(&fork_owner[f], &want, me));
}

static void putting_down(int f, int me)
{
    int want = me;
    CHECK(atomic_compare_exchange_strong(&fork_owner[f], &want, -1));
}

static void eat(int me)
{
    int l = left_of(me), r = right_of(me);
    CHECK(atomic_load(&fork_owner[l]) == me);
    CHECK(atomic_load(&fork_owner[r]) == me);
    CHECK(atomic_exchange(&eating[me], 1) == 0);
    CHECK(atomic_load(&eating[(me + n - 1) % n]) == 0);
    CHECK(atomic_load(&eating[(me + 1) % n]) == 0);
    int now = atomic_fetch_add(&eaters_now, 1) + 1;
    CHECK(now <= n / 2);
    int max = atomic_load(&eaters_max);
    while (now > max && !atomic_compare_exchange_weak(&eaters_max, &max, now))
        ;
    meals[me]++;
    CHECK(sched_yield() == 0);
    CHECK(atomic_load(&eating[(me + n - 1) % n]) == 0);
    CHECK(atomic_load(&eating[(me + 1) % n]) == 0);
    atomic_fetch_sub(&eaters_now, 1);
    CHECK(atomic_exchange(&eating[me], 0) == 1);
}

static void dine_ordered(int me)
{
    int a = left_of(me), b = right_of(me);
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    CHECK_RC(pthread_mutex_lock(&forks[a]), 0);
    took(a, me);
    CHECK_RC(pthread_mutex_lock(&forks[b]), 0);
    took(b, me);
    eat(me);
    putting_down(b, me);
    CHECK_RC(pthread_mutex_unlock(&forks[b]), 0);
    putting_down(a, me);
    CHECK_RC(pthread_mutex_unlock(&forks[a]), 0);
}

static void dine_waiter(int me)
{
    int l = left_of(me), r = right_of(me);
    CHECK_RC(pthread_mutex_lock(&waiter_mu), 0);
    while (fork_taken[l] || fork_taken[r])
        CHECK_RC(pthread_cond_wait(&fork_freed, &waiter_mu), 0);
    fork_taken[l] = fork_taken[r] = 1;
    CHECK_RC(pthread_mutex_unlock(&waiter_mu), 0);
    took(l, me);
    took(r, me);
    eat(me);
    putting_down(l, me);
    putting_down(r, me);
    CHECK_RC(pthread_mutex_lock(&waiter_mu), 0);
    CHECK(fork_taken[l] && fork_taken[r]);
    fork_taken[l] = fork_taken[r] = 0;
    /* Waiters want different forks: wake them all. */
    CHECK_RC(pthread_cond_broadcast(&fork_freed), 0);
    CHECK_RC(pthread_mutex_unlock(&waiter_mu), 0);
}

static void dine_trylock(int me, int *first_right)
{
    for (;;) {
        int a = left_of(me), b = right_of(me);
        if (*first_right) {
            a = right_of(me);
            b = left_of(me);
        }
        CHECK_RC(pthread_mutex_lock(&forks[a]), 0);
        took(a, me);
        int rc = pthread_mutex_trylock(&forks[b]);
        if (rc == 0) {
            took(b, me);
            eat(me);
            putting_down(b, me);
            CHECK_RC(pthread_mutex_unlock(&forks[b]), 0);
            putting_down(a, me);
            CHECK_RC(pthread_mutex_unlock(&forks[a]), 0);
            return;
        }
        CHECK(rc == EBUSY);
        putting_down(a, me);
        CHECK_RC(pthread_mutex_unlock(&forks[a]), 0);
        CHECK(sched_yield() == 0);
        *first_right = !*first_right;
    }
}

static void *philosopher(void *arg)
{
    int me = (int)(intptr_t)arg;
    int first_right = me & 1;
    int64_t deadline = now_ns() + 30 * NSEC_PER_SEC;
    while (!atomic_load(&go)) {
        CHECK(now_ns() < deadline);
        CHECK(sched_yield() == 0);
    }
    for (int m = 0; m < meals_each; m++) {
        switch (variant) {
        case ORDERED: dine_ordered(me); break;
        case WAITER: dine_waiter(me); break;
        case TRYLOCK: dine_trylock(me, &first_right); break;
        }
        /* Think: let the others at the table. */
        if (m % 4 == 3)
            CHECK(sched_yield() == 0);
    }
    return NULL;
}

static void dinner(int size, int meals_per, enum variant v)
{
    n = size;
    meals_each = meals_per;
    variant = v;
    atomic_store(&go, 0);
    atomic_store(&eaters_now, 0);
    atomic_store(&eaters_max, 0);
    for (int i = 0; i < n; i++) {
        CHECK_RC(pthread_mutex_init(&forks[i], NULL), 0);
        atomic_store(&fork_owner[i], -1);
        atomic_store(&eating[i], 0);
        fork_taken[i] = 0;
        meals[i] = 0;
    }
    pthread_t tids[MAXN];
    for (int i = 0; i < n; i++)
        CHECK_RC(pthread_create(&tids[i], NULL, philosopher,
                                (void *)(intptr_t)i), 0);
    check_thread_limit();
    atomic_store(&go, 1);
    for (int i = 0; i < n; i++)
        CHECK_RC(pthread_join(tids[i], NULL), 0);
    /* All six dinners together within 14 s. */
    CHECK_ELAPSED(program_start, 0, 14000);
    for (int i = 0; i < n; i++) {
        CHECK(meals[i] == meals_each);
        CHECK(atomic_load(&fork_owner[i]) == -1);
        CHECK(fork_taken[i] == 0);
        /* Every fork is free again. */
        CHECK_RC(pthread_mutex_trylock(&forks[i]), 0);
        CHECK_RC(pthread_mutex_unlock(&forks[i]), 0);
        CHECK_RC(pthread_mutex_destroy(&forks[i]), 0);
    }
    CHECK(atomic_load(&eaters_now) == 0);
    CHECK(atomic_load(&eaters_max) >= 1 && atomic_load(&eaters_max) <= n / 2);
}

int main(void)
{
    program_start = now_ns();
    static const int sizes[] = { 5, 64 };
    /* Meals per philosopher: fewer for 64 waiters woken by each broadcast. */
    static const int meals_for[2][3] = { { 2000, 2000, 2000 },
                                         { 300, 60, 300 } };
    for (int s = 0; s < 2; s++)
        for (int v = ORDERED; v <= TRYLOCK; v++)
            dinner(sizes[s], meals_for[s][v], (enum variant)v);
    return 0;
}
