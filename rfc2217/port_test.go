package rfc2217_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/rfc2217"
)

// watchdog bounds every wait in these tests: a lost byte or answer fails
// in seconds.
const watchdog = 10 * time.Second

func dial(t *testing.T, addr string, opts *rfc2217.Options) *rfc2217.Port {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	p, err := rfc2217.Dial(ctx, addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// readN reads n bytes with short read timeouts until they are all in or
// the watchdog expires.
func readN(t *testing.T, p serial.Port, n int) []byte {
	t.Helper()
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 256)
	for end := time.Now().Add(watchdog); len(got) < n; {
		if time.Now().After(end) {
			t.Fatalf("read %d of %d bytes before the watchdog: %q", len(got), n, got)
		}
		k, err := p.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:k]...)
	}
	return got
}

func TestPortModeAndData(t *testing.T) {
	s := startLoopServer(t)
	mode := &serial.Mode{BaudRate: 19200, DataBits: 7, Parity: serial.EvenParity, StopBits: serial.TwoStopBits,
		InitialStatusBits: &serial.ModemOutputBits{DTR: true, RTS: false}}
	p := dial(t, s.addr(), &rfc2217.Options{Mode: mode})
	settings, controls, _ := s.snapshot()
	if want := [5]uint32{0, 19200, 7, rfc2217.ParityEven, rfc2217.StopTwo}; settings != want {
		t.Errorf("server settings %v, want %v", settings, want)
	}
	if want := []uint32{rfc2217.ControlDTROn, rfc2217.ControlRTSOff}; !slicesEqual(controls, want) {
		t.Errorf("SET-CONTROL seen %v, want %v", controls, want)
	}
	msg := []byte("hello \xff\xff world \xff")
	if n, err := p.Write(msg); err != nil || n != len(msg) {
		t.Fatalf("write %d, %v", n, err)
	}
	if err := p.Drain(); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, p, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

func TestPortModemLines(t *testing.T) {
	s := startLoopServer(t)
	p := dial(t, s.addr(), nil)
	steps := []struct {
		dtr, rts bool
		want     serial.ModemStatusBits
	}{
		{false, false, serial.ModemStatusBits{}},
		{false, true, serial.ModemStatusBits{CTS: true}},
		{true, true, serial.ModemStatusBits{CTS: true, DSR: true, DCD: true}},
		{true, false, serial.ModemStatusBits{DSR: true, DCD: true}},
	}
	for i, st := range steps {
		if err := p.SetDTR(st.dtr); err != nil {
			t.Fatal(err)
		}
		if err := p.SetRTS(st.rts); err != nil {
			t.Fatal(err)
		}
		// The plug notifies before it answers, so the new lines are in.
		got, err := p.GetModemStatusBits()
		if err != nil {
			t.Fatal(err)
		}
		if *got != st.want {
			t.Errorf("step %d: lines %+v, want %+v", i, *got, st.want)
		}
	}
}

func TestPortPurgeAndBreak(t *testing.T) {
	s := startLoopServer(t)
	p := dial(t, s.addr(), nil)
	if err := p.ResetInputBuffer(); err != nil {
		t.Fatal(err)
	}
	if err := p.ResetOutputBuffer(); err != nil {
		t.Fatal(err)
	}
	if err := p.Break(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_, controls, purges := s.snapshot()
	if want := []uint32{rfc2217.PurgeReceive, rfc2217.PurgeTransmit}; !slicesEqual(purges, want) {
		t.Errorf("purges %v, want %v", purges, want)
	}
	if want := []uint32{rfc2217.ControlBreakOn, rfc2217.ControlBreakOff}; !slicesEqual(controls, want) {
		t.Errorf("controls %v, want %v", controls, want)
	}
}

// TestPortResetDropsReceived checks that data received before the purge
// answer is dropped and data after it kept.
func TestPortResetDropsReceived(t *testing.T) {
	s := startLoopServer(t)
	p := dial(t, s.addr(), nil)
	if _, err := p.Write([]byte("stale")); err != nil {
		t.Fatal(err)
	}
	if err := p.ResetInputBuffer(); err != nil { // the echo of "stale" comes before the answer
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("fresh")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, p, 5); string(got) != "fresh" {
		t.Fatalf("read %q, want fresh", got)
	}
}

func TestPortReadTimeout(t *testing.T) {
	s := startLoopServer(t)
	p := dial(t, s.addr(), nil)
	if err := p.SetReadTimeout(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := p.Read(make([]byte, 8))
	if n != 0 || err != nil {
		t.Fatalf("read at timeout = %d, %v; want 0, nil", n, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("read returned after %v, before its 50ms timeout", d)
	}
	if err := p.SetReadTimeout(-2); err == nil {
		t.Fatal("a negative read timeout other than NoTimeout was taken")
	}
}

func TestPortCloseInterruptsRead(t *testing.T) {
	s := startLoopServer(t)
	p := dial(t, s.addr(), nil)
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		_, err := p.Read(make([]byte, 8))
		done <- err
	}()
	<-started
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Read after Close returned no error")
		}
	case <-time.After(watchdog):
		t.Fatal("Close did not interrupt a blocked Read")
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestPortBadModeSendsNothing(t *testing.T) {
	s := startLoopServer(t)
	p := dial(t, s.addr(), nil)
	for _, m := range []serial.Mode{{BaudRate: 9600, DataBits: 9}, {BaudRate: 0, DataBits: 8}, {BaudRate: 9600, DataBits: 8, Parity: 9}, {BaudRate: 9600, DataBits: 8, StopBits: 7}} {
		if err := p.SetMode(&m); err == nil {
			t.Errorf("mode %+v taken", m)
		}
	}
	if err := p.Drain(); err != nil { // everything sent so far has been seen
		t.Fatal(err)
	}
	if settings, _, _ := s.snapshot(); settings[rfc2217.SetBaudRate] != 9600 || settings[rfc2217.SetDataSize] != 8 {
		t.Fatalf("a refused mode reached the server: %v", settings)
	}
}

func TestPortServerKeepsBaud(t *testing.T) {
	s := startLoopServer(t)
	s.fixedBaud = 9600
	p := dial(t, s.addr(), nil)
	err := p.SetMode(&serial.Mode{BaudRate: 115200, DataBits: 8})
	if err == nil || !strings.Contains(err.Error(), "keeps 9600") {
		t.Fatalf("SetMode against a server keeping 9600: %v", err)
	}
}

// TestDialNoRFC2217 dials a TCP server that never speaks telnet: Dial
// must give up at its timeout with an error saying why.
func TestDialNoRFC2217(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			c.Read(make([]byte, 1024)) //nolint:errcheck // holds the connection until the client goes
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	_, err = rfc2217.Dial(ctx, ln.Addr().String(), &rfc2217.Options{Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "COM-PORT-OPTION") {
		t.Fatalf("Dial to a silent server: %v", err)
	}
}

func slicesEqual(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPortHostileServer has a server send broken telnet around valid
// messages: an unended-looking oversize sub-negotiation, a bad IAC, a
// malformed COM-PORT payload. The port must drop them and keep working.
func TestPortHostileServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var out []byte
		out = append(out, rfc2217.IAC, rfc2217.DO, rfc2217.OptComPort)
		out = append(out, rfc2217.IAC, rfc2217.SB, rfc2217.OptComPort)
		out = append(out, bytes.Repeat([]byte{rfc2217.ServerOffset + 7}, 100<<10)...)
		out = append(out, rfc2217.IAC, rfc2217.SE, rfc2217.IAC, 0x01, rfc2217.IAC, rfc2217.SE)
		out = rfc2217.AppendSubnegotiation(out, rfc2217.OptComPort, []byte{rfc2217.ServerOffset + 1, 1}) // short baud
		out = rfc2217.AppendReply(out, rfc2217.NotifyModemState, rfc2217.ModemCTS, nil)
		out = rfc2217.AppendData(out, []byte("ok\xff"))
		c.Write(out)             //nolint:errcheck // the client's reads tell
		c.Read(make([]byte, 64)) //nolint:errcheck // holds the connection until the client goes
	}()
	p := dial(t, ln.Addr().String(), nil)
	if got := readN(t, p, 3); string(got) != "ok\xff" {
		t.Fatalf("read %q after hostile input", got)
	}
	lines, err := p.GetModemStatusBits()
	if err != nil || !lines.CTS {
		t.Fatalf("modem lines %+v, %v", lines, err)
	}
	p.Close()
	select {
	case <-served:
	case <-time.After(watchdog):
		t.Fatal("server did not see the client go")
	}
}

// TestPortBulk moves 1 MiB through the loopback plug, every byte value
// included, past the receive buffer's suspend point and its hard limit
// (the plug ignores FLOWCONTROL-SUSPEND), and checks it byte for byte.
func TestPortBulk(t *testing.T) {
	s := startLoopServer(t)
	p := dial(t, s.addr(), nil)
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	wrote := make(chan error, 1)
	go func() {
		var err error
		for off := 0; off < len(msg) && err == nil; off += 4096 {
			_, err = p.Write(msg[off : off+4096])
		}
		wrote <- err
	}()
	if got := readN(t, p, len(msg)); !bytes.Equal(got, msg) {
		t.Fatal("bulk data came back changed")
	}
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(watchdog):
		t.Fatal("writes did not finish")
	}
}
