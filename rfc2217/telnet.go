package rfc2217

import (
	"errors"
	"fmt"
)

// Telnet command bytes (RFC 854) and the options this package negotiates.
const (
	SE   byte = 240 // end of sub-negotiation
	NOP  byte = 241 // no operation
	DM   byte = 242 // data mark
	BRK  byte = 243 // break
	IP   byte = 244 // interrupt process
	AO   byte = 245 // abort output
	AYT  byte = 246 // are you there
	EC   byte = 247 // erase character
	EL   byte = 248 // erase line
	GA   byte = 249 // go ahead
	SB   byte = 250 // start of sub-negotiation
	WILL byte = 251 // sender wants to, or will, enable an option on its side
	WONT byte = 252 // sender will not, or stops, using an option on its side
	DO   byte = 253 // sender asks the receiver to enable an option
	DONT byte = 254 // sender asks the receiver to disable an option
	IAC  byte = 255 // interpret as command; doubled to mean a 0xFF data byte

	OptBinary  byte = 0  // RFC 856, 8-bit clean data
	OptEcho    byte = 1  // RFC 857
	OptSGA     byte = 3  // RFC 858, suppress go-ahead
	OptComPort byte = 44 // RFC 2217, COM-PORT-OPTION
)

// MaxSubnegotiation bounds the payload of one sub-negotiation the decoder
// buffers. The longest legitimate RFC 2217 payload is a SIGNATURE text
// (every other command carries at most five bytes), and a signature is a
// product name and a port description; 512 bytes leaves room for that
// while a peer that opens a sub-negotiation and never ends it costs each
// connection at most this much memory. Longer payloads are dropped whole
// and reported as malformed.
const MaxSubnegotiation = 512

// EventKind says what a decoded telnet Event is.
type EventKind uint8

const (
	// EventCommand is IAC followed by a command that takes no option
	// (NOP, DM, BRK, IP, AO, AYT, EC, EL, GA); Event.Command holds it.
	EventCommand EventKind = iota + 1
	// EventNegotiation is IAC WILL/WONT/DO/DONT <option>.
	EventNegotiation
	// EventSubnegotiation is IAC SB <option> <payload> IAC SE with the
	// payload unescaped.
	EventSubnegotiation
	// EventMalformed is a sequence the decoder dropped; Event.Err says why.
	EventMalformed
)

// Event is one telnet command decoded from the byte stream.
type Event struct {
	Kind    EventKind
	Command byte   // the command byte: BRK, WILL, DO, SB...
	Option  byte   // the option of a negotiation or sub-negotiation
	Payload []byte // sub-negotiation payload, owned by the event
	Err     error  // why an EventMalformed sequence was dropped
}

// Errors carried by EventMalformed events, for errors.Is.
var (
	ErrBadCommand            = errors.New("telnet: IAC followed by a byte that is no command")
	ErrSubnegotiation        = errors.New("telnet: malformed sub-negotiation")
	ErrSubnegotiationTooLong = errors.New("telnet: sub-negotiation longer than the bound")
)

type decodeState uint8

const (
	stData  decodeState = iota
	stIAC               // after IAC in data
	stVerb              // after IAC WILL/WONT/DO/DONT, expecting the option
	stSBOpt             // after IAC SB, expecting the option
	stSB                // inside a sub-negotiation payload
	stSBIAC             // after IAC inside a sub-negotiation
)

// Decoder splits a telnet byte stream into data and commands. It keeps
// the state of a sequence cut by a read boundary, so the stream may be fed
// in pieces of any size. It has no goroutines and does no I/O.
//
// The data path is 8-bit transparent (as in BINARY mode, which RFC 2217
// peers use): only IAC is special, and CR is passed through untouched, as
// ser2net and pyserial do.
type Decoder struct {
	state    decodeState
	verb     byte
	sbOpt    byte
	sb       []byte
	overflow bool

	data   []byte
	events []Event
}

