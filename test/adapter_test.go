package test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/internal/ser2nettest"
)

// devTermios reads the termios of the adapter's device through f, opened
// before vcomd took the device exclusively.
func devTermios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS2)
	if err != nil {
		t.Fatalf("TCGETS2 %s: %v", f.Name(), err)
	}
	return tio
}

func openTTY(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// `vcomd --connect R=DIR/dev` with a socat pty pair standing in for a USB
// adapter: a program on R and one on the pair's far end talk byte for
// byte, the program's speed reaches the device's termios, vcomctl status
// says the device is open and cannot report modem lines; unplugged
// (socat stopped, links gone) R stays with DSR and DCD down and counts
// what is sent; plugged back, data flows again.
func TestConnectAdapter(t *testing.T) {
	dir := t.TempDir()
	devPath, farPath := filepath.Join(dir, "dev"), filepath.Join(dir, "far")
	pair := ser2nettest.StartPtyPair(t, devPath, farPath)
	devEnd := openTTY(t, devPath)
	ports := startPorts(t, 1, "--timing", "off", "--connect", "R="+devPath)
	socket := filepath.Join(filepath.Dir(ports["R"]), "vcomd.sock")
	eventually(t, "the device open", func() (bool, any) {
		d := status(t, socket, "R").Device
		return d != nil && d.Open, d
	})
	if d := status(t, socket, "R").Device; d.ModemLines || d.Path != devPath {
		t.Fatalf("status device %+v: want %s, no modem lines (a pty)", d, devPath)
	}

	local := openGo(t, ports["R"], 19200)
	defer local.Close()
	far := openTTY(t, farPath)
	msg := []byte("to the adapter \xff\x00\x11\x13")
	if _, err := local.Write(msg); err != nil {
		t.Fatal(err)
	}
	if got := ser2nettest.ReadFile(t, far, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("the device's far end read %q, want %q", got, msg)
	}
	if tio := devTermios(t, devEnd); tio.Ospeed != 19200 {
		t.Fatalf("device speed %d, want the program's 19200", tio.Ospeed)
	}
	back := []byte("from the adapter \xff")
	if _, err := far.Write(back); err != nil {
		t.Fatal(err)
	}
	if got := read(t, local, len(back)); !bytes.Equal(got, back) {
		t.Fatalf("the program read %q, want %q", got, back)
	}

	pair.Unplug()
	eventually(t, "the device gone, DSR and DCD down", func() (bool, any) {
		p := status(t, socket, "R")
		return !p.Device.Open && !p.State.DSR && !p.State.DCD, p.Device
	})
	if _, err := local.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "4 bytes counted lost", func() (bool, any) {
		d := status(t, socket, "R").Device
		return d.LostTx == 4, d
	})

	ser2nettest.StartPtyPair(t, devPath, farPath)
	eventually(t, "the device open again", func() (bool, any) {
		d := status(t, socket, "R").Device
		return d.Open && d.Opens == 2, d
	})
	far = openTTY(t, farPath)
	if _, err := local.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	if got := ser2nettest.ReadFile(t, far, 5); string(got) != "again" {
		t.Fatalf("after the replug the far end read %q", got)
	}
}

// A missing device at start: the port is made and waits, and says so.
func TestConnectAdapterMissing(t *testing.T) {
	devPath := filepath.Join(t.TempDir(), "ttyUSB9")
	ports := startPorts(t, 1, "--timing", "off", "--connect", "R="+devPath)
	socket := filepath.Join(filepath.Dir(ports["R"]), "vcomd.sock")
	eventually(t, "the wait for the device in status", func() (bool, any) {
		d := status(t, socket, "R").Device
		return d != nil && !d.Open && d.LastError != "", d
	})
}

// The ser2net replacement: `--connect R=DIR/dev --serve R=rfc2217://...`,
// with pyserial's rfc2217:// client as the program: its settings reach the
// device's termios, and data goes both ways.
func TestServeAdapterPyserial(t *testing.T) {
	python := pyserial(t)
	dir := t.TempDir()
	devPath, farPath := filepath.Join(dir, "dev"), filepath.Join(dir, "far")
	ser2nettest.StartPtyPair(t, devPath, farPath)
	devEnd := openTTY(t, devPath)
	far := openTTY(t, farPath)
	ports := startPorts(t, 1, "--timing", "off", "--connect", "R="+devPath, "--serve", "R=rfc2217://127.0.0.1:0")
	script := `
import sys, serial
p = serial.serial_for_url(sys.argv[1], baudrate=38400, stopbits=serial.STOPBITS_TWO, rtscts=True, timeout=20)
p.write(b"ping")
got = p.read(4)
if got != b"pong":
    sys.exit("read %r, want b'pong'" % got)
`
	cmd := bounded(t, time.Minute, python, "-c", script, ports["R"])
	done := make(chan []byte, 1)
	go func() {
		out, err := cmd.CombinedOutput()
		if err != nil {
			out = append(out, []byte(err.Error())...)
		} else {
			out = nil
		}
		done <- out
	}()
	if got := ser2nettest.ReadFile(t, far, 4); string(got) != "ping" {
		t.Fatalf("the device's far end read %q, want ping", got)
	}
	// ping came after the settings: they are on the device.
	tio := devTermios(t, devEnd)
	if tio.Ospeed != 38400 || tio.Cflag&unix.CSTOPB == 0 || tio.Cflag&unix.CRTSCTS == 0 {
		t.Errorf("device termios speed %d, CSTOPB %t, CRTSCTS %t; want pyserial's 38400, set, set",
			tio.Ospeed, tio.Cflag&unix.CSTOPB != 0, tio.Cflag&unix.CRTSCTS != 0)
	}
	if _, err := far.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if out := <-done; out != nil {
		t.Fatalf("pyserial: %s", out)
	}
}
