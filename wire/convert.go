package wire

import (
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/uart16550"
)

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
