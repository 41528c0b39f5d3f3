package control_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/ioctl"
)

func on() *bool  { b := true; return &b }
func off() *bool { b := false; return &b }

func TestListAndStatus(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1", "--loopback", "ttyL0")
	ctx := context.Background()
	r.open(t, "ttyV0", 19200)
	ports, err := r.c.Ports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 3 {
		t.Fatalf("got %d ports, want 3: %+v", len(ports), ports)
	}
	byName := map[string]control.Port{}
	for _, p := range ports {
		byName[p.Name] = p
		if fi, err := os.Lstat(p.Link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s: link %s: %v", p.Name, p.Link, err)
		}
		if target, _ := os.Readlink(p.Link); target != p.PTY {
			t.Errorf("%s: link points at %s, pty is %s", p.Name, target, p.PTY)
		}
	}
	v0, v1, l0 := byName["ttyV0"], byName["ttyV1"], byName["ttyL0"]
	if v0.Wiring != "pair" || v0.Peer != "ttyV1" || v1.Peer != "ttyV0" || l0.Wiring != "loopback" || l0.Peer != "" {
		t.Errorf("wiring: %+v %+v %+v", v0, v1, l0)
	}
	if !v0.Open || v1.Open || l0.Open {
		t.Errorf("open: ttyV0 %v ttyV1 %v ttyL0 %v, want true false false", v0.Open, v1.Open, l0.Open)
	}
	if v0.State.Baud != 19200 || v0.Framing != "8N1" || v1.State.Baud != 9600 {
		t.Errorf("ttyV0 at %d %s, ttyV1 at %d: want the program's 19200 8N1 and 9600", v0.State.Baud, v0.Framing, v1.State.Baud)
	}
	// The pair's cable drives CTS, DSR and DCD, the loopback plug too.
	if want := uint8(ioctl.MSRCTS | ioctl.MSRDSR | ioctl.MSRDCD); v0.State.WireDriven != want || l0.State.WireDriven != want {
		t.Errorf("wire-driven inputs %#x and %#x, want %#x", v0.State.WireDriven, l0.State.WireDriven, want)
	}
	// The open port raised DTR and RTS; its peer sees them.
	st := status(t, r, "ttyV1")
	if !st.State.CTS || !st.State.DSR || !st.State.DCD || st.State.DTR || st.State.RTS {
		t.Errorf("ttyV1 (closed, peer open): %+v", st.State)
	}
	if st.State.Registers.LCR != 0x03 || st.State.Registers.DLL != 12 {
		t.Errorf("ttyV1 registers %+v, want LCR 03 (8N1) and DLL 12 (9600 baud)", st.State.Registers)
	}
	_, err = r.c.Port(ctx, "ttyX")
	apiError(t, err, http.StatusNotFound, `unknown port "ttyX" (ports: ttyL0, ttyV0, ttyV1)`)
}

// set drives a port's own outputs, which its peer sees as inputs, and the
// one input a cable leaves free (RI); it refuses the pins the cable drives
// and changes nothing then.
func TestSetModemLines(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1", "--loopback", "ttyL0")
	ctx := context.Background()
	r.open(t, "ttyV0", 9600)
	r.open(t, "ttyV1", 9600)

	if _, err := r.c.SetModem(ctx, "ttyV0", control.ModemRequest{DTR: off()}); err != nil {
		t.Fatal(err)
	}
	st := status(t, r, "ttyV1")
	if st.State.DSR || st.State.DCD || !st.State.CTS {
		t.Errorf("after ttyV0 dtr=off, ttyV1 has DSR %v DCD %v CTS %v; want off off on", st.State.DSR, st.State.DCD, st.State.CTS)
	}
	if st.State.Counters.DSRCount == 0 || st.State.Counters.DCDCount == 0 {
		t.Errorf("ttyV1 counted no DSR/DCD change: %+v", st.State.Counters)
	}

	if _, err := r.c.SetModem(ctx, "ttyV1", control.ModemRequest{RI: on()}); err != nil {
		t.Fatal(err)
	}
	if st := status(t, r, "ttyV1"); !st.State.RI {
		t.Error("ttyV1 ri=on: RI is off")
	}
	// The cable's next modem signal carries all four inputs: RI stays.
	if _, err := r.c.SetModem(ctx, "ttyV0", control.ModemRequest{DTR: on(), RTS: off()}); err != nil {
		t.Fatal(err)
	}
	st = status(t, r, "ttyV1")
	if !st.State.RI || !st.State.DSR || st.State.CTS {
		t.Errorf("after ttyV0 dtr=on rts=off: ttyV1 RI %v DSR %v CTS %v, want on on off", st.State.RI, st.State.DSR, st.State.CTS)
	}
	if _, err := r.c.SetModem(ctx, "ttyV1", control.ModemRequest{RI: off()}); err != nil {
		t.Fatal(err)
	}
	if st := status(t, r, "ttyV1"); st.State.RI || st.State.Counters.RingCount != 1 {
		t.Errorf("ttyV1 ri=off: RI %v, ring count %d; want off and 1 (RI counts on its trailing edge)", st.State.RI, st.State.Counters.RingCount)
	}

	before := status(t, r, "ttyV1").State
	for _, tc := range []struct {
		port string
		req  control.ModemRequest
		want string
	}{
		{"ttyV1", control.ModemRequest{CTS: on(), RI: on()}, "CTS is driven by the wire (null-modem cable ttyV0 <-> ttyV1); inputs free to set: RI"},
		{"ttyV1", control.ModemRequest{DSR: off(), DCD: off()}, "DSR, DCD are driven by the wire"},
		{"ttyL0", control.ModemRequest{DCD: on()}, "DCD is driven by the wire (loopback plug on ttyL0)"},
	} {
		_, err := r.c.SetModem(ctx, tc.port, tc.req)
		apiError(t, err, http.StatusConflict, tc.want)
	}
	if after := status(t, r, "ttyV1").State; after.RI != before.RI || after.CTS != before.CTS || after.Registers.MSR&0xF0 != before.Registers.MSR&0xF0 {
		t.Errorf("a refused set changed ttyV1: %+v -> %+v", before, after)
	}
	_, err := r.c.SetModem(ctx, "ttyV1", control.ModemRequest{})
	apiError(t, err, http.StatusBadRequest, "name at least one of")
}

