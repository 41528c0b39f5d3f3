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
	"github.com/vcomd/vcomd/wire"
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
// the most characters one pass handed it and when each ended. Once
// dropAfter characters (if not 0) have come, the far end drops the
// transmitter's CTS, stamped with its own present, before it says it has
// taken them, as a receiver reaching its limit on the cable does; with
// keep, it says nothing (its ISR goroutine never runs) until release.
type lateSender struct {
	mu          sync.Mutex
	slept       bool
	chars, most int
	first       int // characters of the first delivery
	ends        []time.Duration
	dropAfter   int
	dropped     int // chars when the far end dropped CTS
	keep        bool
	pending     []func()
}

func (w *lateSender) Transmit(from *driver.Device, signals []uart16550.Signal, taken func()) {
	n := uart16550.CountChars(signals)
	w.mu.Lock()
	first := !w.slept && n > 0
	w.slept = w.slept || first
	if first {
		w.first = n
	}
	w.chars += n
	if n > w.most {
		w.most = n
	}
	w.ends = appendEnds(w.ends, signals)
	drop := w.dropAfter > 0 && w.dropped == 0 && w.chars >= w.dropAfter
	if drop {
		w.dropped = w.chars
	}
	if w.keep && taken != nil {
		w.pending = append(w.pending, taken)
		taken = nil
	}
	w.mu.Unlock()
	if first {
		time.Sleep(100 * time.Millisecond)
	}
	if drop {
		from.Input(driver.Input{At: from.Now(), Kind: driver.InputModem, Modem: uart16550.ModemInputs{DSR: true, DCD: true}})
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

func (w *lateSender) idle() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return lineIdle(w.ends)
}

// appendEnds appends to ends when each character among signals ended.
func appendEnds(ends []time.Duration, signals []uart16550.Signal) []time.Duration {
	for _, sg := range signals {
		switch sg.Kind {
		case uart16550.SignalChar:
			ends = append(ends, sg.At)
		case uart16550.SignalChars:
			for k := range sg.Data {
				ends = append(ends, sg.End(k))
			}
		}
	}
	return ends
}

// lineIdle is how long a line at 115200 rested between the first of ends
// and the last: every gap between two ends longer than a character time
// and a half, less the character time.
func lineIdle(ends []time.Duration) time.Duration {
	var idle time.Duration
	for i := 1; i < len(ends); i++ {
		if gap := ends[i] - ends[i-1]; gap > charTime*3/2 {
			idle += gap - charTime
		}
	}
	return idle
}

// release is the far end's ISR goroutine running at last.
func (w *lateSender) release() {
	w.mu.Lock()
	fns := w.pending
	w.pending, w.keep = nil, false
	w.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// lateWrite opens a device on w with hf, CTS and DSR up, and submits a
// write of n characters; the first pass that hands w characters is 100 ms
// late (w's first delivery).
func lateWrite(t *testing.T, w *lateSender, hf ioctl.HandFlow, n int) (*driver.Device, *driver.IRP) {
	t.Helper()
	d := openOn(t, w)
	d.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: true, DSR: true, DCD: true}})
	setHandflow(t, d, hf)
	write := driver.NewWrite(make([]byte, n))
	d.Submit(write)
	return d, write
}

var (
	ctsHandshake = ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSControl}
	charTime     = 10 * time.Second / 115200
)

// A transmitter that obeys flow control keeps to its window even when its
// own ISR goroutine runs late: the pass that catches up 100 ms (1152
// characters at 115200) hands the wire no more than the window and a
// millisecond's worth at a time, so the far end hears of them in time to
// stop it with RTS. It loads the rest of its span in further rounds, each
// from where the last stopped once the far end has taken it, so the line
// never rests; loading nothing more until its next pass, it rested 77 ms.
// Without flow control nothing could stop it, and the pass sends what its
// span holds.
func TestLateTransmitterKeepsWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hf     ioctl.HandFlow
		window bool
	}{
		{"CTS handshake", ctsHandshake, true},
		{"no flow control", ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := &lateSender{}
				_, write := lateWrite(t, w, tc.hf, 3000)
				if st, err := write.Wait(context.Background()); err != nil || st != driver.StatusSuccess {
					t.Fatalf("write: %v %v", st, err)
				}
				time.Sleep(5 * time.Millisecond) // the FIFO's last characters leave
				synctest.Wait()
				chars, most := w.sent()
				if chars != 3000 {
					t.Fatalf("%d of 3000 characters sent", chars)
				}
				// The window, a millisecond of line time (12 characters)
				// and a FIFO.
				if limit := 256 + 12 + 16; tc.window && most > limit {
					t.Fatalf("a late pass handed the wire %d characters at once; want no more than the window, a millisecond and a FIFO (%d)", most, limit)
				}
				if !tc.window && most <= 1000 {
					t.Fatalf("without flow control the late pass sent %d characters; want the 100 ms it caught up", most)
				}
				if idle := w.idle(); idle > charTime {
					t.Fatalf("the line rested %v between the first character and the last; want it busy", idle)
				}
			})
		})
	}
}

