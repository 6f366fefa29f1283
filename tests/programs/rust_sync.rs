// Rust std synchronization (Rust 1.63 std only, edition 2018, built with
// plain rustc). Rust's std makes its own futexes with libc's syscall():
// Mutex, Condvar, RwLock, park/unpark and the channels all wait there.
//   - 200 spawned threads alive at once, held at a Barrier of 201: the
//     kernel thread count (/proc/self/status Threads:) is within
//     GOSHIM_TEST_MAX_THREADS when that is set; exactly one Barrier leader;
//     then 1000 increments each of a Mutex counter and an AtomicUsize;
//   - a bounded queue on a Mutex and two Condvars, 4 producers and 4
//     consumers; Condvar::wait_timeout timing out, not early;
//   - thread::park/unpark ping-pong between two threads; park_timeout;
//   - RwLock: 8 readers inside at once, writers alone, readers never see a
//     half-made update;
//   - mpsc: 16 senders into one receiver, a rendezvous sync_channel(0)
//     ping-pong, recv_timeout timing out.
// Panics (exit status 101) on a failed check.
use std::collections::VecDeque;
use std::env;
use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

fn threads_now() -> usize {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("Threads:") {
            return rest.trim().parse().expect("Threads: value");
        }
    }
    panic!("no Threads: line in /proc/self/status");
}

// With GOSHIM_TEST_MAX_THREADS set, at most that many kernel threads now.
fn check_thread_limit() {
    let n = threads_now();
    if let Ok(s) = env::var("GOSHIM_TEST_MAX_THREADS") {
        if !s.is_empty() {
            let lim: usize = s.parse().expect("GOSHIM_TEST_MAX_THREADS");
            assert!(n <= lim, "{} kernel threads, limit {}", n, lim);
        }
    }
}

// Yield until cond() holds; panic after 20 s.
fn wait_until<F: Fn() -> bool>(cond: F) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < Duration::from_secs(20), "timed out");
        thread::yield_now();
    }
}

fn two_hundred_threads() {
    const NT: usize = 200;
    const ITERS: usize = 1000;
    let barrier = Arc::new(Barrier::new(NT + 1));
    let counter = Arc::new(Mutex::new(0usize));
    let atomic = Arc::new(AtomicUsize::new(0));
    let leaders = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..NT {
        let (barrier, counter, atomic, leaders) =
            (barrier.clone(), counter.clone(), atomic.clone(), leaders.clone());
        handles.push(thread::spawn(move || {
            if barrier.wait().is_leader() {
                leaders.fetch_add(1, Ordering::SeqCst);
            }
            for _ in 0..ITERS {
                *counter.lock().unwrap() += 1;
                atomic.fetch_add(1, Ordering::Relaxed);
            }
            i
        }));
    }
    // All 200 are alive: none can pass the barrier before main reaches it.
    check_thread_limit();
    if barrier.wait().is_leader() {
        leaders.fetch_add(1, Ordering::SeqCst);
    }
    let mut ids = 0;
    for h in handles {
        ids += h.join().unwrap();
    }
    assert_eq!(ids, NT * (NT - 1) / 2);
    assert_eq!(leaders.load(Ordering::SeqCst), 1);
    assert_eq!(*counter.lock().unwrap(), NT * ITERS);
    assert_eq!(atomic.load(Ordering::SeqCst), NT * ITERS);
}

struct Queue {
    items: Mutex<(VecDeque<u64>, usize)>, // (queue, producers left)
    not_full: Condvar,
    not_empty: Condvar,
}

fn bounded_queue() {
    const NP: u64 = 4;
    const NC: usize = 4;
    const PER: u64 = 25_000;
    const SLOTS: usize = 16;
    let q = Arc::new(Queue {
        items: Mutex::new((VecDeque::new(), NP as usize)),
        not_full: Condvar::new(),
        not_empty: Condvar::new(),
    });
    let mut producers = Vec::new();
    for p in 0..NP {
        let q = q.clone();
        producers.push(thread::spawn(move || {
            for i in 0..PER {
                let mut g = q.not_full
                    .wait_while(q.items.lock().unwrap(), |s| s.0.len() >= SLOTS)
                    .unwrap();
                assert!(g.0.len() < SLOTS);
                g.0.push_back(p * PER + i);
                drop(g);
                q.not_empty.notify_one();
            }
            let mut g = q.items.lock().unwrap();
            g.1 -= 1;
            if g.1 == 0 {
                q.not_empty.notify_all();
            }
        }));
    }
    let mut consumers = Vec::new();
    for _ in 0..NC {
        let q = q.clone();
        consumers.push(thread::spawn(move || {
            let (mut sum, mut n) = (0u64, 0u64);
            loop {
                let mut g = q.items.lock().unwrap();
                while g.0.is_empty() && g.1 > 0 {
                    g = q.not_empty.wait(g).unwrap();
                }
                match g.0.pop_front() {
                    Some(v) => {
                        drop(g);
                        q.not_full.notify_one();
                        sum += v;
                        n += 1;
                    }
                    None => return (sum, n),
                }
            }
        }));
    }
    for h in producers {
        h.join().unwrap();
    }
    let (mut sum, mut n) = (0u64, 0u64);
    for h in consumers {
        let (s, k) = h.join().unwrap();
        sum += s;
        n += k;
    }
    let total = NP * PER;
    assert_eq!(n, total);
    assert_eq!(sum, total * (total - 1) / 2);

    // Nobody notifies: wait_timeout times out, not early.
    let g = q.items.lock().unwrap();
    let t0 = Instant::now();
    let (g, res) = q.not_empty.wait_timeout(g, Duration::from_millis(50)).unwrap();
    assert!(res.timed_out());
    assert!(t0.elapsed() >= Duration::from_millis(50));
    let (_g, res) = q.not_empty
        .wait_timeout_while(g, Duration::from_millis(20), |_| true)
        .unwrap();
    assert!(res.timed_out());
    assert!(t0.elapsed() >= Duration::from_millis(70));
}

