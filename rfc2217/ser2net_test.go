package rfc2217_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// needSer2net finds ser2net 4.x, or skips (fails when CI=true) saying
// what to install.
func needSer2net(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("ser2net")
	if err == nil {
		out, verr := exec.Command(path, "-v").CombinedOutput()
		if verr == nil && strings.Contains(string(out), "version 4.") {
			return path
		}
		err = fmt.Errorf("ser2net -v said %q (%v), want 4.x", bytes.TrimSpace(out), verr)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v: CI must install the ser2net package", err)
	}
	t.Skipf("%v: install the ser2net package", err)
	return ""
}

// freePort returns a loopback TCP port nobody listens on now; ser2net
// takes its port from its configuration, so it cannot be handed a socket.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startSer2net serves device over RFC 2217 on a loopback port and
// returns the address once it accepts connections.
func startSer2net(t *testing.T, bin, device string) string {
	t.Helper()
	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "ser2net.yaml")
	yaml := fmt.Sprintf("connection: &test\n  accepter: telnet(rfc2217),tcp,127.0.0.1,%d\n  connector: serialdev,%s,9600n81,local\n", port, device)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(bin, "-c", cfg, "-n", "-d")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // it may have exited already
		<-exited
		if t.Failed() {
			t.Logf("ser2net output:\n%s", log.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// ser2net says nothing when it listens, so the wait is for a connect
	// to succeed, tried again after each refusal, bounded by the watchdog.
	for end := time.Now().Add(watchdog); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case err := <-exited:
			t.Fatalf("ser2net exited: %v\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(end) {
			t.Fatalf("ser2net not listening on %s: %v", addr, err)
		}
	}
}

// TestSer2net runs the client against real ser2net serving a pty: data
// both ways (IAC bytes included), the modem state it notifies, and a
// SetMode that reaches the pty's termios.
func TestSer2net(t *testing.T) {
	bin := needSer2net(t)
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	// Held open so the speed ser2net sets can be read back, and so the
	// master never sees the slave's last close.
	defer slave.Close()
	addr := startSer2net(t, bin, slave.Name())

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
	if got := readMaster(t, master, len(toDevice)); !bytes.Equal(got, toDevice) {
		t.Errorf("device read %q, want %q", got, toDevice)
	}
}

// readMaster reads n bytes from a pty master, bounded by the watchdog.
func readMaster(t *testing.T, master *os.File, n int) []byte {
	t.Helper()
	if err := master.SetReadDeadline(time.Now().Add(watchdog)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, n)
	buf := make([]byte, 256)
	for len(got) < n {
		k, err := master.Read(buf)
		got = append(got, buf[:k]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("device read %d of %d bytes before the watchdog: %q", len(got), n, got)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}
