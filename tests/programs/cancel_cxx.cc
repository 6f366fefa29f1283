// Cancellation in C++: a thread cancelled while blocked in read runs the
// destructors of its live objects, innermost first; a catch (...) that
// rethrows, and a catch of abi::__forced_unwind that rethrows, let the
// unwind go on; a condition_variable wait is cancelled with its mutex
// locked again, which the unique_lock's destructor releases.
#include <cxxabi.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "check.hh"

static int pipefd[2];
static std::string trail;  // written by one thread at a time
static std::atomic<int> blocking;
static std::mutex mu;
static std::condition_variable cv;

struct Mark {
    const char *name;
    ~Mark() { trail += name; }
};

static void *reader(void *)
{
    Mark outer{ "o" };
    try {
        Mark inner{ "i" };
        try {
        Mark innermost{ "n" };
        blocking = 1;
        char c;
        (void)!read(pipefd[0], &c, 1);
        trail += "after-read";
        } catch (abi::__forced_unwind &) {
        trail += "F";
        throw;
        }
    } catch (...) {
        trail += "C";
        throw;
    }
    trail += "after-try";
    return nullptr;
}

static void *cond_waiter(void *)
{
    std::unique_lock<std::mutex> lock(mu);
    blocking = 1;
    for (;;)
        cv.wait(lock);
}

static void run(void *(*fn)(void *))
{
    blocking = 0;
    pthread_t th;
    CHECK(pthread_create(&th, nullptr, fn, nullptr) == 0);
    while (!blocking)
        usleep(1000);
    usleep(20000);
    CHECK(pthread_cancel(th) == 0);
    void *ret;
    CHECK(pthread_join(th, &ret) == 0);
    CHECK(ret == PTHREAD_CANCELED);
}

int main()
{
    CHECK(pipe(pipefd) == 0);
    run(reader);
    if (trail != "nFiCo") {
        std::fprintf(stderr, "unwind trail %s, expected nFiCo\n", trail.c_str());
        return 1;
    }
    run(cond_waiter);
    // The waiter's lock was released by its unique_lock.
    CHECK(mu.try_lock());
    mu.unlock();
    std::puts("cancel_cxx: ok");
    return 0;
}
