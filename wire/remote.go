package wire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/rawio"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/rfc2217"
	"github.com/vcomd/vcomd/uart16550"
)

// Reconnection backoff when RemoteOptions leave it zero.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// remoteReadSize is what one socket read takes. The next read waits until
// the device has applied these bytes, so this is also all the wire holds
// for a port whose program does not read: the rest waits in TCP, which
// stops the server.
const remoteReadSize = 4096

// maxUnanswered bounds the requests of one setting kept to compare with
// answers that may never come.
const maxUnanswered = 8

// lineEvents is the SET-LINESTATE-MASK asked for: the line events the
// UART can show, none of the status bits (data ready, THR/TSR empty) a
// server would otherwise report on every byte.
const lineEvents = rfc2217.LineBreak | rfc2217.LineFraming | rfc2217.LineParity | rfc2217.LineOverrun

var (
	_ driver.InputDriver  = (*Remote)(nil)
	_ driver.SettingsWire = (*Remote)(nil)
)

// RemoteOptions configure a Remote.
type RemoteOptions struct {
	// Raw makes the wire a plain TCP stream (socket://): data only, and
	// the connection itself is the carrier (DCD, DSR and CTS). Otherwise
	// it speaks RFC 2217 (rfc2217://).
	Raw    bool
	Logger zerolog.Logger
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts: it starts at MinBackoff, doubles after each failure up
	// to MaxBackoff, and starts again after a connection that lived.
	// Zero means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// RemoteState is a snapshot of a Remote.
type RemoteState struct {
	Address   string    // the URL, as String
	Connected bool      // a server holds the far end (RFC 2217: agreed to COM-PORT-OPTION)
	Since     time.Time // when Connected last changed; zero until the first connection
	Connects  uint64    // connections made
	// LostTx counts bytes the UART sent that no server took: sent while
	// disconnected, or queued in the wire and unsent when the connection
	// dropped.
	LostTx    uint64
	LastError string // why the last attempt failed or the last connection ended
	Peer      string // the server's RFC 2217 SIGNATURE, if it sent one
}

// Remote is a wire whose far end is a network server: an RFC 2217 access
// server (ser2net, a terminal server, another vcomd) or a raw TCP socket.
// It connects in the background and again after every drop; while no
// server holds the far end, the port sees an unplugged cable: no carrier,
// and what it sends is lost and counted.
type Remote struct {
	dev  *driver.Device
	addr string
	opts RemoteOptions
	log  zerolog.Logger
	// ctx ends at Close; it cuts a dial and every wait.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	changed notifier // closed and replaced when the writer has work
	// sess is the connection in use; nil while disconnected or before an
	// RFC 2217 server has agreed to COM-PORT-OPTION.
	sess *remoteSession
	out  []remoteItem // what Transmit handed over, not yet written
	// outBuf is out's encoded bytes, in order, each item's n of them: one
	// buffer that keeps its capacity, rather than a slice per Transmit.
	outBuf   []byte
	settings ioctl.Settings
	outputs  uart16550.ModemOutputs // the UART's outputs as last seen
	held     bool                   // the server asked, by FLOWCONTROL-SUSPEND, for no data
	closed   bool
	state    RemoteState
	// stateChanged is closed and replaced when the connection comes up,
	// drops, or an attempt fails, for tests to wait on.
	stateChanged notifier
}

// remoteItem is one Transmit's worth of bytes for the socket.
type remoteItem struct {
	n     int // bytes of outBuf it takes, encoded: IAC doubled, SET-CONTROLs for modem lines and break
	chars int // characters of data it carries
	taken func()
}

// remoteSession is one connection.
type remoteSession struct {
	conn net.Conn
	wmu  sync.Mutex // one writer on the socket at a time: the writer, and the reader's answers
	// What was last sent on this connection, so that only changes go out,
	// and what was asked and not yet answered, oldest first, to compare
	// with the answers, which come in order.
	sent    remoteSent
	asked   map[askKey][]uint32
	started bool // the initial settings, lines and masks went out
}

// remoteSent are the RFC 2217 values in force on the server as far as we
// asked; zero is "not sent yet".
type remoteSent struct {
	baud, dataSize, parity, stopSize, flow, inFlow uint32
}

// askKey names a setting whose answer is compared with the request.
// SET-CONTROL values fall into groups (flow, break, DTR, RTS, inbound
// flow), each its own setting.
type askKey struct {
	cmd   rfc2217.Command
	group uint8
}

// DialRemote makes the server at addr ("host:port") dev's wire and returns
// at once: a goroutine connects, and reconnects after a drop, until Close.
// Until it connects the port sees no carrier.
func DialRemote(dev *driver.Device, addr string, opts RemoteOptions) *Remote {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	r := &Remote{
		dev:     dev,
		addr:    addr,
		opts:    opts,
		outputs: dev.Outputs(),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.state.Address = r.String()
	r.log = opts.Logger.With().Str("port", dev.Name()).Str("remote", r.state.Address).Logger()
	dev.SetWire(r) // LineSettings gives r the present settings
	dev.Input(r.carrier(false))
	r.wg.Add(1)
	go r.run()
	return r
}

// String is the server's URL: "rfc2217://host:port" or "socket://host:port".
func (r *Remote) String() string {
	if r.opts.Raw {
		return "socket://" + r.addr
	}
	return "rfc2217://" + r.addr
}

// State returns a snapshot of the connection.
func (r *Remote) State() RemoteState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Close ends the connection and the goroutines and waits for them; a
// socket read or write in progress is cut by a deadline. What was queued
// and unsent is counted lost. The device keeps r as its wire (sending into
// nothing) until the caller sets another.
func (r *Remote) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.cancel()
	r.mu.Unlock()
	r.wg.Wait()
}

// DrivenInputs implements driver.InputDriver: an RFC 2217 server reports
// all four modem inputs; a raw socket drives the carrier ones.
func (r *Remote) DrivenInputs(*driver.Device) uart16550.ModemInputs {
	if r.opts.Raw {
		return uart16550.ModemInputs{CTS: true, DSR: true, DCD: true}
	}
	return uart16550.ModemInputs{CTS: true, DSR: true, RI: true, DCD: true}
}

// LineSettings implements driver.SettingsWire: the writer sends what
// changed to an RFC 2217 server (a raw socket has nowhere to put them).
func (r *Remote) LineSettings(_ *driver.Device, s ioctl.Settings) {
	r.mu.Lock()
	r.settings = s
	r.changed.notify()
	r.mu.Unlock()
}

// Transmit implements driver.Wire. Connected, the signals are encoded and
// queued for the writer, which calls taken once the socket write carrying
// them returned; disconnected, they are lost and counted, and taken is
// called at once, as an unplugged cable takes whatever is sent into it.
func (r *Remote) Transmit(_ *driver.Device, signals []uart16550.Signal, taken func()) {
	var it remoteItem
	r.mu.Lock()
	sess := r.sess
	start := len(r.outBuf)
	buf := r.outBuf
	for _, s := range signals {
		switch s.Kind {
		case uart16550.SignalChar:
			buf = r.appendChar(buf, s.Char)
			it.chars++
		case uart16550.SignalChars:
			buf = r.appendData(buf, s.Data)
			it.chars += len(s.Data)
		case uart16550.SignalBreak:
			if !r.opts.Raw {
				v := uint32(rfc2217.ControlBreakOff)
				if s.Break {
					v = rfc2217.ControlBreakOn
				}
				buf = sess.askLocked(buf, rfc2217.SetControl, v)
			}
		case uart16550.SignalModem:
			if !r.opts.Raw {
				buf = sess.linesLocked(buf, r.outputs, s.Modem, false)
			}
			r.outputs = s.Modem
		}
	}
	if sess == nil || r.closed {
		r.outBuf = buf[:start] // encoded for nobody
		r.state.LostTx += uint64(it.chars)
		r.mu.Unlock()
		if taken != nil {
			taken()
		}
		return
	}
	it.n, it.taken = len(buf)-start, taken
	r.outBuf = buf
	r.out = append(r.out, it)
	r.changed.notify()
	r.mu.Unlock()
}

// appendData encodes data for the socket: IAC doubled for RFC 2217.
func (r *Remote) appendData(dst, p []byte) []byte {
	if r.opts.Raw {
		return append(dst, p...)
	}
	return rfc2217.AppendData(dst, p)
}

// appendChar is appendData of one character, without a slice for it.
func (r *Remote) appendChar(dst []byte, c byte) []byte {
	if !r.opts.Raw && c == rfc2217.IAC {
		dst = append(dst, rfc2217.IAC)
	}
	return append(dst, c)
}

// linesLocked appends the SET-CONTROLs that take DTR and RTS from was to
// now; all sends both whatever was.
func (s *remoteSession) linesLocked(dst []byte, was, now uart16550.ModemOutputs, all bool) []byte {
	if all || now.DTR != was.DTR {
		dst = s.askLocked(dst, rfc2217.SetControl, pick(now.DTR, rfc2217.ControlDTROn, rfc2217.ControlDTROff))
	}
	if all || now.RTS != was.RTS {
		dst = s.askLocked(dst, rfc2217.SetControl, pick(now.RTS, rfc2217.ControlRTSOn, rfc2217.ControlRTSOff))
	}
	return dst
}

func pick(b bool, yes, no uint32) uint32 {
	if b {
		return yes
	}
	return no
}

// carrier is what the port's modem inputs are with the connection up or
// down (RI off). A raw socket's connection is the carrier; over RFC 2217
// the lines are the server's, set by its NOTIFY-MODEMSTATE (which servers
// send once the mask is set), and only their drop follows the connection.
func (r *Remote) carrier(up bool) driver.Input {
	return driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: up, DSR: up, DCD: up}}
}

