// Package session is a program's session on a driver.Device, the part
// every front shares: the open (IRP_MJ_CREATE, DTR and RTS rise), a pump
// that keeps a read pending and copies what the device receives to the
// program, and the close with the closing wait (flush, cleanup, close; DTR
// and RTS drop). A front (a pty, a network client) supplies where the data
// goes and turns the rest of what its program does into requests.
package session

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// Output is where the pump copies what the device received. Its Write may
// block (a full pty, a socket whose peer does not read); a deadline in the
// past must make a blocked Write return, as it does for *os.File and
// net.Conn.
type Output interface {
	Write(p []byte) (int, error)
	SetWriteDeadline(t time.Time) error
}

// TryWriter is an Output that can also write without waiting: TryWrite
// writes what the output takes now, and returns at once (0 and no error
// when it takes nothing). With it the pump runs where its reads complete
// (see relay), and a byte the device receives reaches the output with no
// goroutine hand-off.
type TryWriter interface {
	TryWrite(p []byte) (int, error)
}

// Options configure a session.
type Options struct {
	// ClosingWait bounds how long the close waits for written data to
	// leave the UART (Linux's closing_wait); zero means 30 s.
	ClosingWait time.Duration
	// Logger carries the front's context (which pty, which client).
	Logger zerolog.Logger
}

// DefaultClosingWait is the closing wait of a zero Options.ClosingWait, the
// Linux serial core's default.
const DefaultClosingWait = 30 * time.Second

// Timeouts are the read timeouts a session sets: a pending read returns
// as soon as any byte is there and never times out in practice (about 49
// days).
var Timeouts = ioctl.Timeouts{
	ReadIntervalTimeout:        ioctl.MaxTimeout,
	ReadTotalTimeoutMultiplier: ioctl.MaxTimeout,
	ReadTotalTimeoutConstant:   ioctl.MaxTimeout - 1,
}

// pumpSize is the most the pump hands the output at once at timing off,
// where each read request costs a hand-off whatever its size: what the
// Linux tty layer buffers for a serial port. At realistic timing a pass
// of the ISR receives at most 16 ms of line time (6.4 KB at 4 Mbaud, 184
// bytes at 115200), so pumpSizeTimed serves every rate with a read or
// two per pass, and a port that streams at line rate holds 4 KiB instead
// of 64 for its pump.
const (
	pumpSize      = 64 << 10
	pumpSizeTimed = 4 << 10
)

// pumpBuf returns a buffer of the pump's size for the device's timing,
// buf itself when it has that size.
func (s *Session) pumpBuf(buf []byte) []byte {
	size := pumpSizeTimed
	if s.dev.Instant() {
		size = pumpSize
	}
	if len(buf) != size {
		buf = make([]byte, size)
	}
	return buf
}

// Session is one program's open of a device, from IRP_MJ_CREATE to
// IRP_MJ_CLOSE. Its requests carry its owner, so that the cleanup cancels
// what it left pending.
type Session struct {
	dev    *driver.Device
	owner  uint64
	out    Output
	opts   Options
	parent context.Context // the front's: its end cuts the closing wait short
	ctx    context.Context // the pump's, ended by Close
	stop   context.CancelFunc
	done   chan struct{} // closed when the pump has returned
	back   chan handBack // the relay gives the pump its work back

	mu       sync.Mutex
	held     bool
	resumed  chan struct{} // closed at the next Hold(false)
	curRead  *driver.IRP   // the pump's read with the driver, for Hold and Discard
	discards uint64        // Discard calls so far
}

// Open opens the device for a program (IRP_MJ_CREATE with owner, which
// must be new to the device), sets the session's read timeouts and starts
// the pump copying what the device receives to out. ctx is the front's:
// when it ends, requests in progress are given up and the closing wait is
// cut short.
func Open(ctx context.Context, dev *driver.Device, owner uint64, out Output, opts Options) *Session {
	if opts.ClosingWait == 0 {
		opts.ClosingWait = DefaultClosingWait
	}
	s := &Session{
		dev:     dev,
		owner:   owner,
		out:     out,
		opts:    opts,
		parent:  ctx,
		done:    make(chan struct{}),
		back:    make(chan handBack, 1),
		resumed: make(chan struct{}),
	}
	s.report(s.call(ctx, &driver.IRP{Major: driver.MajorCreate, Owner: owner}), "open")
	s.report(s.Ioctl(ctx, ioctl.SetTimeouts, Timeouts), "timeouts")
	s.ctx, s.stop = context.WithCancel(ctx)
	go s.pump()
	return s
}

