/* Calls goshim interposes, made by a linked library's constructor that
 * may run before goshim's (stdio's fopen/fgets/fclose, pipe, fcntl,
 * ioctl, read, write, close): each gives glibc's result there, and the
 * program then runs threads as usual. */
#include <pthread.h>

#include "check.h"

extern int ctor_calls_result;

static void *child(void *arg)
{
    return arg;
}

int main(void)
{
    CHECK(ctor_calls_result == 1);
    pthread_t t;
    CHECK_RC(pthread_create(&t, NULL, child, NULL), 0);
    CHECK_RC(pthread_join(t, NULL), 0);
    return 0;
}
