package driver_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// slowFarEnd is a wire whose far end applies nothing until told to: what
// a receiver whose ISR goroutine the host has not yet scheduled looks
// like to the transmitter.
type slowFarEnd struct {
	mu      sync.Mutex
	chars   int
	pending []func()
}

func (w *slowFarEnd) Transmit(_ *driver.Device, signals []uart16550.Signal, taken func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chars += uart16550.CountChars(signals)
	if taken != nil {
		w.pending = append(w.pending, taken)
	}
}

func (w *slowFarEnd) sent() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.chars
}

// catchUp is the far end's ISR goroutine finally running.
func (w *slowFarEnd) catchUp() {
	w.mu.Lock()
	fns := w.pending
	w.pending = nil
	w.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// At realistic timing a transmitter runs at most a bounded number of
// characters ahead of what the far end has applied, so that a receiver
// that runs late still stops it in time with RTS or XOFF; once the far end
// catches up, the rest goes at the line's pace.
func TestTransmitterWaitsForLateReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &slowFarEnd{}
		d := openOn(t, w)
		data := make([]byte, 2000)
		write := driver.NewWrite(data)
		d.Submit(write)

		// 100 ms is 1152 characters of line time at 115200 baud.
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		// The window is looked at as the FIFO is loaded, against what
		// earlier passes handed the wire: a pass may add what it loads
		// while it catches up a stretched quantum (a write streams here).
		ahead := w.sent()
		if most := 256 + 192 + 16; ahead < 200 || ahead > most {
			t.Fatalf("with the far end applying nothing, %d characters went out; want the window's 256 and at most a quantum and a FIFO more (%d)", ahead, most)
		}
		// The far end now keeps up, a millisecond at a time: 2000
		// characters take 174 ms of line time.
		for range 1000 {
			w.catchUp()
			synctest.Wait()
			if w.sent() == len(data) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if st, _ := write.Wait(context.Background()); st != driver.StatusSuccess || w.sent() != len(data) {
			t.Fatalf("write %v, %d of %d characters sent", st, w.sent(), len(data))
		}
	})
}

// lateSender is a wire whose far end applies everything at once, but
// whose first delivery keeps the transmitter's ISR goroutine away for
// 100 ms: what a host too busy to run it on time looks like. It records
// the most characters one pass handed it.
type lateSender struct {
	mu          sync.Mutex
	slept       bool
	chars, most int
}

func (w *lateSender) Transmit(_ *driver.Device, signals []uart16550.Signal, taken func()) {
	n := uart16550.CountChars(signals)
	w.mu.Lock()
	first := !w.slept && n > 0
	w.slept = w.slept || first
	w.chars += n
	if n > w.most {
		w.most = n
	}
	w.mu.Unlock()
	if first {
		time.Sleep(100 * time.Millisecond)
	}
	if taken != nil {
		taken()
	}
}

func (w *lateSender) sent() (chars, most int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.chars, w.most
}

// A transmitter that obeys flow control keeps to its window even when its
// own ISR goroutine runs late: the pass that catches up 100 ms (1152
// characters at 115200) loads no more than the window and a millisecond's
// worth, so the far end hears of them in time to stop it with RTS.
// Without flow control nothing could stop it, and the pass sends what its
// span holds.
func TestLateTransmitterKeepsWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hf     ioctl.HandFlow
		window bool
	}{
		{"CTS handshake", ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSControl}, true},
		{"no flow control", ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := &lateSender{}
				d := openOn(t, w)
				d.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: true, DSR: true, DCD: true}})
				setHandflow(t, d, tc.hf)
				data := make([]byte, 3000)
				if st, err := d.Call(context.Background(), driver.NewWrite(data)); err != nil || st != driver.StatusSuccess {
					t.Fatalf("write: %v %v", st, err)
				}
				time.Sleep(5 * time.Millisecond) // the FIFO's last characters leave
				synctest.Wait()
				chars, most := w.sent()
				if chars != len(data) {
					t.Fatalf("%d of %d characters sent", chars, len(data))
				}
				// The window, a millisecond of line time (12 characters)
				// and a FIFO.
				if limit := 256 + 12 + 16; tc.window && most > limit {
					t.Fatalf("a late pass handed the wire %d characters at once; want no more than the window, a millisecond and a FIFO (%d)", most, limit)
				}
				if !tc.window && most <= 1000 {
					t.Fatalf("without flow control the late pass sent %d characters; want the 100 ms it caught up", most)
				}
			})
		})
	}
}

// Delivered returns once the far end has applied what the UART put on its
// pins: a DTR change on one end of a cable is then the other end's DSR,
// every time, with no waiting in between.
func TestDeliveredMakesChangesVisible(t *testing.T) {
	opts := driver.Options{Epoch: time.Now()}
	oa, ob := opts, opts
	oa.Name, ob.Name = "A", "B"
	a, b := driver.New(oa), driver.New(ob)
	t.Cleanup(func() { a.Close(); b.Close() })
	connect(a, b)
	mustCall(t, a, &driver.IRP{Major: driver.MajorCreate})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 200 {
		on := i%2 == 1
		code := ioctl.ClrDTR
		if on {
			code = ioctl.SetDTR
		}
		mustCall(t, a, driver.NewIoctl(code, nil))
		if err := a.Delivered(ctx); err != nil {
			t.Fatal(err)
		}
		msr := mustCall(t, b, driver.NewIoctl(ioctl.GetModemStatus, nil)).Output().(uint32)
		if dsr := msr&uint32(ioctl.MSRDSR) != 0; dsr != on {
			t.Fatalf("change %d: A's DTR %v, B's DSR %v after Delivered", i, on, dsr)
		}
	}
}