// run connects, serves the connection, and after it ends waits the
// backoff before the next attempt, until Close.
func (r *Remote) run() {
	defer r.wg.Done()
	backoff := r.opts.MinBackoff
	var said string // the last failure logged at warn level
	for {
		var d net.Dialer
		conn, err := d.DialContext(r.ctx, "tcp", r.addr)
		if err == nil {
			began := time.Now()
			err = r.serve(conn)
			if time.Since(began) >= backoff {
				backoff = r.opts.MinBackoff // it lived: a fresh drop gets a quick retry
			}
		}
		if r.ctx.Err() != nil {
			return
		}
		again := said == err.Error()
		said = err.Error()
		r.mu.Lock()
		r.state.LastError = err.Error()
		r.stateChanged.notify()
		r.mu.Unlock()
		// A server that stays away fails the same way every MaxBackoff:
		// said once, then only at debug level.
		ev := r.log.Warn()
		if again {
			ev = r.log.Debug()
		}
		ev.Err(err).Dur("retry_in", backoff).Msg("remote wire down")
		wait := time.NewTimer(backoff)
		select {
		case <-r.ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
		backoff = min(2*backoff, r.opts.MaxBackoff)
	}
}

// Why a connection ended, besides socket errors.
var (
	errNoComPort = errors.New("server did not agree to COM-PORT-OPTION")
	errClosed    = errors.New("wire closed")
)

// serve runs one connection until it fails or Close, and reports why it
// ended. The reader runs on its own goroutine; this one writes.
func (r *Remote) serve(conn net.Conn) error {
	s := &remoteSession{conn: rawio.NewConn(conn), asked: map[askKey][]uint32{}} // see internal/rawio for why
	r.mu.Lock()
	r.state.Peer = "" // until this server says who it is
	r.mu.Unlock()
	readerDone := make(chan error, 1)
	ready := make(chan struct{})
	var client *rfc2217.Client
	if !r.opts.Raw {
		client = rfc2217.NewClient()
		if err := s.write(client.Start()); err != nil {
			conn.Close()
			return fmt.Errorf("%s: %w", r, err)
		}
	} else {
		close(ready)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		readerDone <- r.read(s, client, ready)
	}()

	readerEnded, err := r.writeLoop(s, ready, readerDone)
	// Cut the reader wherever it is blocked, and wait for it.
	conn.SetDeadline(time.Now()) //nolint:errcheck // closing anyway
	conn.Close()
	if !readerEnded {
		<-readerDone
	}
	err = fmt.Errorf("%s: %w", r, err)
	r.drop(s, err)
	return err
}

// up marks the connection ready for data: raw at once, RFC 2217 once the
// server agreed to COM-PORT-OPTION.
func (r *Remote) up(s *remoteSession) {
	r.mu.Lock()
	r.sess = s
	r.held = false
	r.state.Connected, r.state.Since = true, time.Now()
	r.state.Connects++
	r.state.LastError = ""
	r.changed.notify()
	r.stateChanged.notify()
	r.mu.Unlock()
	r.log.Info().Str("server", s.conn.RemoteAddr().String()).Msg("remote wire connected")
	if r.opts.Raw {
		r.dev.Input(r.carrier(true))
	}
}

// drop ends a connection's part in the wire, for err: the carrier goes, and what was
// queued and unsent is counted lost and acknowledged.
func (r *Remote) drop(s *remoteSession, err error) {
	r.mu.Lock()
	if r.sess != s {
		r.mu.Unlock()
		return // it never came up
	}
	r.sess = nil
	// The reason in the same change, so that nobody sees the wire down
	// with none.
	r.state.Connected, r.state.Since, r.state.LastError = false, time.Now(), err.Error()
	r.stateChanged.notify()
	lost := r.out
	r.out, r.outBuf = nil, r.outBuf[:0]
	for _, it := range lost {
		r.state.LostTx += uint64(it.chars)
	}
	r.mu.Unlock()
	r.dev.Input(r.carrier(false))
	for _, it := range lost {
		if it.taken != nil {
			it.taken()
		}
	}
}

// write sends p whole, serialised with the other writer.
func (s *remoteSession) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.conn.Write(p)
	return err
}

