package netfront

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/rfc2217"
	"github.com/vcomd/vcomd/session"
	"github.com/vcomd/vcomd/wire"
)

// watchdog bounds every wait of a test, so a lost byte or message fails
// it rather than the suite's timeout. It is no timed assertion: on a
// working server each wait ends within milliseconds.
const watchdog = 20 * time.Second

// rig is a served device wired by a null-modem cable to a peer device the
// test plays, or fitted with a loopback plug.
type rig struct {
	t     testing.TB
	dev   *driver.Device // served
	peer  *driver.Device // nil with a loopback plug
	srv   *Server
	logs  *logSink
	trace *traceLog
}

type rigOption func(*rigConfig)

type rigConfig struct {
	loopback bool
	instant  bool
}

// loopback fits the served device with a loopback plug instead of a peer.
func loopback(c *rigConfig) { c.loopback = true }

// realistic runs the devices at the baud rate's timing.
func realistic(c *rigConfig) { c.instant = false }

func newRig(t testing.TB, opts Options, ro ...rigOption) *rig {
	t.Helper()
	cfg := rigConfig{instant: true}
	for _, o := range ro {
		o(&cfg)
	}
	r := &rig{t: t, logs: newLogSink(), trace: &traceLog{}}
	epoch := time.Now()
	devOpts := func(name string) driver.Options {
		o := driver.Options{Name: name, Instant: cfg.instant, Epoch: epoch}
		if cfg.instant {
			o.FIFODepth = 256
		}
		return o
	}
	do := devOpts("served")
	do.Trace = r.trace.add
	r.dev = driver.New(do)
	t.Cleanup(func() { r.dev.Close() })
	if cfg.loopback {
		wire.Plug(r.dev, wire.Options{})
	} else {
		r.peer = driver.New(devOpts("peer"))
		t.Cleanup(func() { r.peer.Close() })
		wire.Connect(r.dev, r.peer, wire.Options{})
		r.call(r.peer, &driver.IRP{Major: driver.MajorCreate, Owner: 1})
		r.peerIoctl(ioctl.SetTimeouts, session.Timeouts)
	}
	opts.Logger = zerolog.New(r.logs)
	srv, err := Listen(r.dev, "127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	return r
}

func (r *rig) addr() string { return r.srv.Addr().String() }

func (r *rig) call(dev *driver.Device, irp *driver.IRP) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if _, err := dev.Call(ctx, irp); err != nil {
		r.t.Fatalf("%v %v on %s: %v", irp.Major, irp.Code, dev.Name(), err)
	}
}

// devIoctl makes a request of the served device and returns its output.
func (r *rig) devIoctl(code ioctl.Code, in any) any {
	r.t.Helper()
	irp := driver.NewIoctl(code, in)
	r.call(r.dev, irp)
	return irp.Output()
}

func (r *rig) peerIoctl(code ioctl.Code, in any) any {
	r.t.Helper()
	irp := driver.NewIoctl(code, in)
	irp.Owner = 1
	r.call(r.peer, irp)
	return irp.Output()
}

// peerRead reads exactly n bytes on the peer.
func (r *rig) peerRead(n int) []byte {
	r.t.Helper()
	var got []byte
	for len(got) < n {
		rd := driver.NewRead(make([]byte, n-len(got)))
		rd.Owner = 1
		r.call(r.peer, rd)
		got = append(got, rd.Data()...)
	}
	return got
}

func (r *rig) peerWrite(b []byte) {
	r.t.Helper()
	w := driver.NewWrite(bytes.Clone(b))
	w.Owner = 1
	r.call(r.peer, w)
}

// peerWriteAsync writes b on the peer from a goroutine of its own, for a
// test that reads it meanwhile; a failure fails the test at its end.
func (r *rig) peerWriteAsync(b []byte) {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), watchdog)
		defer cancel()
		w := driver.NewWrite(bytes.Clone(b))
		w.Owner = 1
		_, err := r.peer.Call(ctx, w)
		done <- err
	}()
	r.t.Cleanup(func() {
		if err := <-done; err != nil {
			r.t.Errorf("peer's write: %v", err)
		}
	})
}

// settle waits until what either device put on its pins has reached the
// other and been applied there. Device.Delivered alone answers at once
// when the signals already left in an earlier round of the ISR, before
// the far end has applied them; a round of the far end's ISR after that
// applies them. So: this side's round (its signals are in the far end's
// inbox), the far end's (applied, and its own signals sent), this side's
// again.
func (r *rig) settle() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	for _, d := range []*driver.Device{r.dev, r.peer, r.dev} {
		if err := d.Delivered(ctx); err != nil {
			r.t.Fatal(err)
		}
	}
}

// ioctls lists the device-control requests the served device started, in
// order, from the trace.
func (r *rig) ioctls() []driver.TraceEvent { return r.trace.list() }

// sawIoctl reports whether the served device started code with input in
// (nil: any input).
func (r *rig) sawIoctl(code ioctl.Code, in any) bool {
	for _, ev := range r.ioctls() {
		if ev.Code == code && (in == nil || ev.Input == in) {
			return true
		}
	}
	return false
}

