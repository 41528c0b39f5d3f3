package rfc2217

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Command is an RFC 2217 COM-PORT-OPTION command code as a client sends
// it. A server answers or notifies with the same command plus
// [ServerOffset] on the wire; this package strips the offset when
// decoding, so both roles speak in Commands.
type Command uint8

// The RFC 2217 commands.
const (
	Signature          Command = 0
	SetBaudRate        Command = 1
	SetDataSize        Command = 2
	SetParity          Command = 3
	SetStopSize        Command = 4
	SetControl         Command = 5
	NotifyLineState    Command = 6
	NotifyModemState   Command = 7
	FlowControlSuspend Command = 8
	FlowControlResume  Command = 9
	SetLineStateMask   Command = 10
	SetModemStateMask  Command = 11
	PurgeData          Command = 12

	numCommands = 13
)

// ServerOffset is added to a Command on the wire when the server sends it.
const ServerOffset = 100

var commandNames = [numCommands]string{
	"SIGNATURE", "SET-BAUDRATE", "SET-DATASIZE", "SET-PARITY", "SET-STOPSIZE",
	"SET-CONTROL", "NOTIFY-LINESTATE", "NOTIFY-MODEMSTATE", "FLOWCONTROL-SUSPEND",
	"FLOWCONTROL-RESUME", "SET-LINESTATE-MASK", "SET-MODEMSTATE-MASK", "PURGE-DATA",
}

// String returns the command's name as RFC 2217 spells it.
func (c Command) String() string {
	if c < numCommands {
		return commandNames[c]
	}
	return fmt.Sprintf("command(%d)", uint8(c))
}

// SET-PARITY values.
const (
	ParityNone  = 1
	ParityOdd   = 2
	ParityEven  = 3
	ParityMark  = 4
	ParitySpace = 5
)

// SET-STOPSIZE values.
const (
	StopOne     = 1
	StopTwo     = 2
	StopOneHalf = 3
)

// SET-CONTROL values.
const (
	ControlFlowQuery      = 0
	ControlFlowNone       = 1
	ControlFlowXonXoff    = 2
	ControlFlowHardware   = 3
	ControlBreakQuery     = 4
	ControlBreakOn        = 5
	ControlBreakOff       = 6
	ControlDTRQuery       = 7
	ControlDTROn          = 8
	ControlDTROff         = 9
	ControlRTSQuery       = 10
	ControlRTSOn          = 11
	ControlRTSOff         = 12
	ControlInFlowQuery    = 13
	ControlInFlowNone     = 14
	ControlInFlowXonXoff  = 15
	ControlInFlowHardware = 16
	ControlFlowDCD        = 17
	ControlInFlowDTR      = 18
	ControlFlowDSR        = 19
	maxControl            = ControlFlowDSR
)

// PURGE-DATA values, from the access server's point of view.
const (
	PurgeReceive  = 1 // data the server received from the device, not yet sent to the client
	PurgeTransmit = 2 // data from the client not yet sent to the device
	PurgeBoth     = 3
)

// NOTIFY-LINESTATE bits.
const (
	LineTimeout   = 0x80
	LineTSREmpty  = 0x40
	LineTHREmpty  = 0x20
	LineBreak     = 0x10
	LineFraming   = 0x08
	LineParity    = 0x04
	LineOverrun   = 0x02
	LineDataReady = 0x01
)

// NOTIFY-MODEMSTATE bits: the four line states in the high nibble, their
// changes in the low one.
const (
	ModemCD       = 0x80
	ModemRI       = 0x40
	ModemDSR      = 0x20
	ModemCTS      = 0x10
	ModemDeltaCD  = 0x08
	ModemRIEdge   = 0x04 // RI went from on to off
	ModemDeltaDSR = 0x02
	ModemDeltaCTS = 0x01

	modemLines = ModemCD | ModemRI | ModemDSR | ModemCTS
)

// Message is one decoded COM-PORT-OPTION sub-negotiation: a client's
// request or a server's answer or notification.
type Message struct {
	Cmd   Command
	Value uint32 // the number carried; 0 for commands without one
	Text  []byte // SIGNATURE text
	// Err is set when the payload was malformed or its value out of
	// range; Value is then 0 (a query), so acting on the message changes
	// nothing.
	Err error
}