// writeLoop sends what Transmit queued and what LineSettings changed,
// until the reader ends, a write fails, or Close. An RFC 2217 connection
// that does not agree to COM-PORT-OPTION within rfc2217.DefaultTimeout is
// given up. It reports whether it ended at the reader's end (whose error
// it then took), and why.
func (r *Remote) writeLoop(s *remoteSession, ready <-chan struct{}, readerDone <-chan error) (bool, error) {
	negotiation := time.NewTimer(rfc2217.DefaultTimeout)
	defer negotiation.Stop()
	// buf and batch are this loop's alone and keep their capacity from
	// one write to the next.
	var buf []byte
	var batch []remoteItem
	for {
		r.mu.Lock()
		buf, batch = buf[:0], batch[:0]
		if r.sess == s {
			if !r.opts.Raw {
				buf = r.settingsLocked(s, buf)
			}
			k, size := 0, 0
			for k < len(r.out) && !(r.held && r.out[k].chars > 0) {
				size += r.out[k].n
				k++
			}
			buf = append(buf, r.outBuf[:size]...)
			batch = append(batch, r.out[:k]...)
			r.outBuf = r.outBuf[:copy(r.outBuf, r.outBuf[size:])]
			r.out = slices.Delete(r.out, 0, k)
		}
		var wake <-chan struct{}
		if len(buf) == 0 && len(batch) == 0 {
			// Taken in the same hold as the look that found nothing, so a
			// Transmit after it closes this very channel; made only when
			// the writer is about to wait.
			wake = r.changed.C()
		}
		r.mu.Unlock()
		if wake == nil {
			err := s.write(buf)
			if err != nil {
				r.mu.Lock()
				for _, it := range batch {
					r.state.LostTx += uint64(it.chars)
				}
				r.mu.Unlock()
			}
			for _, it := range batch {
				if it.taken != nil {
					it.taken()
				}
			}
			clear(batch) // the callbacks, until the next write reuses it
			if err != nil {
				return false, fmt.Errorf("write: %w", err)
			}
			continue
		}
		select {
		case <-wake:
		case <-ready:
			ready = nil
			negotiation.Stop()
			if r.opts.Raw {
				r.up(s)
			}
		case err := <-readerDone:
			return true, err
		case <-negotiation.C:
			return false, errNoComPort
		case <-r.ctx.Done():
			return false, errClosed
		}
	}
}

