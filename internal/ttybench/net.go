package ttybench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/rfc2217"
)

// DialTCP connects to addr (IP:port) and returns the socket as a Port, so
// that the measurements time a raw TCP client with the very code that
// times a tty: a non-blocking descriptor, read(2) and write(2), poll(2)
// bounded waits. TCP_NODELAY is set, as Go's net package and pyserial's
// socket:// set it: a 1-byte round trip must not wait for Nagle. The
// connect waits up to timeout. The tty calls (SetBaud, FlushInput,
// SetRTSCTS) fail on it.
func DialTCP(ctx context.Context, addr string, timeout time.Duration) (*Port, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial tcp: address %q: %w", addr, err)
	}
	domain := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	if !ap.Addr().Unmap().Is4() {
		domain = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dial tcp %s: socket: %w", addr, err)
	}
	p := &Port{fd: fd, path: "tcp " + addr, sock: true}
	if err := p.connect(ctx, sa, timeout); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("dial tcp %s: %w", addr, err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("dial tcp %s: TCP_NODELAY: %w", addr, err)
	}
	return p, nil
}

// connect makes a non-blocking connect and waits for its outcome, which
// SO_ERROR tells once the socket is writable (or in error).
func (p *Port) connect(ctx context.Context, sa unix.Sockaddr, timeout time.Duration) error {
	err := unix.Connect(p.fd, sa)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINPROGRESS) {
		return err
	}
	werr := p.wait(ctx, unix.POLLOUT, timeout)
	if errors.Is(werr, errTimeout) || ctx.Err() != nil {
		return werr
	}
	// A refused connect shows as POLLERR, which wait reports; SO_ERROR
	// says why.
	soerr, err := unix.GetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("SO_ERROR: %w", err)
	}
	if soerr != 0 {
		return unix.Errno(soerr)
	}
	return werr
}

// RFC2217 is a port reached through an RFC 2217 server, opened with
// package rfc2217's client as any Go program would open it; the
// measurements drive it as they drive a tty. Data goes IAC-doubled, and
// the client asks the server to suspend when its buffer fills: that is
// what RFC 2217 costs, and it is measured with the rest.
type RFC2217 struct {
	p    *rfc2217.Port
	name string

	timeout time.Duration // the read timeout set on p; touched by reads only

	mu      sync.Mutex
	aborted error // why a write's bound closed p
}

// DialRFC2217 connects to the RFC 2217 server at addr (host:port) and
// negotiates, leaving the server's line settings as they are.
func DialRFC2217(ctx context.Context, addr string) (*RFC2217, error) {
	p, err := rfc2217.Dial(ctx, addr, nil)
	if err != nil {
		return nil, err
	}
	return &RFC2217{p: p, name: "rfc2217://" + addr, timeout: serial.NoTimeout}, nil
}

// Name is "rfc2217://HOST:PORT".
func (r *RFC2217) Name() string { return r.name }

// Close ends the connection.
func (r *RFC2217) Close() error { return r.p.Close() }

// setTimeout sets the client's read timeout when it differs from the one
// in force.
func (r *RFC2217) setTimeout(d time.Duration) error {
	if d == r.timeout {
		return nil
	}
	if err := r.p.SetReadTimeout(d); err != nil {
		return err
	}
	r.timeout = d
	return nil
}

// read waits in slices of pollSlice, as Port's polls do, so that it sees
// ctx end.
func (r *RFC2217) read(ctx context.Context, b []byte, timeout time.Duration) (int, error) {
	for end := time.Now().Add(timeout); ; {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("reading %s: %w", r.name, err)
		}
		left := time.Until(end)
		if left <= 0 {
			return 0, fmt.Errorf("reading %s: %w", r.name, errTimeout)
		}
		if err := r.setTimeout(min(left, pollSlice)); err != nil {
			return 0, fmt.Errorf("reading %s: %w", r.name, err)
		}
		n, err := r.p.Read(b)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", r.name, r.why(err))
		}
		if n > 0 {
			return n, nil
		}
	}
}

// write bounds the client's Write, which waits for as long as the server
// holds it (TCP's window, FLOWCONTROL-SUSPEND): when ctx ends or timeout
// passes first, the port is closed, which ends the Write, and the
// measurement fails.
func (r *RFC2217) write(ctx context.Context, b []byte, timeout time.Duration) error {
	stopCtx := context.AfterFunc(ctx, func() { r.abort(ctx.Err()) })
	t := time.AfterFunc(timeout, func() { r.abort(errTimeout) })
	_, err := r.p.Write(b)
	t.Stop()
	stopCtx()
	if err != nil {
		return fmt.Errorf("writing %s: %w", r.name, r.why(err))
	}
	return nil
}

// abort closes the port because of err, the first time.
func (r *RFC2217) abort(err error) {
	r.mu.Lock()
	first := r.aborted == nil
	if first {
		r.aborted = err
	}
	r.mu.Unlock()
	if first {
		_ = r.p.Close() // what failed is err, not the close
	}
}

// why is err, or the reason the port was closed under it.
func (r *RFC2217) why(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.aborted != nil {
		return r.aborted
	}
	return err
}

// dropInput reads, without waiting, until the client holds nothing.
func (r *RFC2217) dropInput() error {
	if err := r.setTimeout(0); err != nil {
		return fmt.Errorf("emptying %s: %w", r.name, err)
	}
	buf := make([]byte, 4096)
	for {
		n, err := r.p.Read(buf)
		if err != nil {
			return fmt.Errorf("emptying %s: %w", r.name, r.why(err))
		}
		if n == 0 {
			return nil
		}
	}
}