// The far end's reaction to a late pass's round (its RTS drop, stamped
// with its present, after the instant the transmitter's chip stopped at)
// stops the rounds: the transmitter loads nothing more until it has
// applied the drop, so it overshoots by no more than the round that made
// the far end drop it. Loading on from where it stopped regardless, it
// would have run on to the drop's stamp, 60 ms of line further.
func TestLateRoundsStopAtFarEndsReaction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &lateSender{dropAfter: 500}
		d, write := lateWrite(t, w, ctsHandshake, 3000)
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if h := commStatus(t, d).HoldReasons; h&ioctl.TxWaitingForCTS == 0 {
			t.Fatalf("hold reasons %s, want CTS", ioctl.HoldString(h))
		}
		chars, _ := w.sent()
		w.mu.Lock()
		dropped := w.dropped
		w.mu.Unlock()
		if dropped == 0 {
			t.Fatal("the far end never dropped CTS")
		}
		// The character in the shift register and a FIFO's worth.
		if chars > dropped+1+16 {
			t.Fatalf("%d characters went, %d after the far end dropped CTS at %d; want at most the FIFO's 16 and one", chars, chars-dropped, dropped)
		}
		d.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: true, DSR: true, DCD: true}})
		if st, err := write.Wait(context.Background()); err != nil || st != driver.StatusSuccess {
			t.Fatalf("write: %v %v", st, err)
		}
	})
}

// A late pass's round that the far end does not take (its ISR goroutine
// is late too, or never comes) leaves the chip stopped for at most a
// lineQuantum: then the chip runs on without the load, as the window
// wants, and what arrives meanwhile is received. Nothing spins while it
// waits, and once the far end takes the round the rest goes.
func TestLateRoundNotTakenRunsOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &lateSender{keep: true}
		d, write := lateWrite(t, w, ctsHandshake, 3000)
		time.Sleep(120 * time.Millisecond)
		synctest.Wait()
		before := passes(t, d)
		d.Input(driver.Input{Kind: driver.InputChars, Data: []byte("hi")})
		setTimeouts(t, d, ioctl.Timeouts{ReadTotalTimeoutConstant: 100})
		r := mustCall(t, d, driver.NewRead(make([]byte, 2)))
		if string(r.Data()) != "hi" {
			t.Fatalf("read %q while the far end held the round, want %q", r.Data(), "hi")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := passes(t, d) - before; n > 50 {
			t.Fatalf("%d ISR passes in the second the far end held the round; want a few", n)
		}
		// The late pass's round comes on top of what the first pass
		// handed over, which the window let it.
		w.mu.Lock()
		chars, first := w.chars, w.first
		w.mu.Unlock()
		if chars > first+256+12+16 {
			t.Fatalf("%d characters went with the far end taking none, %d of them in the first pass; want a window, a millisecond and a FIFO at most after those", chars, first)
		}
		w.release()
		if st, err := write.Wait(context.Background()); err != nil || st != driver.StatusSuccess {
			t.Fatalf("write: %v %v", st, err)
		}
	})
}

// stallCable is a null-modem cable on which each direction's first
// delivery keeps its sender's ISR goroutine away for 100 ms, both at
// once: a host that stalled the whole daemon. It records when each
// direction's characters ended.
type stallCable struct {
	*wire.NullModem
	mu    sync.Mutex
	slept map[*driver.Device]bool
	ends  map[*driver.Device][]time.Duration
}

func (c *stallCable) Transmit(from *driver.Device, signals []uart16550.Signal, taken func()) {
	c.mu.Lock()
	first := !c.slept[from] && uart16550.CountChars(signals) > 0
	c.slept[from] = c.slept[from] || first
	c.ends[from] = appendEnds(c.ends[from], signals)
	c.mu.Unlock()
	if first {
		time.Sleep(100 * time.Millisecond)
	}
	c.NullModem.Transmit(from, signals, taken)
}

// When the host stalls both ends of a cable streaming both ways with
// RTS/CTS, each end's late pass loads its backlog in rounds, and each
// takes in the other's rounds while it waits for its own to be taken:
// neither line rests, and every byte arrives. (An end that took in
// nothing while it waited left both waiting for a lineQuantum at each
// round.)
func TestStalledCableKeepsBothWaysBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := driver.Options{Epoch: time.Now()}
		oa, ob := opts, opts
		oa.Name, ob.Name = "A", "B"
		a, b := driver.New(oa), driver.New(ob)
		t.Cleanup(func() { a.Close(); b.Close() })
		c := &stallCable{NullModem: wire.Connect(a, b, wire.Options{}), slept: map[*driver.Device]bool{}, ends: map[*driver.Device][]time.Duration{}}
		for _, d := range []*driver.Device{a, b} {
			d.SetWire(c)
			mustCall(t, d, &driver.IRP{Major: driver.MajorCreate})
			mustCall(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 115200}))
			mustCall(t, d, driver.NewIoctl(ioctl.SetHandflow, rtsCTS))
			setTimeouts(t, d, ioctl.Timeouts{ReadIntervalTimeout: ioctl.MaxTimeout, ReadTotalTimeoutMultiplier: ioctl.MaxTimeout, ReadTotalTimeoutConstant: 10_000})
		}
		synctest.Wait()
		streamBoth(t, a, b, 4000)
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, d := range []*driver.Device{a, b} {
			if idle := lineIdle(c.ends[d]); idle > charTime {
				t.Errorf("%s's line rested %v while it streamed; want it busy", d.Name(), idle)
			}
		}
	})
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
	w.ends = appendEnds(w.ends, signals)
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
