// C++17 synchronization on top of the pthread objects libstdc++ uses:
//   std::mutex         200 threads alive at once (checked against the
//                      thread limit), 1000 increments each under one mutex;
//   std::recursive_mutex  nested locking, one owner at a time;
//   std::timed_mutex   try_lock_for and try_lock_until time out (not
//                      early) while another thread holds it, and succeed
//                      once it lets go (libstdc++: pthread_mutex_clocklock
//                      and pthread_mutex_timedlock);
//   std::condition_variable  a bounded queue (wait with a predicate,
//                      notify_one, notify_all), wait_for and wait_until
//                      timing out (pthread_cond_clockwait, _timedwait);
//   std::shared_mutex  8 readers inside together, writers alone (readers
//                      never see a half-made update); std::shared_timed_mutex
//                      try_lock_shared_for timing out behind a writer;
//   std::async         100 std::launch::async tasks alive at once;
//   std::promise/std::future  a chain of 50 threads, set_exception,
//                      wait_for timing out;
//   std::call_once     64 threads, the function runs once.
// Prints "ok" at the end.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "check.hh"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// check.h's check_thread_limit(), which is C: with GOSHIM_TEST_MAX_THREADS
// set, the process has at most that many kernel threads now.
static long threads_now()
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    ssize_t len = 0, n;
    while (len < (ssize_t)sizeof buf - 1 &&
           (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += n;
    close(fd);
    buf[len] = '\0';
    const char *p = std::strstr(buf, "\nThreads:");
    CHECK(p != nullptr);
    return std::strtol(p + std::strlen("\nThreads:"), nullptr, 10);
}

static void check_thread_limit()
{
    const char *s = std::getenv("GOSHIM_TEST_MAX_THREADS");
    if (s == nullptr || *s == '\0')
        return;
    long lim = std::strtol(s, nullptr, 10), n = threads_now();
    if (n > lim) {
        std::fprintf(stderr, "%ld kernel threads, limit %ld\n", n, lim);
        std::abort();
    }
}

static long ms_since(steady::time_point t0)
{
    return (long)std::chrono::duration_cast<std::chrono::milliseconds>(
               steady::now() - t0).count();
}

// Spin with yields until pred() holds; fail after 20 s.
template <class P> static void wait_until_true(P pred)
{
    auto t0 = steady::now();
    while (!pred()) {
        CHECK(steady::now() - t0 < 20s);
        std::this_thread::yield();
    }
}

static void test_mutex_200()
{
    const int nt = 200, iters = 1000;
    std::mutex mu, gate_mu;
    std::condition_variable gate_cv;
    int arrived = 0;
    bool open = false;
    long counter = 0;
    std::vector<std::thread> ts;
    for (int i = 0; i < nt; i++)
        ts.emplace_back([&] {
            {
                std::unique_lock<std::mutex> lk(gate_mu);
                if (++arrived == nt)
                    gate_cv.notify_all();
                gate_cv.wait(lk, [&] { return open; });
            }
            for (int k = 0; k < iters; k++) {
                std::lock_guard<std::mutex> g(mu);
                counter++;
            }
        });
    {
        std::unique_lock<std::mutex> lk(gate_mu);
        gate_cv.wait(lk, [&] { return arrived == nt; });
        check_thread_limit(); // 201 threads
        open = true;
    }
    gate_cv.notify_all();
    for (auto &t : ts)
        t.join();
    CHECK(counter == (long)nt * iters);
}

static void test_recursive()
{
    std::recursive_mutex rm;
    std::atomic<int> inside{0};
    long total = 0;
    std::function<void(int)> nest = [&](int depth) {
        std::lock_guard<std::recursive_mutex> g(rm);
        if (depth == 0) {
            CHECK(inside.fetch_add(1) == 0);
            total++;
            std::this_thread::yield();
            CHECK(inside.fetch_sub(1) == 1);
            return;
        }
        CHECK(rm.try_lock());
        nest(depth - 1);
        rm.unlock();
    };
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; i++)
        ts.emplace_back([&] {
            for (int k = 0; k < 500; k++)
                nest(k % 4);
        });
    for (auto &t : ts)
        t.join();
    CHECK(total == 8 * 500);
}

