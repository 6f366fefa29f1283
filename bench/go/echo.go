// echo: the Go twin of bench/echo.c — a goroutine-per-connection TCP echo
// server on 127.0.0.1 and CONNS client goroutines (default 1000) in the
// same program; once every connection is open, each client makes MSGS
// round trips (default 100) of a 64-byte message, checking each echo.
// A sampler goroutine follows the kernel thread count during the exchange.
//
//	echo [CONNS [MSGS]]
//
// Prints the same RESULT line as the C program.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	msgBytes = 64
	// stdio, the listener, the sampler's /proc/self/status.
	spareFDs = 16
	// Clients connecting ahead of the acceptor, at most: fewer than any
	// somaxconn, as a full accept queue drops SYNs and the client resends
	// only after a second.
	connectWindow = 64
	sampleEvery   = 2 * time.Millisecond
)

func count(i int, def int64, what string) int64 {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.ParseInt(os.Args[i], 10, 64)
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "bad %s: %s\nusage: echo [CONNS [MSGS]]\n", what, os.Args[i])
		os.Exit(2)
	}
	return v
}

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "echo: %s: %v\n", what, err)
	os.Exit(1)
}

// fitNofile raises the soft RLIMIT_NOFILE to the hard one if conns would
// not fit under it (Go 1.19 and later do so at start-up already).
func fitNofile(conns int64) {
	need := uint64(conns)*2 + spareFDs
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		die("getrlimit", err)
	}
	if rl.Cur >= need {
		return
	}
	if rl.Max < need {
		fmt.Fprintf(os.Stderr, "echo: %d connections need %d open files, RLIMIT_NOFILE's hard limit is %d\n",
			conns, need, rl.Max)
		os.Exit(1)
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		die("setrlimit", err)
	}
}

// makeMessage: message seq of client id, distinct in the whole run, so
// that an echo that went to the wrong connection fails the check.
func makeMessage(id, seq int64, msg []byte) {
	n := copy(msg, fmt.Sprintf("client %d message %d:", id, seq))
	for i := n; i < len(msg); i++ {
		msg[i] = byte('a' + (int(id)+int(seq)+i)%26)
	}
}

func serve(c net.Conn) {
	// io.Copy would splice; the C server reads and writes.
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				die("server write", werr)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			die("server read", err)
		}
	}
	c.Close()
}

func main() {
	conns := count(1, 1000, "CONNS")
	msgs := count(2, 100, "MSGS")
	fitNofile(conns)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		die("listen", err)
	}
	addr := ln.Addr().String()

	var connected, served, clientsDone sync.WaitGroup
	gate := make(chan struct{})
	window := make(chan struct{}, connectWindow)
	doneAt := make([]time.Time, conns)

	tOpen := time.Now()
	connected.Add(int(conns))
	served.Add(int(conns))
	acceptorDone := make(chan struct{})
	go func() {
		defer close(acceptorDone)
		for i := int64(0); i < conns; i++ {
			c, err := ln.Accept()
			if err != nil {
				die("accept", err)
			}
			go func() {
				defer served.Done()
				serve(c)
			}()
			<-window
		}
	}()
	clientsDone.Add(int(conns))
	for i := int64(0); i < conns; i++ {
		window <- struct{}{}
		go func(id int64) {
			defer clientsDone.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				die("dial", err)
			}
			connected.Done()
			<-gate

			msg := make([]byte, msgBytes)
			reply := make([]byte, msgBytes)
			for seq := int64(0); seq < msgs; seq++ {
				makeMessage(id, seq, msg)
				if _, err := c.Write(msg); err != nil {
					die("write", err)
				}
				if _, err := io.ReadFull(c, reply); err != nil {
					die("read", err)
				}
				if !bytes.Equal(msg, reply) {
					fmt.Fprintf(os.Stderr, "echo: client %d: echo %d differs\n", id, seq)
					os.Exit(1)
				}
			}
			doneAt[id] = time.Now()

			// The server sees EOF and closes: nothing more may come.
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				die("shutdown", err)
			}
			if n, err := c.Read(reply); n != 0 || err != io.EOF {
				fmt.Fprintf(os.Stderr, "echo: client %d: no EOF after the last echo\n", id)
				os.Exit(1)
			}
			c.Close()
		}(i)
	}
	connected.Wait()
	<-acceptorDone
	opened := time.Since(tOpen)
	ln.Close()

	stopSampling := startSampling(sampleEvery)

	t0 := time.Now()
	close(gate)
	clientsDone.Wait()
	maxThreads := stopSampling()
	served.Wait()

	end := t0
	for _, t := range doneAt {
		if t.After(end) {
			end = t
		}
	}
	total := end.Sub(t0).Nanoseconds()

	fmt.Printf("RESULT name=echo conns=%d msgs=%d bytes=%d open_ms=%.1f total_ns=%d wall_ms=%.1f rtt_ms=%.3f per_op_ns=%.1f max_threads=%d maxrss_kib=%d\n",
		conns, msgs, msgBytes, float64(opened.Nanoseconds())/1e6, total, float64(total)/1e6,
		float64(total)/float64(msgs)/1e6, float64(total)/(float64(conns)*float64(msgs)),
		maxThreads, statusField("VmHWM:"))
}
