package ioctl

import (
	"fmt"
	"strings"
)

// BaudRate is SERIAL_BAUD_RATE: bits per second.
type BaudRate struct {
	BaudRate uint32 `json:"baud_rate"`
}

// LineControl is SERIAL_LINE_CONTROL: framing.
type LineControl struct {
	StopBits   uint8 `json:"stop_bits"`   // StopBit1, StopBits1_5, StopBits2
	Parity     uint8 `json:"parity"`      // NoParity ... SpaceParity
	WordLength uint8 `json:"word_length"` // 5..8
}

// SERIAL_LINE_CONTROL values.
const (
	StopBit1    = 0
	StopBits1_5 = 1
	StopBits2   = 2

	NoParity    = 0
	OddParity   = 1
	EvenParity  = 2
	MarkParity  = 3
	SpaceParity = 4
)

// String renders framing as terminal programs do: "8N1", "5N1.5".
func (l LineControl) String() string {
	par := "?"
	if int(l.Parity) < len("NOEMS") {
		par = string("NOEMS"[l.Parity])
	}
	stop := "?"
	switch l.StopBits {
	case StopBit1:
		stop = "1"
	case StopBits1_5:
		stop = "1.5"
	case StopBits2:
		stop = "2"
	}
	return fmt.Sprintf("%d%s%s", l.WordLength, par, stop)
}

// HandFlow is SERIAL_HANDFLOW: flow control and error handling.
type HandFlow struct {
	ControlHandShake uint32 `json:"control_handshake"`
	FlowReplace      uint32 `json:"flow_replace"`
	XonLimit         int32  `json:"xon_limit"`  // send XON / raise RTS/DTR at or below this many queued bytes
	XoffLimit        int32  `json:"xoff_limit"` // send XOFF / drop RTS/DTR when free space falls to this
}

// ControlHandShake bits.
const (
	DTRControl      = 0x01 // DTR on
	DTRHandshake    = 0x02 // DTR is input flow control
	DTRMask         = 0x03
	CTSHandshake    = 0x08 // hold output while CTS is low
	DSRHandshake    = 0x10 // hold output while DSR is low
	DCDHandshake    = 0x20 // hold output while DCD is low
	DSRSensitivity  = 0x40 // discard input while DSR is low
	ErrorAbort      = 0x80000000
	ControlInvalid  = 0x7FFFFF84
	OutHandshakeAll = CTSHandshake | DSRHandshake | DCDHandshake
)

// FlowReplace bits.
const (
	AutoTransmit     = 0x01 // obey received XON/XOFF
	AutoReceive      = 0x02 // send XOFF/XON as the receive buffer fills and drains
	ErrorChar        = 0x04 // replace damaged characters with Chars.ErrorChar
	NullStripping    = 0x08 // drop received NULs
	BreakChar        = 0x10 // insert Chars.BreakChar on a break
	RTSControl       = 0x40 // RTS on
	RTSHandshake     = 0x80 // RTS is input flow control
	TransmitToggle   = 0xC0 // RTS on only while transmitting
	RTSMask          = 0xC0
	XoffContinue     = 0x80000000 // keep sending after we sent XOFF
	FlowReplaceValid = AutoTransmit | AutoReceive | ErrorChar | NullStripping | BreakChar | RTSMask | XoffContinue
	FlowInvalid      = 0x7FFFFF20
)

// Timeouts is SERIAL_TIMEOUTS (Win32 COMMTIMEOUTS), in milliseconds.
type Timeouts struct {
	ReadIntervalTimeout         uint32 `json:"read_interval_timeout"`
	ReadTotalTimeoutMultiplier  uint32 `json:"read_total_timeout_multiplier"`
	ReadTotalTimeoutConstant    uint32 `json:"read_total_timeout_constant"`
	WriteTotalTimeoutMultiplier uint32 `json:"write_total_timeout_multiplier"`
	WriteTotalTimeoutConstant   uint32 `json:"write_total_timeout_constant"`
}

// MaxTimeout is MAXULONG, the special value in SERIAL_TIMEOUTS.
const MaxTimeout = ^uint32(0)

// Chars is SERIAL_CHARS: the special characters.
type Chars struct {
	EofChar   byte `json:"eof_char"`
	ErrorChar byte `json:"error_char"`
	BreakChar byte `json:"break_char"`
	EventChar byte `json:"event_char"`
	XonChar   byte `json:"xon_char"`
	XoffChar  byte `json:"xoff_char"`
}

// QueueSize is SERIAL_QUEUE_SIZE.
type QueueSize struct {
	InSize  uint32 `json:"in_size"`
	OutSize uint32 `json:"out_size"`
}

// XoffCounterArgs is SERIAL_XOFF_COUNTER.
type XoffCounterArgs struct {
	Timeout  uint32 `json:"timeout"`
	Counter  int32  `json:"counter"`
	XoffChar byte   `json:"xoff_char"`
}

// WaitMask is a set of SERIAL_EV_* events.
type WaitMask uint32

// SERIAL_EV_* events.
const (
	EvRxChar   WaitMask = 0x0001
	EvRxFlag   WaitMask = 0x0002
	EvTxEmpty  WaitMask = 0x0004
	EvCTS      WaitMask = 0x0008
	EvDSR      WaitMask = 0x0010
	EvRLSD     WaitMask = 0x0020
	EvBreak    WaitMask = 0x0040
	EvErr      WaitMask = 0x0080
	EvRing     WaitMask = 0x0100
	EvPErr     WaitMask = 0x0200
	EvRx80Full WaitMask = 0x0400
	EvEvent1   WaitMask = 0x0800
	EvEvent2   WaitMask = 0x1000
	EvAll      WaitMask = 0x1FFF
)

