package wire_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/ser2nettest"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/wire"
)

// waitAdapter waits, woken by the wire's changes, until cond holds.
func waitAdapter(t *testing.T, a *wire.Adapter, what string, cond func(wire.AdapterState) bool) wire.AdapterState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	st, err := wire.WaitAdapter(ctx, a, cond)
	if err != nil {
		t.Fatalf("state %+v, waiting for %s: %v", st, what, err)
	}
	return st
}

// adapter opens the wire to path on d, logging into logs; it closes with
// the test.
func adapter(t *testing.T, d *driver.Device, path string, logs *logRecord) *wire.Adapter {
	t.Helper()
	a, err := wire.OpenAdapter(d, path, wire.AdapterOptions{Logger: zerolog.New(logs).Level(zerolog.DebugLevel)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// termios2 reads the termios of the tty f is open on.
func termios2(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS2)
	if err != nil {
		t.Fatalf("TCGETS2 %s: %v", f.Name(), err)
	}
	return tio
}

// through sends p from the port and reads it at the far end: once it is
// there, everything the port did before it has reached the device, as the
// wire applies it in order.
func through(t *testing.T, d *driver.Device, far *os.File, p []byte) {
	t.Helper()
	call(t, d, driver.NewWrite(p))
	if got := ser2nettest.ReadFile(t, far, len(p)); !bytes.Equal(got, p) {
		t.Fatalf("the device's far end read %q, want %q", got, p)
	}
}

// A socat pty pair stands in for a USB adapter: the wire opens one end
// (the adapter's device), the test plays what is plugged into it on the
// other. Data goes both ways byte for byte; the port's speed, stop bits
// and hardware flow control reach the device's termios, and the data size
// and parity a pty cannot keep are logged as kept otherwise; a pty
// cannot report modem lines, which is said once, and its CTS, DSR and
// DCD are held up while it is open. Unplugged (socat stopped, the links
// gone), the port stays with DSR and DCD down and counts what it sends;
// plugged back (socat again, the same links), the device is opened again
// with the port's settings, and data flows.
func TestAdapterSocat(t *testing.T) {
	dir := t.TempDir()
	devPath, farPath := filepath.Join(dir, "dev"), filepath.Join(dir, "far")
	pair := ser2nettest.StartPtyPair(t, devPath, farPath)
	// Opened before the wire, which takes the device exclusively: the
	// test reads the device's termios here.
	devEnd := openPty(t, devPath)
	far := openPty(t, farPath)

	d := openDevice(t, "R")
	logs := &logRecord{t: t}
	a := adapter(t, d, devPath, logs)
	if got := a.String(); got != devPath {
		t.Fatalf("String() = %q, want the path", got)
	}
	waitAdapter(t, a, "the device open", func(s wire.AdapterState) bool { return s.Open && s.Opens == 1 })
	waitModem(t, d, msrCarrier, msrCarrier)
	if st := a.State(); st.ModemLines {
		t.Fatalf("state %+v: a pty reports no modem lines", st)
	}

	data := allBytes()
	through(t, d, far, data)
	if _, err := far.Write(data); err != nil {
		t.Fatal(err)
	}
	if got := readDevice(t, d, len(data)); !bytes.Equal(got, data) {
		t.Fatalf("the port read %d bytes differing from the %d the device received", len(got), len(data))
	}

	call(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 57600}))
	call(t, d, driver.NewIoctl(ioctl.SetLineControl, ioctl.LineControl{WordLength: 7, Parity: ioctl.EvenParity, StopBits: ioctl.StopBits2}))
	hf := call(t, d, driver.NewIoctl(ioctl.GetHandflow, nil)).Output().(ioctl.HandFlow)
	hf.ControlHandShake |= ioctl.CTSHandshake
	hf.FlowReplace = hf.FlowReplace&^ioctl.RTSMask | ioctl.RTSHandshake
	call(t, d, driver.NewIoctl(ioctl.SetHandflow, hf))
	through(t, d, far, []byte("set"))
	tio := termios2(t, devEnd)
	if tio.Ospeed != 57600 || tio.Cflag&unix.CSTOPB == 0 || tio.Cflag&unix.CRTSCTS == 0 {
		t.Fatalf("device termios speed %d, CSTOPB %t, CRTSCTS %t; want 57600, set, set",
			tio.Ospeed, tio.Cflag&unix.CSTOPB != 0, tio.Cflag&unix.CRTSCTS != 0)
	}
	if tio.Lflag&(unix.ICANON|unix.ECHO) != 0 || tio.Oflag&unix.OPOST != 0 {
		t.Fatalf("device termios lflag %#o oflag %#o, want raw", tio.Lflag, tio.Oflag)
	}
	if got := logs.matching("kept", "7E2"); len(got) != 1 {
		t.Fatalf("log lines saying the pty kept 8 data bits and no parity for 7E2: %q, want one", got)
	}

	// Unplugged, CTS drops with DSR and DCD, as on a pulled cable; with
	// CTS handshake on the port would hold its output rather than lose it.
	hf.ControlHandShake &^= ioctl.CTSHandshake
	hf.FlowReplace = hf.FlowReplace&^ioctl.RTSMask | ioctl.RTSControl
	call(t, d, driver.NewIoctl(ioctl.SetHandflow, hf))
	through(t, d, far, []byte("off"))
	pair.Unplug()
	st := waitAdapter(t, a, "the device gone", func(s wire.AdapterState) bool { return !s.Open })
	if st.LastError == "" {
		t.Fatalf("state %+v: no reason given for the device going", st)
	}
	waitModem(t, d, msrDSR|msrDCD, 0)
	call(t, d, driver.NewWrite([]byte("lost")))
	waitAdapter(t, a, "the bytes sent while unplugged counted", func(s wire.AdapterState) bool { return s.LostTx == 4 })
	devEnd.Close()
	far.Close()

	// Plugged back as udev makes a link: made elsewhere and renamed into
	// place once socat has set its ptys up, since socat's own termios
	// setup would otherwise race with the wire's on the fresh pty.
	staging := t.TempDir()
	again := ser2nettest.StartPtyPair(t, filepath.Join(staging, "dev"), filepath.Join(staging, "far"))
	if err := os.Rename(again.A, devPath); err != nil {
		t.Fatal(err)
	}
	far = openPty(t, again.B)
	waitAdapter(t, a, "the device open again", func(s wire.AdapterState) bool { return s.Open && s.Opens == 2 })
	waitModem(t, d, msrCarrier, msrCarrier)
	through(t, d, far, []byte("again"))
	if _, err := far.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	if got := readDevice(t, d, 4); string(got) != "back" {
		t.Fatalf("the port read %q after the replug, want \"back\"", got)
	}
	if os.Geteuid() == 0 { // TIOCEXCL keeps others out; root may open it anyway
		if tio := termios2(t, openPty(t, devPath)); tio.Ospeed != 57600 || tio.Cflag&unix.CSTOPB == 0 || tio.Cflag&unix.CRTSCTS != 0 {
			t.Fatalf("reopened device termios speed %d, CSTOPB %t, CRTSCTS %t; want the port's 57600, set, clear",
				tio.Ospeed, tio.Cflag&unix.CSTOPB != 0, tio.Cflag&unix.CRTSCTS != 0)
		}
	}
	if got := logs.matching("cannot report its modem lines"); len(got) != 1 {
		t.Fatalf("log lines saying the pty has no modem lines: %q, want one over both opens", got)
	}
	if st := a.State(); st.LostTx != 4 || st.ModemLines || st.LastError != "" {
		t.Fatalf("state %+v after the replug, want 4 lost, no modem lines, no error", st)
	}
}

