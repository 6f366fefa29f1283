// C++ thread-local state across parks: thread_local objects with
// constructors and destructors (counts must match exactly, each destructor
// runs on its own thread's object), and exceptions thrown and caught across
// park points in 100 threads at once, with std::uncaught_exceptions()
// right inside destructors that run during unwinding.
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.hh"

static std::atomic<int> constructed{0}, destroyed{0}, wrong_owner{0};

struct Tracked {
    long owner;
    std::string text;
    explicit Tracked(long id) : owner(id), text(std::to_string(id)) { ++constructed; }
    ~Tracked()
    {
        if (text != std::to_string(owner))
            ++wrong_owner;
        ++destroyed;
    }
};

static thread_local long my_id = -1;

static Tracked &tracked()
{
    static thread_local Tracked t(my_id);
    return t;
}

static void park()
{
    struct timespec ts = {0, 20000};
    nanosleep(&ts, nullptr);
    sched_yield();
}

// Checks std::uncaught_exceptions() from a destructor run by unwinding.
struct Guard {
    int expect;
    explicit Guard(int e) : expect(e) {}
    ~Guard()
    {
        park();
        CHECK(std::uncaught_exceptions() == expect);
    }
};

static void thrower(long id, int depth)
{
    Guard g(1);
    park();
    if (depth == 0)
        throw std::runtime_error("thread " + std::to_string(id));
    thrower(id, depth - 1);
}

static void worker(long id)
{
    my_id = id;
    CHECK(tracked().owner == id);
    for (int round = 0; round < 50; round++) {
        CHECK(std::uncaught_exceptions() == 0);
        try {
            thrower(id, round % 4);
            CHECK(false);
        } catch (const std::runtime_error &e) {
            park();
            CHECK(std::string(e.what()) == "thread " + std::to_string(id));
            CHECK(std::current_exception() != nullptr);
            try {
                park();
                throw;
            } catch (const std::exception &again) {
                park();
                CHECK(std::string(again.what()) == "thread " + std::to_string(id));
            }
        }
        CHECK(std::current_exception() == nullptr);
        CHECK(my_id == id);
        CHECK(tracked().owner == id);
    }
}

int main()
{
    const int n = 100;
    for (int wave = 0; wave < 2; wave++) {
        std::vector<std::thread> ts;
        for (long i = 0; i < n; i++)
            ts.emplace_back(worker, wave * n + i);
        for (auto &t : ts)
            t.join();
        CHECK(constructed == (wave + 1) * n);
        CHECK(destroyed == (wave + 1) * n);
    }
    CHECK(wrong_owner == 0);
    std::puts("ok");
    return 0;
}
