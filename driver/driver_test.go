package driver_test

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/wire"
)

// pair returns two open devices on a null-modem cable at the given baud,
// inside a synctest bubble.
func pair(t *testing.T, opts driver.Options, baud uint32) (a, b *driver.Device) {
	t.Helper()
	a, b = openPair(t, opts, baud)
	synctest.Wait() // DTR and RTS went up at open: let the cable carry them
	return a, b
}

// openPair is pair anywhere: the cable may not yet have carried the
// modem lines that went up at open (Delivered waits for that).
func openPair(t *testing.T, opts driver.Options, baud uint32) (a, b *driver.Device) {
	t.Helper()
	opts.Epoch = time.Now()
	oa, ob := opts, opts
	oa.Name, ob.Name = "A", "B"
	a, b = driver.New(oa), driver.New(ob)
	t.Cleanup(func() { a.Close(); b.Close() })
	wire.Connect(a, b, wire.Options{})
	for _, d := range []*driver.Device{a, b} {
		mustCall(t, d, &driver.IRP{Major: driver.MajorCreate})
		mustCall(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: baud}))
	}
	return a, b
}

// openOn returns device A, open at 115200 baud, whose pins reach w.
func openOn(t *testing.T, w driver.Wire) *driver.Device {
	t.Helper()
	d := driver.New(driver.Options{Name: "A", Wire: w, Epoch: time.Now()})
	t.Cleanup(func() { d.Close() })
	mustCall(t, d, &driver.IRP{Major: driver.MajorCreate})
	mustCall(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 115200}))
	return d
}

func mustCall(t *testing.T, d *driver.Device, irp *driver.IRP) *driver.IRP {
	t.Helper()
	if _, err := d.Call(context.Background(), irp); err != nil {
		t.Fatalf("%s: %v (output %v)", d.Name(), err, irp.Output())
	}
	return irp
}

func setTimeouts(t *testing.T, d *driver.Device, to ioctl.Timeouts) {
	t.Helper()
	mustCall(t, d, driver.NewIoctl(ioctl.SetTimeouts, to))
}

func TestWriteReadAcrossNullModem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 115200)
		setTimeouts(t, b, ioctl.Timeouts{ReadTotalTimeoutConstant: 1000})
		msg := []byte("hello, null modem")
		w := driver.NewWrite(msg)
		a.Submit(w)
		r := driver.NewRead(make([]byte, len(msg)))
		start := time.Now()
		b.Submit(r)
		if st, _ := r.Wait(context.Background()); st != driver.StatusSuccess {
			t.Fatalf("read status %v", st)
		}
		if !bytes.Equal(r.Data(), msg) {
			t.Fatalf("read %q, want %q", r.Data(), msg)
		}
		if st, _ := w.Wait(context.Background()); st != driver.StatusSuccess || w.Information() != len(msg) {
			t.Fatalf("write status %v info %d", st, w.Information())
		}
		// 17 characters of 10 bits at 115200 baud.
		want := time.Duration(len(msg)) * 10 * time.Second / 115200
		t.Logf("read completed after %v (theory %v)", time.Since(start), want)
		if got := time.Since(start); got < want || got > want+2*time.Millisecond {
			t.Fatalf("read completed after %v, want about %v", got, want)
		}
	})
}

func connect(a, b *driver.Device) { wire.Connect(a, b, wire.Options{}) }
