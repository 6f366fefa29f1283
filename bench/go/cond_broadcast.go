// cond_broadcast: the Go twin of bench/cond_broadcast.c — THREADS
// goroutines (default 10000) wait on one sync.Cond; once all of them wait,
// main broadcasts once and waits for them all.
//
//	cond_broadcast [THREADS]
//
// Prints the same RESULT line as the C program.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	n := int64(10000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bad THREADS: %s\nusage: cond_broadcast [THREADS]\n", os.Args[1])
			os.Exit(2)
		}
		n = v
	}
	var mu sync.Mutex
	goCond := sync.NewCond(&mu)
	allWaiting := sync.NewCond(&mu)
	var waiting int64
	released := false
	var wg sync.WaitGroup

	t0 := time.Now()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			defer wg.Done()
			mu.Lock()
			waiting++
			if waiting == n {
				allWaiting.Signal()
			}
			for !released {
				goCond.Wait()
			}
			mu.Unlock()
		}()
	}
	mu.Lock()
	for waiting < n {
		allWaiting.Wait()
	}
	maxThreads := statusField("Threads:")
	t1 := time.Now()
	released = true
	goCond.Broadcast()
	mu.Unlock()
	wg.Wait()
	t2 := time.Now()

	fmt.Printf("RESULT name=cond_broadcast n=%d total_ns=%d wall_ms=%.1f wake_ms=%.1f max_threads=%d maxrss_kib=%d\n",
		n, t2.Sub(t0).Nanoseconds(), float64(t2.Sub(t0).Nanoseconds())/1e6,
		float64(t2.Sub(t1).Nanoseconds())/1e6, maxThreads, statusField("VmHWM:"))
}
