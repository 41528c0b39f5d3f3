package ptyfront

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/internal/rawio"
)

// The raw calls on a real pty in packet mode give what the runtime's own
// calls gave: data and packets in order, POLLPRI only while a packet
// waits, the read deadline that wakes the front's reader, and TCXONC's
// stop as a packet.
func TestRawCallsOnAPty(t *testing.T) {
	master, slave, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	defer master.Close()
	rc, err := master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var mfd, sfd int
	_ = control(master, func(fd int) { mfd = fd; err = unix.IoctlSetPointerInt(fd, unix.TIOCPKT, 1) })
	if err != nil {
		t.Fatal(err)
	}
	_ = control(slave, func(fd int) { sfd = fd })
	pri := func() bool {
		t.Helper()
		ready, err := rawio.PollNow(mfd, unix.POLLPRI)
		if err != nil {
			t.Fatal(err)
		}
		return ready&unix.POLLPRI != 0
	}
	buf := make([]byte, 64)
	read := func(want ...byte) {
		t.Helper()
		if err := master.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := rawio.ReadParked(rc, buf, "pty master")
		if err != nil || string(buf[:n]) != string(want) {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}

	if pri() {
		t.Fatal("POLLPRI with nothing written")
	}
	// Nothing to read: the read parks (EAGAIN is not its answer) until
	// its deadline.
	if err := master.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := rawio.ReadParked(rc, buf, "pty master"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of an empty master: %d, %v; want its deadline", n, err)
	}

	if _, err := slave.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	read(unix.TIOCPKT_DATA, 'h', 'i')
	if pri() {
		t.Fatal("POLLPRI after data only")
	}

	if err := unix.IoctlSetInt(sfd, unix.TCFLSH, unix.TCIFLUSH); err != nil {
		t.Fatal(err)
	}
	if !pri() {
		t.Fatal("no POLLPRI with the program's flush waiting")
	}
	read(unix.TIOCPKT_FLUSHREAD)
	if pri() {
		t.Fatal("POLLPRI after the flush packet was read")
	}

	if err := rawio.IoctlInt(sfd, unix.TCXONC, unix.TCOOFF); err != nil {
		t.Fatal(err)
	}
	read(unix.TIOCPKT_STOP)
	if err := rawio.IoctlInt(sfd, unix.TCXONC, -1); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("TCXONC with a bad argument: %v, want EINVAL", err)
	}
}
