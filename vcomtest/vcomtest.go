// Package vcomtest gives Go tests serial ports without hardware, in the
// test's own process, as net/http/httptest gives them servers: a null-modem
// pair or a loopback port, each a pty that any serial library opens by its
// path, behind vcomd's emulated 16550A and driver. The ports are removed by
// t.Cleanup.
package vcomtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/ptyfront"
	"github.com/vcomd/vcomd/uart16550"
	"github.com/vcomd/vcomd/wire"
)

// Port is one test port.
type Port struct {
	// Path is the pty to open, /dev/pts/N.
	Path string
	dev  *driver.Device
	pty  *ptyfront.Port
}

// Option changes how ports are made.
type Option func(*settings)

type settings struct {
	instant bool
	fifo    int
}

// TimingOff makes characters take no time on the wire, for tests that
// want speed rather than realism. By default a port keeps the baud rate's
// timing, as hardware does.
func TimingOff() Option { return func(s *settings) { s.instant = true } }

// FIFODepth sets the UART FIFOs' depth (16 by default).
func FIFODepth(n int) Option { return func(s *settings) { s.fifo = n } }

// NewPair returns the two ends of a null-modem cable: what one sends the
// other receives, RTS drives the other's CTS, DTR its DSR and DCD.
func NewPair(t testing.TB, opts ...Option) (a, b *Port) {
	t.Helper()
	ports := newPorts(t, 2, opts)
	wire.Connect(ports[0].dev, ports[1].dev, wire.Options{})
	return ports[0], ports[1]
}

// NewLoopback returns a port with a loopback plug: it receives what it
// sends, its RTS drives its CTS, its DTR its DSR and DCD.
func NewLoopback(t testing.TB, opts ...Option) *Port {
	t.Helper()
	p := newPorts(t, 1, opts)[0]
	wire.Plug(p.dev, wire.Options{})
	return p
}

func newPorts(t testing.TB, n int, opts []Option) []*Port {
	t.Helper()
	var s settings
	for _, o := range opts {
		o(&s)
	}
	if s.instant && s.fifo == 0 {
		s.fifo = 256 // depth only matters for timing; deeper is faster
	}
	w, err := ptyfront.NewWatcher()
	if err != nil {
		t.Fatalf("vcomtest: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	epoch := time.Now()
	ports := make([]*Port, n)
	for i := range ports {
		dev := driver.New(driver.Options{Name: fmt.Sprintf("%s/%d", t.Name(), i), Instant: s.instant, FIFODepth: s.fifo, Epoch: epoch})
		pty, err := ptyfront.Open(dev, w, ptyfront.Options{UID: -1, GID: -1})
		if err != nil {
			dev.Close()
			t.Fatalf("vcomtest: %v", err)
		}
		t.Cleanup(func() {
			pty.Close()
			dev.Close()
		})
		ports[i] = &Port{Path: pty.Path(), dev: dev, pty: pty}
	}
	return ports
}

// WaitOpen waits until the port has seen a program open it. The port
// learns of an open a moment after the program's open returns; bytes sent
// to it before then are dropped, as by a real port that is not yet open.
func (p *Port) WaitOpen(ctx context.Context) error {
	for {
		open, changed := p.pty.State()
		if open {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be opened: %w", p.Path, ctx.Err())
		}
	}
}

// Device is the driver behind the port, for requests this package does not
// wrap (any ioctl.Code through driver.NewIoctl).
func (p *Port) Device() *driver.Device { return p.dev }

// Break holds the port's transmit line at space for d: the other end of a
// pair receives a break.
func (p *Port) Break(ctx context.Context, d time.Duration) error {
	if err := p.ioctl(ctx, ioctl.SetBreakOn, nil); err != nil {
		return err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	return p.ioctl(context.Background(), ioctl.SetBreakOff, nil)
}

// SetDTR and SetRTS drive the port's own modem outputs, as a program's
// TIOCMSET would on hardware (a pty cannot carry it).
func (p *Port) SetDTR(ctx context.Context, on bool) error {
	return p.ioctl(ctx, pick(on, ioctl.SetDTR, ioctl.ClrDTR), nil)
}

// SetRTS: see SetDTR.
func (p *Port) SetRTS(ctx context.Context, on bool) error {
	return p.ioctl(ctx, pick(on, ioctl.SetRTS, ioctl.ClrRTS), nil)
}

// Receive makes the port receive b as if from the line, damaged as err says
// (uart16550.FramingError, ParityError, or 0): how a test shows a program
// line errors.
func (p *Port) Receive(b byte, err uart16550.RxError) {
	p.dev.Input(driver.Input{Kind: driver.InputChar, Char: b, Err: err})
}

// Stats are the port's counters: bytes, errors, overruns, breaks.
func (p *Port) Stats(ctx context.Context) (ioctl.PerfStats, error) {
	irp := driver.NewIoctl(ioctl.GetStats, nil)
	if _, err := p.dev.Call(ctx, irp); err != nil {
		return ioctl.PerfStats{}, err
	}
	return irp.Output().(ioctl.PerfStats), nil
}

// ioctl makes a request and waits, briefly, until the wire has carried
// what it did to the pins, so that the other end sees it as soon as this
// returns, as over a real cable. A far end whose line waits for a reader
// (timing off, its buffer full) may hold the change back; the request is
// made either way.
func (p *Port) ioctl(ctx context.Context, code ioctl.Code, in any) error {
	if _, err := p.dev.Call(ctx, driver.NewIoctl(code, in)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_ = p.dev.Delivered(ctx)
	return nil
}

func pick(on bool, yes, no ioctl.Code) ioctl.Code {
	if on {
		return yes
	}
	return no
}
