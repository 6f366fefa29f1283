/* pthread_create returns EAGAIN when the new thread's stack cannot be had
 * (here: the address-space limit is lower than the stack asked for), and
 * creating threads works again as soon as stacks fit. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "check.h"

#define MIB (1024L * 1024)

static void *echo(void *arg)
{
    return arg;
}

static long vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmSize:", 7) == 0)
            kib = atol(line + 7);
    fclose(f);
    CHECK(kib > 0);
    return kib;
}

static void create_join(const pthread_attr_t *attr, int want)
{
    pthread_t t;
    int rc = pthread_create(&t, attr, echo, (void *)(intptr_t)42);
    CHECK_RC(rc, want);
    if (rc == 0) {
        void *r;
        CHECK_RC(pthread_join(t, &r), 0);
        CHECK(r == (void *)(intptr_t)42);
    }
}

int main(void)
{
    pthread_attr_t small, huge;
    CHECK_RC(pthread_attr_init(&small), 0);
    CHECK_RC(pthread_attr_setstacksize(&small, 256 * 1024), 0);
    CHECK_RC(pthread_attr_init(&huge), 0);
    CHECK_RC(pthread_attr_setstacksize(&huge, 2048 * MIB), 0);

    create_join(NULL, 0);
    create_join(&small, 0);

    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)vm_size_kib() * 1024 + 512 * MIB;
    CHECK(setrlimit(RLIMIT_AS, &lim) == 0);

    for (int i = 0; i < 3; i++) {
        create_join(&huge, EAGAIN);
        create_join(&small, 0);
    }

    CHECK(setrlimit(RLIMIT_AS, &old) == 0);
    create_join(&huge, 0);
    CHECK_RC(pthread_attr_destroy(&small), 0);
    CHECK_RC(pthread_attr_destroy(&huge), 0);
    return 0;
}
