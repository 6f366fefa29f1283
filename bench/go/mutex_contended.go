// mutex_contended: the Go twin of bench/mutex_contended.c — THREADS
// goroutines (default 8) each increment one shared counter N times
// (default 1000000) under one sync.Mutex.
//
//	mutex_contended [N [THREADS]]
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

func arg(i int, name string, dflt int64) int64 {
	if len(os.Args) <= i {
		return dflt
	}
	v, err := strconv.ParseInt(os.Args[i], 10, 64)
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "bad %s: %s\nusage: mutex_contended [N [THREADS]]\n", name, os.Args[i])
		os.Exit(2)
	}
	return v
}

func main() {
	n := arg(1, "N", 1000000)
	threads := arg(2, "THREADS", 8)
	var mu sync.Mutex
	var counter int64
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(int(threads))
	for t := int64(0); t < threads; t++ {
		go func() {
			defer wg.Done()
			for i := int64(0); i < n; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	maxThreads := statusField("Threads:")
	wg.Wait()
	total := time.Since(t0).Nanoseconds()
	if counter != n*threads {
		os.Exit(1)
	}
	fmt.Printf("RESULT name=mutex_contended n=%d threads=%d total_ns=%d wall_ms=%.1f per_op_ns=%.1f max_threads=%d maxrss_kib=%d\n",
		n, threads, total, float64(total)/1e6, float64(total)/float64(n*threads), maxThreads, statusField("VmHWM:"))
}
