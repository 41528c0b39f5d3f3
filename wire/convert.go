package wire

import (
	"slices"
	"sync/atomic"

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
// inputs see, appended to dst.
func convert(dst []driver.Input, signals []uart16550.Signal, to *driver.Device, opts Options) []driver.Input {
	in := slices.Grow(dst, len(signals))
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
			in = append(in, driver.Input{At: s.At, Kind: driver.InputChars, Data: s.Data, Err: damage(s.Format), Step: s.Step, Frac0: s.Frac0, Format: s.Format})
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

// scratch is one direction's reusable []driver.Input for convert, so that
// a Transmit allocates nothing once the slice has grown to the longest
// batch. The driver copies the inputs into the receiver's inbox before
// InputThen or InputHere returns (inputLocked appends them), so the slice
// is free again as soon as that call returns.
//
// Each direction has one caller at a time: Transmit is called only from
// the sending device's ISR pass, and a device's passes run one at a time
// (driver.Device.service holds passMu through the pass, Transmit
// included; a pass wanted meanwhile is run by the goroutine already in
// one, not inside it). busy guards that assumption rather than trusts
// it: a Transmit that finds the slice taken, as it would if a later
// driver called a wire from two goroutines for one device, or re-entered
// a direction while its inputs were being handed over, converts into a
// fresh slice, as before, instead of racing.
type scratch struct {
	busy atomic.Bool
	in   []driver.Input
}

// take returns the slice to convert into, empty, and whether it is the
// scratch (to be given back) or nil because another Transmit holds it.
func (s *scratch) take() ([]driver.Input, bool) {
	if !s.busy.CompareAndSwap(false, true) {
		return nil, false
	}
	return s.in[:0], true
}

// give hands back the slice take returned, as convert grew it, once the
// driver has copied the inputs. It drops the references the inputs hold
// (a SignalChars' data), so that the scratch keeps nothing of the sender's
// alive until the next batch.
func (s *scratch) give(in []driver.Input) {
	clear(in)
	s.in = in[:0]
	s.busy.Store(false)
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