// A device missing when the wire starts is waited for: the port is there
// with no carrier and the state says why; once the device appears, it is
// opened.
func TestAdapterMissingAtStart(t *testing.T) {
	dir := t.TempDir()
	devPath, farPath := filepath.Join(dir, "sub", "dev"), filepath.Join(dir, "far")
	d := openDevice(t, "M")
	logs := &logRecord{t: t}
	a := adapter(t, d, devPath, logs)
	st := waitAdapter(t, a, "the wait for the device said", func(s wire.AdapterState) bool { return s.LastError != "" })
	if st.Open || !strings.Contains(st.LastError, devPath) || !strings.Contains(st.LastError, "no such file") {
		t.Fatalf("state %+v, want closed, waiting for %s", st, devPath)
	}
	if got := modemStatus(t, d); got&msrCarrier != 0 {
		t.Fatalf("modem status %#x with no device, want no carrier", got)
	}
	if got := logs.matching("waiting for the device"); len(got) != 1 {
		t.Fatalf("log lines saying the device is waited for: %q, want one", got)
	}
	// Its directory is missing too: the wire watches the nearest one
	// that exists.
	if err := os.Mkdir(filepath.Dir(devPath), 0o755); err != nil {
		t.Fatal(err)
	}
	ser2nettest.StartPtyPair(t, devPath, farPath)
	far := openPty(t, farPath)
	waitAdapter(t, a, "the device open", func(s wire.AdapterState) bool { return s.Open })
	through(t, d, far, []byte("hello"))
}

// A path that is not a tty: a file that is no device is refused at once,
// a device that is no tty is named in the state, and the port stays
// without carrier.
func TestAdapterNotATty(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{file, "is not a tty: it is a regular file"},
		{filepath.Dir(file), "is not a tty: it is a directory"},
		{"dev/ttyUSB0", "not an absolute path"},
	} {
		d := openDevice(t, "N")
		if a, err := wire.OpenAdapter(d, tc.path, wire.AdapterOptions{}); err == nil {
			a.Close()
			t.Fatalf("OpenAdapter(%q) took it", tc.path)
		} else if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Fatalf("OpenAdapter(%q): %v, want it to name the path and say %q", tc.path, err, tc.want)
		}
	}

	d := openDevice(t, "N")
	a := adapter(t, d, "/dev/null", &logRecord{t: t})
	st := waitAdapter(t, a, "the refusal", func(s wire.AdapterState) bool { return s.LastError != "" })
	if st.Open || st.Opens != 0 || !strings.Contains(st.LastError, "/dev/null is not a tty") {
		t.Fatalf("state %+v, want /dev/null named as no tty", st)
	}
	if got := modemStatus(t, d); got&msrCarrier != 0 {
		t.Fatalf("modem status %#x, want no carrier", got)
	}
}