// The flag-name lists are functions so that no caller can change them.
func evNames() []string {
	return []string{"RXCHAR", "RXFLAG", "TXEMPTY", "CTS", "DSR", "RLSD", "BREAK", "ERR", "RING", "PERR", "RX80FULL", "EVENT1", "EVENT2"}
}

// String lists the events: "RXCHAR|CTS".
func (m WaitMask) String() string { return flagString(uint32(m), evNames()) }

// ParseWaitMask turns "rxchar,cts" or "RXCHAR|CTS" into a mask.
func ParseWaitMask(s string) (WaitMask, error) {
	v, err := parseFlags(s, evNames())
	return WaitMask(v), err
}

// PurgeMask is a set of SERIAL_PURGE_* flags.
type PurgeMask uint32

// SERIAL_PURGE_* flags.
const (
	PurgeTxAbort PurgeMask = 0x1
	PurgeRxAbort PurgeMask = 0x2
	PurgeTxClear PurgeMask = 0x4
	PurgeRxClear PurgeMask = 0x8
	PurgeAll     PurgeMask = 0xF
)

func purgeNames() []string {
	return []string{"TXABORT", "RXABORT", "TXCLEAR", "RXCLEAR"}
}

// String lists the flags: "TXABORT|TXCLEAR".
func (m PurgeMask) String() string { return flagString(uint32(m), purgeNames()) }

// CommStatus is SERIAL_STATUS, the answer to GET_COMMSTATUS.
type CommStatus struct {
	Errors           uint32 `json:"errors"`       // SERIAL_ERROR_*
	HoldReasons      uint32 `json:"hold_reasons"` // SERIAL_TX_WAITING_* / SERIAL_RX_WAITING_*
	AmountInInQueue  uint32 `json:"amount_in_in_queue"`
	AmountInOutQueue uint32 `json:"amount_in_out_queue"`
	EofReceived      bool   `json:"eof_received"`
	WaitForImmediate bool   `json:"wait_for_immediate"`
}

// SERIAL_ERROR_* bits.
const (
	ErrBreak         = 0x01
	ErrFraming       = 0x02
	ErrOverrun       = 0x04
	ErrQueueOverrun  = 0x08
	ErrParity        = 0x10
	errorBitsDefined = 0x1F
)

// Hold reasons (SERIAL_TX_WAITING_* and SERIAL_RX_WAITING_FOR_DSR).
const (
	TxWaitingForCTS   = 0x01
	TxWaitingForDSR   = 0x02
	TxWaitingForDCD   = 0x04
	TxWaitingForXon   = 0x08
	TxWaitingXoffSent = 0x10
	TxWaitingOnBreak  = 0x20
	RxWaitingForDSR   = 0x40
)

func errorNames() []string {
	return []string{"BREAK", "FRAMING", "OVERRUN", "QUEUEOVERRUN", "PARITY"}
}

func holdNames() []string {
	return []string{"CTS", "DSR", "DCD", "XON", "XOFF_SENT", "BREAK", "RX_DSR"}
}

// ErrorString lists SERIAL_ERROR_* bits.
func ErrorString(v uint32) string { return flagString(v, errorNames()) }

// HoldString lists hold reasons.
func HoldString(v uint32) string { return flagString(v, holdNames()) }

// PerfStats is SERIALPERF_STATS.
type PerfStats struct {
	ReceivedCount           uint32 `json:"received_count"`
	TransmittedCount        uint32 `json:"transmitted_count"`
	FrameErrorCount         uint32 `json:"frame_error_count"`
	SerialOverrunErrorCount uint32 `json:"serial_overrun_error_count"`
	BufferOverrunErrorCount uint32 `json:"buffer_overrun_error_count"`
	ParityErrorCount        uint32 `json:"parity_error_count"`
}

// Properties is the part of SERIAL_COMMPROP a program looks at.
type Properties struct {
	MaxBaud            uint32 `json:"max_baud"`
	CurrentRxQueue     uint32 `json:"current_rx_queue"`
	CurrentTxQueue     uint32 `json:"current_tx_queue"`
	SettableData       uint16 `json:"settable_data"`        // SERIAL_DATABITS_5..8 bits
	SettableStopParity uint16 `json:"settable_stop_parity"` // SERIAL_STOPBITS_* | SERIAL_PARITY_*
	ProvSubType        uint32 `json:"prov_sub_type"`        // SERIAL_SP_RS232
}

// DTR/RTS state bits (GET_DTRRTS) and MSR bits (GET_MODEMSTATUS).
const (
	DTRState = 0x1
	RTSState = 0x2

	MSRDeltaCTS = 0x01
	MSRDeltaDSR = 0x02
	MSRTERI     = 0x04
	MSRDeltaDCD = 0x08
	MSRCTS      = 0x10
	MSRDSR      = 0x20
	MSRRI       = 0x40
	MSRDCD      = 0x80
)

func flagString(v uint32, names []string) string {
	if v == 0 {
		return "0"
	}
	var parts []string
	for i, n := range names {
		if v&(1<<i) != 0 {
			parts = append(parts, n)
			v &^= 1 << i
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("%#x", v))
	}
	return strings.Join(parts, "|")
}

func parseFlags(s string, names []string) (uint32, error) {
	var v uint32
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' || r == ' ' }) {
		found := false
		for i, n := range names {
			if strings.EqualFold(f, n) {
				v |= 1 << i
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown flag %q (known: %s)", f, strings.Join(names, ", "))
		}
	}
	return v, nil
}
