package rfc2217_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/internal/ser2nettest"
)

// TestSer2net runs the client against real ser2net serving a pty: data
// both ways (IAC bytes included), the modem state it notifies, and a
// SetMode that reaches the pty's termios.
func TestSer2net(t *testing.T) {
	bin := ser2nettest.NeedSer2net(t)
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	// Held open so the speed ser2net sets can be read back, and so the
	// master never sees the slave's last close.
	defer slave.Close()
	addr := ser2nettest.Serve(t, bin, "telnet(rfc2217)", slave.Name(), ser2nettest.FreePort(t)).Addr

	p := dial(t, addr, nil)
	if err := p.SetMode(&serial.Mode{BaudRate: 19200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}); err != nil {
		t.Fatal(err)
	}
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if got := tio.Cflag & unix.CBAUD; got != unix.B19200 {
		t.Errorf("pty speed bits %#o after SetMode(19200), want B19200 (%#o)", got, unix.B19200)
	}
	if _, err := p.GetModemStatusBits(); err != nil {
		t.Errorf("modem state: %v", err)
	}
	if err := p.Drain(); err != nil {
		t.Errorf("drain: %v", err)
	}
	if err := p.ResetInputBuffer(); err != nil {
		t.Errorf("purge: %v", err)
	}
	// ser2net 4.3.11 answers BREAK off with 5 (on), its issue #134; the
	// client must say so rather than pass it off as success.
	if err := p.Break(10 * time.Millisecond); err != nil && !strings.Contains(err.Error(), "BREAK off: SET-CONTROL answered 5") {
		t.Errorf("break: %v", err)
	}

	toClient := []byte("from device \xff\xff end")
	if _, err := master.Write(toClient); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, p, len(toClient)); !bytes.Equal(got, toClient) {
		t.Errorf("client read %q, want %q", got, toClient)
	}

	toDevice := []byte("from client \xff end")
	if _, err := p.Write(toDevice); err != nil {
		t.Fatal(err)
	}
	if got := ser2nettest.ReadFile(t, master, len(toDevice)); !bytes.Equal(got, toDevice) {
		t.Errorf("device read %q, want %q", got, toDevice)
	}
}