fn park_pingpong() {
    const HOPS: usize = 10_000;
    let turn = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<thread::Thread>();
    let t1 = {
        let turn = turn.clone();
        thread::spawn(move || {
            let other = rx.recv().unwrap();
            let mut h = 1;
            while h < HOPS {
                while turn.load(Ordering::Acquire) != h {
                    thread::park();
                }
                turn.store(h + 1, Ordering::Release);
                other.unpark();
                h += 2;
            }
        })
    };
    tx.send(thread::current()).unwrap();
    let other = t1.thread().clone();
    let mut h = 0;
    while h < HOPS {
        while turn.load(Ordering::Acquire) != h {
            thread::park();
        }
        turn.store(h + 1, Ordering::Release);
        other.unpark();
        h += 2;
    }
    t1.join().unwrap();
    assert_eq!(turn.load(Ordering::SeqCst), HOPS);

    // park_timeout returns after the timeout with no unpark (it may also
    // return early, spuriously: loop until the time has passed).
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(30) {
        thread::park_timeout(Duration::from_millis(30));
    }
    // An unpark before the park makes the next park return at once.
    thread::current().unpark();
    let t0 = Instant::now();
    thread::park();
    assert!(t0.elapsed() < Duration::from_secs(5));
}

fn rwlock() {
    const NR: usize = 8;
    const NW: usize = 2;
    let lock = Arc::new(RwLock::new((0u64, 0u64)));
    let readers_in = Arc::new(AtomicUsize::new(0));
    let writers_in = Arc::new(AtomicUsize::new(0));

    // All readers inside at once.
    let mut hs = Vec::new();
    for _ in 0..NR {
        let (lock, readers_in) = (lock.clone(), readers_in.clone());
        hs.push(thread::spawn(move || {
            let g = lock.read().unwrap();
            readers_in.fetch_add(1, Ordering::SeqCst);
            wait_until(|| readers_in.load(Ordering::SeqCst) == NR);
            assert!(lock.try_write().is_err());
            drop(g);
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
    readers_in.store(0, Ordering::SeqCst);

    let mut hs = Vec::new();
    for _ in 0..NR {
        let (lock, readers_in, writers_in) =
            (lock.clone(), readers_in.clone(), writers_in.clone());
        hs.push(thread::spawn(move || {
            for k in 0..2000 {
                let g = lock.read().unwrap();
                readers_in.fetch_add(1, Ordering::SeqCst);
                assert_eq!(writers_in.load(Ordering::SeqCst), 0);
                assert_eq!(g.0, g.1);
                if k % 16 == 0 {
                    thread::yield_now();
                }
                assert_eq!(g.0, g.1);
                readers_in.fetch_sub(1, Ordering::SeqCst);
            }
        }));
    }
    for _ in 0..NW {
        let (lock, readers_in, writers_in) =
            (lock.clone(), readers_in.clone(), writers_in.clone());
        hs.push(thread::spawn(move || {
            for k in 0..1000 {
                let mut g = lock.write().unwrap();
                assert_eq!(writers_in.fetch_add(1, Ordering::SeqCst), 0);
                assert_eq!(readers_in.load(Ordering::SeqCst), 0);
                g.0 += 1;
                if k % 16 == 0 {
                    thread::yield_now();
                }
                g.1 += 1;
                assert_eq!(writers_in.fetch_sub(1, Ordering::SeqCst), 1);
            }
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
    let g = lock.read().unwrap();
    assert_eq!(*g, (NW as u64 * 1000, NW as u64 * 1000));
}

fn channels() {
    const NS: u64 = 16;
    const PER: u64 = 1000;
    let (tx, rx) = mpsc::channel::<u64>();
    let mut hs = Vec::new();
    for s in 0..NS {
        let tx = tx.clone();
        hs.push(thread::spawn(move || {
            for i in 0..PER {
                tx.send(s * PER + i).unwrap();
                if i % 100 == 0 {
                    thread::yield_now();
                }
            }
        }));
    }
    drop(tx);
    let (mut sum, mut n) = (0u64, 0u64);
    for v in rx.iter() {
        sum += v;
        n += 1;
    }
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(n, NS * PER);
    assert_eq!(sum, NS * PER * (NS * PER - 1) / 2);

    // Rendezvous: each send waits for its receive.
    const HOPS: u64 = 2000;
    let (ping_tx, ping_rx) = mpsc::sync_channel::<u64>(0);
    let (pong_tx, pong_rx) = mpsc::sync_channel::<u64>(0);
    let echo = thread::spawn(move || {
        for v in ping_rx.iter() {
            pong_tx.send(v + 1).unwrap();
        }
    });
    let mut v = 0;
    for _ in 0..HOPS {
        ping_tx.send(v).unwrap();
        v = pong_rx.recv().unwrap();
    }
    assert_eq!(v, HOPS);
    // Nothing comes: recv_timeout times out, not early.
    let t0 = Instant::now();
    assert_eq!(
        pong_rx.recv_timeout(Duration::from_millis(30)),
        Err(mpsc::RecvTimeoutError::Timeout)
    );
    assert!(t0.elapsed() >= Duration::from_millis(30));
    drop(ping_tx);
    echo.join().unwrap();
}

fn main() {
    two_hundred_threads();
    bounded_queue();
    park_pingpong();
    rwlock();
    channels();
    println!("ok");
}
