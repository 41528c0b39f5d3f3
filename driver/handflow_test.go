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

// settle lets the line carry what is in flight: 10 ms of the bubble's
// virtual clock is 115 characters at 115200 baud.
func settle() { time.Sleep(10 * time.Millisecond) }

// queued is how many received bytes wait in d's typeahead.
func queued(t *testing.T, d *driver.Device) int {
	t.Helper()
	return int(commStatus(t, d).AmountInInQueue)
}

// read takes exactly n bytes from d.
func read(t *testing.T, d *driver.Device, n int) []byte {
	t.Helper()
	return mustCall(t, d, driver.NewRead(make([]byte, n))).Data()
}

// XON/XOFF automatic receive: the receiver sends XOFF when its free space
// falls to XoffLimit and XON when reads bring the count down to XonLimit.
// The sender here does not obey them, so they arrive as data.
func TestXoffAtLimitXonAtTheOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 115200)
		setHandflow(t, b, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl | ioctl.AutoReceive, XonLimit: 2048, XoffLimit: 512})
		full := driver.DefaultQueueSize - 512
		mustCall(t, a, driver.NewWrite(pattern(full-1)))
		settle()
		if n := queued(t, a); n != 0 {
			t.Fatalf("%d bytes came back before the limit", n)
		}
		mustCall(t, a, driver.NewWrite([]byte{'x'}))
		settle()
		if got := read(t, a, 1); got[0] != 0x13 {
			t.Fatalf("at %d queued bytes the receiver sent %#x, want XOFF", full, got[0])
		}
		read(t, b, full-2048-1)
		settle()
		if n := queued(t, a); n != 0 {
			t.Fatalf("XON sent with %d bytes still queued", queued(t, b))
		}
		read(t, b, 1)
		settle()
		if got := read(t, a, 1); got[0] != 0x11 {
			t.Fatalf("at 2048 queued bytes the receiver sent %#x, want XON", got[0])
		}
	})
}

// DSR sensitivity: bytes that arrive while DSR is low are discarded.
func TestDSRSensitivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 115200)
		setHandflow(t, b, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.DSRSensitivity, FlowReplace: ioctl.RTSControl, XonLimit: 2048, XoffLimit: 512})
		mustCall(t, a, driver.NewIoctl(ioctl.ClrDTR, nil))
		settle()
		mustCall(t, a, driver.NewWrite([]byte("lost")))
		settle()
		mustCall(t, a, driver.NewIoctl(ioctl.SetDTR, nil))
		mustCall(t, a, driver.NewWrite([]byte("kept")))
		settle()
		if n := queued(t, b); n != 4 {
			t.Fatalf("%d bytes queued, want the 4 sent while DSR was high", n)
		}
		if got := string(read(t, b, 4)); got != "kept" {
			t.Fatalf("read %q, want \"kept\"", got)
		}
	})
}

// Output handshakes: DSR and DCD low hold the transmitter, with the hold
// reason reported, until the line comes back.
func TestOutputHandshakeHolds(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctl  uint32
		hold uint32
	}{
		{"DSR", ioctl.DSRHandshake, ioctl.TxWaitingForDSR},
		{"DCD", ioctl.DCDHandshake, ioctl.TxWaitingForDCD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := pair(t, driver.Options{}, 115200)
				setHandflow(t, b, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | tc.ctl, FlowReplace: ioctl.RTSControl, XonLimit: 2048, XoffLimit: 512})
				mustCall(t, a, driver.NewIoctl(ioctl.ClrDTR, nil)) // a's DTR is b's DSR and DCD
				settle()
				w := driver.NewWrite([]byte("held"))
				b.Submit(w)
				settle()
				if h := commStatus(t, b).HoldReasons; h&tc.hold == 0 {
					t.Fatalf("hold reasons %s, want %s", ioctl.HoldString(h), ioctl.HoldString(tc.hold))
				}
				if n := queued(t, a); n != 0 {
					t.Fatalf("%d bytes went out while held", n)
				}
				mustCall(t, a, driver.NewIoctl(ioctl.SetDTR, nil))
				if got := string(read(t, a, 4)); got != "held" {
					t.Fatalf("after release read %q", got)
				}
			})
		})
	}
}

