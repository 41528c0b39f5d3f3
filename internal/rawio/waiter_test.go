package rawio

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// rawPTY opens a pty whose slave is raw and both ends non-blocking, and
// returns their descriptors (duplicates, closed with the test).
func rawPTY(t *testing.T) (mfd, sfd int) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer s.Close()
	dup := func(f *os.File) int {
		t.Helper()
		fd := -1
		rc, err := f.SyscallConn()
		if err == nil {
			err = rc.Control(func(raw uintptr) { fd, err = unix.Dup(int(raw)) })
		}
		if err == nil {
			err = unix.SetNonblock(fd, true)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	mfd, sfd = dup(m), dup(s)
	tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	if err := unix.IoctlSetTermios(sfd, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return mfd, sfd
}

// fill writes to fd until it takes no more, and returns how much it took.
func fill(t *testing.T, fd int) int {
	t.Helper()
	buf := make([]byte, 4096)
	n := 0
	for {
		k, err := Write(fd, buf)
		n += k
		if err == unix.EAGAIN {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// etProbe is an epoll instance holding fd edge-triggered for input and
// output, as the runtime's poller holds what it polls; drained of what
// is there now.
func etProbe(t *testing.T, fd int) int {
	t.Helper()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(ep) })
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		t.Fatal(err)
	}
	for probeWait(t, ep, 0) > 0 {
	}
	return ep
}

// probeWait is epoll_wait on a probe: how many events it reports within
// ms milliseconds.
func probeWait(t *testing.T, ep, ms int) int {
	t.Helper()
	var evs [4]unix.EpollEvent
	for {
		n, err := unix.EpollWait(ep, evs[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// The point of a Waiter: a pty master becomes writable each time the
// program on the slave reads what the master wrote, and the runtime's
// poller, holding the master for input and output, is woken each time; a
// Waiter for input holds that edge back. The master here also has input
// waiting, so a wake-up that got through would be reported. The kernel
// wakes a queue's waiters newest first: the probe on the master is made
// before the Waiter, so that by the time it sees an edge the Waiter has
// seen it too.
func TestWaiterLeavesOutputEdgesOut(t *testing.T) {
	mfd, sfd := rawPTY(t)
	direct := etProbe(t, mfd)
	w, err := NewWaiter(mfd, unix.EPOLLIN, "pty master")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var epfd int
	if err := w.rc.Control(func(fd uintptr) { epfd = int(fd) }); err != nil {
		t.Fatal(err)
	}

	filled := fill(t, mfd)
	if _, err := Write(sfd, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if probeWait(t, direct, 10_000) == 0 {
		t.Fatal("the master saw no input after the slave wrote")
	}
	for probeWait(t, direct, 0) > 0 {
	}
	waiter := etProbe(t, epfd)

	buf := make([]byte, 4096)
	if n, err := Read(sfd, buf); n == 0 || err != nil {
		t.Fatalf("reading the slave (%d bytes written to it): %d, %v", filled, n, err)
	}
	if probeWait(t, direct, 10_000) == 0 {
		t.Fatal("the master held directly saw no output edge after the slave read")
	}
	if n := probeWait(t, waiter, 0); n != 0 {
		t.Fatalf("the Waiter for input passed the output edge on (%d events)", n)
	}

	// Input still wakes it.
	if _, err := Write(sfd, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if probeWait(t, waiter, 10_000) == 0 {
		t.Fatal("the Waiter for input missed input")
	}
}

// Read parks until there is something, and ends at its deadline.
func TestWaiterRead(t *testing.T) {
	mfd, sfd := rawPTY(t)
	w, err := NewWaiter(mfd, unix.EPOLLIN, "pty master")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	buf := make([]byte, 16)
	if err := w.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of an empty master: %d, %v; want its deadline", n, err)
	}
	if err := w.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	type result struct {
		s   string
		err error
	}
	got := make(chan result)
	go func() {
		n, err := w.Read(buf)
		got <- result{string(buf[:n]), err}
	}()
	if _, err := Write(sfd, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.s != "hi" || r.err != nil {
		t.Fatalf("parked read: %q, %v; want \"hi\"", r.s, r.err)
	}
}

// Write parks while the pty is full and goes on as the program reads; at
// its deadline it returns how much went.
func TestWaiterWrite(t *testing.T) {
	mfd, sfd := rawPTY(t)
	w, err := NewWaiter(mfd, 0, "pty master")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 256<<10)
	for i := range data {
		data[i] = byte(i % 251)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := w.Write(data)
		done <- result{n, err}
	}()
	got := make([]byte, 0, len(data))
	buf := make([]byte, 8192)
	pfd := []unix.PollFd{{Fd: int32(sfd), Events: unix.POLLIN}}
	for len(got) < len(data) {
		if n, err := unix.Poll(pfd, 10_000); n != 1 || err != nil {
			t.Fatalf("slave not readable after %d bytes: %d, %v", len(got), n, err)
		}
		n, err := Read(sfd, buf)
		if err != nil && err != unix.EAGAIN {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if r := <-done; r.n != len(data) || r.err != nil {
		t.Fatalf("write: %d, %v; want %d", r.n, r.err, len(data))
	}
	if string(got) != string(data) {
		t.Fatal("the slave read other bytes than were written")
	}

	// Nobody reads now, and the pty holds less than data (64 KiB of
	// flip buffers and N_TTY's 4 KiB).
	if err := w.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	n, err := w.Write(data)
	if n >= len(data) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write of %d bytes nobody reads: %d, %v; want less and its deadline", len(data), n, err)
	}
}