// line sets what a pty cannot carry, and a program's later termios
// change keeps it (the stop bits a pty does carry come from the program).
func TestLine(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1", "--timing", "off")
	ctx := context.Background()
	a := r.open(t, "ttyV0", 9600)
	b := r.open(t, "ttyV1", 9600)
	if d, err := r.c.SetLine(ctx, "ttyV1", "7e1"); err != nil || d.Message != "7E1" {
		t.Fatalf("line 7e1: %+v, %v", d, err)
	}
	write(t, a, []byte{0xC1})
	if got := readN(t, b, 1); got[0] != 0x41 {
		t.Errorf("ttyV1 at 7 data bits read %#x, want 0x41", got[0])
	}
	if err := b.SetMode(&serial.Mode{BaudRate: 19200, StopBits: serial.TwoStopBits}); err != nil {
		t.Fatal(err)
	}
	// The pty front handles what the program does in order: once this
	// byte is through, the termios change before it has been applied.
	write(t, b, []byte("x"))
	readN(t, a, 1)
	if st := status(t, r, "ttyV1"); st.State.Baud != 19200 {
		t.Errorf("ttyV1 at %d baud, want the program's 19200", st.State.Baud)
	}
	if st := status(t, r, "ttyV1"); st.Framing != "7E2" || st.State.Registers.LCR != 0x1E {
		t.Errorf("after the program's termios change: %s, LCR %#x; want 7E2, 0x1e", st.Framing, st.State.Registers.LCR)
	}
	for _, bad := range []string{"9N1", "8X1", "8N3", "5N2", "8N1.5", ""} {
		_, err := r.c.SetLine(ctx, "ttyV1", bad)
		apiError(t, err, http.StatusBadRequest, "framing")
	}
	if st := status(t, r, "ttyV1"); st.Framing != "7E2" {
		t.Errorf("a refused line changed the framing to %s", st.Framing)
	}
}

// A break from one end reaches the program on the other as a NUL, and
// the counters show it.
func TestBreak(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1")
	ctx := context.Background()
	r.open(t, "ttyV0", 9600)
	b := r.open(t, "ttyV1", 9600)
	start := time.Now()
	if _, err := r.c.Break(ctx, "ttyV0", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("break returned after %s, before its 100ms", d)
	}
	if got := readN(t, b, 1); got[0] != 0 {
		t.Errorf("ttyV1 read %#x, want the break's NUL", got[0])
	}
	st := status(t, r, "ttyV1")
	if st.State.Counters.BreakCount != 1 || st.State.Errors&ioctl.ErrBreak == 0 || st.State.BreakIn {
		t.Errorf("ttyV1 after the break: count %d, errors %s, break in %v", st.State.Counters.BreakCount, ioctl.ErrorString(st.State.Errors), st.State.BreakIn)
	}
	if st := status(t, r, "ttyV0"); st.State.BreakOut || st.State.Registers.LCR&0x40 != 0 {
		t.Errorf("ttyV0 still sends a break: %+v", st.State.Registers)
	}
	for _, bad := range []string{"0s", "-1s", "2m", "soon"} {
		_, err := r.c.Break(ctx, "ttyV0", mustDuration(bad))
		if bad == "soon" {
			err = postJSON(t, r, "/v1/ports/ttyV0/break", `{"duration":"soon"}`, http.StatusBadRequest)
		}
		apiError(t, err, http.StatusBadRequest, "duration")
	}
}

func mustDuration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// postJSON sends a raw body and checks the status; it returns the
// daemon's error as an *control.APIError.
func postJSON(t testing.TB, r *rig, path, body string, want int) error {
	t.Helper()
	resp, err := rawRequest(r, "POST", path, body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.status != want {
		t.Fatalf("POST %s %s: status %d, want %d (%s)", path, body, resp.status, want, resp.body)
	}
	return &control.APIError{Status: resp.status, Message: resp.message}
}

// Close removes the socket before it returns, even when it comes right
// after Listen, before the serving goroutine has run: vcomd run exits as
// soon as Close returns and must leave no socket behind.
func TestCloseRightAfterListenRemovesSocket(t *testing.T) {
	r := newRig(t)
	for i := range 50 {
		srv, err := control.NewServer(r.d, control.Options{})
		if err != nil {
			t.Fatal(err)
		}
		socket := filepath.Join(t.TempDir(), control.SocketName)
		if err := srv.Listen(socket); err != nil {
			t.Fatal(err)
		}
		if err := srv.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(socket); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("close %d: after Close, %s: %v, want it gone", i, socket, err)
		}
	}
}
