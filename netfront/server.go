// Package netfront puts a driver.Device behind a TCP listener, the network
// counterpart of ptyfront: the connected client is the program on the
// port. Its connect is an open (DTR and RTS rise), its disconnect a last
// close (the output drains, bounded by the closing wait; DTR and RTS
// drop). With RFC 2217 (package rfc2217 speaks the protocol) every command
// the client sends becomes the IOCTL a program's call would, so a trace
// shows it; modem and line state reach the client through the driver's
// wait on mask, as they would reach a Windows program. Raw mode
// (socket://) carries data only.
//
// One client at a time: a second is told the port is in use and closed,
// or, with Options.Handover, replaces the first. Clients outside
// Options.Allow (loopback only by default) are refused at once. A client
// that sends malformed telnet, or that takes no data for
// Options.StallTimeout, is dropped with a log line; nothing a client does
// blocks another port or the accept loop.
//
// What RFC 2217 asks and a 16550 cannot tell: RI rising is no event
// (the chip reports RI's trailing edge, and so does EV_RING), so a
// client hears of it with the next change or when it polls
// NOTIFY-MODEMSTATE.
package netfront

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/session"
)

// Options configure a network front.
type Options struct {
	// Raw serves socket:// (data only, no telnet) instead of RFC 2217.
	Raw bool
	// Allow lists the client networks let in; nil (or empty) lets in
	// loopback clients only. Listen refuses a non-loopback address
	// without it.
	Allow []netip.Prefix
	// Handover makes a new client replace the connected one (ser2net's
	// kickolduser) instead of being refused.
	Handover bool
	// Signature is the RFC 2217 SIGNATURE; "" means "vcomd <port name>".
	Signature string
	// ClosingWait bounds the drain at a disconnect; zero means 30 s, as
	// ptyfront.
	ClosingWait time.Duration
	// StallTimeout drops a client whose socket takes no data for this
	// long; zero means 30 s.
	StallTimeout time.Duration
	// Logger gets the server's lines: clients connected, refused
	// (sampled), dropped and why.
	Logger zerolog.Logger
}

// DefaultStallTimeout is the stall timeout of a zero Options.StallTimeout.
const DefaultStallTimeout = 30 * time.Second

// State is a snapshot of a server.
type State struct {
	Address string    // the bound address, host:port
	Client  string    // the connected client's address; "" when none
	Since   time.Time // when the client connected
	// Accepted counts the clients that got the port, Refused those turned
	// away (outside Allow, or the port in use), Dropped those the server
	// disconnected (hostile input, a stall, a handover).
	Accepted, Refused, Dropped uint64
	LastRefusal                string // who was refused last, and why
}

// Server serves one device on one TCP address.
type Server struct {
	dev  *driver.Device
	ln   net.Listener
	opts Options
	log  zerolog.Logger
	// refusalLog is log, sampled: thousands of refused connects must not
	// flood the log (State.Refused counts them all).
	refusalLog zerolog.Logger
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	busyMsgs   chan struct{} // bounds the goroutines telling clients the port is in use

	ownsWait atomic.Bool
	settle   atomic.Pointer[func(context.Context)] // see SetPeer

	mu     sync.Mutex
	cur    *client // the client holding (or about to hold) the port
	owner  uint64  // the last session's owner
	state  State
	closed bool
}

// queueSize is the device's typeahead buffer: what the Linux tty layer
// buffers for a serial port.
const queueSize = 64 << 10

// busyWriters bounds how many refused clients are told the port is in use
// at once; beyond it they are closed without the message.
const busyWriters = 16

// messageTimeout bounds writing a one-line message to a client that is
// being turned away or replaced.
const messageTimeout = time.Second

// Listen listens on addr (host:port) and serves dev to the clients that
// connect. dev should be fresh (no opener): the server owns its create
// and close requests.
func Listen(dev *driver.Device, addr string, opts Options) (*Server, error) {
	for _, p := range opts.Allow {
		if !p.IsValid() {
			return nil, fmt.Errorf("netfront: allowed network %v is not a valid prefix", p)
		}
	}
	if opts.ClosingWait == 0 {
		opts.ClosingWait = session.DefaultClosingWait
	}
	if opts.StallTimeout == 0 {
		opts.StallTimeout = DefaultStallTimeout
	}
	if opts.Signature == "" {
		opts.Signature = "vcomd " + dev.Name()
	}
	// The typeahead a pty port gets too (see ptyfront): a pump that is
	// descheduled for a moment loses nothing even at 4 Mbaud.
	qs := driver.NewIoctl(ioctl.SetQueueSize, ioctl.QueueSize{InSize: queueSize, OutSize: queueSize})
	if _, err := dev.Call(context.Background(), qs); err != nil {
		return nil, fmt.Errorf("netfront: typeahead buffer: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netfront: %w", err)
	}
	bound := ln.Addr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	if len(opts.Allow) == 0 && !bound.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("netfront: listening on %s, which is not a loopback address, needs a list of allowed client networks", addr)
	}
	s := &Server{
		dev:      dev,
		ln:       ln,
		opts:     opts,
		log:      opts.Logger.With().Str("port", dev.Name()).Str("listen", ln.Addr().String()).Logger(),
		busyMsgs: make(chan struct{}, busyWriters),
	}
	s.refusalLog = s.log.Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second})
	s.state.Address = ln.Addr().String()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// String is the server's URL with its bound address:
