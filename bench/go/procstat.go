// procstat.go — what the Go twins measure about themselves, as
// bench/procstat.h does for the C programs: fields of /proc/self/status
// (Threads:, VmHWM:) and the thread count's peak over a phase.  Built
// into every twin beside its own file.
package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// statusField returns field name ("Threads:", "VmHWM:") of
// /proc/self/status, or -1.
func statusField(name string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name) {
			f := strings.Fields(line[len(name):])
			if len(f) > 0 {
				if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// startSampling samples Threads: every interval from now until the
// returned function is called; that function returns the most seen.
func startSampling(every time.Duration) func() int64 {
	var max int64
	stop, sampled := make(chan struct{}), make(chan struct{})
	sample := func() {
		if t := statusField("Threads:"); t > max {
			max = t
		}
	}
	go func() {
		defer close(sampled)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-stop:
				sample()
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-sampled
		return max
	}
}
