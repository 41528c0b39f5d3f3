package netfront

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/rawio"
	"github.com/vcomd/vcomd/rfc2217"
	"github.com/vcomd/vcomd/session"
)

// client is one connection that has (or waits for) the port.
type client struct {
	s     *Server
	conn  net.Conn
	addr  string
	owner uint64
	log   zerolog.Logger
	// noisy is log, sampled, for what a client can make happen at will
	// (bad values, refused requests): it must not flood the log.
	noisy zerolog.Logger
	prev  *client       // the client this one replaces, if any
	done  chan struct{} // closed once the session has closed

	// ctx ends when the server ends the connection (see end); it cuts the
	// reader's socket read and its wait for the device.
	ctx    context.Context
	cancel context.CancelFunc

	endMu      sync.Mutex
	reason     string // why the server ended the connection; "" while it has not
	dropped    bool   // the server dropped the client (State.Dropped)
	replacedBy string // the address of the client that replaced this one

	wmu sync.Mutex  // serialises writes to the socket
	cut atomic.Bool // writes to the socket are over

	// proto is the RFC 2217 state machine (nil in raw mode); pmu guards
	// it, since the reader and the modem watcher both use it.
	pmu   sync.Mutex
	proto *rfc2217.Server

	sess *session.Session

	// Owned by the reader.
	writes    []*driver.IRP // client data with the device, oldest first
	pending   int           // their bytes
	suspended bool
}

// readSize is the most the reader takes from the socket at once.
const readSize = 16 << 10

func newClient(s *Server, conn net.Conn, owner uint64, prev *client) *client {
	c := &client{
		s:     s,
		conn:  rawio.NewConn(conn), // see internal/rawio for why
		addr:  conn.RemoteAddr().String(),
		owner: owner,
		prev:  prev,
		done:  make(chan struct{}),
	}
	c.log = s.log.With().Str("client", c.addr).Logger()
	c.noisy = c.log.Sample(&zerolog.BurstSampler{Burst: 10, Period: 10 * time.Second})
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// run serves the client from its connect to its disconnect.
func (c *client) run() {
	defer close(c.done)
	defer c.cancel()
	stopClose := context.AfterFunc(c.s.ctx, func() { c.end("server closing", false, true) })
	defer stopClose()
	if c.prev != nil {
		// The previous client's session closes first, with its drain.
		select {
		case <-c.prev.done:
		case <-c.ctx.Done():
		}
	}
	if c.ctx.Err() == nil {
		c.serve()
	}
	// The port is free before the socket closes, so a client that
	// reconnects as soon as it sees the end finds it free.
	reason, dropped := c.outcome()
	c.s.ended(c, dropped)
	c.conn.Close()
	switch {
	case dropped:
		c.log.Warn().Msgf("client dropped: %s", reason)
	default:
		c.log.Info().Msgf("client disconnected: %s", reason)
	}
}

// serve is the session: open, read the client until it or the server
// ends, close.
func (c *client) serve() {
	if !c.s.opts.Raw {
		c.proto = rfc2217.NewServer(c.s.opts.Signature)
	}
	c.sess = session.Open(c.s.ctx, c.s.dev, c.owner, &pumpOut{c: c}, session.Options{
		ClosingWait: c.s.opts.ClosingWait,
		Logger:      c.log,
	})
	stopWatch := func() {}
	if c.proto != nil {
		stopWatch = c.startWatch()
		c.pmu.Lock()
		start := c.proto.Start()
		c.pmu.Unlock()
		_ = c.send(start)
	}
	c.readLoop()
	c.endMu.Lock()
	by := c.replacedBy
	c.endMu.Unlock()
	if by != "" {
		c.message(fmt.Sprintf("vcomd: port %s was handed over to %s\r\n", c.s.dev.Name(), by))
	}
	stopWatch()
	c.sess.Close(nil)
}

// end records why the server ends the connection (the first reason
// stays) and cuts the reader's wait; cutWrites ends writes too, at once.
func (c *client) end(reason string, dropped, cutWrites bool) {
	c.endMu.Lock()
	if c.reason == "" {
		c.reason, c.dropped = reason, dropped
	}
	c.endMu.Unlock()
	c.cancel()
	_ = c.conn.SetReadDeadline(time.Now())
	if cutWrites {
		c.cutWrites()
	}
}

// replace ends the connection for a newer client at addr.
func (c *client) replace(addr string) {
	c.endMu.Lock()
	if c.reason == "" {
		c.replacedBy = addr
	}
	c.endMu.Unlock()
	c.end("replaced by "+addr, true, false)
}

func (c *client) outcome() (string, bool) {
	c.endMu.Lock()
	defer c.endMu.Unlock()
	return c.reason, c.dropped
}

func (c *client) cutWrites() {
	c.cut.Store(true)
	_ = c.conn.SetWriteDeadline(time.Now())
}

// message writes a last line to the client, bounded by messageTimeout.
func (c *client) message(line string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.cut.Load() {
		writeLine(c.conn, line)
	}
}

// send writes b to the client. A write that makes no progress for the
// stall timeout drops the client: one that never reads must not hold the
// port (or, through flow control, the far end) for ever. Nothing to send
// takes no lock: the reader sends what each read of the client calls
// for, most often nothing, and must not wait behind the pump's write to
// a client that is not reading (one that reads only once its own write
// has gone, as rfc2217.Port's reader did, would never read again).
func (c *client) send(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for len(b) > 0 {
		if c.cut.Load() {
			return net.ErrClosed
		}
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.s.opts.StallTimeout))
		if c.cut.Load() { // cutWrites may have set its deadline first
			return net.ErrClosed
		}
		n, err := c.conn.Write(b)
		b = b[n:]
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && !c.cut.Load() {
			if n > 0 {
				continue // slow, not stalled
			}
			c.end(fmt.Sprintf("took no data for %v", c.s.opts.StallTimeout), true, true)
		}
		return err
	}
	return nil
}

