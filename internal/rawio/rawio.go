// Package rawio makes the daemon's system calls on descriptors that never
// block (a pty master, an inotify instance, a socket) without the Go
// runtime's system-call bookkeeping. A call made with it while the process
// was idle wakes the runtime's monitor thread (sysmon), which then polls
// every 20 us for as long as the process stays busy: at timing off a
// 1-byte round trip through a pair cost the daemon 1.8 futex calls and 1.3
// of the monitor's sleeps, and 6.5-7.0 context switches in all against
// 3.8-3.9 without (docs/PERFORMANCE-PLAN.md). A call that waits parks in
// the runtime's poller through the descriptor's syscall.RawConn, deadlines
// included, as os.File and net.Conn do, or, for a descriptor kept out of
// the poller (a pty master), through a Waiter.
package rawio

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read is read(2), EINTR retried.
func Read(fd int, p []byte) (int, error) { return rw(unix.SYS_READ, fd, p) }

// Write is write(2), EINTR retried.
func Write(fd int, p []byte) (int, error) { return rw(unix.SYS_WRITE, fd, p) }

func rw(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		default:
			return 0, e
		}
	}
}

// IoctlInt is ioctl(2) with an int argument, for a request that never
// sleeps (TCXONC).
func IoctlInt(fd int, req uint, arg int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// PollNow is poll(2) of one descriptor with a zero timeout: the events
// that are ready now.
func PollNow(fd int, events int16) (int16, error) {
	pfd := unix.PollFd{Fd: int32(fd), Events: events}
	var ts unix.Timespec // zero: do not wait
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			return 0, e
		case n == 0:
			return 0, nil
		}
		return pfd.Revents, nil
	}
}

// ReadParked reads the non-blocking descriptor behind rc, parking in the
// runtime's poller until it has something: os.File.Read without the
// bookkeeping, its deadlines included. A read of nothing is io.EOF, as
// there. what names the descriptor in errors, which wrap the poller's
// (a deadline: os.ErrDeadlineExceeded) or the call's.
func ReadParked(rc syscall.RawConn, p []byte, what string) (int, error) {
	return readParked(rc, -1, p, what)
}

// readParked is ReadParked of fd, or of rc's own descriptor when fd is
// negative, parking on rc.
func readParked(rc syscall.RawConn, fd int, p []byte, what string) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(own uintptr) bool {
		if fd < 0 {
			n, rerr = Read(int(own), p)
		} else {
			n, rerr = Read(fd, p)
		}
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	switch {
	case err != nil:
		return 0, &os.PathError{Op: "read", Path: what, Err: err}
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// TryWrite writes what the non-blocking descriptor behind rc takes of p
// now, without waiting: one that has no room takes nothing. It returns
// how much went before an error. what names the descriptor in errors.
func TryWrite(rc syscall.RawConn, p []byte, what string) (int, error) {
	return write(rc, -1, p, what, parkNever)
}

// WriteParked writes all of p to the non-blocking descriptor behind rc,
// parking in the runtime's poller while it has no room: os.File.Write
// without the bookkeeping, its deadlines included. It returns how much
// went before an error. what names the descriptor in errors.
func WriteParked(rc syscall.RawConn, p []byte, what string) (int, error) {
	return write(rc, -1, p, what, parkForOutput)
}

// park says where write waits while the descriptor has no room.
type park int

const (
	parkNever     park = iota // return what went
	parkForOutput             // on rc's descriptor's output readiness
	parkForInput              // on rc's input readiness (a Waiter's instance, armed for output)
)

// write writes p to fd, or to rc's own descriptor when fd is negative,
// parking as how says.
func write(rc syscall.RawConn, fd int, p []byte, what string, how park) (int, error) {
	var n int
	var werr error
	try := func(own uintptr) bool {
		target := fd
		if target < 0 {
			target = int(own)
		}
		k, e := writeAll(target, p[n:])
		n += k
		if e == unix.EAGAIN {
			return how == parkNever
		}
		werr = e
		return true
	}
	var err error
	if how == parkForInput {
		err = rc.Read(try)
	} else {
		err = rc.Write(try)
	}
	if err == nil {
		err = werr
	}
	if err != nil {
		return n, &os.PathError{Op: "write", Path: what, Err: err}
	}
	return n, nil
}

// writeAll writes what fd takes of p now: unix.EAGAIN when that was less
// than all.
func writeAll(fd int, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := Write(fd, p[n:])
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// Conn is a net.Conn whose reads and writes go raw when it has a RawConn
// (a TCP connection does); everything else, deadlines included, is the
// connection's own.
type Conn struct {
	net.Conn
	raw  syscall.RawConn
	what string
}

// NewConn wraps c. Errors name its remote address.
func NewConn(c net.Conn) *Conn {
	rc := &Conn{Conn: c, what: c.RemoteAddr().String()}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			rc.raw = raw
		}
	}
	return rc
}

// Read reads what the connection has, parking until it has something;
// io.EOF once the far end has closed.
func (c *Conn) Read(p []byte) (int, error) {
	if c.raw == nil {
		return c.Conn.Read(p)
	}
	return ReadParked(c.raw, p, c.what)
}

// Write writes all of p, parking while the connection has no room, and
// returns how much went before an error.
func (c *Conn) Write(p []byte) (int, error) {
	if c.raw == nil {
		return c.Conn.Write(p)
	}
	return WriteParked(c.raw, p, c.what)
}