// settingsLocked appends the RFC 2217 requests that bring the server to
// the port's present settings: all of them, the modem lines and the
// notification masks the first time on a connection, what changed after.
func (r *Remote) settingsLocked(s *remoteSession, buf []byte) []byte {
	want := wantSent(r.settings)
	ask := func(cmd rfc2217.Command, was *uint32, v uint32) {
		if v == 0 || *was == v {
			return // 0 would be a query
		}
		*was = v
		buf = s.askLocked(buf, cmd, v)
	}
	ask(rfc2217.SetBaudRate, &s.sent.baud, want.baud)
	ask(rfc2217.SetDataSize, &s.sent.dataSize, want.dataSize)
	ask(rfc2217.SetParity, &s.sent.parity, want.parity)
	ask(rfc2217.SetStopSize, &s.sent.stopSize, want.stopSize)
	// Inbound first: a server that has one hardware flow setting for both
	// directions (a termios CRTSCTS) ends with the outbound one, which a
	// local CRTSCTS sets the same.
	ask(rfc2217.SetControl, &s.sent.inFlow, want.inFlow)
	ask(rfc2217.SetControl, &s.sent.flow, want.flow)
	if !s.started {
		s.started = true
		buf = rfc2217.AppendRequest(buf, rfc2217.Signature, 0, nil) // asks the server's
		buf = s.linesLocked(buf, r.outputs, r.outputs, true)
		buf = rfc2217.AppendRequest(buf, rfc2217.SetModemStateMask, 0xFF, nil)
		buf = rfc2217.AppendRequest(buf, rfc2217.SetLineStateMask, lineEvents, nil)
	}
	return buf
}

