package rawio

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Waiter parks a goroutine until a descriptor kept out of the runtime's
// poller is ready. The runtime watches every descriptor it polls for
// input and output at once, edge-triggered, and the edges a descriptor
// raises without anyone waiting still wake its poller thread: a pty
// master is writable again each time the program on the slave reads, so
// a front that only reads it took one wake-up for nothing per relay write
// (as many as there were writes in a soak of 128 ports, one in two of the
// poller's wake-ups in a stream at timing off). A Waiter is an epoll
// instance of its own holding the descriptor for the events its goroutine
// waits for; that instance is in the runtime's poller, and the other
// edges stop at it (epoll drops a wake-up whose events its entry does not
// ask for).
//
// One goroutine at a time waits on a Waiter: a front that reads and writes
// the same descriptor from two goroutines makes one for each. The
// descriptor is the caller's; it must stay open while the Waiter is in
// use.
type Waiter struct {
	fd    int
	ep    *os.File
	rc    syscall.RawConn
	watch uint32 // the events of the entry between waits
	what  string
}

// NewWaiter makes a Waiter for fd, watching it for events (unix.EPOLLIN,
// unix.EPOLLPRI, ...) between waits as well, or for nothing but a hang-up
// or an error when events is 0: Write arms the entry for output only
// while it waits. what names the descriptor in errors.
func NewWaiter(fd int, events uint32, what string) (*Waiter, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll for %s: %w", what, err)
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll for %s: %w", what, err)
	}
	// Non-blocking, so that os.NewFile puts the instance in the poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll for %s: %w", what, err)
	}
	w := &Waiter{fd: fd, ep: os.NewFile(uintptr(epfd), "epoll:"+what), watch: events, what: what}
	if w.rc, err = w.ep.SyscallConn(); err != nil {
		w.ep.Close()
		return nil, fmt.Errorf("epoll for %s: %w", what, err)
	}
	return w, nil
}

// Read reads the descriptor, parking until it has something: ReadParked
// on the Waiter's events. A read of nothing is io.EOF.
func (w *Waiter) Read(p []byte) (int, error) { return readParked(w.rc, w.fd, p, w.what) }

// Write writes all of p, parking while the descriptor has no room, and
// returns how much went before an error: WriteParked, with the entry
// armed for output only from the first refusal to the end of the call.
func (w *Waiter) Write(p []byte) (int, error) {
	n, err := writeAll(w.fd, p)
	if err != unix.EAGAIN {
		if err != nil {
			return n, &os.PathError{Op: "write", Path: w.what, Err: err}
		}
		return n, nil
	}
	// Armed before the retry, so that room made between the two rings
	// the instance.
	if err := w.arm(w.watch | unix.EPOLLOUT); err != nil {
		return n, &os.PathError{Op: "write", Path: w.what, Err: err}
	}
	k, err := write(w.rc, w.fd, p[n:], w.what, parkForInput)
	if derr := w.arm(w.watch); err == nil && derr != nil {
		err = &os.PathError{Op: "write", Path: w.what, Err: derr}
	}
	return n + k, err
}

// arm sets the events the instance's entry watches.
func (w *Waiter) arm(events uint32) error {
	var err error
	cerr := w.rc.Control(func(epfd uintptr) {
		ev := unix.EpollEvent{Events: events, Fd: int32(w.fd)}
		err = unix.EpollCtl(int(epfd), unix.EPOLL_CTL_MOD, w.fd, &ev)
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// SetDeadline makes a wait in progress, and those after it, end with
// os.ErrDeadlineExceeded once t has passed; the zero time waits for good.
func (w *Waiter) SetDeadline(t time.Time) error { return w.ep.SetReadDeadline(t) }

// Close closes the Waiter's epoll instance (not the descriptor), ending a
// wait in progress.
func (w *Waiter) Close() error { return w.ep.Close() }
