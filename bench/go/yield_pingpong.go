// yield_pingpong: the Go twin of bench/yield_pingpong.c — two goroutines
// hand a turn back and forth HOPS times (default 1000000), each waiting for
// its turn with runtime.Gosched().
//
//	yield_pingpong [HOPS]
//
// Prints the same RESULT line as the C program; per_op_ns is per hop.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	hops := int64(1000000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bad HOPS: %s\nusage: yield_pingpong [HOPS]\n", os.Args[1])
			os.Exit(2)
		}
		hops = v
	}

	// Whose turn it is: 0 or 1; -1 until main starts the game.
	turn := int32(-1)
	var wg sync.WaitGroup
	wg.Add(2)
	for me := int32(0); me < 2; me++ {
		go func(me int32) {
			defer wg.Done()
			// Player 0 makes hops 0, 2, 4...; player 1 makes hops 1, 3, 5...
			for h := int64(me); h < hops; h += 2 {
				for atomic.LoadInt32(&turn) != me {
					runtime.Gosched()
				}
				atomic.StoreInt32(&turn, 1-me)
			}
		}(me)
	}
	maxThreads := statusField("Threads:")

	t0 := time.Now()
	atomic.StoreInt32(&turn, 0)
	wg.Wait()
	total := time.Since(t0).Nanoseconds()

	fmt.Printf("RESULT name=yield_pingpong n=%d total_ns=%d per_op_ns=%.1f max_threads=%d maxrss_kib=%d\n",
		hops, total, float64(total)/float64(hops), maxThreads, statusField("VmHWM:"))
}
