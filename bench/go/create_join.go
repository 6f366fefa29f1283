// create_join: the Go twin of bench/create_join.c — cost of starting a
// goroutine that returns at once and waiting for it.
//
//	create_join [N [BATCH]]
//
// BATCH 1 (default): `go f(); wait`, N times (default 100000). BATCH k: start
// k, wait for the k, repeat. Prints the same RESULT line as the C program.
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
		fmt.Fprintf(os.Stderr, "bad %s: %s\nusage: create_join [N [BATCH]]\n", what, os.Args[i])
		os.Exit(2)
	}
	return v
}

func main() {
	n := count(1, 100000, "N")
	batch := count(2, 1, "BATCH")
	if batch > n {
		batch = n
	}
	rounds := (n + batch - 1) / batch
	sampleEvery := rounds / 100
	if sampleEvery < 1 {
		sampleEvery = 1
	}

	sampleThreads()
	var wg sync.WaitGroup
	done := make(chan int64)
	t0 := time.Now()
	var started int64
	for r := int64(0); started < n; r++ {
		k := batch
		if n-started < k {
			k = n - started
		}
		if batch == 1 {
			go func(i int64) { done <- i }(started)
			if r%sampleEvery == 0 {
				sampleThreads()
			}
			if got := <-done; got != started {
				fmt.Fprintf(os.Stderr, "create_join: goroutine %d answered %d\n", started, got)
				os.Exit(1)
			}
		} else {
			wg.Add(int(k))
			for i := int64(0); i < k; i++ {
				go func() { wg.Done() }()
			}
			if r%sampleEvery == 0 {
				sampleThreads()
			}
			wg.Wait()
		}
		started += k
	}
	total := time.Since(t0).Nanoseconds()
	sampleThreads()

	name := "create_join"
	if batch > 1 {
		name = fmt.Sprintf("create_join_b%d", batch)
	}
	fmt.Printf("RESULT name=%s n=%d batch=%d total_ns=%d per_op_ns=%.1f max_threads=%d maxrss_kib=%d\n",
		name, n, batch, total, float64(total)/float64(n), maxThreads, statusField("VmHWM:"))
}