// askLocked appends the request cmd v and records it for the answer. On
// no session (disconnected: the bytes are dropped) it only encodes.
func (s *remoteSession) askLocked(buf []byte, cmd rfc2217.Command, v uint32) []byte {
	if s == nil {
		return rfc2217.AppendRequest(buf, cmd, v, nil)
	}
	k := askKey{cmd, controlGroup(cmd, v)}
	if q := s.asked[k]; len(q) >= maxUnanswered {
		// A server that never answers this one (ser2net on a pty ignores
		// SET-CONTROL DTR and RTS) must not make the list grow for ever.
		s.asked[k] = q[1:]
	}
	s.asked[k] = append(s.asked[k], v)
	return rfc2217.AppendRequest(buf, cmd, v, nil)
}

// wantSent is what the port's settings are in RFC 2217 values.
func wantSent(st ioctl.Settings) remoteSent {
	return remoteSent{
		baud:     st.Baud.BaudRate,
		dataSize: uint32(st.Line.WordLength),
		parity:   uint32(st.Line.Parity) + 1, // NoParity..SpaceParity are 0..4, RFC 2217's 1..5
		stopSize: map[uint8]uint32{ioctl.StopBit1: rfc2217.StopOne, ioctl.StopBits1_5: rfc2217.StopOneHalf, ioctl.StopBits2: rfc2217.StopTwo}[st.Line.StopBits],
		flow:     outboundFlow(st),
		inFlow:   inboundFlow(st),
	}
}

