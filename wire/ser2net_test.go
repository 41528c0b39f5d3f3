package wire_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/ser2nettest"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/wire"
)

// logRecord is a zerolog writer that keeps every line and copies it into
// the test's log.
type logRecord struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (l *logRecord) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	l.t.Log(line)
	return len(p), nil
}

// matching are the lines kept so far that contain every one of parts.
func (l *logRecord) matching(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var got []string
next:
	for _, line := range l.lines {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		got = append(got, line)
	}
	return got
}

// waitState waits, woken by the wire's changes, until cond holds.
func waitState(t *testing.T, r *wire.Remote, what string, cond func(wire.RemoteState) bool) wire.RemoteState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	st, err := wire.WaitRemote(ctx, r, cond)
	if err != nil {
		t.Fatalf("state %+v, waiting for %s: %v", st, what, err)
	}
	return st
}

// settled waits until the server has answered the port's present settings.
func settled(t *testing.T, r *wire.Remote) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if err := wire.WaitSettled(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// cflag reads the c_cflag of the pty ser2net serves.
func cflag(t *testing.T, f *os.File) uint32 {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Cflag
}

func openPty(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The RFC 2217 wire against real ser2net serving one end of a socat pty
// pair: data both ways byte for byte, the port's settings in the served
// pty's termios as far as a pty keeps them, the server going away (the
// wire drops, what is sent meanwhile is counted) and coming back (the wire
// reconnects and sends the settings again).
//
// A Linux pty keeps no data size or parity enable (it forces CS8 and
// clears PARENB), so those are checked in ser2net's answers; and it has no
// modem lines: ser2net leaves SET-CONTROL DTR and RTS unanswered and
// notifies all modem inputs off.
func TestRemoteSer2net(t *testing.T) {
	bin := ser2nettest.NeedSer2net(t)
	served, farPath := ser2nettest.PtyPair(t)
	port := ser2nettest.FreePort(t)
	srv := ser2nettest.Serve(t, bin, "telnet(rfc2217)", served, port)
	d := openDevice(t, "N")
	logs := &logRecord{t: t}
	opts := fastRetry(false)
	opts.Logger = zerolog.New(logs).Level(zerolog.DebugLevel)
	r := wire.DialRemote(d, srv.Addr, opts)
	defer r.Close()
	far := openPty(t, farPath)
	sp := openPty(t, served)
	st := waitState(t, r, "ser2net's signature", func(s wire.RemoteState) bool { return s.Connected && s.Peer != "" })
	if st.Peer != "ser2net" {
		t.Errorf("peer %q, want ser2net's signature", st.Peer)
	}
	settled(t, r)

	data := allBytes()
	call(t, d, driver.NewWrite(data))
	if got := ser2nettest.ReadFile(t, far, len(data)); !bytes.Equal(got, data) {
		t.Errorf("far end got %x, want %x", got, data)
	}
	if _, err := far.Write(data); err != nil {
		t.Fatal(err)
	}
	if got := readDevice(t, d, len(data)); !bytes.Equal(got, data) {
		t.Errorf("port read %x, want %x", got, data)
	}

	call(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 19200}))
	call(t, d, driver.NewIoctl(ioctl.SetLineControl, ioctl.LineControl{WordLength: 7, Parity: ioctl.OddParity, StopBits: ioctl.StopBits2}))
	hf := call(t, d, driver.NewIoctl(ioctl.GetHandflow, nil)).Output().(ioctl.HandFlow)
	flowOff := hf
	hf.ControlHandShake |= ioctl.CTSHandshake
	hf.FlowReplace = hf.FlowReplace&^ioctl.RTSMask | ioctl.RTSHandshake
	call(t, d, driver.NewIoctl(ioctl.SetHandflow, hf))
	settled(t, r)
	c := cflag(t, sp)
	if c&unix.CBAUD != unix.B19200 || c&unix.CSTOPB == 0 || c&unix.PARODD == 0 || c&unix.CRTSCTS == 0 {
		t.Errorf("served pty cflag %#o after 19200 7O2 CTS/RTS, want B19200, CSTOPB, PARODD, CRTSCTS", c)
	}
	if bad := logs.matching("another value", "SET-DATASIZE"); len(bad) > 0 {
		t.Errorf("ser2net refused the data size: %v", bad)
	}
	if bad := logs.matching("another value", "SET-PARITY"); len(bad) > 0 {
		t.Errorf("ser2net refused the parity: %v", bad)
	}
	if got := logs.matching("server answered", "SET-DATASIZE", `"value":7`); len(got) == 0 {
		t.Error("ser2net did not answer SET-DATASIZE 7")
	}
	call(t, d, driver.NewIoctl(ioctl.SetHandflow, flowOff))
	call(t, d, driver.NewIoctl(ioctl.SetLineControl, ioctl.LineControl{WordLength: 8, Parity: ioctl.NoParity, StopBits: ioctl.StopBit1}))
	settled(t, r)
	// (ser2net leaves PARODD set when it clears PARENB: harmless.)
	if c := cflag(t, sp); c&(unix.CSTOPB|unix.CRTSCTS) != 0 {
		t.Errorf("served pty cflag %#o after 8N1 without flow control, want no CSTOPB or CRTSCTS", c)
	}
	if _, err := unix.IoctlGetInt(int(sp.Fd()), unix.TIOCMGET); err == nil {
		t.Log("this kernel's pty has modem lines: DTR and RTS could be checked here")
	}

	// The server goes away.
	srv.Stop()
	waitState(t, r, "the drop", func(s wire.RemoteState) bool { return !s.Connected && s.LastError != "" })
	if got := modemStatus(t, d); got&msrCarrier != 0 {
		t.Errorf("modem status %#x with the server gone, want no DCD, DSR or CTS", got)
	}
	before := r.State().LostTx
	call(t, d, driver.NewWrite([]byte("lost")))
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if err := d.Delivered(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.State().LostTx - before; got != 4 {
		t.Errorf("LostTx grew by %d for 4 bytes written with the server gone", got)
	}
	call(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 38400}))

	// It comes back on the same port: the wire reconnects and the served
	// pty gets the port's settings again, made while it was away.
	srv = ser2nettest.Serve(t, bin, "telnet(rfc2217)", served, port)
	waitState(t, r, "the reconnect", func(s wire.RemoteState) bool { return s.Connected && s.Connects >= 2 })
	settled(t, r)
	if c := cflag(t, sp); c&unix.CBAUD != unix.B38400 {
		t.Errorf("served pty speed bits %#o after the reconnect, want B38400", c&unix.CBAUD)
	}
	call(t, d, driver.NewWrite([]byte("again")))
	if got := ser2nettest.ReadFile(t, far, 5); string(got) != "again" {
		t.Errorf("far end got %q after the reconnect", got)
	}
	srv.Stop()
	waitState(t, r, "the second drop", func(s wire.RemoteState) bool { return !s.Connected })
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("watchdog")
	}
}
