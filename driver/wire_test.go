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

// endsWire records when each character it is handed finished, and lets
// the transmitter go on at once.
type endsWire struct {
	mu   sync.Mutex
	ends []time.Duration
	last time.Duration // the device's time at the last Transmit
	at   func() time.Duration
}

func (w *endsWire) Transmit(_ *driver.Device, signals []uart16550.Signal, taken func()) {
	w.mu.Lock()
	for _, sg := range signals {
		switch sg.Kind {
		case uart16550.SignalChar:
			w.ends = append(w.ends, sg.At)
		case uart16550.SignalChars:
			for k := range sg.Data {
				w.ends = append(w.ends, sg.End(k))
			}
		}
	}
	w.last = w.at()
	w.mu.Unlock()
	if taken != nil {
		taken()
	}
}

// An input the device's pass finds already past (a far end whose pass ran
// late stamps its CTS drop with its own, earlier, time) is applied at its
// instant, among the chip's events: the pass carries the transmitter's
// characters out up to that instant, not to the present, before it. The
// THR-empty interrupts after the drop then find CTS low, and the
// characters that start after it are at most the FIFO's 16; serviced
// before the drop was applied, the next interrupt would have loaded 16
// more. A drop within a character time after a THR-empty interrupt comes
// before the chip's next event either way, so the drops are spread over
// the 1.4 ms between two interrupts, a character time and more apart.
func TestPastInputAppliedAmongChipEvents(t *testing.T) {
	for _, offset := range []time.Duration{1000 * time.Microsecond, 1300 * time.Microsecond, 1600 * time.Microsecond, 1900 * time.Microsecond} {
		t.Run(offset.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { pastCTSDrop(t, offset) })
		})
	}
}

// pastCTSDrop streams at 115200 with CTS handshake and drops CTS with a
// stamp offset after the last pass, kicking the next pass 3 ms of line
// after that.
func pastCTSDrop(t *testing.T, offset time.Duration) {
	epoch := time.Now() // openOn's too: the bubble's clock stands still until something blocks
	w := &endsWire{at: func() time.Duration { return time.Since(epoch) }}
	d := openOn(t, w)
	d.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: true, DSR: true, DCD: true}})
	setHandflow(t, d, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSControl})
	d.Submit(driver.NewWrite(make([]byte, 20000)))
	// Long enough for the quantum to stretch: the ISR then wakes every
	// 16 ms or so, and between its passes the chip runs on in virtual
	// time.
	time.Sleep(300 * time.Millisecond)
	synctest.Wait()
	w.mu.Lock()
	last := w.last
	w.mu.Unlock()
	drop := last + offset
	if wait := drop + 3*time.Millisecond - time.Since(epoch); wait > 0 {
		time.Sleep(wait)
	}
	w.mu.Lock()
	passed := w.last != last
	w.mu.Unlock()
	if passed {
		t.Fatalf("a pass ran between %v and %v; the test needs the chip behind the drop", last, drop)
	}
	d.Input(driver.Input{At: drop, Kind: driver.InputModem, Modem: uart16550.ModemInputs{DSR: true, DCD: true}})
	time.Sleep(50 * time.Millisecond)
	synctest.Wait()
	if h := commStatus(t, d).HoldReasons; h&ioctl.TxWaitingForCTS == 0 {
		t.Fatalf("hold reasons %s, want CTS", ioctl.HoldString(h))
	}
	charTime := 10 * time.Second / 115200
	w.mu.Lock()
	defer w.mu.Unlock()
	after := 0
	for _, end := range w.ends {
		if end-charTime >= drop {
			after++
		}
	}
	if after > 16 {
		t.Fatalf("%d characters started after CTS dropped at %v; want at most the FIFO's 16", after, drop)
	}
}
