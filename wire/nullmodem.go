package wire

import (
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/uart16550"
)

// NullModem is a null-modem cable between two devices: TX to RX both ways,
// RTS to CTS, DTR to DSR and DCD, and a break passes through (as tty0tty
// and com0com wire it).
type NullModem struct {
	a, b *driver.Device
	opts Options
	// toA and toB are the two directions' convert slices: toB for what a
	// transmits, toA for what b does.
	toA, toB scratch
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
	to, sc := n.b, &n.toB
	if from == n.b {
		to, sc = n.a, &n.toA
	}
	buf, mine := sc.take()
	in := convert(buf, signals, to, n.opts)
	// The receiver's ISR runs here, on the sender's pass: no hand-off.
	// InputHere has copied in into the inbox when it returns.
	to.InputHere(taken, in...)
	if mine {
		sc.give(in)
	}
}

// DrivenInputs implements driver.InputDriver: the far end's RTS drives
// CTS, its DTR drives DSR and DCD; RI is left free.
func (n *NullModem) DrivenInputs(*driver.Device) uart16550.ModemInputs { return cableDrives() }

// String names the cable by its two ends, for errors.
func (n *NullModem) String() string {
	return "null-modem cable " + n.a.Name() + " <-> " + n.b.Name()
}
