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