// pumpOut is the session's output: what the device received goes to the
// client, IAC doubled under RFC 2217.
type pumpOut struct {
	c   *client
	buf []byte // the pump's encoding buffer
}

func (o *pumpOut) Write(p []byte) (int, error) {
	if o.c.proto == nil {
		return len(p), o.c.send(p)
	}
	o.buf = rfc2217.AppendData(o.buf[:0], p)
	return len(p), o.c.send(o.buf)
}

// SetWriteDeadline is how the session stops its pump: a deadline ends the
// client's writes for good (the session is closing); the zero time that
// follows changes nothing.
func (o *pumpOut) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() {
		o.c.cutWrites()
	}
	return nil
}

// readLoop reads the client until it disconnects or the server ends the
// connection.
func (c *client) readLoop() {
	buf := make([]byte, readSize)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 && c.ctx.Err() == nil {
			if problem := c.received(buf[:n]); problem != nil {
				c.end(problem.Error(), true, true)
			}
		}
		if err == nil {
			continue
		}
		switch {
		case c.ctx.Err() != nil: // the server's reason stands
		case errors.Is(err, io.EOF):
			c.end("the client closed the connection", false, false)
		default:
			c.end(err.Error(), false, false)
		}
		return
	}
}

// received acts on bytes from the client. Its error names hostile input,
// for which the client is dropped; nothing of that read is acted on.
func (c *client) received(b []byte) error {
	if c.proto == nil {
		c.toDevice(b)
		return nil
	}
	c.pmu.Lock()
	r := c.proto.Feed(b)
	out := bytes.Clone(r.Out)
	msgs := append([]rfc2217.Message(nil), r.Messages...)
	problems := append([]error(nil), r.Problems...)
	suspended := c.proto.Suspended()
	data := r.Data // the reader is the only one to Feed
	c.pmu.Unlock()
	for _, p := range problems {
		if !errors.Is(p, rfc2217.ErrComPort) {
			return fmt.Errorf("malformed telnet: %w", p)
		}
		c.noisy.Warn().Err(p).Msg("bad COM-PORT-OPTION request: answered with the value in force")
	}
	if err := c.send(out); err != nil {
		return nil // the socket is done; the read that follows says so
	}
	if len(data) > 0 {
		c.toDevice(data)
	}
	var replies []byte
	for _, m := range msgs {
		if m.Cmd == rfc2217.NotifyModemState {
			// A poll, answered by the Server with the lines it last had:
			// a change no event reports (RI rising) follows it.
			replies = c.appendModemState(replies)
			continue
		}
		replies = c.answer(m, replies)
	}
	if suspended != c.suspended {
		c.suspended = suspended
		c.sess.Hold(suspended)
	}
	_ = c.send(replies)
	return nil
}

// writeAhead is how many bytes of the client's data the reader lets wait
// in the driver before it stops reading the socket, so that a client that
// sends faster than the line is held back by TCP: at realistic timing
// the UART's and the serial core's usual 4 KiB; at timing off, enough that
// the line never waits for the reader.
func (c *client) writeAhead() int {
	if c.s.dev.Instant() {
		return 128 << 10
	}
	return 4 << 10
}

// toDevice hands data from the client to the device, and waits while
// more than writeAhead of it is still with the driver.
func (c *client) toDevice(data []byte) {
	if settle := c.s.settle.Load(); settle != nil {
		(*settle)(c.ctx)
	}
	w := driver.NewWrite(bytes.Clone(data))
	w.Owner = c.owner
	c.s.dev.SubmitHere(w)
	c.writes = append(c.writes, w)
	c.pending += len(data)
	for len(c.writes) > 0 {
		oldest := c.writes[0]
		select {
		case <-oldest.Done():
		default:
			if c.pending <= c.writeAhead() {
				return
			}
			select {
			case <-oldest.Done():
			case <-c.ctx.Done():
				return
			}
		}
		c.pending -= len(oldest.Buffer)
		c.writes[0] = nil
		c.writes = c.writes[1:]
	}
}