// outboundFlow is the SET-CONTROL for what holds the port's output.
func outboundFlow(s ioctl.Settings) uint32 {
	hs := s.HandFlow.ControlHandShake
	switch {
	case hs&ioctl.CTSHandshake != 0:
		return rfc2217.ControlFlowHardware
	case s.HandFlow.FlowReplace&ioctl.AutoTransmit != 0:
		return rfc2217.ControlFlowXonXoff
	case hs&ioctl.DCDHandshake != 0:
		return rfc2217.ControlFlowDCD
	case hs&ioctl.DSRHandshake != 0:
		return rfc2217.ControlFlowDSR
	}
	return rfc2217.ControlFlowNone
}

// inboundFlow is the SET-CONTROL for how the port stops its peer.
func inboundFlow(s ioctl.Settings) uint32 {
	switch {
	case s.HandFlow.FlowReplace&ioctl.RTSMask == ioctl.RTSHandshake:
		return rfc2217.ControlInFlowHardware
	case s.HandFlow.FlowReplace&ioctl.AutoReceive != 0:
		return rfc2217.ControlInFlowXonXoff
	case s.HandFlow.ControlHandShake&ioctl.DTRMask == ioctl.DTRHandshake:
		return rfc2217.ControlInFlowDTR
	}
	return rfc2217.ControlInFlowNone
}

// controlGroup is which setting a SET-CONTROL value belongs to; other
// commands have one setting each (group 0).
func controlGroup(cmd rfc2217.Command, v uint32) uint8 {
	if cmd != rfc2217.SetControl {
		return 0
	}
	switch v {
	case rfc2217.ControlFlowQuery, rfc2217.ControlFlowNone, rfc2217.ControlFlowXonXoff, rfc2217.ControlFlowHardware,
		rfc2217.ControlFlowDCD, rfc2217.ControlFlowDSR:
		return 1
	case rfc2217.ControlBreakQuery, rfc2217.ControlBreakOn, rfc2217.ControlBreakOff:
		return 2
	case rfc2217.ControlDTRQuery, rfc2217.ControlDTROn, rfc2217.ControlDTROff:
		return 3
	case rfc2217.ControlRTSQuery, rfc2217.ControlRTSOn, rfc2217.ControlRTSOff:
		return 4
	}
	return 5 // inbound flow
}

