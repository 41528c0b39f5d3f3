package record

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/vcomd/vcomd/ioctl"
)

// Recorder turns a port's trace into a recording's events: a write's
// data (at its start, when the host wrote) is Host, a read's data (at its
// completion, when the host received it) is Device, and the settings and
// modem-line requests that succeeded are Baud, Framing, HandFlow, ModemLn
// and Break. Every other request is left out.
type Recorder struct {
	port    string
	started time.Time
	// asked holds, by request ID, the start of each IOCTL that becomes an
	// event once it completes with success: only then is it in force.
	asked map[uint64]TraceLine
	codes map[string]ioctl.Code // settingCodes
}

// NewRecorder turns port's trace lines into events timed from started.
func NewRecorder(port string, started time.Time) *Recorder {
	return &Recorder{port: port, started: started, asked: map[uint64]TraceLine{}, codes: settingCodes()}
}

// The requests a Recorder keeps, by their trace names.
const (
	reqWrite  = "IRP_MJ_WRITE"
	reqRead   = "IRP_MJ_READ"
	reqCreate = "IRP_MJ_CREATE"
	reqClose  = "IRP_MJ_CLOSE"
)

// settingCodes are the IOCTLs that change what a recording holds.
func settingCodes() map[string]ioctl.Code {
	m := map[string]ioctl.Code{}
	for _, c := range []ioctl.Code{ioctl.SetBaudRate, ioctl.SetLineControl, ioctl.SetHandflow,
		ioctl.SetDTR, ioctl.ClrDTR, ioctl.SetRTS, ioctl.ClrRTS, ioctl.SetBreakOn, ioctl.SetBreakOff, ioctl.SetModemInputs} {
		m[c.String()] = c
	}
	return m
}

// Event turns one trace line into the event it makes, if any.
func (r *Recorder) Event(l TraceLine) (Event, bool) {
	if l.Dropped > 0 && l.Request == "" {
		return Event{T: r.since(l.Time), Kind: Lost, Count: l.Dropped}, true
	}
	if l.Port != r.port {
		return Event{}, false
	}
	switch {
	case l.Request == reqWrite && l.Phase == "start":
		return r.data(l, Host)
	case l.Request == reqRead && l.Phase == "complete":
		return r.data(l, Device)
	case l.Request == reqCreate && l.Phase == "complete" && l.Status == "SUCCESS":
		return Event{T: r.since(l.Time), Kind: Open}, true
	case l.Request == reqClose && l.Phase == "complete":
		return Event{T: r.since(l.Time), Kind: Close}, true
	case l.Phase == "event":
		// The inputs as they are now, whoever moved them.
		var mi ioctl.ModemInputs
		if !as(l.Output, &mi) || mi.Mask == 0 {
			return Event{}, false
		}
		return Event{T: r.since(l.Time), Kind: ModemLn, Lines: InputLines(mi)}, true
	}
	code, ok := r.codes[l.Request]
	if !ok {
		return Event{}, false
	}
	if l.Phase == "start" {
		r.asked[l.ID] = l
		return Event{}, false
	}
	start, ok := r.asked[l.ID]
	delete(r.asked, l.ID)
	if !ok || l.Status != "SUCCESS" {
		return Event{}, false
	}
	e := Event{T: r.since(l.Time)}
	switch code {
	case ioctl.SetBaudRate:
		var b ioctl.BaudRate
		if !as(start.Input, &b) {
			return Event{}, false
		}
		e.Kind, e.Baud = Baud, b.BaudRate
	case ioctl.SetLineControl:
		var lc ioctl.LineControl
		if !as(start.Input, &lc) {
			return Event{}, false
		}
		e.Kind, e.Framing = Framing, lc.String()
	case ioctl.SetHandflow:
		var h ioctl.HandFlow
		if !as(start.Input, &h) {
			return Event{}, false
		}
		e.Kind, e.HandFlow = HandFlow, &h
	case ioctl.SetDTR, ioctl.ClrDTR:
		e.Kind, e.Lines.DTR = ModemLn, Bool(code == ioctl.SetDTR)
	case ioctl.SetRTS, ioctl.ClrRTS:
		e.Kind, e.Lines.RTS = ModemLn, Bool(code == ioctl.SetRTS)
	case ioctl.SetBreakOn, ioctl.SetBreakOff:
		e.Kind, e.On = Break, code == ioctl.SetBreakOn
	case ioctl.SetModemInputs:
		var mi ioctl.ModemInputs
		if !as(start.Input, &mi) {
			return Event{}, false
		}
		e.Kind, e.Lines = ModemLn, InputLines(mi)
	}
	return e, true
}

// InputLines are the lines a VCOM_SET_MODEM_INPUTS sets.
func InputLines(mi ioctl.ModemInputs) Lines {
	var l Lines
	for _, in := range []struct {
		p   **bool
		bit uint8
	}{{&l.CTS, ioctl.MSRCTS}, {&l.DSR, ioctl.MSRDSR}, {&l.RI, ioctl.MSRRI}, {&l.DCD, ioctl.MSRDCD}} {
		if mi.Mask&in.bit != 0 {
			*in.p = Bool(mi.Value&in.bit != 0)
		}
	}
	return l
}

// data is the event of a read or write line, if it carried bytes.
func (r *Recorder) data(l TraceLine, k Kind) (Event, bool) {
	b, err := hex.DecodeString(l.Data)
	if err != nil || len(b) == 0 {
		return Event{}, false
	}
	return Event{T: r.since(l.Time), Kind: k, Data: b}, true
}

// since is t from the start; a line queued before the start is at 0.
func (r *Recorder) since(t time.Time) time.Duration {
	return max(t.Sub(r.started), 0).Truncate(time.Microsecond)
}

// as decodes an IOCTL's input into v: a struct in the daemon, the map
// JSON decoding made of it in a client.
func as(in any, v any) bool {
	b, err := json.Marshal(in)
	return err == nil && json.Unmarshal(b, v) == nil
}
