package ioctl

import (
	"fmt"
	"strings"
)

// vcomd's own IOCTLs, for what the control API does that no Windows serial
// IOCTL can: drive a port's modem inputs from outside, damage what it
// receives, and read a snapshot of the whole port. They sit in the
// vendor-defined function range (2048 and up, where CTL_CODE reserves
// the lower functions for Microsoft), so they never collide with a real
// serial IOCTL, and they go through the driver as IRPs like the others,
// so a trace shows them.
const (
	// SetModemInputs drives CTS, DSR, RI and DCD as a far end would. Pins
	// the port's wire drives are refused.
	SetModemInputs Code = 0x1B0000 | (vcomFunction+0)<<2
	// Inject damages what the port receives: characters with framing or
	// parity errors, overruns, or random noise, reproducibly from a seed.
	Inject Code = 0x1B0000 | (vcomFunction+1)<<2
	// GetPortState reads a snapshot of the port: the UART's registers,
	// both sides' modem lines, queue depths, hold reasons, errors and
	// counters. Unlike GET_COMMSTATUS it clears nothing.
	GetPortState Code = 0x1B0000 | (vcomFunction+2)<<2
)

// vcomFunction is the first vendor-defined CTL_CODE function number.
const vcomFunction = 0x800

// VcomCodes lists vcomd's own IOCTLs, in function order.
func VcomCodes() []Code { return []Code{SetModemInputs, Inject, GetPortState} }

// vcomName is the name of one of vcomd's own IOCTLs, or "".
func (c Code) vcomName() string {
	switch c {
	case SetModemInputs:
		return "VCOM_SET_MODEM_INPUTS"
	case Inject:
		return "VCOM_INJECT"
	case GetPortState:
		return "VCOM_GET_PORT_STATE"
	}
	return ""
}

// ModemInputs is the input of VCOM_SET_MODEM_INPUTS: the inputs named in
// Mask take the levels of the same bits in Value. The bits are MSR's:
// MSRCTS, MSRDSR, MSRRI and MSRDCD.
type ModemInputs struct {
	Mask  uint8 `json:"mask"`
	Value uint8 `json:"value"`
}

// modemInputBits are the MSR bits a far end drives.
const modemInputBits = MSRCTS | MSRDSR | MSRRI | MSRDCD

// Validate requires at least one input, only inputs, and no level for an
// input not named.
func (m ModemInputs) Validate() error {
	switch {
	case m.Mask == 0:
		return invalid(SetModemInputs, "mask", 0, "name at least one of CTS, DSR, RI, DCD")
	case m.Mask&^modemInputBits != 0:
		return invalid(SetModemInputs, "mask", fmt.Sprintf("%#x", m.Mask), fmt.Sprintf("bits %#x are not modem inputs (CTS 0x10, DSR 0x20, RI 0x40, DCD 0x80)", m.Mask&^modemInputBits))
	case m.Value&^m.Mask != 0:
		return invalid(SetModemInputs, "value", fmt.Sprintf("%#x", m.Value), fmt.Sprintf("bits %#x are not in the mask", m.Value&^m.Mask))
	}
	return nil
}

