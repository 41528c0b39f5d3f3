// Package ttybench measures a serial line from the outside, as the
// programs on its two ends see it: how many bytes per second it carries,
// how long one byte takes there and back, and the rate at which a
// baud-timed line delivers. It opens the ends as a program opens a tty,
// whatever is behind them (vcomd, socat, a real cable).
package ttybench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Port is one end of a serial line, opened raw: 8N1, no echo, no
// translation, no flow control, modem lines ignored (CLOCAL), reads that
// return as soon as there is a byte.
type Port struct {
	fd   int
	path string // or, for a socket, what it is connected to
	sock bool   // a TCP socket (DialTCP), not a tty
}

// Open opens the tty at path raw at the given baud rate.
//
// The descriptor is non-blocking and every wait is a poll(2) with a
// bounded timeout, as serial libraries (pyserial, go.bug.st/serial) wait:
// a line that stops delivering gives an error, never a hung benchmark.
func Open(path string, baud int) (*Port, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	p := &Port{fd: fd, path: path}
	if err := p.SetBaud(baud); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return p, nil
}

// SetBaud puts the port in raw mode at baud, any rate (BOTHER).
func (p *Port) SetBaud(baud int) error {
	t, err := unix.IoctlGetTermios(p.fd, unix.TCGETS2)
	if err != nil {
		return fmt.Errorf("TCGETS2 %s: %w", p.path, err)
	}
	// cfmakeraw, plus the speed.
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.CBAUD | unix.CIBAUD
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL | unix.BOTHER
	t.Ispeed, t.Ospeed = uint32(baud), uint32(baud)
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(p.fd, unix.TCSETS2, t); err != nil {
		return fmt.Errorf("TCSETS2 %s at %d baud: %w", p.path, baud, err)
	}
	return nil
}

// Path is the path the port was opened by.
func (p *Port) Path() string { return p.path }

// Name is the port's path, or for a socket "tcp HOST:PORT".
func (p *Port) Name() string { return p.path }

// dropInput drops what was received and not read: a tty's input queue
// (FlushInput), or what a socket holds now.
func (p *Port) dropInput() error {
	if !p.sock {
		return p.FlushInput()
	}
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(p.fd, buf)
		switch {
		case err == nil && n == 0:
			return fmt.Errorf("emptying %s: end of file", p.path)
		case errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.EINTR):
		case err != nil:
			return fmt.Errorf("emptying %s: %w", p.path, err)
		}
	}
}

// Close closes the port.
func (p *Port) Close() error {
	if err := unix.Close(p.fd); err != nil {
		return fmt.Errorf("closing %s: %w", p.path, err)
	}
	return nil
}

// FlushInput drops what was received and not read (tcflush TCIFLUSH).
func (p *Port) FlushInput() error {
	if err := unix.IoctlSetInt(p.fd, unix.TCFLSH, unix.TCIFLUSH); err != nil {
		return fmt.Errorf("tcflush %s: %w", p.path, err)
	}
	return nil
}

// pollSlice bounds each poll(2), so that a wait notices its context
// ending within that time. A wait that has its event returns at once.
const pollSlice = 100 * time.Millisecond

// errTimeout is a wait that ran out of time.
var errTimeout = errors.New("timed out")

// wait polls for events (POLLIN or POLLOUT) until they come, ctx ends or
// timeout passes.
func (p *Port) wait(ctx context.Context, events int16, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		left := time.Until(end)
		if left <= 0 {
			return errTimeout
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: events}}
		n, err := unix.Poll(fds, int(min(left, pollSlice)/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) {
			continue // the Go runtime's preemption signals
		}
		if err != nil {
			return fmt.Errorf("poll %s: %w", p.path, err)
		}
		if n > 0 {
			if fds[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
				return fmt.Errorf("poll %s: revents %#x", p.path, fds[0].Revents)
			}
			return nil
		}
	}
}

// read reads what is there, waiting up to timeout for at least a byte.
func (p *Port) read(ctx context.Context, b []byte, timeout time.Duration) (int, error) {
	for {
		n, err := unix.Read(p.fd, b)
		switch {
		case err == nil && n > 0:
			return n, nil
		case err == nil:
			return 0, fmt.Errorf("reading %s: end of file", p.path)
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		default:
			return 0, fmt.Errorf("reading %s: %w", p.path, err)
		}
		if err := p.wait(ctx, unix.POLLIN, timeout); err != nil {
			return 0, fmt.Errorf("reading %s: %w", p.path, err)
		}
	}
}

// write writes all of b, waiting up to timeout each time the tty has no
// room.
func (p *Port) write(ctx context.Context, b []byte, timeout time.Duration) error {
	for len(b) > 0 {
		n, err := unix.Write(p.fd, b)
		if n > 0 {
			b = b[n:]
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		default:
			return fmt.Errorf("writing %s: %w", p.path, err)
		}
		if err := p.wait(ctx, unix.POLLOUT, timeout); err != nil {
			return fmt.Errorf("writing %s: %w", p.path, err)
		}
	}
	return nil
}

// Sync waits until a byte written on from arrives on to, then empties
// to's input. A daemon learns of a program's open a moment after open(2)
// returns, and may drop what arrives before; nothing tells the program
// when it has, so the byte is sent again every 100 ms, for up to
// timeout.
func Sync(ctx context.Context, from, to End, timeout time.Duration) error {
	buf := make([]byte, 64)
	for end := time.Now().Add(timeout); ; {
		if err := from.write(ctx, []byte{'!'}, timeout); err != nil {
			return err
		}
		_, err := to.read(ctx, buf, 100*time.Millisecond)
		if err == nil {
			return to.dropInput()
		}
		if !errors.Is(err, errTimeout) {
			return err
		}
		if time.Now().After(end) {
			return fmt.Errorf("no byte from %s reached %s in %v", from.Name(), to.Name(), timeout)
		}
	}
}

// Quiet reads and drops what arrives on p until quiet passes with
// nothing, and returns how many bytes it dropped. After Sync on a slow
// line it takes the bytes Sync sent again while the first was still on
// its way (a character and the receiver's timeout take longer than
// Sync's 100 ms below about 1200 baud), which would otherwise arrive in
// the middle of what is measured next.
func Quiet(ctx context.Context, p End, quiet time.Duration) (int, error) {
	buf := make([]byte, 64)
	dropped := 0
	for {
		n, err := p.read(ctx, buf, quiet)
		if errors.Is(err, errTimeout) {
			return dropped, nil
		}
		if err != nil {
			return dropped, err
		}
		dropped += n
	}
}
