package record

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vcomd/vcomd/ioctl"
)

// FormatName and Version are what a header's "format" and "version" say.
const (
	FormatName = "vcomd-recording"
	Version    = 1
)

// MaxLine is the longest line Read accepts: a trace line carries at most
// one request's data, which a port's buffers bound well below this.
const MaxLine = 4 << 20

// Header is a recording's first line: which port, when, and how it was
// set then.
type Header struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Port    string    `json:"port"`
	Started time.Time `json:"started"`
	Baud    uint32    `json:"baud"`
	Framing string    `json:"framing"` // "8N1", as ioctl.ParseLineControl reads it
	Lines   Lines     `json:"lines"`   // every line named
}

// Lines are modem lines: CTS, DSR, RI and DCD the device drives, DTR and
// RTS the host. In an event only the lines that changed are set.
type Lines struct {
	CTS *bool `json:"cts,omitempty"`
	DSR *bool `json:"dsr,omitempty"`
	RI  *bool `json:"ri,omitempty"`
	DCD *bool `json:"dcd,omitempty"`
	DTR *bool `json:"dtr,omitempty"`
	RTS *bool `json:"rts,omitempty"`
}

// Inputs reports whether any of the device's lines (CTS, DSR, RI, DCD)
// is set.
func (l Lines) Inputs() bool { return l.CTS != nil || l.DSR != nil || l.RI != nil || l.DCD != nil }

func (l Lines) any() bool { return l.Inputs() || l.DTR != nil || l.RTS != nil }

// Kind says what an event is.
type Kind string

// The kinds of event.
const (
	Host     Kind = "host"     // data the host (the program on the port) sent
	Device   Kind = "device"   // data the device sent: what the host received
	Baud     Kind = "baud"     // the host set the speed
	Framing  Kind = "framing"  // the host set data bits, parity and stop bits
	HandFlow Kind = "handflow" // the host set flow control
	ModemLn  Kind = "lines"    // modem lines changed
	Break    Kind = "break"    // the host started or ended a break
	Open     Kind = "open"     // the host opened the port
	Close    Kind = "close"    // the host closed the port
	Lost     Kind = "lost"     // the recorder lost trace events here
)

// Event is one line after the header. Which fields are set depends on
// Kind; Line is the line of the file it was read from (1 is the header).
type Event struct {
	T        time.Duration   // since Header.Started, to the microsecond
	Kind     Kind            //
	Data     []byte          // Host, Device
	Baud     uint32          // Baud
	Framing  string          // Framing
	HandFlow *ioctl.HandFlow // HandFlow
	Lines    Lines           // ModemLn
	On       bool            // Break
	Count    uint64          // Lost
	Line     int             // where Read found it; not written
}

// eventJSON is an event's line.
type eventJSON struct {
	T        seconds         `json:"t"`
	Kind     Kind            `json:"kind"`
	Text     *string         `json:"text,omitempty"`
	Hex      string          `json:"hex,omitempty"`
	Baud     uint32          `json:"baud,omitempty"`
	Framing  string          `json:"framing,omitempty"`
	HandFlow *ioctl.HandFlow `json:"handflow,omitempty"`
	Lines    *Lines          `json:"lines,omitempty"`
	On       *bool           `json:"on,omitempty"`
	Count    uint64          `json:"count,omitempty"`
}

// seconds is a duration as a JSON number of seconds with six decimals.
type seconds time.Duration

func (s seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(s).Seconds(), 'f', 6, 64), nil
}

func (s *seconds) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("t: want seconds, like 1.5, not %s", b)
	}
	if f < 0 || f > float64(math.MaxInt64/int64(time.Second)) {
		return fmt.Errorf("t: %s seconds is out of range", b)
	}
	*s = seconds(time.Duration(math.Round(f*1e6)) * time.Microsecond)
	return nil
}

