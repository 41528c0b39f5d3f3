package driver_test

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// passes is how many ISR passes d has run.
func passes(t *testing.T, d *driver.Device) uint64 {
	t.Helper()
	return mustCall(t, d, driver.NewIoctl(ioctl.GetPortState, nil)).Output().(ioctl.PortState).Work.ISRPasses
}

// readStream reads n bytes from d as the session's pump does (each read
// returns what has arrived, waiting for the first byte) and reports when
// the last of them came.
func readStream(t *testing.T, d *driver.Device, n int) time.Time {
	t.Helper()
	setTimeouts(t, d, ioctl.Timeouts{ReadIntervalTimeout: ioctl.MaxTimeout, ReadTotalTimeoutMultiplier: ioctl.MaxTimeout, ReadTotalTimeoutConstant: 10_000})
	for got := 0; got < n; {
		r := driver.NewRead(make([]byte, n-got))
		d.Submit(r)
		if st, err := r.Wait(context.Background()); st != driver.StatusSuccess {
			t.Fatalf("read after %d of %d bytes: %v %v", got, n, st, err)
		}
		got += len(r.Data())
	}
	return time.Now()
}

// While a write streams, the ISR goroutine wakes a stretched quantum at a
// time, not every lineQuantum; the write's end, and an exchange of a few
// characters, still come within lineQuantum (1 ms) of the line.
func TestStreamStretchesQuantum(t *testing.T) {
	const baud = 115200
	charTime := 10 * time.Second / baud
	for _, tc := range []struct {
		name       string
		n          int
		mostPasses uint64 // both devices'
	}{
		// A second of line: up to 16 ms (184 characters) a pass while
		// the backlog lasts, the receiver's passes run in the sender's
		// and its own timer stretched alike: about 130, against 1 ms
		// (over 1 900 passes) without the stretch.
		{"stream", 11520, 200},
		{"exchange", 8, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := pair(t, driver.Options{}, baud)
				before := passes(t, a) + passes(t, b)
				start := time.Now()
				w := driver.NewWrite(make([]byte, tc.n))
				a.Submit(w)
				last := readStream(t, b, tc.n)
				if st, _ := w.Wait(context.Background()); st != driver.StatusSuccess {
					t.Fatalf("write: %v", st)
				}
				// The last character is in at n character times, and
				// the read that wants it completes then (or when the
				// receiver's FIFO times out, 4 character times later).
				line := time.Duration(tc.n) * charTime
				if late := last.Sub(start) - line; late < 0 || late > time.Millisecond+4*charTime {
					t.Errorf("the last byte was read %v after its time on the line (%v); want within lineQuantum", late, line)
				}
				got := passes(t, a) + passes(t, b) - before
				t.Logf("%d bytes: %d ISR passes, last byte %v after the line", tc.n, got, last.Sub(start)-line)
				if got > tc.mostPasses {
					t.Errorf("%d ISR passes for %d bytes; want at most %d", got, tc.n, tc.mostPasses)
				}
			})
		})
	}
}

// A transmitter that obeys output flow control stretches its quantum only
// as far as streamChars (192 characters), so that it stops within that of
// the far end's RTS drop; one that obeys none, which nothing can stop,
// stretches to the full 16 ms.
func TestStreamQuantumBoundedByFlowControl(t *testing.T) {
	const baud, n = 921600, 92160 // a second of line
	run := func(t *testing.T, hf ioctl.HandFlow) uint64 {
		var got uint64
		synctest.Test(t, func(t *testing.T) {
			a, b := pair(t, driver.Options{}, baud)
			setHandflow(t, a, hf)
			before := passes(t, a)
			w := driver.NewWrite(make([]byte, n))
			a.Submit(w)
			readStream(t, b, n)
			if st, _ := w.Wait(context.Background()); st != driver.StatusSuccess {
				t.Fatalf("write: %v", st)
			}
			got = passes(t, a) - before
		})
		return got
	}
	free := run(t, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl})
	held := run(t, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSControl})
	t.Logf("sender's ISR passes for a second at %d baud: %d without flow control, %d with the CTS handshake", baud, free, held)
	// 192 characters are 2.1 ms at 921600: about 480 passes; 16 ms, 60.
	if held < 300 || free > 150 {
		t.Errorf("sender's ISR passes %d without flow control (want at most 150), %d with the CTS handshake (want at least 300)", free, held)
	}
}

// A write that joins the queue behind the current one runs no ISR pass
// where it is submitted: the front hands the driver a stream 4 KiB a read
// (2 KiB here), and a pass for each would carry the few characters sent
// since the last one through both chips and into a small relay write,
// for nothing the timer's pass would not deliver within the quantum.
// The same second of line costs about the same passes as one write.
func TestQueuedWritesRunNoPass(t *testing.T) {
	// A second of line, in writes of 2 KiB of which 8 are queued: the
	// backlog lets the quantum stretch to streamQuantum, as the front's
	// 200 ms of write-ahead does.
	const baud, n, chunk, queued = 921600, 92160, 2048, 8
	run := func(t *testing.T, chunks bool) uint64 {
		var got uint64
		synctest.Test(t, func(t *testing.T) {
			a, b := pair(t, driver.Options{}, baud)
			data := pattern(n)
			before := passes(t, a) + passes(t, b)
			go func() {
				if !chunks {
					a.SubmitHere(driver.NewWrite(data))
					return
				}
				var ws []*driver.IRP
				for off := 0; off < n; off += chunk {
					w := driver.NewWrite(data[off : off+chunk])
					a.SubmitHere(w)
					ws = append(ws, w)
					if len(ws) >= queued {
						// The next comes a while after the oldest
						// completes, as a program's next write does,
						// when the chip has sent characters since
						// the last pass.
						<-ws[len(ws)-queued].Done()
						time.Sleep(300 * time.Microsecond)
					}
				}
			}()
			if !bytes.Equal(readAll(t, b, n, n, 0), data) {
				t.Fatal("the far end read other data than was written")
			}
			got = passes(t, a) + passes(t, b) - before
		})
		return got
	}
	one, many := run(t, false), run(t, true)
	t.Logf("ISR passes of both devices for a second at %d baud: %d as one write, %d as %d writes", baud, one, many, n/chunk)
	if many > one+one/4 {
		t.Errorf("%d ISR passes as %d writes, against %d as one; want at most a quarter more", many, n/chunk, one)
	}
}

