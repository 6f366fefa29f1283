/* main starts N threads, each sleeping a while and then counting itself
 * done, and calls pthread_exit. The process must live on until the last
 * thread ends, then exit with status 0: an atexit handler checks that all
 * N threads finished (else _exit(3)) and that pthread_exit in main ran
 * main's TSD destructor, then writes "ok" on stdout. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

#define N 1000

static atomic_int done;
static atomic_int main_dtor;

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    sleep_ms(300 + i % 100);
    atomic_fetch_add(&done, 1);
    return NULL;
}

static void say(const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(1, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(4);
        s += n;
        len -= (size_t)n;
    }
}

static void at_exit(void)
{
    if (atomic_load(&done) != N) {
        fprintf(stderr, "exit_from_main: process exited with %d of %d "
                "threads finished\n", atomic_load(&done), N);
        _exit(3);
    }
    if (atomic_load(&main_dtor) != 1) {
        fprintf(stderr, "exit_from_main: main's TSD destructor ran %d "
                "times\n", atomic_load(&main_dtor));
        _exit(3);
    }
    say("ok\n");
}

static void dtor(void *v)
{
    CHECK(v == &main_dtor);
    atomic_fetch_add(&main_dtor, 1);
}

int main(void)
{
    CHECK(atexit(at_exit) == 0);
    pthread_key_t key;
    CHECK_RC(pthread_key_create(&key, dtor), 0);
    CHECK_RC(pthread_setspecific(key, &main_dtor), 0);

    pthread_attr_t attr;
    CHECK_RC(pthread_attr_init(&attr), 0);
    CHECK_RC(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
    for (int i = 0; i < N; i++) {
        pthread_t t;
        CHECK_RC(pthread_create(&t, &attr, worker, (void *)(intptr_t)i), 0);
    }
    CHECK_RC(pthread_attr_destroy(&attr), 0);
    check_thread_limit();
    /* Under the limit check all N must have been alive: creating them takes
     * far less than the shortest sleep (300 ms). */
    if (thread_limit() >= 0)
        CHECK(atomic_load(&done) == 0);
    pthread_exit(NULL);
}
