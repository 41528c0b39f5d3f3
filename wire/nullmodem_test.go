package wire_test

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
	"github.com/vcomd/vcomd/wire"
)

// The cable reuses one slice per direction for its conversions. The driver
// calls Transmit for one sender from one pass at a time, but the cable
// does not rely on it: Transmits of one direction from several goroutines
// at once (run with -race) each deliver their characters whole, and every
// taken is called.
func TestNullModemConcurrentTransmit(t *testing.T) {
	const goroutines, rounds, run = 4, 200, 16
	da := driver.New(driver.Options{Name: "A", Instant: true, QueueSize: 1 << 16})
	db := driver.New(driver.Options{Name: "B", Instant: true, QueueSize: 1 << 16})
	defer da.Close()
	defer db.Close()
	n := wire.Connect(da, db, wire.Options{})
	call(t, da, &driver.IRP{Major: driver.MajorCreate})
	call(t, db, &driver.IRP{Major: driver.MajorCreate})
	f := uart16550.Format{ClockHz: 1843200, Divisor: 1, DataBits: 8}
	var taken atomic.Int64
	allTaken := make(chan struct{})
	takenFn := func() {
		if taken.Add(1) == goroutines*rounds {
			close(allTaken)
		}
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		signals := []uart16550.Signal{{Kind: uart16550.SignalChars, Data: bytes.Repeat([]byte{'a' + byte(g)}, run-1), Format: f},
			{Kind: uart16550.SignalChar, Char: 'a' + byte(g), Format: f}}
		wg.Go(func() {
			for range rounds {
				n.Transmit(da, signals, takenFn)
			}
		})
	}
	wg.Wait()
	// A Transmit that found b's ISR goroutine in a pass returned and left
	// its input to that goroutine, so the takens may still be coming.
	select {
	case <-allTaken:
	case <-timeout():
		t.Fatalf("taken called %d times for %d Transmits", taken.Load(), goroutines*rounds)
	}
	st := call(t, db, driver.NewIoctl(ioctl.GetCommStatus, nil)).Output().(ioctl.CommStatus)
	if want := uint32(goroutines * rounds * run); st.AmountInInQueue != want {
		t.Fatalf("b holds %d characters, want %d", st.AmountInInQueue, want)
	}
	got := call(t, db, driver.NewRead(make([]byte, goroutines*rounds*run))).Data()
	for g := range goroutines {
		if c := bytes.Count(got, []byte{'a' + byte(g)}); c != rounds*run {
			t.Errorf("%d of goroutine %d's characters arrived, want %d", c, g, rounds*run)
		}
	}
	// The characters of one Transmit arrive together.
	for i := 0; i+run <= len(got); i += run {
		if c := bytes.Count(got[i:i+run], got[i:i+1]); c != run {
			t.Fatalf("characters %d..%d mix Transmits: %q", i, i+run, got[i:i+run])
		}
	}
}
