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
	// The receiver's ISR runs here, on the sender's pass: no hand-off.
	to.InputHere(taken, convert(signals, to, n.opts)...)
}

// DrivenInputs implements driver.InputDriver: the far end's RTS drives
// CTS, its DTR drives DSR and DCD; RI is left free.
func (n *NullModem) DrivenInputs(*driver.Device) uart16550.ModemInputs { return cableDrives() }

// String names the cable by its two ends, for errors.
func (n *NullModem) String() string {
	return "null-modem cable " + n.a.Name() + " <-> " + n.b.Name()
}
