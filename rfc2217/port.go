package rfc2217

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"go.bug.st/serial"
)

var _ serial.Port = (*Port)(nil)

// DefaultTimeout bounds each wait for a server's answer when
// Options.Timeout is zero; it is pyserial's default network timeout.
const DefaultTimeout = 3 * time.Second

// Receive buffering. The reader keeps taking bytes off the socket so that
// answers and modem-state notifications are seen while the program is not
// reading; data piles up meanwhile. Past suspendAt the server is asked by
// FLOWCONTROL-SUSPEND to pause, and below resumeAt to go on; at maxBuffered
// (for a server that ignores the request) the reader stops taking bytes
// and TCP holds the rest, at the price of answers waiting behind them.
const (
	suspendAt   = 32 << 10
	resumeAt    = 8 << 10
	maxBuffered = 64 << 10
)

// Options are the settings of Dial. The zero value is usable.
type Options struct {
	// Mode, when not nil, is applied as by SetMode once the server has
	// agreed to RFC 2217, and its InitialStatusBits, when not nil, set DTR
	// and RTS. Nil leaves the server's settings and lines as they are.
	Mode *serial.Mode
	// Timeout bounds each wait for the server: the negotiation at Dial and
	// each answer to a setting. Zero means DefaultTimeout.
	Timeout time.Duration
}

// Port is a serial port reached over the network through an RFC 2217
// server (ser2net, vcomd, pyserial's server...). It satisfies
// go.bug.st/serial's Port. Its methods may be called from several
// goroutines; settings are sent one exchange at a time.
type Port struct {
	conn    net.Conn
	codec   *Client // touched by the reader goroutine only
	timeout time.Duration
	done    chan struct{} // closed when the reader has ended
	closed  chan struct{} // closed by Close
	closing sync.Once

	wmu   sync.Mutex // one writer on the socket at a time
	xchMu sync.Mutex // one settings exchange in flight at a time

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced whenever the state below changes
	in          []byte
	suspendSent bool
	held        bool // the server asked us to stop sending
	replies     [numCommands]reply
	modem       byte
	haveModem   bool
	ready       bool // the server agreed to COM-PORT-OPTION
	readTimeout time.Duration
	err         error // why the reader ended
}

type reply struct {
	seq uint64
	msg Message
}

// Dial connects to the RFC 2217 server at addr (host:port), negotiates
// COM-PORT-OPTION and applies opts. ctx bounds the connection and the
// negotiation; opts may be nil.
func Dial(ctx context.Context, addr string, opts *Options) (*Port, error) {
	if opts == nil {
		opts = &Options{}
	}
	if opts.Mode != nil {
		if _, err := modeValues(opts.Mode); err != nil {
			return nil, err
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rfc2217: dial %s: %w", addr, err)
	}
	p, start := newPort(conn, opts.Timeout)
	if err := p.open(ctx, start, opts); err != nil {
		p.Close()
		return nil, fmt.Errorf("rfc2217: %s: %w", addr, err)
	}
	return p, nil
}

// newPort starts the reader; it returns the opening negotiation to send,
// made before the reader can touch the codec.
func newPort(conn net.Conn, timeout time.Duration) (*Port, []byte) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	p := &Port{
		conn:        conn,
		codec:       NewClient(),
		timeout:     timeout,
		done:        make(chan struct{}),
		closed:      make(chan struct{}),
		changed:     make(chan struct{}),
		readTimeout: serial.NoTimeout,
	}
	start := p.codec.Start()
	go p.reader()
	return p, start
}

func (p *Port) open(ctx context.Context, start []byte, opts *Options) error {
	if err := p.send(start); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if err := p.waitFor(ctx, func() bool { return p.ready }); err != nil {
		return fmt.Errorf("server did not agree to COM-PORT-OPTION: %w", err)
	}
	if opts.Mode == nil {
		return nil
	}
	if err := p.SetMode(opts.Mode); err != nil {
		return err
	}
	if b := opts.Mode.InitialStatusBits; b != nil {
		if err := p.SetDTR(b.DTR); err != nil {
			return err
		}
		return p.SetRTS(b.RTS)
	}
	return nil
}