static void test_timed_mutex()
{
    std::timed_mutex tm;
    std::atomic<int> step{0};
    std::thread holder([&] {
        tm.lock();
        step = 1;
        wait_until_true([&] { return step.load() == 2; });
        std::this_thread::sleep_for(20ms);
        tm.unlock();
    });
    wait_until_true([&] { return step.load() == 1; });
    auto t0 = steady::now();
    CHECK(!tm.try_lock());
    CHECK(!tm.try_lock_for(50ms));
    CHECK(ms_since(t0) >= 50);
    auto sys_deadline = std::chrono::system_clock::now() + 30ms;
    CHECK(!tm.try_lock_until(sys_deadline));
    CHECK(std::chrono::system_clock::now() >= sys_deadline);
    CHECK(!tm.try_lock_until(steady::now() - 1s)); // already passed
    step = 2;
    t0 = steady::now();
    CHECK(tm.try_lock_for(10s)); // the holder lets go after ~20 ms
    CHECK(ms_since(t0) < 9000);
    tm.unlock();
    holder.join();
    CHECK(tm.try_lock_for(1ms)); // free: at once
    tm.unlock();
}

static void test_condvar()
{
    // A bounded queue of 8 slots: 4 producers, 4 consumers, 20000 items.
    const int np = 4, nc = 4, per = 5000, slots = 8;
    std::mutex mu;
    std::condition_variable not_full, not_empty;
    std::deque<int> q;
    int producers_left = np;
    std::atomic<long> sum{0}, items{0};
    std::vector<std::thread> ts;
    for (int p = 0; p < np; p++)
        ts.emplace_back([&, p] {
            for (int i = 0; i < per; i++) {
                std::unique_lock<std::mutex> lk(mu);
                not_full.wait(lk, [&] { return (int)q.size() < slots; });
                q.push_back(p * per + i);
                lk.unlock();
                not_empty.notify_one();
            }
            std::lock_guard<std::mutex> g(mu);
            if (--producers_left == 0)
                not_empty.notify_all();
        });
    for (int c = 0; c < nc; c++)
        ts.emplace_back([&] {
            for (;;) {
                std::unique_lock<std::mutex> lk(mu);
                not_empty.wait(lk, [&] { return !q.empty() || producers_left == 0; });
                if (q.empty())
                    return;
                int v = q.front();
                q.pop_front();
                lk.unlock();
                not_full.notify_one();
                sum += v;
                items++;
            }
        });
    for (auto &t : ts)
        t.join();
    long n = (long)np * per;
    CHECK(items == n);
    CHECK(sum == n * (n - 1) / 2);

    // Timing out: nobody notifies.
    std::condition_variable cv;
    std::unique_lock<std::mutex> lk(mu);
    auto t0 = steady::now();
    CHECK(cv.wait_for(lk, 50ms) == std::cv_status::timeout);
    CHECK(ms_since(t0) >= 50);
    CHECK(!cv.wait_for(lk, 20ms, [] { return false; }));
    CHECK(ms_since(t0) >= 70);
    auto sys_deadline = std::chrono::system_clock::now() + 30ms;
    CHECK(cv.wait_until(lk, sys_deadline) == std::cv_status::timeout);
    CHECK(std::chrono::system_clock::now() >= sys_deadline);
    CHECK(lk.owns_lock());
    // The mutex is held again after each wait: a try_lock elsewhere fails.
    bool got = true;
    std::thread([&] { got = mu.try_lock(); }).join();
    CHECK(!got);
}

