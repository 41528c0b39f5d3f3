//go:build linux && !ppc64 && !ppc64le

// PowerPC has no TCGETS2/TCSETS2 (its plain termios carries the speeds),
// so these tests, which use them as the daemon does, skip it.

package ioctl_test

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/ioctl"
)

// openPty opens a pty pair the way posix_openpt, unlockpt and ptsname do.
func openPty(t *testing.T) (master, slave int) {
	t.Helper()
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no ptys here: %v", err)
	}
	t.Cleanup(func() { unix.Close(master) })
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err = unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening the slave: %v", err)
	}
	t.Cleanup(func() { unix.Close(slave) })
	return master, slave
}

// A program sets termios on the slave; the daemon reads it on the master
// and must see what the program asked for, less what a pty cannot keep.
func TestFromTermiosOnPty(t *testing.T) {
	master, slave := openPty(t)

	tio, err := unix.IoctlGetTermios(slave, unix.TCGETS2)
	if err != nil {
		t.Fatalf("TCGETS2 on the slave: %v", err)
	}
	tio.Cflag = tio.Cflag&^(unix.CBAUD|unix.CIBAUD|unix.CSIZE) | unix.BOTHER | unix.CRTSCTS | unix.CSTOPB | unix.CS7 | unix.PARENB | unix.PARODD
	tio.Ispeed, tio.Ospeed = 250000, 250000
	tio.Iflag = tio.Iflag&^unix.IXOFF | unix.IXON
	tio.Cc[unix.VSTART], tio.Cc[unix.VSTOP] = 'Q', 'S'
	if err := unix.IoctlSetTermios(slave, unix.TCSETS2, tio); err != nil {
		t.Fatalf("TCSETS2 on the slave: %v", err)
	}

	got, err := unix.IoctlGetTermios(master, unix.TCGETS2)
	if err != nil {
		t.Fatalf("TCGETS2 on the master: %v", err)
	}
	// The reason FromTermios keeps framing from base.
	if got.Cflag&unix.CSIZE != unix.CS8 || got.Cflag&unix.PARENB != 0 {
		t.Errorf("the pty kept CSIZE %#x PARENB %#x; FromTermios's doc says it forces CS8 and clears PARENB",
			got.Cflag&unix.CSIZE, got.Cflag&unix.PARENB)
	}

	base := baseSettings() // 7O1 at 115200
	s := ioctl.FromTermios(got, base)
	if s.Baud.BaudRate != 250000 {
		t.Errorf("baud = %d, want 250000 (c_cflag %#x, c_ospeed %d)", s.Baud.BaudRate, got.Cflag, got.Ospeed)
	}
	if s.HandFlow.ControlHandShake&ioctl.CTSHandshake == 0 || s.HandFlow.FlowReplace&ioctl.RTSMask != ioctl.RTSHandshake {
		t.Errorf("handflow %+v lacks the CTS/RTS handshake", s.HandFlow)
	}
	if s.HandFlow.FlowReplace&(ioctl.AutoTransmit|ioctl.AutoReceive) != ioctl.AutoTransmit {
		t.Errorf("flow_replace %#x: want AutoTransmit and not AutoReceive", s.HandFlow.FlowReplace)
	}
	if want := (ioctl.LineControl{WordLength: 7, Parity: ioctl.OddParity, StopBits: ioctl.StopBits2}); s.Line != want {
		t.Errorf("line = %s, want %s", s.Line, want)
	}
	if s.Chars.XonChar != 'Q' || s.Chars.XoffChar != 'S' {
		t.Errorf("chars %+v, want XON Q and XOFF S", s.Chars)
	}
	if err := s.HandFlow.Validate(); err != nil {
		t.Error(err)
	}
}

// Settings written with ToTermios through the slave come back the same
// from the master, standard rate or not.
func TestToTermiosOnPty(t *testing.T) {
	master, slave := openPty(t)
	for _, s := range []ioctl.Settings{
		{Baud: ioctl.BaudRate{BaudRate: 9600}, Line: ioctl.LineControl{WordLength: 8, StopBits: ioctl.StopBits2},
			HandFlow: ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl | ioctl.AutoReceive}, Chars: ioctl.Chars{XonChar: 0x11, XoffChar: 0x13}},
		{Baud: ioctl.BaudRate{BaudRate: 31250}, Line: ioctl.LineControl{WordLength: 8},
			HandFlow: ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSHandshake | ioctl.AutoTransmit}, Chars: ioctl.Chars{XonChar: 1, XoffChar: 2}},
	} {
		tio, err := unix.IoctlGetTermios(slave, unix.TCGETS2)
		if err != nil {
			t.Fatal(err)
		}
		ioctl.ToTermios(s, tio)
		if err := unix.IoctlSetTermios(slave, unix.TCSETS2, tio); err != nil {
			t.Fatal(err)
		}
		got, err := unix.IoctlGetTermios(master, unix.TCGETS2)
		if err != nil {
			t.Fatal(err)
		}
		if s.Baud.BaudRate == 9600 && got.Cflag&unix.CBAUD != unix.B9600 {
			t.Errorf("9600 reads back as c_cflag %#x, want B9600", got.Cflag)
		}
		if back := ioctl.FromTermios(got, s); back != s {
			t.Errorf("through the pty:\n got %+v\nwant %+v", back, s)
		}
	}
}
