package ptyfront

import (
	"io"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The front's system calls on descriptors that never block (the pty
// master, the inotify instance, TCXONC on the slave) go without the
// runtime's system-call bookkeeping. A call made with it while the
// process was idle wakes the runtime's monitor thread, which then polls
// every 20 us for as long as the process stays busy. At realistic timing
// that was every streaming pass's relay write (the monitor was a seventh
// of the daemon's CPU at 115200 baud), and then every master read and
// the settle before it: at timing off a 1-byte round trip cost the
// daemon 1.8 futex calls and 1.3 of the monitor's sleeps, and 6.5-7.0
// context switches in all against 3.8-3.9 without; a pair streaming at
// 921600 took 3.1 % of a core against 2.5 % (docs/PERFORMANCE-PLAN.md).

// rawRead is read(2) without the bookkeeping.
func rawRead(fd int, p []byte) (int, error) { return rawIO(unix.SYS_READ, fd, p) }

// rawWrite is write(2) without the bookkeeping.
func rawWrite(fd int, p []byte) (int, error) { return rawIO(unix.SYS_WRITE, fd, p) }

// rawIO is read(2) or write(2) (trap) of p, EINTR retried.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
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

// rawIoctlInt is ioctl(2) with an int argument without the bookkeeping,
// for a request that never sleeps (TCXONC).
func rawIoctlInt(fd int, req uint, arg int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// rawPollNow is poll(2) of one descriptor with a zero timeout, without
// the bookkeeping: it returns the events that are ready now.
func rawPollNow(fd int, events int16) (int16, error) {
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

// readParked reads the pty master behind rc, parking in the runtime's
// poller until it has something: os.File.Read without the bookkeeping,
// its deadlines included. A read of nothing is io.EOF, as there.
func readParked(rc syscall.RawConn, p []byte) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		n, rerr = rawRead(int(fd), p)
		return rerr != unix.EAGAIN
	})
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, &os.PathError{Op: "read", Path: "pty master", Err: rerr}
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}