static void test_shared_mutex()
{
    std::shared_mutex sm;
    std::atomic<int> readers_in{0}, writers_in{0};
    long a = 0, b = 0; // a == b outside a writer's section
    const int nr = 8, nw = 2;

    // All readers inside at once: each waits, holding the shared lock,
    // until the others arrive.
    {
        std::vector<std::thread> ts;
        for (int i = 0; i < nr; i++)
            ts.emplace_back([&] {
                std::shared_lock<std::shared_mutex> g(sm);
                readers_in++;
                wait_until_true([&] { return readers_in.load() == nr; });
                CHECK(!sm.try_lock()); // readers in: no writer
                CHECK(sm.try_lock_shared()); // no writer: another reader
                sm.unlock_shared();
            });
        for (auto &t : ts)
            t.join();
        readers_in = 0;
    }

    std::vector<std::thread> ts;
    for (int i = 0; i < nr; i++)
        ts.emplace_back([&] {
            for (int k = 0; k < 2000; k++) {
                std::shared_lock<std::shared_mutex> g(sm);
                readers_in++;
                CHECK(writers_in.load() == 0);
                CHECK(a == b);
                if (k % 16 == 0)
                    std::this_thread::yield();
                CHECK(a == b);
                readers_in--;
            }
        });
    for (int i = 0; i < nw; i++)
        ts.emplace_back([&] {
            for (int k = 0; k < 1000; k++) {
                std::unique_lock<std::shared_mutex> g(sm);
                CHECK(writers_in.fetch_add(1) == 0);
                CHECK(readers_in.load() == 0);
                a++;
                if (k % 16 == 0)
                    std::this_thread::yield();
                b++;
                CHECK(writers_in.fetch_sub(1) == 1);
            }
        });
    for (auto &t : ts)
        t.join();
    CHECK(a == nw * 1000 && b == a);

    // shared_timed_mutex: a reader times out behind a writer.
    std::shared_timed_mutex stm;
    stm.lock();
    std::thread([&] {
        auto t0 = steady::now();
        CHECK(!stm.try_lock_shared_for(30ms));
        CHECK(ms_since(t0) >= 30);
        CHECK(!stm.try_lock_for(10ms));
    }).join();
    stm.unlock();
    std::thread([&] {
        CHECK(stm.try_lock_shared_for(1s));
        stm.unlock_shared();
    }).join();
}

static void test_async()
{
    const int n = 100;
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    std::atomic<int> started{0};
    std::vector<std::future<long>> fs;
    for (int i = 0; i < n; i++)
        fs.push_back(std::async(std::launch::async, [&, i] {
            started++;
            opened.wait();
            return (long)i * i;
        }));
    auto t0 = steady::now();
    while (started.load() < n) {
        CHECK(ms_since(t0) < 20000);
        std::this_thread::sleep_for(1ms);
    }
    check_thread_limit(); // 101 threads
    CHECK(fs[0].wait_for(1ms) == std::future_status::timeout);
    gate.set_value();
    long sum = 0;
    for (auto &f : fs)
        sum += f.get();
    CHECK(sum == (long)(n - 1) * n * (2 * n - 1) / 6);
}

static void test_promise_chain()
{
    const int n = 50;
    std::vector<std::promise<int>> ps(n + 1);
    std::vector<std::thread> ts;
    for (int i = 0; i < n; i++) {
        std::future<int> in = ps[i].get_future();
        ts.emplace_back([&ps, i](std::future<int> f) {
            ps[i + 1].set_value(f.get() + 1);
        }, std::move(in));
    }
    std::future<int> last = ps[n].get_future();
    auto t0 = steady::now();
    CHECK(last.wait_for(20ms) == std::future_status::timeout);
    CHECK(ms_since(t0) >= 20);
    ps[0].set_value(1000);
    CHECK(last.get() == 1000 + n);
    for (auto &t : ts)
        t.join();

    std::promise<int> bad;
    std::future<int> bf = bad.get_future();
    std::thread([&] {
        bad.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    }).join();
    bool caught = false;
    try {
        bf.get();
    } catch (const std::runtime_error &e) {
        caught = std::strcmp(e.what(), "boom") == 0;
    }
    CHECK(caught);
}

static void test_call_once()
{
    std::once_flag flag;
    std::atomic<int> calls{0}, done{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 64; i++)
        ts.emplace_back([&] {
            std::call_once(flag, [&] {
                calls++;
                std::this_thread::sleep_for(20ms);
                done = 1;
            });
            CHECK(done.load() == 1);
        });
    for (auto &t : ts)
        t.join();
    CHECK(calls == 1);
}

int main()
{
    test_mutex_200();
    test_recursive();
    test_timed_mutex();
    test_condvar();
    test_shared_mutex();
    test_async();
    test_promise_chain();
    test_call_once();
    std::puts("ok");
    return 0;
}
