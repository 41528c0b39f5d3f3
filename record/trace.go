package record

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TraceLine is one line of vcomd's trace (GET /v1/trace): a request starting or
// completing, or (with only Dropped set) a marker that the reader lost
// events there.
type TraceLine struct {
	Time     time.Time     `json:"time"`
	Port     string        `json:"port,omitempty"`
	ID       uint64        `json:"id,omitempty"`
	Phase    string        `json:"phase,omitempty"`   // "start", "complete", or "event" (the modem inputs changed)
	Request  string        `json:"request,omitempty"` // "IRP_MJ_WRITE", "IOCTL_SERIAL_SET_BAUD_RATE"
	Length   int           `json:"length"`            // bytes asked for (start) or moved (complete)
	Status   string        `json:"status,omitempty"`  // completion only
	Duration time.Duration `json:"duration_ns,omitempty"`
	Data     string        `json:"data,omitempty"` // hex: a write's data at start, a read's at completion
	Input    any           `json:"input,omitempty"`
	Output   any           `json:"output,omitempty"`
	Dropped  uint64        `json:"dropped,omitempty"`
}

// How much of a request's data, and of an IOCTL's input or output as
// JSON, a text trace line shows: a line stays readable, and --json has
// everything.
const (
	traceDataShown = 32
	traceJSONShown = 120
)

// String formats the line as Portmon does: time, port, request number,
// request, length, status and duration (at completion), then data in hex
// and as ASCII, or an IOCTL's input or output.
func (l TraceLine) String() string {
	if l.Dropped > 0 && l.Request == "" {
		return fmt.Sprintf("%s  --- dropped %d events: the trace reader fell behind", l.Time.Format("15:04:05.000000"), l.Dropped)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-8s %6d  %-34s", l.Time.Format("15:04:05.000000"), l.Port, l.ID, l.Request)
	switch l.Phase {
	case "start":
		fmt.Fprintf(&b, " %-22s", "")
	case "event":
		fmt.Fprintf(&b, " %-22s", "EVENT")
	default:
		fmt.Fprintf(&b, " %-12s %9s", l.Status, fmtDuration(l.Duration))
	}
	fmt.Fprintf(&b, "  len %-5d", l.Length)
	if data, err := hex.DecodeString(l.Data); err == nil && len(data) > 0 {
		shown := data[:min(len(data), traceDataShown)]
		more := ""
		if len(data) > len(shown) {
			more = " ..."
		}
		fmt.Fprintf(&b, "  %s%s  %s", spacedHex(shown), more, printable(shown))
	}
	extra := l.Input
	if l.Phase != "start" {
		extra = l.Output
	}
	if extra != nil {
		var j bytes.Buffer
		enc := json.NewEncoder(&j)
		enc.SetEscapeHTML(false)
		if enc.Encode(extra) == nil {
			shown := bytes.TrimSpace(j.Bytes())
			if len(shown) > traceJSONShown {
				shown = append(shown[:traceJSONShown:traceJSONShown], "..."...)
			}
			fmt.Fprintf(&b, "  %s", shown)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dus", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}

func spacedHex(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%02X", c)
	}
	return s.String()
}

// printable is b as ASCII with '.' for what a terminal would not show.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7E {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}
