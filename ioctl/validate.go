package ioctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// InvalidParameterError says which field of which request is impossible and
// why. A driver completes such a request with STATUS_INVALID_PARAMETER.
type InvalidParameterError struct {
	Code   Code
	Field  string
	Value  any
	Reason string
}

// Error names the request, the field, its value and the reason.
func (e *InvalidParameterError) Error() string {
	return fmt.Sprintf("%s: %s = %v: %s", e.Code, e.Field, e.Value, e.Reason)
}

func invalid(c Code, field string, v any, reason string) error {
	return &InvalidParameterError{Code: c, Field: field, Value: v, Reason: reason}
}

// MaxBaud is the fastest rate this package accepts: what the Linux kernel
// can express in termios2 without overflow on any UART clock it knows, and
// well above any real serial adapter.
const MaxBaud = 16_000_000

// Validate checks a baud rate.
func (b BaudRate) Validate() error {
	if b.BaudRate == 0 || b.BaudRate > MaxBaud {
		return invalid(SetBaudRate, "baud_rate", b.BaudRate, fmt.Sprintf("must be 1..%d", MaxBaud))
	}
	return nil
}

// Validate checks framing as Serial.sys does: 5 to 8 data bits, a known
// parity, 1.5 stop bits only with 5 data bits, 2 stop bits never with 5.
func (l LineControl) Validate() error {
	switch {
	case l.WordLength < 5 || l.WordLength > 8:
		return invalid(SetLineControl, "word_length", l.WordLength, "must be 5..8")
	case l.Parity > SpaceParity:
		return invalid(SetLineControl, "parity", l.Parity, "must be 0 (none), 1 (odd), 2 (even), 3 (mark) or 4 (space)")
	case l.StopBits > StopBits2:
		return invalid(SetLineControl, "stop_bits", l.StopBits, "must be 0 (1), 1 (1.5) or 2 (2)")
	case l.StopBits == StopBits1_5 && l.WordLength != 5:
		return invalid(SetLineControl, "stop_bits", "1.5", "1.5 stop bits need 5 data bits")
	case l.StopBits == StopBits2 && l.WordLength == 5:
		return invalid(SetLineControl, "stop_bits", "2", "5 data bits take 1 or 1.5 stop bits")
	}
	return nil
}

// Validate checks the flag bits and limits of a handflow (the limits'
// upper bound depends on the queue size: see ValidateLimits).
func (h HandFlow) Validate() error {
	switch {
	case h.ControlHandShake&ControlInvalid != 0:
		return invalid(SetHandflow, "control_handshake", fmt.Sprintf("%#x", h.ControlHandShake), fmt.Sprintf("bits %#x are not defined", h.ControlHandShake&ControlInvalid))
	case h.ControlHandShake&DTRMask == DTRMask:
		return invalid(SetHandflow, "control_handshake", fmt.Sprintf("%#x", h.ControlHandShake), "DTR control and DTR handshake are exclusive")
	case h.FlowReplace&FlowInvalid != 0:
		return invalid(SetHandflow, "flow_replace", fmt.Sprintf("%#x", h.FlowReplace), fmt.Sprintf("bits %#x are not defined", h.FlowReplace&FlowInvalid))
	case h.XonLimit < 0:
		return invalid(SetHandflow, "xon_limit", h.XonLimit, "must not be negative")
	case h.XoffLimit < 0:
		return invalid(SetHandflow, "xoff_limit", h.XoffLimit, "must not be negative")
	}
	return nil
}

// ValidateLimits checks XonLimit and XoffLimit against the receive queue's
// size, as Serial.sys does when the handflow is set.
func (h HandFlow) ValidateLimits(queueSize int) error {
	if int(h.XonLimit) > queueSize {
		return invalid(SetHandflow, "xon_limit", h.XonLimit, fmt.Sprintf("exceeds the %d-byte receive queue", queueSize))
	}
	if int(h.XoffLimit) > queueSize {
		return invalid(SetHandflow, "xoff_limit", h.XoffLimit, fmt.Sprintf("exceeds the %d-byte receive queue", queueSize))
	}
	return nil
}

// Validate rejects the one impossible combination: every read timeout at
// MAXULONG.
func (t Timeouts) Validate() error {
	if t.ReadIntervalTimeout == MaxTimeout && t.ReadTotalTimeoutMultiplier == MaxTimeout && t.ReadTotalTimeoutConstant == MaxTimeout {
		return invalid(SetTimeouts, "read_total_timeout_constant", "MAXULONG", "read interval, multiplier and constant cannot all be MAXULONG")
	}
	return nil
}

// Validate accepts any characters.
func (c Chars) Validate() error { return nil }

// MaxQueueSize is the largest receive queue SET_QUEUE_SIZE may ask for:
// sixteen times what a pty's line discipline buffers. The driver
// allocates the queue at once, so a larger request (up to 4 GiB) would
// take the daemon's memory rather than fail.
const MaxQueueSize = 1 << 20

// Validate requires a receive size from 1 to MaxQueueSize.
func (q QueueSize) Validate() error {
	if q.InSize == 0 || q.InSize > MaxQueueSize {
		return invalid(SetQueueSize, "in_size", q.InSize, fmt.Sprintf("must be 1..%d", MaxQueueSize))
	}
	return nil
}

// Validate requires a positive counter.
func (x XoffCounterArgs) Validate() error {
	if x.Counter <= 0 {
		return invalid(XoffCounter, "counter", x.Counter, "must be at least 1")
	}
	return nil
}

// Validate rejects bits that are not events.
func (m WaitMask) Validate() error {
	if m&^EvAll != 0 {
		return invalid(SetWaitMask, "wait_mask", fmt.Sprintf("%#x", uint32(m)), fmt.Sprintf("bits %#x are not SERIAL_EV_ events", uint32(m&^EvAll)))
	}
	return nil
}