// readBursts reads n bytes from d as the session's relay does, a read
// that waits for the first byte and then one of what the typeahead holds,
// taking pause over passing each burst on (the relay's write to the pty
// master). It returns the bytes, how many bursts they came in, and how
// many of those (the last aside) were under 16 characters, where a
// stream's bursts are 184.
func readBursts(t *testing.T, d *driver.Device, n int, pause time.Duration) (got []byte, bursts, small int) {
	read := func(size int) bool {
		r := driver.NewRead(make([]byte, size))
		if st, _ := d.Call(context.Background(), r); st != driver.StatusSuccess {
			t.Errorf("%s: read after %d of %d bytes: %v", d.Name(), len(got), n, st)
			return false
		}
		got = append(got, r.Data()...)
		return true
	}
	for len(got) < n {
		had := len(got)
		if !read(1) {
			return got, bursts, small
		}
		if q := d.Queued(); q > 0 && !read(q) {
			return got, bursts, small
		}
		bursts++
		if len(got)-had < 16 && len(got) < n {
			small++
		}
		time.Sleep(pause)
	}
	return got, bursts, small
}

// pumpTimeouts are the session's: a read returns as soon as a byte is
// there.
var pumpTimeouts = ioctl.Timeouts{ReadIntervalTimeout: ioctl.MaxTimeout, ReadTotalTimeoutMultiplier: ioctl.MaxTimeout, ReadTotalTimeoutConstant: 10_000}

// When both ends of a cable stream, what a catch-up finds the chip sent
// since the last pass waits for the timer's pass. A pass run at once for
// each ran the far end's, whose reader took a character or two and
// passed them on, then read again, catching its own chip up with the
// character or two sent meanwhile, and so on: each link a small write to
// a pty and a pass on each side. The pair streams a second of line each
// way at 115200 with RTS/CTS; each reader takes 100 µs over a burst.
func TestDuplexStreamCatchUpsWaitForTimer(t *testing.T) {
	const baud, n = 115200, 11520
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, baud)
		hf := ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSHandshake}
		setHandflow(t, a, hf)
		setHandflow(t, b, hf)
		before := passes(t, a) + passes(t, b)
		data := [2][]byte{pattern(n), pattern(n + 1)[1:]}
		var got [2][]byte
		var bursts, small [2]int
		done := make(chan struct{})
		for i, d := range []*driver.Device{a, b} {
			d.Submit(driver.NewWrite(data[i]))
			setTimeouts(t, d, pumpTimeouts)
			go func() {
				defer func() { done <- struct{}{} }()
				got[i], bursts[i], small[i] = readBursts(t, d, n, 100*time.Microsecond)
			}()
		}
		<-done
		<-done
		if !bytes.Equal(got[0], data[1]) || !bytes.Equal(got[1], data[0]) {
			t.Fatal("a far end read other data than was written")
		}
		p := passes(t, a) + passes(t, b) - before
		t.Logf("a second of line each way: %d ISR passes; %d and %d bursts read, %d and %d of them under 16 characters", p, bursts[0], bursts[1], small[0], small[1])
		// About 340 (600 with a pass for each catch-up).
		if p > 450 {
			t.Errorf("%d ISR passes for a second of line each way; want at most 450", p)
		}
	})
}

// While a device streams, the characters a pass finds sent since the
// last hand-over wait for the next burst when the pass comes early, run
// by something else: here the far end's DTR, which it toggles every
// millisecond, and each change of which runs the sender's pass. Handed
// over at each, they came to the reader a few at a time: about 2 000
// bursts a second. Held, they go every half stretched quantum (the
// first pass after half a quantum hands them over), each burst followed
// by the few characters left below the receiver's FIFO trigger, which
// the far end's own ioctls catch up: about 280.
func TestStreamHoldsCharactersForBurst(t *testing.T) {
	const baud, n = 115200, 11520
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, baud)
		data := pattern(n)
		a.Submit(driver.NewWrite(data))
		setTimeouts(t, b, pumpTimeouts)
		stop := make(chan struct{})
		toggled := make(chan struct{})
		go func() {
			defer close(toggled)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				code := ioctl.SetDTR
				if i%2 == 0 {
					code = ioctl.ClrDTR
				}
				mustCall(t, b, driver.NewIoctl(code, nil))
			}
		}()
		got, bursts, small := readBursts(t, b, n, 0)
		close(stop)
		<-toggled
		if !bytes.Equal(got, data) {
			t.Fatal("the far end read other data than was written")
		}
		t.Logf("a second of line, the far end's DTR toggled every millisecond: %d bursts read, %d of them under 16 characters", bursts, small)
		if bursts > 400 {
			t.Errorf("%d bursts for a second of line; want at most 400, a burst every half stretched quantum and the FIFO's rest after it", bursts)
		}
	})
}
