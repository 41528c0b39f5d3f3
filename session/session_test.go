package session

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// watchdog bounds each wait, so that a lost byte fails the test at once;
// a working session answers within milliseconds.
const watchdog = 20 * time.Second

// outputs are the two shapes of output a session pumps to: a plain pipe
// (the goroutine pump, fill) and one that also writes without waiting,
// at most a few bytes a call, so that the relay hands back to the pump
// often (relay).
var outputs = []struct {
	name string
	wrap func(*os.File) Output
}{
	{"pump", func(f *os.File) Output { return f }},
	{"relay", func(f *os.File) Output { return shortWriter{f} }},
}

// shortWriter is a pipe with a TryWrite that takes at most 7 bytes.
type shortWriter struct{ *os.File }

func (w shortWriter) TryWrite(p []byte) (int, error) {
	rc, err := w.SyscallConn()
	if err != nil {
		return 0, err
	}
	n, werr := 0, error(nil)
	err = rc.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), p[:min(len(p), 7)])
		return true
	})
	if werr == syscall.EAGAIN {
		return 0, nil
	}
	return max(n, 0), errors.Join(err, werr)
}

// forOutputs runs test once for each shape of output.
func forOutputs(t *testing.T, test func(t *testing.T, wrap func(*os.File) Output)) {
	for _, o := range outputs {
		t.Run(o.name, func(t *testing.T) { test(t, o.wrap) })
	}
}

// open starts a session on a fresh device at timing off whose output is
// a pipe the test reads.
func open(t *testing.T, wrap func(*os.File) Output) (*driver.Device, *Session, *os.File) {
	t.Helper()
	dev := driver.New(driver.Options{Name: t.Name(), Instant: true, FIFODepth: 256})
	t.Cleanup(func() { dev.Close() })
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	s := Open(context.Background(), dev, 1, wrap(w), Options{ClosingWait: watchdog})
	return dev, s, r
}

// receive makes the device receive b from the line, and waits until its
// ISR has taken it.
func receive(t *testing.T, dev *driver.Device, b []byte) {
	t.Helper()
	done := make(chan struct{})
	dev.InputThen(func() { close(done) }, driver.Input{Kind: driver.InputChars, Data: bytes.Clone(b)})
	select {
	case <-done:
	case <-time.After(watchdog):
		t.Fatalf("the device took no input for %v", watchdog)
	}
}

func readN(t *testing.T, r *os.File, n int) []byte {
	t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(watchdog))
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("reading %d bytes of output: %v", n, err)
	}
	return b
}

// What the device receives reaches the output in order; the open raised
// DTR and RTS and the close drops them.
func TestPumpAndClose(t *testing.T) { forOutputs(t, testPumpAndClose) }

func testPumpAndClose(t *testing.T, wrap func(*os.File) Output) {
	dev, s, out := open(t, wrap)
	if o := dev.Outputs(); !o.DTR || !o.RTS {
		t.Errorf("outputs %+v after the open, want DTR and RTS", o)
	}
	msg := bytes.Repeat([]byte("0123456789\xff"), 3000)
	receive(t, dev, msg)
	if got := readN(t, out, len(msg)); !bytes.Equal(got, msg) {
		t.Fatal("output differs from what the device received")
	}
	s.Close(nil)
	if o := dev.Outputs(); o.DTR || o.RTS {
		t.Errorf("outputs %+v after the close, want DTR and RTS down", o)
	}
}

// Held, the session keeps no new read pending: past what the read already
// pending takes (and the pump keeps back), what arrives stays in the
// typeahead until the hold ends. Discarded with a purge, none of it
// arrives.
func TestHoldAndDiscard(t *testing.T) { forOutputs(t, testHoldAndDiscard) }

func testHoldAndDiscard(t *testing.T, wrap func(*os.File) Output) {
	dev, s, out := open(t, wrap)
	s.Hold(true)
	receive(t, dev, []byte("stale"))
	receive(t, dev, []byte("stale"))
	if q := dev.Queued(); q > 10 {
		t.Fatalf("%d bytes in the typeahead while held, want at most the 10 received", q)
	}
	s.Discard()
	if _, err := dev.Call(context.Background(), driver.NewIoctl(ioctl.Purge, ioctl.PurgeRxClear)); err != nil {
		t.Fatal(err)
	}
	s.Hold(false)
	receive(t, dev, []byte("fresh"))
	if got := readN(t, out, 5); string(got) != "fresh" {
		t.Fatalf("output %q after the discard, want %q", got, "fresh")
	}
	s.Hold(true)
	receive(t, dev, []byte("later"))
	s.Hold(false)
	if got := readN(t, out, 5); string(got) != "later" {
		t.Fatalf("output %q after the hold, want %q", got, "later")
	}
	s.Close(nil)
}

// An output that takes nothing does not hold the close: the pump's write
// is cut, and the closing wait bounds the flush of output held by flow
// control.
func TestCloseWithStuckOutput(t *testing.T) { forOutputs(t, testCloseWithStuckOutput) }

func testCloseWithStuckOutput(t *testing.T, wrap func(*os.File) Output) {
	dev := driver.New(driver.Options{Name: t.Name(), Instant: true})
	defer dev.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	s := Open(context.Background(), dev, 1, wrap(w), Options{ClosingWait: 50 * time.Millisecond})
	// CTS low with its handshake on: a write waits for ever.
	hf := ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSControl, XonLimit: 100, XoffLimit: 100}
	if err := s.Ioctl(context.Background(), ioctl.SetHandflow, hf); err != nil {
		t.Fatal(err)
	}
	wr := driver.NewWrite([]byte("held"))
	wr.Owner = s.Owner()
	dev.Submit(wr)
	// More than the pipe holds, so that the pump's write blocks (the
	// close must return whether it has yet or not).
	dev.Input(driver.Input{Kind: driver.InputChars, Data: make([]byte, 256<<10)})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Close(nil)
	}()
	select {
	case <-done:
	case <-time.After(watchdog):
		t.Fatal("Close hung on a stuck output")
	}
	if st := wr.Status(); st != driver.StatusCancelled {
		t.Errorf("held write ended %v, want cancelled by the purge after the closing wait", st)
	}
}
