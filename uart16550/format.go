package uart16550

import (
	"fmt"
	"time"
)

// Parity is the parity mode selected by LCR bits 3-5.
type Parity uint8

// Parity modes. Mark and Space are the 16550's "stick parity": the parity
// bit is sent (and expected) as a constant 1 or 0.
const (
	ParityNone Parity = iota
	ParityOdd
	ParityEven
	ParityMark
	ParitySpace
)

// String returns the one-letter name used in "8N1".
func (p Parity) String() string {
	switch p {
	case ParityNone:
		return "N"
	case ParityOdd:
		return "O"
	case ParityEven:
		return "E"
	case ParityMark:
		return "M"
	case ParitySpace:
		return "S"
	}
	return fmt.Sprintf("Parity(%d)", uint8(p))
}

// StopBits counts stop bits in half bits, so that 1.5 is exact.
type StopBits uint8

// Stop bit settings. LCR bit 2 selects Stop2, which the chip turns into
// 1.5 stop bits when words are 5 bits long.
const (
	Stop1   StopBits = 2
	Stop1_5 StopBits = 3
	Stop2   StopBits = 4
)

// String returns "1", "1.5" or "2".
func (s StopBits) String() string {
	switch s {
	case Stop1:
		return "1"
	case Stop1_5:
		return "1.5"
	case Stop2:
		return "2"
	}
	return fmt.Sprintf("StopBits(%d/2)", uint8(s))
}

// Format is the framing and speed a character is sent or received with: what
// a receiver at the other end must match to read it without errors.
type Format struct {
	ClockHz  uint32 // reference clock
	Divisor  uint32 // 1..65536 (a programmed 0 counts as 65536)
	DataBits uint8  // 5..8
	Parity   Parity
	StopBits StopBits
}

// Baud is the bit rate: clock / (16 x divisor).
func (f Format) Baud() float64 {
	return float64(f.ClockHz) / (16 * float64(f.Divisor))
}

// FrameHalfBits is the length of one character on the wire in half bits:
// start bit, data bits, parity bit and stop bits.
func (f Format) FrameHalfBits() uint32 {
	bits := 1 + uint32(f.DataBits)
	if f.Parity != ParityNone {
		bits++
	}
	return 2*bits + uint32(f.StopBits)
}

// CharTime is how long one character takes on the wire, truncated to the
// nanosecond. The 16x sample clock runs at ClockHz/divisor, so a half bit is
// 8 x divisor clock cycles.
func (f Format) CharTime() time.Duration {
	if f.ClockHz == 0 {
		return 0
	}
	return time.Duration(f.charCycles() * uint64(time.Second) / uint64(f.ClockHz))
}

// charCycles is the length of a character in reference clock cycles.
func (f Format) charCycles() uint64 {
	return uint64(f.FrameHalfBits()) * 8 * uint64(f.Divisor)
}

// String renders the format the way terminal programs do: "9600 8N1".
func (f Format) String() string {
	return fmt.Sprintf("%.0f %d%s%s", f.Baud(), f.DataBits, f.Parity, f.StopBits)
}

// format decodes LCR and the divisor latch.
func (u *UART) format() Format {
	div := uint32(u.dlm)<<8 | uint32(u.dll)
	if div == 0 {
		div = 1 << 16
	}
	f := Format{
		ClockHz:  u.clockHz,
		Divisor:  div,
		DataBits: 5 + u.lcr&LCRWordLength,
		StopBits: Stop1,
	}
	if u.lcr&LCRStopBits != 0 {
		f.StopBits = Stop2
		if f.DataBits == 5 {
			f.StopBits = Stop1_5
		}
	}
	if u.lcr&LCRParity != 0 {
		even := u.lcr&LCREvenParity != 0
		switch {
		case u.lcr&LCRStickParity != 0 && even:
			f.Parity = ParitySpace
		case u.lcr&LCRStickParity != 0:
			f.Parity = ParityMark
		case even:
			f.Parity = ParityEven
		default:
			f.Parity = ParityOdd
		}
	}
	return f
}

// Format reports the present framing and speed.
func (u *UART) Format() Format { return u.format() }

// dataMask keeps the bits of a character that the word length carries.
func (u *UART) dataMask() byte {
	return byte(0xFF) >> (3 - u.lcr&LCRWordLength)
}
