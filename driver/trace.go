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
	// PhaseEvent is no request: the modem inputs changed (the far end,
	// a device on the wire, or the control API moved them). Its Code is
	// GET_MODEMSTATUS and its Output the four inputs now, as the
	// ioctl.ModemInputs that VCOM_SET_MODEM_INPUTS would take to set
	// them, so that a trace shows a device's CTS, DSR, RI and DCD beside
	// the requests, as a serial sniffer does, and a recording can play
	// them back.
	PhaseEvent
)

// String returns "start", "complete" or "event".
func (p Phase) String() string {
	switch p {
	case PhaseStart:
		return "start"
	case PhaseEvent:
		return "event"
	}
	return "complete"
}

// TraceEvent is one line of a Portmon-style trace: a request as it starts
// and as it completes, or a change of the modem inputs (PhaseEvent).
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

// traceModemLocked records a change of the modem inputs for the ISR
// goroutine to hand the trace once it has let go of the lock.
func (d *Device) traceModemLocked(msr byte) {
	if !d.tracing() {
		return
	}
	d.s.traceEvents = append(d.s.traceEvents, TraceEvent{Time: time.Now(), Port: d.name, Phase: PhaseEvent,
		Major: MajorDeviceControl, Code: ioctl.GetModemStatus, Output: ioctl.ModemInputs{Mask: 0xF0, Value: msr & 0xF0}})
}