// MarshalJSON writes the event's line.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{T: seconds(e.T.Truncate(time.Microsecond)), Kind: e.Kind, Baud: e.Baud, Framing: e.Framing, HandFlow: e.HandFlow, Count: e.Count}
	switch e.Kind {
	case Host, Device:
		if utf8.Valid(e.Data) {
			s := string(e.Data)
			j.Text = &s
		} else {
			j.Hex = hex.EncodeToString(e.Data)
		}
	case ModemLn:
		j.Lines = &e.Lines
	case Break:
		j.On = &e.On
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<" stays "<": the line is for people too
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// event is the Event a line says, or what is wrong with it.
func (j *eventJSON) event() (Event, error) {
	e := Event{T: time.Duration(j.T), Kind: j.Kind}
	data := func() error {
		switch {
		case j.Text != nil && j.Hex != "":
			return errors.New("both text and hex: want one")
		case j.Text != nil:
			e.Data = []byte(*j.Text)
		case j.Hex != "":
			b, err := hex.DecodeString(j.Hex)
			if err != nil {
				return fmt.Errorf("hex %q: %v", j.Hex, err)
			}
			e.Data = b
		}
		if len(e.Data) == 0 {
			return fmt.Errorf("a %s event needs text or hex data", j.Kind)
		}
		return nil
	}
	var err error
	switch j.Kind {
	case Host, Device:
		err = data()
	case Baud:
		e.Baud = j.Baud
		if j.Baud == 0 {
			err = errors.New("a baud event needs a baud above 0")
		}
	case Framing:
		e.Framing = j.Framing
		if _, perr := ioctl.ParseLineControl(j.Framing); perr != nil {
			err = fmt.Errorf("framing %q: %v", j.Framing, perr)
		}
	case HandFlow:
		e.HandFlow = j.HandFlow
		if j.HandFlow == nil {
			err = errors.New("a handflow event needs handflow")
		}
	case ModemLn:
		if j.Lines == nil || !j.Lines.any() {
			err = errors.New("a lines event needs at least one of cts, dsr, ri, dcd, dtr, rts")
		} else {
			e.Lines = *j.Lines
		}
	case Break:
		if j.On == nil {
			err = errors.New("a break event needs on: true or false")
		} else {
			e.On = *j.On
		}
	case Open, Close:
	case Lost:
		e.Count = j.Count
		if j.Count == 0 {
			err = errors.New("a lost event needs a count above 0")
		}
	case "":
		err = errors.New("missing kind")
	default:
		err = fmt.Errorf("unknown kind %q (want host, device, baud, framing, handflow, lines, break, open, close or lost)", j.Kind)
	}
	return e, err
}

// Writer writes a recording, a line at a time.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter writes h, with Format and Version filled in, as the first
// line to w.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Format, h.Version = FormatName, Version
	if _, err := ioctl.ParseLineControl(h.Framing); err != nil {
		return nil, fmt.Errorf("header framing %q: %v", h.Framing, err)
	}
	rw := &Writer{w: bufio.NewWriter(w)}
	rw.line(h)
	return rw, rw.err
}

// Write appends e. Nothing reaches the file until Flush.
func (w *Writer) Write(e Event) error {
	w.line(e)
	return w.err
}

// Flush writes what is buffered.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

func (w *Writer) line(v any) {
	if w.err != nil {
		return
	}
	enc := json.NewEncoder(w.w)
	enc.SetEscapeHTML(false)
	w.err = enc.Encode(v)
}

// Recording is a recording as Read found it.
type Recording struct {
	Name   string // the file, for errors
	Header Header
	Events []Event
}

// ReadFile reads and checks the recording at path; see Read.
func ReadFile(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads and checks a whole recording, named name in errors: every
// line must parse as the format says, with times that never go back. An
// error names the file and line: "rec.jsonl:7: unknown kind "x"".
func Read(r io.Reader, name string) (*Recording, error) {
	rec := &Recording{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	n := 0
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...))
	}
	var last time.Duration
	for sc.Scan() {
		n++
		line := sc.Bytes()
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if n == 1 {
			if err := dec.Decode(&rec.Header); err != nil {
				return nil, fail("header: %v", err)
			}
			if err := rec.Header.check(); err != nil {
				return nil, fail("header: %v", err)
			}
			continue
		}
		var j eventJSON
		if err := dec.Decode(&j); err != nil {
			return nil, fail("%v", err)
		}
		if dec.More() {
			return nil, fail("more than one JSON value on the line")
		}
		e, err := j.event()
		if err != nil {
			return nil, fail("%v", err)
		}
		if e.T < last {
			return nil, fail("t %.6f is before the line above's %.6f", e.T.Seconds(), last.Seconds())
		}
		last = e.T
		e.Line = n
		rec.Events = append(rec.Events, e)
	}
	if err := sc.Err(); err != nil {
		n++
		return nil, fail("%v", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: empty: a recording starts with its header line", name)
	}
	return rec, nil
}

// check says what is wrong with a header.
func (h Header) check() error {
	switch {
	case h.Format != FormatName:
		return fmt.Errorf("format %q: not a vcomd recording (want %q)", h.Format, FormatName)
	case h.Version != Version:
		return fmt.Errorf("version %d: this vcomd reads version %d", h.Version, Version)
	case h.Port == "":
		return errors.New("missing port")
	case h.Baud == 0:
		return errors.New("missing baud")
	}
	if _, err := ioctl.ParseLineControl(h.Framing); err != nil {
		return fmt.Errorf("framing %q: %v", h.Framing, err)
	}
	return nil
}

// Bool is &b, for Lines.
func Bool(b bool) *bool { return &b }
