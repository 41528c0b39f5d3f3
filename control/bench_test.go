package control_test

import (
	"context"
	"io"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTrace115200 moves data through a pair at 115200 baud with
// realistic timing, with nobody tracing and with a client streaming the
// full trace of both ends (as `vcomctl trace` does, formatting each
// line). Compare the two B/s figures: the claim is that tracing costs
// under 10 % of throughput. cpu-ms/op is the process's CPU time per
// round (daemon, trace server and client, and the benchmark's own serial
// I/O), lines/op the trace lines the client got.
//
//	go test -run XXX -bench Trace115200 ./control/
func BenchmarkTrace115200(b *testing.B) {
	for _, tc := range []struct {
		name  string
		trace bool
	}{{"trace=off", false}, {"trace=on", true}} {
		b.Run(tc.name, func(b *testing.B) {
			r := newRig(b, "--pair", "ttyV0:ttyV1")
			tx := r.open(b, "ttyV0", 115200)
			rx := r.open(b, "ttyV1", 115200)
			var lines, dropped atomic.Int64
			if tc.trace {
				ctx, cancel := context.WithCancel(context.Background())
				st, err := r.c.OpenTrace(ctx, "")
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						l, _, err := st.Next()
						if err != nil {
							return
						}
						_, _ = io.WriteString(io.Discard, l.String())
						lines.Add(1)
						dropped.Add(int64(l.Dropped))
					}
				}()
				b.Cleanup(func() { cancel(); st.Close(); <-done })
			}
			// 100 ms of the line's time per round: a write the size a
			// program would make, read back at the far end.
			chunk := make([]byte, 1152)
			for i := range chunk {
				chunk[i] = byte(i)
			}
			b.SetBytes(int64(len(chunk)))
			cpu0 := cpuTime()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				write(b, tx, chunk)
				readN(b, rx, len(chunk))
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N*len(chunk))/elapsed.Seconds(), "B/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			if tc.trace {
				b.ReportMetric(float64(lines.Load())/float64(b.N), "lines/op")
				b.ReportMetric(float64(dropped.Load()), "dropped")
			}
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