// Owner is the session's owner, for the front's own requests.
func (s *Session) Owner() uint64 { return s.owner }

// Ioctl issues a device-control request as the session's program and
// waits for it.
func (s *Session) Ioctl(ctx context.Context, code ioctl.Code, in any) error {
	return s.call(ctx, driver.NewIoctl(code, in))
}

// Call issues irp as the session's program (its Owner set) and waits for
// it, giving up (cancelling it) if ctx ends.
func (s *Session) Call(ctx context.Context, irp *driver.IRP) error { return s.call(ctx, irp) }

func (s *Session) call(ctx context.Context, irp *driver.IRP) error {
	irp.Owner = s.owner
	_, err := s.dev.Call(ctx, irp)
	return err
}

// Hold stops (on) or restarts keeping a read pending, as a program that
// stops reading does: the typeahead fills, and flow control holds the
// far end back or the excess is counted lost. A read already pending when
// the hold starts is left to complete, and what it gets waits in the pump
// until the hold ends: taking it back would lose what it had already
// taken from the typeahead, since a cancelled read reports no bytes (as
// Serial.sys's does).
func (s *Session) Hold(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on == s.held {
		return
	}
	s.held = on
	if !on {
		close(s.resumed)
		s.resumed = make(chan struct{})
	}
}

// Discard drops what the pump has read from the device and not yet
// handed to the output (a write in progress excepted), taking back the
// pending read, so that what arrives next goes to a new one. Followed by
// a purge of the typeahead, it drops all the received data the program
// has not been given.
func (s *Session) Discard() {
	s.mu.Lock()
	s.discards++
	cur := s.curRead
	s.mu.Unlock()
	if cur != nil {
		s.dev.Cancel(cur)
	}
}

// Close is the last close: as the serial core's close, wait (up to the
// closing wait) for what the program wrote to be sent, then drop what
// was received and not read, and lower DTR and RTS. drain, if not nil,
// runs first, under the same bound, to hand the device what the program
// wrote and the front has not yet passed on. The pump has returned when
// Close does.
func (s *Session) Close(drain func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(s.parent, s.opts.ClosingWait)
	defer cancel()
	if drain != nil {
		drain(ctx)
	}
	// Cleanup, close and a purge act at once; they go through even when
	// the front is closing, so that the port ends up closed.
	now := context.WithoutCancel(s.parent)
	flush := &driver.IRP{Major: driver.MajorFlush}
	if err := s.call(ctx, flush); err != nil {
		if s.parent.Err() == nil {
			s.opts.Logger.Info().Msg("closing wait over: output discarded")
		}
		s.report(s.Ioctl(now, ioctl.Purge, ioctl.PurgeTxAbort|ioctl.PurgeTxClear), "purge")
	}
	s.report(s.call(now, &driver.IRP{Major: driver.MajorCleanup}), "cleanup")
	s.stopPump()
	s.report(s.call(now, &driver.IRP{Major: driver.MajorClose}), "close")
}

// Stop ends the pump without closing the device: the front goes away
// and leaves the device, open, to its owner.
func (s *Session) Stop() { s.stopPump() }

func (s *Session) stopPump() {
	s.stop()
	// A write into a full output is parked in the poller: wake it.
	_ = s.out.SetWriteDeadline(time.Now())
	<-s.done
	_ = s.out.SetWriteDeadline(time.Time{})
}

func (s *Session) report(err error, what string) {
	if err != nil && s.parent.Err() == nil {
		s.opts.Logger.Warn().Err(err).Msgf("session %s", what)
	}
}

// pump keeps a read request pending and writes what it returns to the
// output. When the program does not read, the output's write waits, no
// read is pending, and the device's typeahead fills as a real driver's
// does: flow control holds the peer back, or the excess is counted lost.
// A read returns at its first byte and leaves what came with it in the
// typeahead; reads of that complete at once, and the output gets all of
// it in one write.
func (s *Session) pump() {
	defer close(s.done)
	var buf []byte
	tw, _ := s.out.(TryWriter)
	for {
		gen, ok := s.wait()
		if !ok {
			return
		}
		buf = s.pumpBuf(buf)
		var n int
		var err error
		if tw != nil {
			n, err = s.relay(buf, gen, tw)
		} else {
			n, err = s.fill(buf, gen)
		}
		if err != nil {
			return
		}
		if n == 0 {
			continue
		}
		if g, ok := s.wait(); !ok || g != gen {
			continue // closing, or discarded
		}
		if _, err := s.out.Write(buf[:n]); err != nil {
			return
		}
	}
}

