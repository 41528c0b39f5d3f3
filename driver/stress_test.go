package driver_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/race"
	"github.com/vcomd/vcomd/ioctl"
)

// stressBytes is how much each direction carries: 10 MB, or 1 MB under the
// race detector, which slows the byte path tenfold (the race run checks
// the concurrency, .ci/run runs the full 10 MB without it).
// VCOMD_STRESS_BYTES overrides both.
func stressBytes(t *testing.T) int {
	def := 10 << 20
	if race.Enabled {
		def = 1 << 20
	}
	if v := os.Getenv("VCOMD_STRESS_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("VCOMD_STRESS_BYTES: %v", err)
		}
		return n
	}
	return def
}

// stream writes data on from in 64 KiB writes and reads len(data) on to,
// at the same time, and checks every byte. A read that times out with
// nothing (the reads' total timeout, set by the caller) fails: a lost
// byte ends the test then.
func stream(t *testing.T, from, to *driver.Device, data []byte) error {
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		for off := 0; off < len(data); off += 64 << 10 {
			w := driver.NewWrite(data[off:min(off+64<<10, len(data))])
			if _, err := from.Call(context.Background(), w); err != nil {
				werr = err
				return
			}
		}
	})
	got := make([]byte, 0, len(data))
	buf := make([]byte, 64<<10)
	for len(got) < len(data) {
		r := driver.NewRead(buf[:min(len(buf), len(data)-len(got))])
		st, err := to.Call(context.Background(), r)
		if err != nil && st != driver.StatusTimeout {
			return err
		}
		if len(r.Data()) == 0 {
			return fmt.Errorf("%s: a read timed out with nothing after %d of %d bytes", to.Name(), len(got), len(data))
		}
		got = append(got, r.Data()...)
	}
	wg.Wait()
	if werr != nil {
		return werr
	}
	if !bytes.Equal(got, data) {
		for i := range got {
			if got[i] != data[i] {
				t.Errorf("first difference at byte %d of %d", i, len(data))
				break
			}
		}
		t.Fatal("data corrupted")
	}
	return nil
}

// rtsCTS is RTS/CTS flow control both ways, with XOFF 512 bytes before
// the typeahead is full.
var rtsCTS = ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSHandshake, XonLimit: 2048, XoffLimit: 512}

// streamBoth streams size bytes each way between a and b at once (stream),
// every byte checked.
func streamBoth(t *testing.T, a, b *driver.Device, size int) {
	t.Helper()
	ab, ba := pattern(size), pattern(size + 1)[1:]
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := stream(t, a, b, ab); err != nil {
			t.Errorf("A to B: %v", err)
		}
	})
	if err := stream(t, b, a, ba); err != nil {
		t.Errorf("B to A: %v", err)
	}
	wg.Wait()
}

// Both directions at once through two devices on a null-modem cable with
// RTS/CTS flow control, every byte checked: at timing off and at 115200
// baud in virtual time.
func TestStressBothWays(t *testing.T) {
	for _, tc := range []struct {
		name    string
		instant bool
		size    int
	}{
		{"timing off", true, stressBytes(t)},
		{"115200 baud virtual time", false, stressBytes(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Timing off needs no virtual clock: nothing waits for time.
			// It runs outside a synctest bubble, where the race
			// detector's runtime crashed at this test's pace (go1.26.8:
			// SIGSEGV in timer.maybeRunChan, or a ThreadSanitizer CHECK
			// on slot_locked, a few times in thirty runs).
			inBubble := synctest.Test
			if tc.instant {
				inBubble = func(t *testing.T, f func(*testing.T)) { f(t) }
			}
			inBubble(t, func(t *testing.T) {
				a, b := openPair(t, driver.Options{Instant: tc.instant, FIFODepth: fifoFor(tc.instant)}, 115200)
				for _, d := range []*driver.Device{a, b} {
					mustCall(t, d, driver.NewIoctl(ioctl.SetHandflow, rtsCTS))
					// A read waits at most 10 s for its first byte.
					setTimeouts(t, d, ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: max, ReadTotalTimeoutConstant: 10_000})
				}
				// The modem lines the open and the handshake raised have
				// reached the other end.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				for _, d := range []*driver.Device{a, b} {
					if err := d.Delivered(ctx); err != nil {
						t.Fatal(err)
					}
				}
				streamBoth(t, a, b, tc.size)
				for _, d := range []*driver.Device{a, b} {
					if st := stats(t, d); st.BufferOverrunErrorCount != 0 || st.SerialOverrunErrorCount != 0 || st.ReceivedCount != uint32(tc.size) {
						t.Errorf("%s stats %+v", d.Name(), st)
					}
				}
			})
		})
	}
}

// fifoFor is the FIFO depth a port uses: deeper at timing off, where it
// only saves interrupts.
func fifoFor(instant bool) int {
	if instant {
		return 256
	}
	return 16
}

// BenchmarkThroughput measures MB/s one way through two devices back to
// back at timing off, in 64 KiB writes.
func BenchmarkThroughput(b *testing.B) {
	for _, depth := range []int{16, 256, 4096} {
		b.Run("fifo"+strconv.Itoa(depth), func(b *testing.B) {
			opts := driver.Options{Instant: true, FIFODepth: depth, QueueSize: 1 << 16, Epoch: time.Now()}
			oa, ob := opts, opts
			oa.Name, ob.Name = "A", "B"
			da, db := driver.New(oa), driver.New(ob)
			defer da.Close()
			defer db.Close()
			connect(da, db)
			hf := ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSHandshake, XonLimit: 1 << 15, XoffLimit: 1 << 13}
			for _, d := range []*driver.Device{da, db} {
				d.Submit(&driver.IRP{Major: driver.MajorCreate})
				d.Call(context.Background(), driver.NewIoctl(ioctl.SetHandflow, hf))
				d.Call(context.Background(), driver.NewIoctl(ioctl.SetTimeouts, ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: max, ReadTotalTimeoutConstant: 60_000}))
			}
			chunk := pattern(64 << 10)
			b.SetBytes(int64(len(chunk)))
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 64<<10)
				for want := b.N * len(chunk); want > 0; {
					r := driver.NewRead(buf)
					db.Call(context.Background(), r)
					want -= r.Information()
				}
			}()
			b.ResetTimer()
			for range b.N { // not b.Loop: the reader must know b.N up front
				da.Call(context.Background(), driver.NewWrite(chunk))
			}
			<-done
		})
	}
}
