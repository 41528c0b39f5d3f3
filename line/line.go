// Package line is what a virtual port's UART pins are wired to: the other
// end of a null-modem cable, or a loopback plug.
package line

import (
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/uart16550"
)

// Options configure a cable.
type Options struct {
	// CheckFraming makes a character sent with a baud rate or framing the
	// receiver does not match arrive with a framing error, as on a real
	// cable. Off, every character arrives intact whatever the settings.
	CheckFraming bool
}

// NullModem is a null-modem cable between two devices: TX to RX both ways,
// RTS to CTS, DTR to DSR and DCD, and a break passes through (as tty0tty
// and com0com wire it).
type NullModem struct {
	a, b *driver.Device
	opts Options
}

// Connect wires a and b together and gives each the other's present modem
// outputs.
func Connect(a, b *driver.Device, opts Options) *NullModem {
	n := &NullModem{a: a, b: b, opts: opts}
	a.SetWire(n)
	b.SetWire(n)
	b.Input(modemInput(a.Outputs()))
	a.Input(modemInput(b.Outputs()))
	return n
}

// Transmit implements driver.Wire.
func (n *NullModem) Transmit(from *driver.Device, signals []uart16550.Signal, taken func()) {
	to := n.b
	if from == n.b {
		to = n.a
	}
	to.InputThen(taken, convert(signals, to, n.opts)...)
}

// DrivenInputs implements driver.InputDriver: the far end's RTS drives
// CTS, its DTR drives DSR and DCD; RI is left free.
func (n *NullModem) DrivenInputs(*driver.Device) uart16550.ModemInputs { return cableDrives() }

// String names the cable by its two ends, for errors.
func (n *NullModem) String() string {
	return "null-modem cable " + n.a.Name() + " <-> " + n.b.Name()
}

// Loopback is a loopback plug: TX to RX, RTS to CTS, DTR to DSR and DCD on
// the same port.
type Loopback struct {
	d    *driver.Device
	opts Options
}

// Plug fits a loopback plug to d.
func Plug(d *driver.Device, opts Options) *Loopback {
	l := &Loopback{d: d, opts: opts}
	d.SetWire(l)
	d.Input(modemInput(d.Outputs()))
	return l
}

// Transmit implements driver.Wire.
func (l *Loopback) Transmit(from *driver.Device, signals []uart16550.Signal, taken func()) {
	from.InputThen(taken, convert(signals, from, l.opts)...)
}

// DrivenInputs implements driver.InputDriver: the port's own RTS drives
// its CTS, its DTR drives DSR and DCD; RI is left free.
func (l *Loopback) DrivenInputs(*driver.Device) uart16550.ModemInputs { return cableDrives() }

// String names the plug, for errors.
func (l *Loopback) String() string { return "loopback plug on " + l.d.Name() }

// cableDrives is what modemInput sets from the other side's outputs.
func cableDrives() uart16550.ModemInputs {
	return uart16550.ModemInputs{CTS: true, DSR: true, DCD: true}
}

var (
	_ driver.InputDriver = (*NullModem)(nil)
	_ driver.InputDriver = (*Loopback)(nil)
)

// modemInput is what a null-modem cable makes of the far end's outputs.
func modemInput(o uart16550.ModemOutputs) driver.Input {
	return driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: o.RTS, DSR: o.DTR, DCD: o.DTR}}
}

// convert turns what one chip put on its pins into what the other's
// inputs see.
func convert(signals []uart16550.Signal, to *driver.Device, opts Options) []driver.Input {
	in := make([]driver.Input, 0, len(signals))
	var want uart16550.Format
	if opts.CheckFraming {
		want = to.Format()
	}
	damage := func(f uart16550.Format) uart16550.RxError {
		if opts.CheckFraming && !compatible(f, want) {
			return uart16550.FramingError
		}
		return 0
	}
	for _, s := range signals {
		switch s.Kind {
		case uart16550.SignalChar:
			in = append(in, driver.Input{At: s.At, Kind: driver.InputChar, Char: s.Char, Err: damage(s.Format)})
		case uart16550.SignalChars:
			in = append(in, driver.Input{At: s.At, Kind: driver.InputChars, Data: s.Data, Err: damage(s.Format)})
		case uart16550.SignalBreak:
			in = append(in, driver.Input{At: s.At, Kind: driver.InputBreak, Break: s.Break})
		case uart16550.SignalModem:
			mi := modemInput(s.Modem)
			mi.At = s.At
			in = append(in, mi)
		}
	}
	return in
}

// compatible reports whether a receiver set to want reads a character sent
// with got: the same framing, and rates within 2 % (what a 16x-sampling
// UART tolerates over a 10-bit frame).
func compatible(got, want uart16550.Format) bool {
	if got.DataBits != want.DataBits || got.Parity != want.Parity {
		return false
	}
	r := got.Baud() / want.Baud()
	return r > 0.98 && r < 1.02
}