// DTR and RTS under handshake control cannot be set or cleared by hand.
func TestHandshakeLinesRefuseManualControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, driver.Options{}, 115200)
		setHandflow(t, a, ioctl.HandFlow{ControlHandShake: ioctl.DTRHandshake, FlowReplace: ioctl.RTSHandshake, XonLimit: 2048, XoffLimit: 512})
		for _, code := range []ioctl.Code{ioctl.SetDTR, ioctl.ClrDTR, ioctl.SetRTS, ioctl.ClrRTS} {
			st, err := a.Call(context.Background(), driver.NewIoctl(code, nil))
			if st != driver.StatusInvalidParameter || err == nil {
				t.Errorf("%s under handshake: %v %v, want INVALID_PARAMETER", code, st, err)
			}
		}
	})
}

// Error character and NUL stripping replace and drop what arrives.
func TestErrorCharAndNullStripping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := pair(t, driver.Options{}, 115200)
		setHandflow(t, b, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl | ioctl.ErrorChar | ioctl.NullStripping, XonLimit: 2048, XoffLimit: 512})
		mustCall(t, b, driver.NewIoctl(ioctl.SetChars, ioctl.Chars{ErrorChar: '?', XonChar: 0x11, XoffChar: 0x13}))
		b.Input(
			driver.Input{Kind: driver.InputChar, Char: 'a'},
			driver.Input{Kind: driver.InputChar, Char: 0},
			driver.Input{Kind: driver.InputChar, Char: 'x', Err: uart16550.FramingError},
			driver.Input{Kind: driver.InputChar, Char: 'b'},
		)
		if got := string(read(t, b, 3)); got != "a?b" {
			t.Fatalf("read %q, want \"a?b\" (NUL stripped, damaged byte replaced)", got)
		}
		if st := stats(t, b); st.FrameErrorCount != 1 {
			t.Fatalf("framing errors %d, want 1", st.FrameErrorCount)
		}
	})
}

// SERIAL_ERROR_ABORT: an error cancels the pending read and fails every
// request until GET_COMMSTATUS has read the error.
func TestErrorAbort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 115200)
		setHandflow(t, b, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.ErrorAbort, FlowReplace: ioctl.RTSControl, XonLimit: 2048, XoffLimit: 512})
		r := driver.NewRead(make([]byte, 10))
		b.Submit(r)
		b.Input(driver.Input{Kind: driver.InputChar, Char: 'x', Err: uart16550.FramingError})
		if st, _ := r.Wait(context.Background()); st != driver.StatusCancelled {
			t.Fatalf("pending read ended %v, want CANCELLED", st)
		}
		if st, _ := b.Call(context.Background(), driver.NewRead(make([]byte, 1))); st != driver.StatusCancelled {
			t.Fatalf("read after the error: %v, want CANCELLED until the error is read", st)
		}
		if cs := commStatus(t, b); cs.Errors&ioctl.ErrFraming == 0 {
			t.Fatalf("comm status errors %s, want FRAMING", ioctl.ErrorString(cs.Errors))
		}
		mustCall(t, a, driver.NewWrite([]byte("ok")))
		if got := string(read(t, b, 3)); got != "xok" {
			t.Fatalf("after GET_COMMSTATUS read %q, want the damaged byte and \"ok\"", got)
		}
	})
}

// Cancellation racing completion: reads cancelled while data arrives each
// complete exactly once, as SUCCESS or CANCELLED, and what the successful
// ones return is in order with nothing repeated.
func TestCancelRacesStreamingData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{Instant: true}, 115200)
		data := make([]byte, 20000)
		for i := range data {
			data[i] = byte(i % 251)
		}
		a.Submit(driver.NewWrite(data))
		var mu sync.Mutex
		var got []byte
		var wg sync.WaitGroup
		for range 400 {
			r := driver.NewRead(make([]byte, 37))
			b.Submit(r)
			wg.Go(func() { b.Cancel(r) })
			st, err := r.Wait(context.Background())
			if err != nil || (st != driver.StatusSuccess && st != driver.StatusCancelled) {
				t.Fatalf("read ended %v %v", st, err)
			}
			if st == driver.StatusSuccess {
				mu.Lock()
				got = append(got, 0xFF) // a boundary: cancelled reads may drop bytes between
				got = append(got, r.Data()...)
				mu.Unlock()
			}
		}
		wg.Wait()
		for i, c := range got {
			if c != 0xFF && i > 0 && got[i-1] != 0xFF && int(c) != (int(got[i-1])+1)%251 {
				t.Fatalf("byte %d: %d after %d within one read", i, c, got[i-1])
			}
		}
	})
}