// Decode consumes p and returns the data bytes it carried (IAC IAC
// undoubled) and the commands it completed, in stream order relative to
// each other. Both slices are reused by the next call.
func (d *Decoder) Decode(p []byte) (data []byte, events []Event) {
	d.data, d.events = d.data[:0], d.events[:0]
	for _, b := range p {
		d.step(b)
	}
	return d.data, d.events
}

func (d *Decoder) step(b byte) {
	switch d.state {
	case stData:
		if b == IAC {
			d.state = stIAC
		} else {
			d.data = append(d.data, b)
		}
	case stIAC:
		d.command(b)
	case stVerb:
		d.events = append(d.events, Event{Kind: EventNegotiation, Command: d.verb, Option: b})
		d.state = stData
	case stSBOpt:
		if b == IAC {
			d.malformed(fmt.Errorf("%w: IAC where the option belongs", ErrSubnegotiation))
			d.state = stIAC
			return
		}
		d.sbOpt, d.sb, d.overflow = b, d.sb[:0], false
		d.state = stSB
	case stSB:
		if b == IAC {
			d.state = stSBIAC
		} else {
			d.sbByte(b)
		}
	case stSBIAC:
		d.sbIAC(b)
	}
}

// command handles the byte after IAC in the data stream.
func (d *Decoder) command(b byte) {
	d.state = stData
	switch {
	case b == IAC:
		d.data = append(d.data, IAC)
	case b == SB:
		d.state = stSBOpt
	case b >= WILL:
		d.verb, d.state = b, stVerb
	case b == SE:
		d.malformed(fmt.Errorf("%w: IAC SE outside one", ErrSubnegotiation))
	case b > SE:
		d.events = append(d.events, Event{Kind: EventCommand, Command: b})
	default:
		d.malformed(fmt.Errorf("%w: %#02x", ErrBadCommand, b))
	}
}

// sbIAC handles the byte after IAC inside a sub-negotiation. RFC 855
// allows only IAC (a doubled data byte) and SE there; anything else means
// the peer forgot the end, so the sub-negotiation is dropped and the byte
// is taken as the command it is, as BSD telnetd does.
func (d *Decoder) sbIAC(b byte) {
	switch b {
	case IAC:
		d.sbByte(IAC)
		d.state = stSB
	case SE:
		d.endSB()
		d.state = stData
	default:
		d.malformed(fmt.Errorf("%w: option %d ended by IAC %#02x instead of IAC SE", ErrSubnegotiation, d.sbOpt, b))
		d.command(b)
	}
}

func (d *Decoder) sbByte(b byte) {
	if len(d.sb) >= MaxSubnegotiation {
		d.overflow = true
		return
	}
	d.sb = append(d.sb, b)
}

func (d *Decoder) endSB() {
	if d.overflow {
		d.malformed(fmt.Errorf("%w: option %d, more than %d bytes", ErrSubnegotiationTooLong, d.sbOpt, MaxSubnegotiation))
		return
	}
	payload := append([]byte(nil), d.sb...)
	d.events = append(d.events, Event{Kind: EventSubnegotiation, Command: SB, Option: d.sbOpt, Payload: payload})
}

func (d *Decoder) malformed(err error) {
	d.events = append(d.events, Event{Kind: EventMalformed, Err: err})
}

// AppendData appends p to dst as telnet data, doubling every IAC.
func AppendData(dst, p []byte) []byte {
	for _, b := range p {
		if b == IAC {
			dst = append(dst, IAC)
		}
		dst = append(dst, b)
	}
	return dst
}

// AppendCommand appends IAC cmd, for commands without an option (BRK, NOP...).
func AppendCommand(dst []byte, cmd byte) []byte {
	return append(dst, IAC, cmd)
}

// AppendNegotiation appends IAC verb option; verb is WILL, WONT, DO or DONT.
func AppendNegotiation(dst []byte, verb, option byte) []byte {
	return append(dst, IAC, verb, option)
}

// AppendSubnegotiation appends IAC SB option payload IAC SE, doubling
// every IAC in the payload.
func AppendSubnegotiation(dst []byte, option byte, payload []byte) []byte {
	dst = append(dst, IAC, SB, option)
	dst = AppendData(dst, payload)
	return append(dst, IAC, SE)
}