// read takes what the server sends and applies it to the device. After
// each read it waits until the device has applied the data before reading
// again: a port whose program does not read holds the server back through
// TCP, with no buffer here.
func (r *Remote) read(s *remoteSession, client *rfc2217.Client, ready chan struct{}) error {
	buf := make([]byte, remoteReadSize)
	var damage uart16550.RxError // a NOTIFY-LINESTATE error for the next character
	for {
		n, err := s.conn.Read(buf)
		if n > 0 {
			var in []driver.Input
			data := buf[:n]
			if client != nil {
				res := client.Feed(data)
				if werr := s.write(res.Out); werr != nil {
					return werr
				}
				for _, p := range res.Problems {
					r.log.Warn().Err(p).Msg("malformed input from the server, dropped")
				}
				in = r.messages(s, res.Messages, &damage, in)
				if ready != nil && client.Ready() {
					close(ready)
					ready = nil
					r.up(s)
				}
				data = res.Data
			}
			in = appendReceived(in, data, &damage)
			if err := r.apply(in); err != nil {
				return err
			}
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
}

// apply gives the device in, in order, waiting until it has applied each
// part. A break's release is stamped a character time after the device
// applied its start, on the port's own clock: the UART reports a break
// (BI) only once the line has been at space that long, and the server's
// notification says only that one happened. What follows waits for the
// release, as it would on the line.
func (r *Remote) apply(in []driver.Input) error {
	for len(in) > 0 {
		n := len(in)
		for i, x := range in {
			if x.Kind == driver.InputBreak {
				n = max(i, 1) // a break starts or ends a part
				break
			}
		}
		part := in[:n]
		if x := part[0]; x.Kind == driver.InputBreak && !x.Break {
			part = []driver.Input{{At: r.dev.Now() + r.dev.Format().CharTime(), Kind: driver.InputBreak}}
		}
		applied := make(chan struct{})
		r.dev.InputThen(func() { close(applied) }, part...)
		select {
		case <-applied:
		case <-r.ctx.Done():
			return errClosed
		}
		in = in[n:]
	}
	return nil
}

// appendReceived appends data as received characters, the first damaged
// by a pending line-state error. data is copied: the buffer it is in is
// read into again.
func appendReceived(in []driver.Input, data []byte, damage *uart16550.RxError) []driver.Input {
	if len(data) == 0 {
		return in
	}
	if *damage != 0 {
		in = append(in, driver.Input{Kind: driver.InputChar, Char: data[0], Err: *damage})
		*damage, data = 0, data[1:]
	}
	if len(data) > 0 {
		in = append(in, driver.Input{Kind: driver.InputChars, Data: append([]byte(nil), data...)})
	}
	return in
}

// messages turns the server's notifications into inputs and checks its
// answers against what was asked.
func (r *Remote) messages(s *remoteSession, msgs []rfc2217.Message, damage *uart16550.RxError, in []driver.Input) []driver.Input {
	for _, m := range msgs {
		switch m.Cmd {
		case rfc2217.NotifyModemState:
			v := byte(m.Value)
			in = append(in, driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{
				CTS: v&rfc2217.ModemCTS != 0, DSR: v&rfc2217.ModemDSR != 0,
				RI: v&rfc2217.ModemRI != 0, DCD: v&rfc2217.ModemCD != 0,
			}})
		case rfc2217.NotifyLineState:
			v := byte(m.Value)
			if v&rfc2217.LineBreak != 0 {
				in = append(in, driver.Input{Kind: driver.InputBreak, Break: true}, driver.Input{Kind: driver.InputBreak})
			}
			if v&rfc2217.LineOverrun != 0 {
				in = append(in, driver.Input{Kind: driver.InputOverrun})
			}
			// A framing or parity error damages the next character
			// received rather than adding a NUL: a server sends the
			// damaged character itself as data (it has no other way to
			// mark it), so the count of characters stays what the line
			// carried.
			if v&rfc2217.LineFraming != 0 {
				*damage |= uart16550.FramingError
			}
			if v&rfc2217.LineParity != 0 {
				*damage |= uart16550.ParityError
			}
		case rfc2217.FlowControlSuspend, rfc2217.FlowControlResume:
			r.mu.Lock()
			r.held = m.Cmd == rfc2217.FlowControlSuspend
			r.changed.notify()
			r.mu.Unlock()
		case rfc2217.Signature:
			if len(m.Text) > 0 {
				r.mu.Lock()
				r.state.Peer = string(m.Text)
				r.stateChanged.notify()
				r.mu.Unlock()
			}
		default:
			r.checkAnswer(s, m)
		}
	}
	return in
}

// checkAnswer logs an answer that carries a value other than the one
// asked: the server could not, or would not, set it.
func (r *Remote) checkAnswer(s *remoteSession, m rfc2217.Message) {
	key := askKey{m.Cmd, controlGroup(m.Cmd, m.Value)}
	r.mu.Lock()
	q := s.asked[key]
	ok := len(q) > 0
	var asked uint32
	if ok {
		asked = q[0]
		s.asked[key] = q[1:]
	}
	r.mu.Unlock()
	r.log.Debug().Stringer("command", m.Cmd).Uint32("value", m.Value).Msg("server answered")
	if ok && asked != m.Value {
		r.log.Warn().Stringer("command", m.Cmd).Uint32("asked", asked).Uint32("answered", m.Value).
			Msg("the server answered a setting with another value")
	}
	if ok && len(q) == 1 {
		r.mu.Lock()
		if len(s.asked[key]) == 0 {
			delete(s.asked, key)
		}
		r.stateChanged.notify() // after the log line: tests wait for every answer
		r.mu.Unlock()
	}
}
