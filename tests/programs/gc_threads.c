/* The Boehm-Demers-Weiser collector with threads (GC_THREADS): to collect,
 * it stops every registered thread with pthread_kill (its suspend
 * handler acknowledges with sem_post and waits in sigsuspend for the
 * restart signal), marks from their stacks and registers, and restarts
 * them.  Threads stopped while they wait for a mutex or a condition
 * variable must run the handler all the same, and the stopped ones must
 * not keep the collecting thread from running.
 *
 * WORKERS threads build linked lists of collected memory and pass a token
 * around a condition variable, while main collects COLLECTIONS times;
 * every list must hold what was put in it (nothing reachable was freed),
 * and the collector must have run at least that often.  No bound on
 * kernel threads: a stopped thread keeps its kernel thread while its
 * handler waits (a handler's frame cannot leave it), so a collection
 * takes up to one kernel thread per thread, as natively. */
#define GC_THREADS
#include <gc.h>
#include <pthread.h>

#include "check.h"

#define WORKERS 8
#define ROUNDS 150
#define NODES 400
#define COLLECTIONS 30

struct node {
    struct node *next;
    long v;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long turn; /* mu */

static void *worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (int round = 0; round < ROUNDS; round++) {
        struct node *list = NULL;
        for (long i = 0; i < NODES; i++) {
            struct node *n = GC_MALLOC(sizeof *n);
            CHECK(n != NULL);
            n->next = list;
            n->v = i * WORKERS + id;
            list = n;
        }
        CHECK_RC(pthread_mutex_lock(&mu), 0);
        while (turn % WORKERS != id)
            CHECK_RC(pthread_cond_wait(&cv, &mu), 0);
        /* Built before the wait, checked after it: the collections
         * meanwhile must have kept every node. */
        long i = NODES;
        for (struct node *n = list; n; n = n->next)
            CHECK(n->v == --i * WORKERS + id);
        CHECK(i == 0);
        turn++;
        CHECK_RC(pthread_cond_broadcast(&cv), 0);
        CHECK_RC(pthread_mutex_unlock(&mu), 0);
    }
    return NULL;
}

int main(void)
{
    GC_INIT();
    pthread_t tids[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        CHECK_RC(pthread_create(&tids[i], NULL, worker, (void *)(intptr_t)i), 0);
    size_t before = GC_get_gc_no();
    for (int i = 0; i < COLLECTIONS; i++)
        GC_gcollect();
    for (int i = 0; i < WORKERS; i++)
        CHECK_RC(pthread_join(tids[i], NULL), 0);
    CHECK(GC_get_gc_no() - before >= COLLECTIONS);
    CHECK(turn == (long)WORKERS * ROUNDS);
    printf("gc_threads: %zu collections\n", GC_get_gc_no() - before);
    return 0;
}