// reader takes bytes off the socket, answers negotiation and files data,
// answers and notifications under mu.
func (p *Port) reader() {
	defer close(p.done)
	buf := make([]byte, 4096)
	for {
		if !p.roomToRead() {
			return
		}
		n, err := p.conn.Read(buf)
		if n > 0 {
			r := p.feed(buf[:n])
			if len(r) > 0 {
				if werr := p.send(r); werr != nil && err == nil {
					err = werr
				}
			}
		}
		if err != nil {
			p.mu.Lock()
			p.err = err
			p.broadcast()
			p.mu.Unlock()
			return
		}
	}
}

// roomToRead waits while the receive buffer is full; false means closed.
func (p *Port) roomToRead() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.in) >= maxBuffered {
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.closed:
			p.mu.Lock()
			return false
		}
		p.mu.Lock()
	}
	return true
}

// feed decodes b and files what it carried; it returns bytes to send.
func (p *Port) feed(b []byte) []byte {
	r := p.codec.Feed(b)
	out := append([]byte(nil), r.Out...)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.in = append(p.in, r.Data...)
	p.ready = p.codec.Ready()
	if len(p.in) >= suspendAt && !p.suspendSent {
		p.suspendSent = true
		out = AppendRequest(out, FlowControlSuspend, 0, nil)
	}
	for _, m := range r.Messages {
		p.file(m)
	}
	p.broadcast()
	return out
}

// file records one server message; mu is held.
func (p *Port) file(m Message) {
	switch m.Cmd {
	case NotifyModemState:
		p.modem, p.haveModem = byte(m.Value), true
	case FlowControlSuspend, FlowControlResume:
		p.held = m.Cmd == FlowControlSuspend
	case PurgeData:
		// Everything before the answer in the stream was received before
		// the purge, so it goes now, and nothing that came after.
		if m.Value&PurgeReceive != 0 {
			p.in = p.in[:0]
		}
	}
	r := &p.replies[m.Cmd]
	r.seq++
	r.msg = m
}

// broadcast wakes every waiter; mu is held.
func (p *Port) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitFor waits until cond (evaluated under mu) holds, the reader ends,
// the port closes or ctx ends.
func (p *Port) waitFor(ctx context.Context, cond func() bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !cond() {
		if p.err != nil {
			return p.readerErr()
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
			p.mu.Lock()
		case <-p.closed:
			p.mu.Lock()
			return errClosed()
		case <-ctx.Done():
			p.mu.Lock()
			return ctx.Err()
		}
	}
	return nil
}

// readerErr says why the connection ended; mu is held.
func (p *Port) readerErr() error {
	if errors.Is(p.err, io.EOF) {
		return fmt.Errorf("rfc2217: server closed the connection: %w", io.EOF)
	}
	return fmt.Errorf("rfc2217: connection: %w", p.err)
}

func errClosed() error { return fmt.Errorf("rfc2217: port closed: %w", net.ErrClosed) }

// send writes wire bytes to the socket.
func (p *Port) send(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if _, err := p.conn.Write(b); err != nil {
		return fmt.Errorf("rfc2217: write: %w", err)
	}
	return nil
}

// request is one command of an exchange.
type request struct {
	cmd   Command
	value uint32
}

// exchange sends the requests back to back and waits, bounded by the
// port's timeout, until each has its answer; it returns the answers in
// order. Requests must name distinct commands.
func (p *Port) exchange(reqs ...request) ([]Message, error) {
	p.xchMu.Lock()
	defer p.xchMu.Unlock()
	p.mu.Lock()
	seqs := make([]uint64, len(reqs))
	for i, r := range reqs {
		seqs[i] = p.replies[r.cmd].seq
	}
	p.mu.Unlock()
	var out []byte
	for _, r := range reqs {
		out = AppendRequest(out, r.cmd, r.value, nil)
	}
	if err := p.send(out); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	answered := func() bool {
		for i, r := range reqs {
			if p.replies[r.cmd].seq == seqs[i] {
				return false
			}
		}
		return true
	}
	if err := p.waitFor(ctx, answered); err != nil {
		return nil, fmt.Errorf("rfc2217: no answer to %v: %w", reqs[0].cmd, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	msgs := make([]Message, len(reqs))
	for i, r := range reqs {
		msgs[i] = p.replies[r.cmd].msg
	}
	return msgs, nil
}

// setting sends one command and checks the server kept value.
func (p *Port) setting(cmd Command, value uint32, what string) error {
	msgs, err := p.exchange(request{cmd, value})
	if err != nil {
		return err
	}
	if msgs[0].Value != value {
		return fmt.Errorf("rfc2217: server refused %s: %v answered %d, asked %d", what, cmd, msgs[0].Value, value)
	}
	return nil
}
