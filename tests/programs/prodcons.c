/* A bounded buffer of 64 slots guarded by one mutex and two condition
 * variables (not_full, not_empty): 4 producers and 4 consumers move
 * 1,000,000 items through it. Every item is consumed exactly once, the sum
 * and xor of the item values match on both sides, the buffer count stays in
 * [0, 64] under the mutex, and each consumer sees any one producer's items
 * in the order they were produced (the buffer is FIFO and a consumer takes
 * items one after the other). Waiters are woken with pthread_cond_signal,
 * one per item moved; the end of production is broadcast. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define NPROD 4
#define NCONS 4
#define TOTAL 1000000
#define PER_PROD (TOTAL / NPROD)
#define SLOTS 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;

/* All under mu. */
static uint32_t buf[SLOTS];
static unsigned head, count;
static int producers_done;
static long in_section; /* must be 0 on entry: mutual exclusion */

static atomic_uchar seen[TOTAL];
static uint64_t prod_sum[NPROD], prod_xor[NPROD];
static uint64_t cons_sum[NCONS], cons_xor[NCONS];
static long cons_items[NCONS];

/* The value an item carries: a mix of its id, so sum and xor see every bit. */
static uint64_t value_of(uint32_t id)
{
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
    return x ^ (x >> 29);
}

static void enter(void)
{
    CHECK(in_section == 0);
    in_section = 1;
    CHECK(count <= SLOTS);
}

static void leave(void)
{
    CHECK(in_section == 1);
    CHECK(count <= SLOTS);
    in_section = 0;
}

static void *producer(void *arg)
{
    int p = (int)(intptr_t)arg;
    for (uint32_t i = 0; i < PER_PROD; i++) {
        uint32_t id = (uint32_t)p * PER_PROD + i;
        CHECK_RC(pthread_mutex_lock(&mu), 0);
        enter();
        while (count == SLOTS) {
            leave();
            CHECK_RC(pthread_cond_wait(&not_full, &mu), 0);
            enter();
        }
        buf[(head + count) % SLOTS] = id;
        count++;
        leave();
        CHECK_RC(pthread_cond_signal(&not_empty), 0);
        CHECK_RC(pthread_mutex_unlock(&mu), 0);
        prod_sum[p] += value_of(id);
        prod_xor[p] ^= value_of(id);
    }
    CHECK_RC(pthread_mutex_lock(&mu), 0);
    if (++producers_done == NPROD)
        CHECK_RC(pthread_cond_broadcast(&not_empty), 0);
    CHECK_RC(pthread_mutex_unlock(&mu), 0);
    return NULL;
}

static void *consumer(void *arg)
{
    int c = (int)(intptr_t)arg;
    long last[NPROD];
    for (int p = 0; p < NPROD; p++)
        last[p] = -1;
    for (;;) {
        CHECK_RC(pthread_mutex_lock(&mu), 0);
        enter();
        while (count == 0 && producers_done < NPROD) {
            leave();
            CHECK_RC(pthread_cond_wait(&not_empty, &mu), 0);
            enter();
        }
        if (count == 0) {
            leave();
            CHECK_RC(pthread_mutex_unlock(&mu), 0);
            break;
        }
        uint32_t id = buf[head];
        head = (head + 1) % SLOTS;
        count--;
        leave();
        /* Signalled inside or outside the lock: both are valid. */
        if (id & 1) {
            CHECK_RC(pthread_cond_signal(&not_full), 0);
            CHECK_RC(pthread_mutex_unlock(&mu), 0);
        } else {
            CHECK_RC(pthread_mutex_unlock(&mu), 0);
            CHECK_RC(pthread_cond_signal(&not_full), 0);
        }

        CHECK(id < TOTAL);
        CHECK(atomic_fetch_add(&seen[id], 1) == 0);
        int p = (int)(id / PER_PROD);
        CHECK((long)id > last[p]);
        last[p] = id;
        cons_sum[c] += value_of(id);
        cons_xor[c] ^= value_of(id);
        cons_items[c]++;
    }
    return NULL;
}

int main(void)
{
    pthread_t prod[NPROD], cons[NCONS];
    for (int i = 0; i < NCONS; i++)
        CHECK_RC(pthread_create(&cons[i], NULL, consumer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NPROD; i++)
        CHECK_RC(pthread_create(&prod[i], NULL, producer, (void *)(intptr_t)i), 0);
    check_thread_limit();
    for (int i = 0; i < NPROD; i++)
        CHECK_RC(pthread_join(prod[i], NULL), 0);
    for (int i = 0; i < NCONS; i++)
        CHECK_RC(pthread_join(cons[i], NULL), 0);

    uint64_t psum = 0, pxor = 0, csum = 0, cxor = 0, want_sum = 0, want_xor = 0;
    long items = 0;
    for (int i = 0; i < NPROD; i++) {
        psum += prod_sum[i];
        pxor ^= prod_xor[i];
    }
    for (int i = 0; i < NCONS; i++) {
        csum += cons_sum[i];
        cxor ^= cons_xor[i];
        items += cons_items[i];
    }
    for (uint32_t id = 0; id < TOTAL; id++) {
        want_sum += value_of(id);
        want_xor ^= value_of(id);
        CHECK(atomic_load(&seen[id]) == 1);
    }
    CHECK(items == TOTAL);
    CHECK(psum == want_sum && pxor == want_xor);
    CHECK(csum == want_sum && cxor == want_xor);
    CHECK(count == 0 && producers_done == NPROD && in_section == 0);
    return 0;
}
