package driver_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

func purge(t *testing.T, d *driver.Device, m ioctl.PurgeMask) {
	t.Helper()
	mustCall(t, d, driver.NewIoctl(ioctl.Purge, m))
}

// SERIAL_PURGE_RXABORT cancels the current and queued reads; RXCLEAR
// empties the typeahead buffer and the UART's RX FIFO.
func TestPurgeRx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 115200)
		setTimeouts(t, b, ioctl.Timeouts{})
		r1, r2 := driver.NewRead(make([]byte, 100)), driver.NewRead(make([]byte, 100))
		b.Submit(r1)
		b.Submit(r2)
		purge(t, b, ioctl.PurgeRxAbort)
		for i, r := range []*driver.IRP{r1, r2} {
			if st, _ := r.Wait(context.Background()); st != driver.StatusCancelled || r.Information() != 0 {
				t.Fatalf("read %d: %v with %d bytes, want CANCELLED with 0", i, st, r.Information())
			}
		}

		mustCall(t, a, driver.NewWrite([]byte("stale")))
		time.Sleep(10 * time.Millisecond)
		if n := commStatus(t, b).AmountInInQueue; n != 5 {
			t.Fatalf("typeahead holds %d, want 5", n)
		}
		purge(t, b, ioctl.PurgeRxClear)
		if n := commStatus(t, b).AmountInInQueue; n != 0 {
			t.Fatalf("typeahead holds %d after RXCLEAR", n)
		}
		mustCall(t, a, driver.NewWrite([]byte("fresh")))
		time.Sleep(10 * time.Millisecond)
		if got := string(readAll(t, b, 5, 100, 0)); got != "fresh" {
			t.Fatalf("read %q after RXCLEAR, want \"fresh\"", got)
		}
	})
}

// SERIAL_PURGE_TXABORT cancels the current and queued writes; TXCLEAR
// empties the UART's TX FIFO, so those bytes never reach the wire.
func TestPurgeTx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 9600)
		w1, w2 := driver.NewWrite(pattern(1000)), driver.NewWrite(pattern(10))
		a.Submit(w1)
		a.Submit(w2)
		time.Sleep(50 * time.Millisecond) // about 48 characters out
		purge(t, a, ioctl.PurgeTxAbort|ioctl.PurgeTxClear)
		for i, w := range []*driver.IRP{w1, w2} {
			if st, _ := w.Wait(context.Background()); st != driver.StatusCancelled {
				t.Fatalf("write %d ended %v, want CANCELLED", i, st)
			}
		}
		time.Sleep(time.Second)
		got := commStatus(t, b).AmountInInQueue
		t.Logf("B received %d bytes", got)
		// What left in 50 ms at 9600 baud (48), plus the character that was
		// in the shift register; without TXCLEAR the 16 in the FIFO would
		// follow.
		if got < 48 || got > 49 {
			t.Fatalf("B received %d bytes; want the ~48 sent before the purge and none of the FIFO", got)
		}
		if out := commStatus(t, a).AmountInOutQueue; out != 0 {
			t.Fatalf("A still has %d bytes to send", out)
		}
	})
}

// An invalid purge mask is refused and changes nothing.
func TestPurgeInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := pair(t, driver.Options{}, 115200)
		for _, m := range []ioctl.PurgeMask{0, 0x10} {
			irp := driver.NewIoctl(ioctl.Purge, m)
			if st, _ := b.Call(context.Background(), irp); st != driver.StatusInvalidParameter {
				t.Fatalf("purge %#x: %v, want INVALID_PARAMETER", uint32(m), st)
			}
		}
	})
}

// Cancellation racing completion: whichever wins, each request completes
// exactly once, with a coherent status, and nothing deadlocks.
func TestCancelRacesCompletion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{Instant: true}, 115200)
		setTimeouts(t, b, ioctl.Timeouts{ReadTotalTimeoutConstant: 5})
		var wg sync.WaitGroup
		for i := range 200 {
			r := driver.NewRead(make([]byte, 1))
			b.Submit(r)
			wg.Go(func() { a.Submit(driver.NewWrite([]byte{byte(i)})) })
			wg.Go(func() { b.Cancel(r) })
			st, _ := r.Wait(context.Background())
			switch st {
			case driver.StatusSuccess:
				if r.Information() != 1 {
					t.Fatalf("SUCCESS with %d bytes", r.Information())
				}
			case driver.StatusCancelled, driver.StatusTimeout:
				if r.Information() != 0 {
					t.Fatalf("%v with %d bytes", st, r.Information())
				}
			default:
				t.Fatalf("read ended %v", st)
			}
			if b.Cancel(r) {
				t.Fatal("Cancel of a completed request reported true")
			}
		}
		wg.Wait()
	})
}
