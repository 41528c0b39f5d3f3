package ptyfront

import (
	"testing"

	"github.com/vcomd/vcomd/driver"
)

// At timing off the front lets a program write up to instantCap ahead, so
// the queue of writes grows and drains with the far end's reader: every
// write it grows by after a drain needs a buffer. The buffers of the
// completed writes are kept for that, so a queue that fills to the limit
// and drains, again and again, in pty reads or in gathered chunks,
// allocates nothing once it has filled the first time. (Two buffers kept
// made each refill allocate all but two of its writes.)
func TestFreeBuffersServeRefilledQueue(t *testing.T) {
	d := driver.New(driver.Options{Name: "F", Instant: true})
	t.Cleanup(func() { d.Close() })
	p := &Port{dev: d}
	read, gathered := make([]byte, ptyReadSize-1), make([]byte, readSize)
	var queue [instantCap / (ptyReadSize - 1)][]byte
	fill := func(b []byte, n int) {
		for i := range n {
			queue[i] = p.writeData(b)
		}
		for i := range n {
			p.keepFree(queue[i]) // completed, oldest first, as reap sees them
			queue[i] = nil
		}
	}
	cycle := func() {
		fill(read, len(queue))
		fill(gathered, instantCap/readSize)
	}
	cycle()
	if allocs := testing.AllocsPerRun(20, cycle); allocs != 0 {
		t.Errorf("a queue refilled to %d KiB allocates %.1f buffers a time, want 0", instantCap>>10, allocs)
	}
}