// ErrComPort wraps every malformed COM-PORT-OPTION payload, for errors.Is.
var ErrComPort = errors.New("rfc2217: bad COM-PORT-OPTION payload")

// valueWidth is how many value bytes cmd carries on the wire: -1 for
// SIGNATURE's free text.
func valueWidth(cmd Command) int {
	switch cmd {
	case Signature:
		return -1
	case SetBaudRate:
		return 4
	case FlowControlSuspend, FlowControlResume:
		return 0
	}
	return 1
}

// parseMessage decodes a COM-PORT-OPTION payload. fromServer says the
// codes carry ServerOffset.
func parseMessage(payload []byte, fromServer bool) Message {
	if len(payload) == 0 {
		return Message{Err: fmt.Errorf("%w: empty", ErrComPort)}
	}
	code := payload[0]
	if fromServer {
		if code < ServerOffset {
			return Message{Err: fmt.Errorf("%w: client code %d from the server", ErrComPort, code)}
		}
		code -= ServerOffset
	}
	cmd := Command(code)
	if cmd >= numCommands {
		return Message{Err: fmt.Errorf("%w: unknown command %d", ErrComPort, payload[0])}
	}
	m := Message{Cmd: cmd}
	rest := payload[1:]
	switch w := valueWidth(cmd); {
	case w < 0:
		m.Text = append([]byte(nil), rest...)
	case len(rest) == w:
		m.Value = beValue(rest)
	case w == 1 && len(rest) == 0 && !fromServer && (cmd == NotifyLineState || cmd == NotifyModemState):
		// A client's empty notification is a poll (pyserial's poll_modem).
	default:
		m.Err = fmt.Errorf("%w: %v with %d value bytes, want %d", ErrComPort, cmd, len(rest), w)
		return m
	}
	if err := checkValue(cmd, m.Value); err != nil {
		m.Value, m.Err = 0, err
	}
	return m
}

func beValue(b []byte) uint32 {
	var v uint32
	for _, x := range b {
		v = v<<8 | uint32(x)
	}
	return v
}

// checkValue reports a value out of the range RFC 2217 defines.
func checkValue(cmd Command, v uint32) error {
	var ok bool
	switch cmd {
	case SetDataSize:
		ok = v == 0 || v >= 5 && v <= 8
	case SetParity:
		ok = v <= ParitySpace
	case SetStopSize:
		ok = v <= StopOneHalf
	case SetControl:
		ok = v <= maxControl
	case PurgeData:
		ok = v >= PurgeReceive && v <= PurgeBoth
	default:
		ok = true
	}
	if !ok {
		return fmt.Errorf("%w: %v value %d out of range", ErrComPort, cmd, v)
	}
	return nil
}

// appendMessage appends a COM-PORT-OPTION sub-negotiation: code (the
// command, plus ServerOffset from a server) and value in width bytes, or
// text when width is -1.
func appendMessage(dst []byte, code byte, value uint32, text []byte, width int) []byte {
	var buf [5 + MaxSubnegotiation]byte
	payload := append(buf[:0], code)
	switch {
	case width < 0:
		if len(text) > MaxSubnegotiation-1 {
			text = text[:MaxSubnegotiation-1] // a peer's decoder would drop it whole
		}
		payload = append(payload, text...)
	case width == 4:
		payload = binary.BigEndian.AppendUint32(payload, value)
	case width == 1:
		payload = append(payload, byte(value))
	}
	return AppendSubnegotiation(dst, OptComPort, payload)
}

// AppendRequest appends a client's cmd with value (text for SIGNATURE;
// empty text asks for the server's) as wire bytes. A NOTIFY-LINESTATE or
// NOTIFY-MODEMSTATE goes out empty, as the poll pyserial sends.
func AppendRequest(dst []byte, cmd Command, value uint32, text []byte) []byte {
	w := valueWidth(cmd)
	if cmd == NotifyLineState || cmd == NotifyModemState {
		w = 0
	}
	return appendMessage(dst, byte(cmd), value, text, w)
}

// AppendReply appends a server's answer or notification for cmd with
// value (text for SIGNATURE) as wire bytes.
func AppendReply(dst []byte, cmd Command, value uint32, text []byte) []byte {
	return appendMessage(dst, byte(cmd)+ServerOffset, value, text, valueWidth(cmd))
}
