// pipe_pingpong: the Go twin of bench/pipe_pingpong.c — two goroutines
// hand one byte back and forth HOPS times (default 400000) over two
// os.Pipe pipes, whose reads and writes wait in Go's netpoller.  A sampler
// goroutine follows the kernel thread count during the game.
//
//	pipe_pingpong [HOPS]
//
// Prints the same RESULT line as the C program; per_op_ns is per hop.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

const sampleEvery = 2 * time.Millisecond

// transfer moves the one byte through f: a write, or the read that takes it.
func transfer(f *os.File, write bool) {
	b := []byte{'x'}
	var n int
	var err error
	if write {
		n, err = f.Write(b)
	} else {
		n, err = f.Read(b)
	}
	if n != 1 {
		fmt.Fprintf(os.Stderr, "pipe_pingpong: %s: %v\n", f.Name(), err)
		os.Exit(1)
	}
}

func main() {
	hops := int64(400000)
	if len(os.Args) > 1 {
		v, err := strconv.ParseInt(os.Args[1], 10, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bad HOPS: %s\nusage: pipe_pingpong [HOPS]\n", os.Args[1])
			os.Exit(2)
		}
		hops = v
	}

	// toR[p], toW[p]: the pipe player p reads.
	var toR, toW [2]*os.File
	for p := 0; p < 2; p++ {
		r, w, err := os.Pipe()
		if err != nil {
			fmt.Fprintf(os.Stderr, "pipe_pingpong: pipe: %v\n", err)
			os.Exit(1)
		}
		toR[p], toW[p] = r, w
	}
	var wg sync.WaitGroup
	wg.Add(2)
	for me := int64(0); me < 2; me++ {
		go func(me int64) {
			defer wg.Done()
			// Player 0 makes hops 0, 2, 4...; player 1 makes hops 1, 3,
			// 5...  Each first takes the hop before (for hop 0, main's
			// start byte).
			for h := me; h < hops; h += 2 {
				transfer(toR[me], false)
				transfer(toW[1-me], true)
			}
			// The last hop is the other player's: take it.
			if hops%2 == me {
				transfer(toR[me], false)
			}
		}(me)
	}

	stopSampling := startSampling(sampleEvery)

	t0 := time.Now()
	transfer(toW[0], true)
	wg.Wait()
	total := time.Since(t0).Nanoseconds()
	maxThreads := stopSampling()

	fmt.Printf("RESULT name=pipe_pingpong n=%d total_ns=%d per_op_ns=%.1f max_threads=%d maxrss_kib=%d\n",
		hops, total, float64(total)/float64(hops), maxThreads, statusField("VmHWM:"))
}