// traceLog keeps the device-control requests a device started.
type traceLog struct {
	mu     sync.Mutex
	events []driver.TraceEvent
}

func (l *traceLog) add(ev driver.TraceEvent) {
	if ev.Phase != driver.PhaseStart || ev.Major != driver.MajorDeviceControl {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *traceLog) list() []driver.TraceEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]driver.TraceEvent(nil), l.events...)
}

// logSink is the server's log, which tests wait on.
type logSink struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced at every line
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, string(p))
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// count is how many lines contain sub.
func (s *logSink) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// wait waits for a line that contains every one of subs and returns it.
func (s *logSink) wait(t testing.TB, subs ...string) string {
	t.Helper()
	timeout := time.After(watchdog)
	seen := 0
	for {
		s.mu.Lock()
		lines, changed := s.lines[seen:], s.changed
		seen = len(s.lines)
		s.mu.Unlock()
	next:
		for _, l := range lines {
			for _, sub := range subs {
				if !strings.Contains(l, sub) {
					continue next
				}
			}
			return l
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no log line with %q in %v; log:\n%s", subs, watchdog, s.all())
		}
	}
}

func (s *logSink) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "")
}

// tclient is a test's own RFC 2217 client on rfc2217.Client, which sees
// every message the server sends.
type tclient struct {
	t     testing.TB
	conn  net.Conn
	wmu   sync.Mutex
	msgs  chan rfc2217.Message
	data  chan []byte
	ended chan struct{} // the server closed the connection
	buf   []byte        // data received and not yet taken
}

func dialTelnet(t testing.TB, addr string) *tclient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &tclient{t: t, conn: conn, msgs: make(chan rfc2217.Message, 1<<12), data: make(chan []byte, 1<<12), ended: make(chan struct{})}
	role := rfc2217.NewClient()
	c.write(role.Start())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.ended)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if n > 0 {
				r := role.Feed(buf[:n])
				if len(r.Out) > 0 {
					c.write(bytes.Clone(r.Out))
				}
				for _, m := range r.Messages {
					c.msgs <- m
				}
				if len(r.Data) > 0 {
					c.data <- bytes.Clone(r.Data)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return c
}

func (c *tclient) write(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, _ = c.conn.Write(b)
}

func (c *tclient) request(cmd rfc2217.Command, v uint32) {
	c.write(rfc2217.AppendRequest(nil, cmd, v, nil))
}

// expect waits for a message from the server that match accepts,
// skipping others.
func (c *tclient) expect(what string, match func(rfc2217.Message) bool) rfc2217.Message {
	c.t.Helper()
	timeout := time.After(watchdog)
	for {
		select {
		case m := <-c.msgs:
			if match(m) {
				return m
			}
		case <-c.ended:
			c.t.Fatalf("connection ended waiting for %s", what)
		case <-timeout:
			c.t.Fatalf("no %s in %v", what, watchdog)
		}
	}
}

// answer sends a request and returns the value of the server's answer.
func (c *tclient) answer(cmd rfc2217.Command, v uint32) uint32 {
	c.t.Helper()
	c.request(cmd, v)
	return c.expect(cmd.String()+" answer", func(m rfc2217.Message) bool { return m.Cmd == cmd }).Value
}

// modemState waits for a NOTIFY-MODEMSTATE whose lines (high nibble) are
// want.
func (c *tclient) modemState(want byte) {
	c.t.Helper()
	c.expect(fmt.Sprintf("NOTIFY-MODEMSTATE with lines %#02x", want), func(m rfc2217.Message) bool {
		return m.Cmd == rfc2217.NotifyModemState && byte(m.Value)&0xF0 == want
	})
}

// readData waits for n data bytes.
func (c *tclient) readData(n int) []byte {
	c.t.Helper()
	timeout := time.After(watchdog)
	for len(c.buf) < n {
		select {
		case d := <-c.data:
			c.buf = append(c.buf, d...)
		case <-c.ended:
			select {
			case d := <-c.data:
				c.buf = append(c.buf, d...)
				continue
			default:
			}
			c.t.Fatalf("connection ended after %d of %d bytes", len(c.buf), n)
		case <-timeout:
			c.t.Fatalf("%d of %d bytes in %v", len(c.buf), n, watchdog)
		}
	}
	got := c.buf[:n]
	c.buf = c.buf[n:]
	return got
}

// waitEnded waits for the server to close the connection.
func (c *tclient) waitEnded() {
	c.t.Helper()
	select {
	case <-c.ended:
	case <-time.After(watchdog):
		c.t.Fatalf("the server kept the connection for %v", watchdog)
	}
}

// readAll reads a plain connection until the server closes it.
func readAll(t testing.TB, conn net.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(watchdog))
	var b bytes.Buffer
	_, err := b.ReadFrom(conn)
	if err != nil && !isReset(err) {
		t.Fatalf("reading until the server closes: %v (got %q)", err, b.String())
	}
	return b.String()
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// pattern is n bytes cycling through every byte value, 0xFF among them.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}
