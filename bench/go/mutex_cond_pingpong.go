// mutex_cond_pingpong: the Go twin of bench/mutex_cond_pingpong.c — two
// goroutines hand a turn back and forth HOPS times (default 1000000)
// through an unbuffered channel each way, Go's idiom for the hand-over the
// C program makes with a mutex and condition variables.
//
//	mutex_cond_pingpong [HOPS]
//
// Prints the same RESULT line as the C program; per_op_ns is per hop.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	hops := int64(1000000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bad HOPS: %s\nusage: mutex_cond_pingpong [HOPS]\n", os.Args[1])
			os.Exit(2)
		}
		hops = v
	}
	ping, pong := make(chan int64), make(chan int64)
	done := make(chan struct{})
	go func() {
		// Player 1 makes hops 1, 3, 5...
		for h := int64(1); h < hops; h += 2 {
			pong <- <-ping
		}
		close(done)
	}()
	maxThreads := statusField("Threads:")

	t0 := time.Now()
	// Player 0 makes hops 0, 2, 4...
	for h := int64(0); h < hops; h += 2 {
		ping <- h
		if h+1 < hops {
			<-pong
		}
	}
	<-done
	total := time.Since(t0).Nanoseconds()

	fmt.Printf("RESULT name=mutex_cond_pingpong n=%d total_ns=%d per_op_ns=%.1f max_threads=%d maxrss_kib=%d\n",
		hops, total, float64(total)/float64(hops), maxThreads, statusField("VmHWM:"))
}
