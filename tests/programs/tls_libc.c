/* libc's per-thread state across parks, in a program built with
 * -fstack-protector-all (the canary lives in the thread control block):
 * uselocale per thread (each of 32 threads has its own locale, and
 * strerror answers in it), strtok_r/strtok state, and setjmp/longjmp
 * across a park (the jmp_buf is mangled with the pointer guard, also in
 * the TCB). */
#define _GNU_SOURCE
#include <locale.h>
#include <pthread.h>
#include <setjmp.h>
#include <sched.h>

#include "check.h"

#define NT 32
#define ROUNDS 300

static void park(int r)
{
    if (r % 2)
        sched_yield();
    else
        sleep_ms(0);
    struct timespec ts = { 0, 10000 };
    nanosleep(&ts, NULL);
}

static jmp_buf *volatile where;

static __attribute__((noinline)) void jump_back(jmp_buf *env, int r)
{
    park(r);
    longjmp(*env, r + 1);
}

static void *worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    /* Half the threads use the C locale object, half a duplicate of it
     * with the numeric category of "C.UTF-8" (always present on Debian):
     * what matters is that each sees its own. */
    locale_t mine = newlocale(LC_ALL_MASK, id % 2 ? "C.UTF-8" : "C", (locale_t)0);
    CHECK(mine != (locale_t)0);
    CHECK(uselocale(mine) != (locale_t)0);
    char text[64];
    for (int r = 0; r < ROUNDS; r++) {
        CHECK(uselocale((locale_t)0) == mine);
        snprintf(text, sizeof text, "a%ld b%d c", id, r);
        char *save = NULL;
        char *t1 = strtok_r(text, " ", &save);
        park(r);
        char *t2 = strtok_r(NULL, " ", &save);
        park(r);
        char *t3 = strtok_r(NULL, " ", &save);
        CHECK(t1 && t2 && t3 && t1[0] == 'a' && t2[0] == 'b' && t3[0] == 'c');
        CHECK(atol(t1 + 1) == id && atoi(t2 + 1) == r);

        jmp_buf env;
        volatile int got = setjmp(env);
        if (got == 0) {
            where = &env;
            jump_back(&env, r);
            CHECK(0);
        }
        CHECK(got == r + 1);
        CHECK(strcmp(strerror(ENOENT), "No such file or directory") == 0);
    }
    CHECK(uselocale(LC_GLOBAL_LOCALE) == mine);
    freelocale(mine);
    return NULL;
}

int main(void)
{
    pthread_t th[NT];
    for (long i = 0; i < NT; i++)
        CHECK_RC(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NT; i++)
        CHECK_RC(pthread_join(th[i], NULL), 0);
    /* The main thread kept the global locale all along. */
    CHECK(uselocale((locale_t)0) == LC_GLOBAL_LOCALE);
    (void)where;
    return 0;
}
