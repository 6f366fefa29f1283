// mutex_uncontended: the Go twin of bench/mutex_uncontended.c — one
// goroutine locks and unlocks a sync.Mutex N times (default 100000000).
//
//	mutex_uncontended [N]
//
// Prints the same RESULT line as the C program; per_op_ns is per pair.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

var counter int64

func main() {
	n := int64(100000000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bad N: %s\nusage: mutex_uncontended [N]\n", os.Args[1])
			os.Exit(2)
		}
		n = v
	}
	var mu sync.Mutex
	maxThreads := statusField("Threads:")
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		mu.Lock()
		counter++
		mu.Unlock()
	}
	total := time.Since(t0).Nanoseconds()
	fmt.Printf("RESULT name=mutex_uncontended n=%d total_ns=%d per_op_ns=%.2f max_threads=%d maxrss_kib=%d\n",
		n, total, float64(total)/float64(n), maxThreads, statusField("VmHWM:"))
}