// wait waits while the session is held and returns the discard count; not
// ok when the session is closing. Before a read it starts the count the
// read's data is judged by; after one, a count that moved means the data
// was discarded.
func (s *Session) wait() (gen uint64, ok bool) {
	for {
		s.mu.Lock()
		held, resumed, gen := s.held, s.resumed, s.discards
		s.mu.Unlock()
		if !held {
			return gen, s.ctx.Err() == nil
		}
		select {
		case <-resumed:
		case <-s.ctx.Done():
			return 0, false
		}
	}
}

// fill reads into buf: one read that waits for the first byte, then what
// the typeahead holds, up to buf's size. When a purge empties the
// typeahead between the two, what came before goes to the output while
// the next read waits, unless the session is held or the data discarded
// since gen. An error means the output failed.
func (s *Session) fill(buf []byte, gen uint64) (int, error) {
	n, more, _ := s.read(buf, gen, nil)
	return s.fillMore(buf, gen, n, more)
}

// fillMore is fill after its first read, with n bytes in buf.
func (s *Session) fillMore(buf []byte, gen uint64, n int, more bool) (int, error) {
	for more && n < len(buf) {
		q := s.dev.Queued()
		if q == 0 {
			break
		}
		var m int
		var wrote bool
		var err error
		m, more, wrote, err = s.readRest(buf, n, q, gen)
		if err != nil {
			return 0, err
		}
		if wrote {
			n = copy(buf, buf[n:n+m])
		} else {
			n += m
		}
	}
	return n, nil
}

// readRest reads at most q bytes into buf after its first n, writing
// those n to the output first if the read has to wait (see fill). It
// reports how many it read, whether the pump may read on, and whether
// it wrote the n.
func (s *Session) readRest(buf []byte, n, q int, gen uint64) (m int, more, wrote bool, err error) {
	m, more, err = s.read(buf[n:n+min(q, len(buf)-n)], gen, func() error {
		wrote = true
		_, err := s.out.Write(buf[:n])
		return err
	})
	return m, more, wrote, err
}

// handBack is what the relay leaves the pump: n bytes in its buffer still
// to go to the output, a read still pending after them (a purge emptied
// the typeahead under it), or the output's error.
type handBack struct {
	n    int
	read *driver.IRP
	err  error
}

// relay is fill and the pump's write, run as completion routines on
// whatever goroutine completes the pump's reads (an ISR pass, a DPC):
// a read completes, what the typeahead holds is read after it, the lot
// goes to the output with TryWrite, and the next read is submitted, in
// the same requests as fill's. The pump goroutine waits meanwhile. It
// gets its work back when something needs waiting for (the output is
// full, a purge left a read pending, the session is held, discarded or
// closing) and carries on from there as fill would.
func (s *Session) relay(buf []byte, gen uint64, tw TryWriter) (int, error) {
	r := &relayRun{s: s, buf: buf, gen: gen, out: tw}
	r.routine = r.done // bound once: a method value per read would allocate
	r.next()
	var hb handBack
	select {
	case hb = <-s.back:
	case <-s.ctx.Done():
		s.mu.Lock()
		cur := s.curRead
		s.mu.Unlock()
		if cur != nil {
			s.dev.Cancel(cur) // its routine hands back
		}
		hb = <-s.back
	}
	if hb.err != nil || hb.read == nil {
		return hb.n, hb.err
	}
	// A read of the typeahead had to wait: write what came before it,
	// then wait for it, as fill does.
	n, wrote := hb.n, false
	if s.deliverable(gen) {
		wrote = true
		if _, err := s.out.Write(buf[:n]); err != nil {
			s.dev.Cancel(hb.read)
			<-hb.read.Done()
			return 0, err
		}
	}
	m, more := s.await(hb.read)
	if wrote {
		n = copy(buf, buf[n:n+m])
	} else {
		n += m
	}
	return s.fillMore(buf, gen, n, more)
}

// relayRun is one relay's state; only one goroutine at a time runs it.
type relayRun struct {
	s       *Session
	buf     []byte
	gen     uint64
	out     TryWriter
	routine func(*driver.IRP) // done
}

