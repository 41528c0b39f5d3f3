package driver

import (
	"runtime"
	"testing"
)

// A write at timing off goes in FIFO rounds (4 KiB here), a pass each, and
// each pass hands the wire its characters in a buffer the wire gives back
// once the far end has applied them: a 64 KiB write allocates no more than
// a 4 KiB one, and none of it per byte. (A new buffer a pass made it 46
// allocations and 66 KB against 16 and 4.8 KB.)
func TestInstantRoundsReuseRunData(t *testing.T) {
	measure := func(size int) (allocs, bytes float64) {
		op := instantWriteRead(t, size)
		op()
		op() // the free buffers and the queues at their working size
		const runs = 20
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for range runs {
			op()
		}
		runtime.ReadMemStats(&m1)
		return float64(m1.Mallocs-m0.Mallocs) / runs, float64(m1.TotalAlloc-m0.TotalAlloc) / runs
	}
	smallN, smallB := measure(4 << 10)
	bigN, bigB := measure(64 << 10)
	t.Logf("per write and read: 4 KiB %.1f allocations, %.0f bytes; 64 KiB %.1f, %.0f", smallN, smallB, bigN, bigB)
	if bigN > smallN+2 || bigB > smallB+4<<10 {
		t.Errorf("a 64 KiB write allocates %.1f times (%.0f bytes) against a 4 KiB one's %.1f (%.0f bytes): something is allocated per round or per byte", bigN, bigB, smallN, smallB)
	}
}
