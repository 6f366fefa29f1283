/* Nothing leaks per thread: a million thread lifetimes (a hundred thousand
 * natively, where each costs a kernel thread), each thread touching its
 * TLS, malloc's per-thread cache (allocations of several sizes, freed
 * again), errno and a TSD key with a destructor, must leave the resident
 * set where the first tenth of them left it, give or take 16 MiB. */
#include <pthread.h>

#include "check.h"

static __thread char tls_buf[512];
static pthread_key_t key;
static atomic_long destroyed;

static void destructor(void *p)
{
    free(p);
    atomic_fetch_add(&destroyed, 1);
}

static void *worker(void *arg)
{
    (void)arg;
    memset(tls_buf, 1, sizeof tls_buf);
    void *p[4];
    size_t sizes[4] = { 24, 200, 1000, 5000 };
    for (int i = 0; i < 4; i++)
        CHECK((p[i] = malloc(sizes[i])) != NULL);
    for (int i = 0; i < 4; i++)
        free(p[i]);
    CHECK_RC(pthread_setspecific(key, malloc(64)), 0);
    errno_set(EINTR);
    return NULL;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    long size, resident;
    CHECK(fscanf(f, "%ld %ld", &size, &resident) == 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void run(long n)
{
    enum { BATCH = 100 };
    pthread_t th[BATCH];
    for (long done = 0; done < n; done += BATCH) {
        for (int i = 0; i < BATCH; i++)
            CHECK_RC(pthread_create(&th[i], NULL, worker, NULL), 0);
        for (int i = 0; i < BATCH; i++)
            CHECK_RC(pthread_join(th[i], NULL), 0);
    }
}

int main(void)
{
    long total = thread_limit() > 0 ? 1000000 : 100000;
    CHECK_RC(pthread_key_create(&key, destructor), 0);
    run(total / 10);
    long before = rss_kib();
    run(total - total / 10);
    long after = rss_kib();
    CHECK(atomic_load(&destroyed) == total);
    if (after - before > 16 * 1024) {
        fprintf(stderr, "RSS grew from %ld KiB to %ld KiB over %ld threads\n",
                before, after, total - total / 10);
        return 1;
    }
    return 0;
}