// next submits the read that waits for the first byte, and goes on with
// every one that completes at once.
func (r *relayRun) next() {
	for {
		irp, st, ok := r.s.submit(r.buf, r.gen, r.routine)
		if !ok {
			r.s.back <- handBack{}
			return
		}
		if st == driver.StatusPending {
			return // its completion routine goes on
		}
		if !r.deliver(irp) {
			return
		}
	}
}

// done is the first read's completion routine.
func (r *relayRun) done(irp *driver.IRP) {
	r.s.settled(irp)
	if r.deliver(irp) {
		r.next()
	}
}

// deliver takes a completed first read, reads what the typeahead holds
// after it, and writes the lot. It reports whether all went out, so the
// next read may go; if not, it has handed the pump its work.
func (r *relayRun) deliver(first *driver.IRP) bool {
	s, buf := r.s, r.buf
	n := len(first.Data())
	if !first.Status().OK() {
		s.back <- handBack{n: n}
		return false
	}
	for n < len(buf) {
		q := s.dev.Queued()
		if q == 0 {
			break
		}
		irp, st, ok := s.submit(buf[n:n+min(q, len(buf)-n)], r.gen, nil)
		if !ok {
			s.back <- handBack{n: n}
			return false
		}
		if st == driver.StatusPending {
			s.back <- handBack{n: n, read: irp}
			return false
		}
		n += len(irp.Data())
		if !irp.Status().OK() {
			s.back <- handBack{n: n}
			return false
		}
	}
	if !s.deliverable(r.gen) {
		s.back <- handBack{n: n}
		return false
	}
	w, err := r.out.TryWrite(buf[:n])
	if err != nil {
		s.back <- handBack{err: err}
		return false
	}
	if w < n {
		s.back <- handBack{n: copy(buf, buf[w:n])}
		return false
	}
	return true
}

// submit submits a read for the relay, with routine as its completion
// routine, under the session's lock as read does; not ok when the
// session is held, discarded since gen or closing.
func (s *Session) submit(buf []byte, gen uint64, routine func(*driver.IRP)) (*driver.IRP, driver.Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held || s.discards != gen || s.ctx.Err() != nil {
		return nil, 0, false
	}
	r := driver.NewRead(buf)
	r.Owner = s.owner
	r.OnComplete = routine
	st := s.dev.Submit(r)
	if st == driver.StatusPending {
		s.curRead = r
	}
	return r, st, true
}

// settled forgets a completed read that Hold and Discard may have had to
// take back.
func (s *Session) settled(r *driver.IRP) {
	s.mu.Lock()
	if s.curRead == r {
		s.curRead = nil
	}
	s.mu.Unlock()
}

// await waits for a pending read, cancelling it if the session closes,
// and reports what it got and whether it ended well.
func (s *Session) await(r *driver.IRP) (int, bool) {
	select {
	case <-r.Done():
	case <-s.ctx.Done():
		s.dev.Cancel(r)
		<-r.Done()
	}
	s.settled(r)
	return len(r.Data()), r.Status().OK()
}

// read reads into buf and reports how many bytes it got, and whether the
// pump may read on (not held, closing or discarded since gen). If the
// request has to wait and waiting is not nil, waiting runs first (when
// the data may be delivered); its error cancels the request. The request
// is submitted under the session's lock, so that Hold and Discard see
// every read they must take back.
func (s *Session) read(buf []byte, gen uint64, waiting func() error) (int, bool, error) {
	s.mu.Lock()
	if s.held || s.discards != gen || s.ctx.Err() != nil {
		s.mu.Unlock()
		return 0, false, nil
	}
	r := driver.NewRead(buf)
	r.Owner = s.owner
	st := s.dev.Submit(r)
	s.curRead = r
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.curRead = nil
		s.mu.Unlock()
	}()
	if st == driver.StatusPending && waiting != nil && s.deliverable(gen) {
		if err := waiting(); err != nil {
			s.dev.Cancel(r)
			<-r.Done()
			return 0, false, err
		}
	}
	select {
	case <-r.Done():
	case <-s.ctx.Done():
		s.dev.Cancel(r)
		<-r.Done()
	}
	return len(r.Data()), r.Status().OK(), nil
}

// deliverable reports whether data read since gen may go to the output
// now.
func (s *Session) deliverable(gen uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.held && s.discards == gen
}
