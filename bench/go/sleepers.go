// sleepers: the Go twin of bench/sleepers.c — N goroutines (default 10000)
// each time.Sleep MS milliseconds (default 1000) and return; main samples
// its kernel thread count a few times while they sleep, then waits for all.
//
//	sleepers [N [MS]]
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

var maxThreads int64

func sampleThreads() {
	if t := statusField("Threads:"); t > maxThreads {
		maxThreads = t
	}
}

func count(i int, def int64, what string) int64 {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.ParseInt(os.Args[i], 10, 64)
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "bad %s: %s\nusage: sleepers [N [MS]]\n", what, os.Args[i])
		os.Exit(2)
	}
	return v
}

func main() {
	n := count(1, 10000, "N")
	ms := count(2, 1000, "MS")
	sleepFor := time.Duration(ms) * time.Millisecond

	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			time.Sleep(sleepFor)
			wg.Done()
		}()
	}
	created := time.Since(t0).Nanoseconds()
	sampleThreads()

	// Samples at a quarter, half and three quarters of the sleep.
	for q := 1; q <= 3; q++ {
		if wait := time.Until(t0.Add(sleepFor * time.Duration(q) / 4)); wait > 0 {
			time.Sleep(wait)
		}
		sampleThreads()
	}
	wg.Wait()
	total := time.Since(t0).Nanoseconds()

	fmt.Printf("RESULT name=sleepers n=%d sleep_ms=%d total_ns=%d wall_ms=%.1f per_op_ns=%.1f create_ns=%d max_threads=%d maxrss_kib=%d\n",
		n, ms, total, float64(total)/1e6, float64(total)/float64(n), created,
		maxThreads, statusField("VmHWM:"))
}
