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
	sent    chan struct{} // closed when the sender has ended
	closed  chan struct{} // closed by Close
	// ctrlReady says ctrl has bytes for the sender.
	ctrlReady chan struct{}
	closing   sync.Once

	wmu   sync.Mutex // one writer on the socket at a time
	xchMu sync.Mutex // one settings exchange in flight at a time

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced whenever the state below changes
	in          []byte
	suspendSent bool
	// ctrl is what the reader and Read decided to send (answers to the
	// server's negotiation, FLOWCONTROL-SUSPEND and -RESUME), in the order
	// they decided it, for the sender: decided under mu and sent later,
	// a SUSPEND could otherwise follow the RESUME decided after it, and
	// the server would hold its data for ever.
	ctrl        []byte
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
		sent:        make(chan struct{}),
		ctrlReady:   make(chan struct{}, 1),
		closed:      make(chan struct{}),
		changed:     make(chan struct{}),
		readTimeout: serial.NoTimeout,
	}
	start := p.codec.Start()
	go p.reader()
	go p.sender()
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

// reader takes bytes off the socket, files data, answers and
// notifications under mu, and leaves what it must send to the sender: it
// never waits for the socket to take a write, so that a Write blocked by
// a server that reads only once its own write to us has gone cannot stop
// it reading.
func (p *Port) reader() {
	defer close(p.done)
	buf := make([]byte, 4096)
	for {
		if !p.roomToRead() {
			return
		}
		n, err := p.conn.Read(buf)
		if n > 0 {
			p.feed(buf[:n])
		}
		if err != nil {
			p.fail(err)
			return
		}
	}
}

// fail records why the connection ended, the first reason staying.
func (p *Port) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
	p.broadcast()
}

// sender writes what the reader and Read queued on ctrl until Close. A
// failed write ends the connection: the reader's read is cut, and the
// error is what Read and Write report.
func (p *Port) sender() {
	defer close(p.sent)
	for {
		select {
		case <-p.ctrlReady:
		case <-p.closed:
			return
		}
		p.mu.Lock()
		b := p.ctrl
		p.ctrl = nil
		p.mu.Unlock()
		if len(b) == 0 {
			continue
		}
		if err := p.send(b); err != nil {
			p.fail(err)
			_ = p.conn.SetReadDeadline(time.Now())
			return
		}
	}
}

// queueLocked queues b for the sender, after what was queued before.
func (p *Port) queueLocked(b []byte) {
	if len(b) == 0 {
		return
	}
	p.ctrl = append(p.ctrl, b...)
	select {
	case p.ctrlReady <- struct{}{}:
	default: // the sender has yet to take the bytes queued before
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

// feed decodes b, files what it carried and queues the answers for the
// sender, with a FLOWCONTROL-SUSPEND once the buffer is full enough.
func (p *Port) feed(b []byte) {
	r := p.codec.Feed(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queueLocked(r.Out)
	p.in = append(p.in, r.Data...)
	p.ready = p.codec.Ready()
	if len(p.in) >= suspendAt && !p.suspendSent {
		p.suspendSent = true
		p.queueLocked(AppendRequest(nil, FlowControlSuspend, 0, nil))
	}
	for _, m := range r.Messages {
		p.file(m)
	}
	p.broadcast()
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
