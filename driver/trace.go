package driver

import (
	"time"

	"github.com/vcomd/vcomd/ioctl"
)

// Phase says whether a trace event is a request starting or completing.
type Phase uint8

// Trace phases.
const (
	PhaseStart Phase = iota
	PhaseComplete
)

// String returns "start" or "complete".
func (p Phase) String() string {
	if p == PhaseStart {
		return "start"
	}
	return "complete"
}

// TraceEvent is one line of a Portmon-style trace: a request as it starts
// and as it completes.
type TraceEvent struct {
	Time     time.Time
	Port     string
	ID       uint64
	Phase    Phase
	Major    Major
	Code     ioctl.Code    // for MajorDeviceControl
	Length   int           // bytes asked for (start) or moved (complete)
	Status   Status        // PhaseComplete only
	Duration time.Duration // PhaseComplete only
	Data     []byte        // a write's data at start, a read's data at completion
	Input    any           // an IOCTL's input at start
	Output   any           // an IOCTL's output at completion
}

// tracing reports whether anyone looks at trace events now.
func (d *Device) tracing() bool {
	return d.trace != nil && (d.traceOn == nil || d.traceOn())
}

func (d *Device) traceStart(irp *IRP) {
	if !d.tracing() {
		return
	}
	ev := TraceEvent{Time: irp.issued, Port: d.name, ID: irp.id, Phase: PhaseStart, Major: irp.Major, Code: irp.Code, Length: len(irp.Buffer), Input: irp.Input}
	if irp.Major == MajorWrite {
		ev.Data = append([]byte(nil), irp.Buffer...)
	}
	d.trace(ev)
}

func (d *Device) traceComplete(irp *IRP) {
	if !d.tracing() {
		return
	}
	now := time.Now()
	ev := TraceEvent{Time: now, Port: d.name, ID: irp.id, Phase: PhaseComplete, Major: irp.Major, Code: irp.Code,
		Length: irp.information, Status: irp.status, Duration: now.Sub(irp.issued), Output: irp.output}
	if irp.Major == MajorRead {
		ev.Data = append([]byte(nil), irp.Buffer[:irp.information]...)
	}
	d.trace(ev)
}