// Validate requires at least one purge flag and no others.
func (m PurgeMask) Validate() error {
	if m == 0 {
		return invalid(Purge, "purge_mask", 0, "name at least one of TXABORT, RXABORT, TXCLEAR, RXCLEAR")
	}
	if m&^PurgeAll != 0 {
		return invalid(Purge, "purge_mask", fmt.Sprintf("%#x", uint32(m)), fmt.Sprintf("bits %#x are not SERIAL_PURGE_ flags", uint32(m&^PurgeAll)))
	}
	return nil
}

// validator is what every input struct implements.
type validator interface{ Validate() error }

// NewInput returns a pointer to a zero input of the type code carries, or
// nil when the code takes no input. ok is false for unknown codes.
func NewInput(code Code) (in any, ok bool) {
	switch code {
	case SetBaudRate:
		return new(BaudRate), true
	case SetLineControl:
		return new(LineControl), true
	case SetHandflow:
		return new(HandFlow), true
	case SetTimeouts:
		return new(Timeouts), true
	case SetChars:
		return new(Chars), true
	case SetQueueSize:
		return new(QueueSize), true
	case XoffCounter:
		return new(XoffCounterArgs), true
	case SetWaitMask:
		return new(WaitMask), true
	case Purge:
		return new(PurgeMask), true
	case ImmediateChar, LSRMSTInsert:
		return new(byte), true
	case SetModemControl, SetFIFOControl:
		return new(uint32), true
	case SetModemInputs:
		return new(ModemInputs), true
	case Inject:
		return new(Injection), true
	}
	return nil, code.name() != ""
}

// ValidateInput checks that input is what code carries (a value, not a
// pointer) and that its values are possible.
func ValidateInput(code Code, input any) error {
	want, ok := NewInput(code)
	if !ok {
		return fmt.Errorf("unknown IOCTL %s", code)
	}
	if want == nil {
		if input != nil {
			return fmt.Errorf("%s takes no input, got %T", code, input)
		}
		return nil
	}
	// Compare types, not their printed names: another package's
	// "ioctl.BaudRate" would pass a name check and then panic in the
	// driver's type assertion.
	if wantType := reflect.TypeOf(want).Elem(); reflect.TypeOf(input) != wantType {
		return fmt.Errorf("%s takes a %s, got %T", code, wantType, input)
	}
	if v, ok := input.(validator); ok {
		if err := v.Validate(); err != nil {
			if e, ok := err.(*InvalidParameterError); ok {
				e.Code = code
			}
			return err
		}
	}
	return nil
}

// Request is the JSON form of a device-control request:
// {"ioctl": "SET_BAUD_RATE", "input": {"baud_rate": 9600}}.
type Request struct {
	Code  Code
	Input any // a value of the type NewInput gives, or nil
}

type requestJSON struct {
	Ioctl string          `json:"ioctl"`
	Input json.RawMessage `json:"input,omitempty"`
}

// MarshalJSON writes the request with the IOCTL's name. An unknown code
// is an error, since its JSON would name no IOCTL and could not be read
// back.
func (r Request) MarshalJSON() ([]byte, error) {
	if r.Code.name() == "" {
		return nil, fmt.Errorf("encoding request: unknown IOCTL %s", r.Code)
	}
	var raw json.RawMessage
	if r.Input != nil {
		b, err := json.Marshal(r.Input)
		if err != nil {
			return nil, fmt.Errorf("encoding %s input: %w", r.Code, err)
		}
		raw = b
	}
	return json.Marshal(requestJSON{Ioctl: r.Code.name(), Input: raw})
}

// UnmarshalJSON reads a request, decoding its input into the type the
// IOCTL carries; unknown names, unknown fields and bad values are errors
// that say what is wrong. On error r is left as it was.
func (r *Request) UnmarshalJSON(b []byte) error {
	var rj requestJSON
	if err := decodeStrict(b, &rj); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	if rj.Ioctl == "" {
		return errors.New(`request: "ioctl" is missing or empty`)
	}
	code, ok := Lookup(rj.Ioctl)
	if !ok {
		return fmt.Errorf("request: unknown ioctl %q", rj.Ioctl)
	}
	// A null input counts as none: decoding null into a struct leaves
	// its zero value, which would quietly pass for SET_CHARS or
	// SET_WAIT_MASK.
	hasInput := len(rj.Input) > 0 && string(rj.Input) != "null"
	in, _ := NewInput(code)
	switch {
	case in == nil && hasInput:
		return fmt.Errorf("%s takes no input", code)
	case in != nil && !hasInput:
		return fmt.Errorf("%s needs an input", code)
	case in != nil:
		if err := decodeStrict(rj.Input, in); err != nil {
			return fmt.Errorf("%s input: %w", code, err)
		}
	}
	input := deref(in)
	if err := ValidateInput(code, input); err != nil {
		return err
	}
	r.Code, r.Input = code, input
	return nil
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
// Trailing data is an error because json.Decoder stops after the first
// value, and UnmarshalJSON may be called directly rather than through
// json.Unmarshal, which would have caught it.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// deref turns the pointer NewInput made back into a value.
func deref(p any) any {
	switch v := p.(type) {
	case *BaudRate:
		return *v
	case *LineControl:
		return *v
	case *HandFlow:
		return *v
	case *Timeouts:
		return *v
	case *Chars:
		return *v
	case *QueueSize:
		return *v
	case *XoffCounterArgs:
		return *v
	case *WaitMask:
		return *v
	case *PurgeMask:
		return *v
	case *byte:
		return *v
	case *uint32:
		return *v
	case *ModemInputs:
		return *v
	case *Injection:
		return *v
	}
	return nil
}