// String lists the changes: "CTS=on RI=off".
func (m ModemInputs) String() string {
	var parts []string
	for _, p := range []struct {
		bit  uint8
		name string
	}{{MSRCTS, "CTS"}, {MSRDSR, "DSR"}, {MSRRI, "RI"}, {MSRDCD, "DCD"}} {
		if m.Mask&p.bit != 0 {
			parts = append(parts, p.name+"="+onOff(m.Value&p.bit != 0))
		}
	}
	return strings.Join(parts, " ")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// InjectKind is the damage VCOM_INJECT does.
type InjectKind string

// The kinds of damage.
const (
	// InjectFraming delivers characters whose stop bit was space.
	InjectFraming InjectKind = "framing"
	// InjectParity delivers characters with the wrong parity bit; only a
	// receiver that checks parity sees them as errors.
	InjectParity InjectKind = "parity"
	// InjectOverrun loses characters at the UART, as when its receive
	// FIFO is full: each is an overrun the ISR sees.
	InjectOverrun InjectKind = "overrun"
	// InjectNoise delivers random characters, most of them with framing
	// or parity errors, as a noisy line does.
	InjectNoise InjectKind = "noise"
)

// MaxInjectCount bounds one injection: enough to fill any typeahead
// buffer several times, small enough that one request cannot hold a port
// for long.
const MaxInjectCount = 65536

// Injection is the input of VCOM_INJECT.
type Injection struct {
	Kind  InjectKind `json:"kind"`
	Count uint32     `json:"count"` // characters damaged, delivered or lost
	// Rate is characters per second; 0 means back to back at the port's
	// speed and framing. At timing off every character arrives at once.
	Rate uint32 `json:"rate"`
	// Seed makes the characters and their damage reproducible: the same
	// seed gives the same injection.
	Seed uint64 `json:"seed"`
}

// Validate checks the kind, the count and the rate.
func (in Injection) Validate() error {
	switch in.Kind {
	case InjectFraming, InjectParity, InjectOverrun, InjectNoise:
	default:
		return invalid(Inject, "kind", in.Kind, "want framing, parity, overrun or noise")
	}
	if in.Count == 0 || in.Count > MaxInjectCount {
		return invalid(Inject, "count", in.Count, fmt.Sprintf("must be 1..%d", MaxInjectCount))
	}
	if in.Rate > MaxBaud {
		return invalid(Inject, "rate", in.Rate, fmt.Sprintf("must be 0..%d characters per second", MaxBaud))
	}
	return nil
}

// PortState is the output of VCOM_GET_PORT_STATE.
type PortState struct {
	Baud uint32      `json:"baud"`
	Line LineControl `json:"line"`
	// The UART's registers as a read would return them, without a read's
	// side effects (reading LSR or MSR clears bits; this does not).
	Registers Registers `json:"registers"`
	// The modem lines at the chip's pins: what the far end drives, and
	// what this port drives.
	CTS  bool `json:"cts"`
	DSR  bool `json:"dsr"`
	RI   bool `json:"ri"`
	DCD  bool `json:"dcd"`
	DTR  bool `json:"dtr"`
	RTS  bool `json:"rts"`
	OUT1 bool `json:"out1"`
	OUT2 bool `json:"out2"`
	// WireDriven are the MSR bits of the inputs the port's wire drives;
	// VCOM_SET_MODEM_INPUTS refuses them.
	WireDriven uint8 `json:"wire_driven"`
	BreakIn    bool  `json:"break_in"`  // RX held at space by the far end
	BreakOut   bool  `json:"break_out"` // this port sends a break

	FIFODepth   int    `json:"fifo_depth"`
	RxFIFO      int    `json:"rx_fifo"`       // characters in the RX FIFO
	TxFIFO      int    `json:"tx_fifo"`       // characters in the TX FIFO
	InQueue     int    `json:"in_queue"`      // typeahead bytes no read owns
	InQueueSize int    `json:"in_queue_size"` // the typeahead buffer's size
	OutQueue    int    `json:"out_queue"`     // bytes writes still have to hand to the UART
	Reads       int    `json:"reads"`         // read requests waiting, with the current one
	Writes      int    `json:"writes"`        // write requests waiting, with the current one
	HoldReasons uint32 `json:"hold_reasons"`  // SERIAL_TX_WAITING_* and SERIAL_RX_WAITING_FOR_DSR
	Errors      uint32 `json:"errors"`        // SERIAL_ERROR_* since the last GET_COMMSTATUS
	WaitMask    uint32 `json:"wait_mask"`
	Opens       int    `json:"opens"` // IRP_MJ_CREATE without its IRP_MJ_CLOSE

	Counters Counters `json:"counters"`
	// Work is what the driver did for the port since the device was
	// made: what its costs are counted in.
	Work Work `json:"work"`
}

// Work counts the driver's own activity, not the line's: ISR passes per
// request and DPC runs per request say how often the daemon wakes for
// what a program asks.
type Work struct {
	ISRPasses uint64 `json:"isr_passes"` // times the ISR caught the chip up to the present
	DPCRuns   uint64 `json:"dpc_runs"`   // deferred routines run
	Requests  uint64 `json:"requests"`   // IRPs submitted
}

// Registers are a 16550A's eight registers and its divisor latch.
type Registers struct {
	RBR uint8 `json:"rbr"`
	IER uint8 `json:"ier"`
	IIR uint8 `json:"iir"`
	FCR uint8 `json:"fcr"`
	LCR uint8 `json:"lcr"`
	MCR uint8 `json:"mcr"`
	LSR uint8 `json:"lsr"`
	MSR uint8 `json:"msr"`
	SCR uint8 `json:"scr"`
	DLL uint8 `json:"dll"`
	DLM uint8 `json:"dlm"`
}

// Counters are SERIALPERF_STATS with the break and modem-line counts of
// Linux's serial_icounter_struct, since the port was last opened.
type Counters struct {
	PerfStats
	BreakCount uint64 `json:"break_count"`
	CTSCount   uint64 `json:"cts_count"`
	DSRCount   uint64 `json:"dsr_count"`
	RingCount  uint64 `json:"ring_count"`
	DCDCount   uint64 `json:"dcd_count"`
	// TxHolds counts the times output flow control stopped the
	// transmitter: how often the far end held this port back.
	TxHolds uint64 `json:"tx_holds"`
}

// ParseLineControl reads framing as terminal programs write it: "8N1",
// "7E1", "5N1.5", "8O2" (data bits, then N, O, E, M or S, then stop bits),
// the inverse of LineControl.String. The result is validated.
func ParseLineControl(s string) (LineControl, error) {
	bad := fmt.Errorf("framing %q: want data bits 5-8, parity N, O, E, M or S, and stop bits 1, 1.5 or 2, like 8N1 or 7E1", s)
	u := strings.ToUpper(strings.TrimSpace(s))
	if len(u) < 3 || u[0] < '5' || u[0] > '8' {
		return LineControl{}, bad
	}
	l := LineControl{WordLength: u[0] - '0'}
	p := strings.IndexByte("NOEMS", u[1])
	if p < 0 {
		return LineControl{}, bad
	}
	l.Parity = uint8(p)
	switch u[2:] {
	case "1":
		l.StopBits = StopBit1
	case "1.5":
		l.StopBits = StopBits1_5
	case "2":
		l.StopBits = StopBits2
	default:
		return LineControl{}, bad
	}
	if err := l.Validate(); err != nil {
		return LineControl{}, fmt.Errorf("framing %q: %w", s, err)
	}
	return l, nil
}
