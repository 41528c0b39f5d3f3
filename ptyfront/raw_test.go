package ptyfront

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/internal/rawio"
)

// The raw calls on a real pty in packet mode, with the reader parked on a
// Waiter as the front's is, give what the runtime's own calls gave: data
// and packets in order, POLLPRI only while a packet waits, the read
// deadline that wakes the front's reader, and TCXONC's stop as a packet,
// which wakes a reader parked before it came.
func TestRawCallsOnAPty(t *testing.T) {
	master, slave, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	defer master.Close()
	var mfd, sfd int
	_ = control(master, func(fd int) { mfd = fd; err = unix.IoctlSetPointerInt(fd, unix.TIOCPKT, 1) })
	if err != nil {
		t.Fatal(err)
	}
	_ = control(slave, func(fd int) { sfd = fd })
	w, err := rawio.NewWaiter(mfd, unix.EPOLLIN|unix.EPOLLPRI, "pty master")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
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
		if err := w.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := w.Read(buf)
		if err != nil || string(buf[:n]) != string(want) {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}

	if pri() {
		t.Fatal("POLLPRI with nothing written")
	}
	// Nothing to read: the read parks (EAGAIN is not its answer) until
	// its deadline.
	if err := w.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
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

	// A packet wakes the kernel's readers without naming an event: it
	// must reach a reader parked on the Waiter all the same.
	if err := w.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	type result struct {
		p   []byte
		err error
	}
	got := make(chan result)
	go func() {
		b := make([]byte, 16)
		n, err := w.Read(b)
		got <- result{b[:n], err}
	}()
	if err := rawio.IoctlInt(sfd, unix.TCXONC, unix.TCOOFF); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.err != nil || string(r.p) != string([]byte{unix.TIOCPKT_STOP}) {
		t.Fatalf("parked read: %q, %v; want the stop packet", r.p, r.err)
	}
	if err := rawio.IoctlInt(sfd, unix.TCXONC, -1); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("TCXONC with a bad argument: %v, want EINVAL", err)
	}
}