// "rfc2217://127.0.0.1:7000" or "socket://127.0.0.1:7000".
func (s *Server) String() string {
	scheme := "rfc2217"
	if s.opts.Raw {
		scheme = "socket"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// State returns a snapshot of the server.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// OwnsWaitMask reports whether the server has the device's wait mask: while
// an RFC 2217 client is connected, its modem-state and line-state
// notifications come from a pending IOCTL_SERIAL_WAIT_ON_MASK, and another
// user of the mask would take it away.
func (s *Server) OwnsWaitMask() bool { return s.ownsWait.Load() }

// SetPeer gives the server what must settle before a client's data goes
// to the device: the front of the program that receives it (the other end
// of the port's pair). A local program's open, flush and termios change
// reach the daemon on their own paths; data a client sends just after
// that program acted must not overtake them, or it would be emptied by the
// open's create request or the flush. nil settles nothing.
func (s *Server) SetPeer(settle func(ctx context.Context)) {
	if settle == nil {
		s.settle.Store(nil)
		return
	}
	s.settle.Store(&settle)
}

// Close ends the connected client's session as a last close (DTR and RTS
// drop; output still queued is discarded), stops listening, and returns
// once every goroutine of the server has ended. The device stays open for
// its owner to close.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	err := s.ln.Close()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// Out of descriptors and the like: say so, and wait a
			// moment rather than spin.
			s.refusalLog.Error().Err(err).Msg("accepting a client")
			select {
			case <-time.After(50 * time.Millisecond):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		s.admit(conn)
	}
}

// admit decides what becomes of a new connection, without waiting on it.
func (s *Server) admit(conn net.Conn) {
	remote := conn.RemoteAddr().String()
	if !s.allowed(conn.RemoteAddr()) {
		// Counted before the close, which the client sees.
		s.refuse(remote, "not in the allowed client networks")
		conn.Close()
		return
	}
	s.mu.Lock()
	prev := s.cur
	if s.closed || (prev != nil && !s.opts.Handover) {
		s.mu.Unlock()
		if prev == nil {
			conn.Close()
			return
		}
		s.refuse(remote, "port in use by "+prev.addr)
		s.tellBusy(conn, prev.addr)
		return
	}
	s.owner++
	c := newClient(s, conn, s.owner, prev)
	s.cur = c
	s.state.Client, s.state.Since = remote, time.Now()
	s.state.Accepted++
	s.mu.Unlock()
	if prev != nil {
		prev.replace(remote)
	}
	s.log.Info().Str("client", remote).Msg("client connected")
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.run()
	}()
}

// allowed reports whether a client at addr may connect.
func (s *Server) allowed(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip := tcp.AddrPort().Addr().Unmap()
	if len(s.opts.Allow) == 0 {
		return ip.IsLoopback()
	}
	for _, p := range s.opts.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (s *Server) refuse(remote, why string) {
	s.mu.Lock()
	s.state.Refused++
	s.state.LastRefusal = remote + ": " + why
	s.mu.Unlock()
	s.refusalLog.Warn().Str("client", remote).Msgf("client refused: %s", why)
}

// tellBusy writes the in-use line to conn and closes it, on a goroutine of
// its own so that a client that does not read cannot hold the accept loop.
func (s *Server) tellBusy(conn net.Conn, holder string) {
	select {
	case s.busyMsgs <- struct{}{}:
	default:
		conn.Close() // too many at once: no message
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.busyMsgs }()
		writeLine(conn, fmt.Sprintf("vcomd: port %s is in use by %s\r\n", s.dev.Name(), holder))
		conn.Close()
	}()
}

// writeLine writes a message to a client being turned away, bounded by
// messageTimeout.
func writeLine(conn net.Conn, line string) {
	_ = conn.SetWriteDeadline(time.Now().Add(messageTimeout))
	_, _ = conn.Write([]byte(line))
}

// ended records that c has finished with the port.
func (s *Server) ended(c *client, dropped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if dropped {
		s.state.Dropped++
	}
	if s.cur == c {
		s.cur = nil
		s.state.Client, s.state.Since = "", time.Time{}
	}
}
