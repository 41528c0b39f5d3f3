package wire

import (
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/uart16550"
)

// Loopback is a loopback plug: TX to RX, RTS to CTS, DTR to DSR and DCD on
// the same port.
type Loopback struct {
	d    *driver.Device
	opts Options
	back scratch // convert's slice for the one direction
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
	buf, mine := l.back.take()
	in := convert(buf, signals, from, l.opts)
	from.InputThen(taken, in...) // copies in into the inbox
	if mine {
		l.back.give(in)
	}
}

// DrivenInputs implements driver.InputDriver: the port's own RTS drives
// its CTS, its DTR drives DSR and DCD; RI is left free.
func (l *Loopback) DrivenInputs(*driver.Device) uart16550.ModemInputs { return cableDrives() }

// String names the plug, for errors.
func (l *Loopback) String() string { return "loopback plug on " + l.d.Name() }
