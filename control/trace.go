package control

import (
	"context"
	"encoding/hex"
	"sync"
	"sync/atomic"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/record"
)

// Hub fans trace events out to subscribers. Publish never blocks: a
// subscriber that falls behind loses events, and its stream says how
// many at the place they went missing. While nobody subscribes, Enabled
// is false and a device built with it as TraceEnabled does no tracing
// work at all. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex                  // serialises subscribe and unsubscribe
	subs atomic.Pointer[[]*traceSub] // copy on write: Publish takes no lock
}

// traceDepth is each subscriber's buffer: at 115200 baud a port makes
// about 25 requests a second per direction, so this is minutes of trace;
// a pair at timing off makes far more, and a reader that cannot keep up
// loses events rather than slowing the ports.
const traceDepth = 4096

type traceSub struct {
	port    string // "" for every port
	ch      chan traceItem
	dropped atomic.Uint64 // events lost since the last one delivered
}

// traceItem is an event and how many were lost just before it.
type traceItem struct {
	ev      driver.TraceEvent
	dropped uint64
}

// Enabled reports whether anyone subscribes; pass it as the devices'
// TraceEnabled.
func (h *Hub) Enabled() bool {
	s := h.subs.Load()
	return s != nil && len(*s) > 0
}

// Publish hands ev to every subscriber that wants its port; pass it as
// the devices' Trace. It never blocks.
func (h *Hub) Publish(ev driver.TraceEvent) {
	subs := h.subs.Load()
	if subs == nil {
		return
	}
	for _, s := range *subs {
		if s.port != "" && s.port != ev.Port {
			continue
		}
		lost := s.dropped.Load()
		select {
		case s.ch <- traceItem{ev: ev, dropped: lost}:
			if lost > 0 {
				s.dropped.Add(-lost)
			}
		default:
			s.dropped.Add(1)
		}
	}
}

// Subscription is one reader of a Hub's trace, from Subscribe until
// Close.
type Subscription struct {
	hub *Hub
	sub *traceSub
}

// Subscribe starts a reader of the trace of port ("" for every port)
// with room for depth events; events published while the room is full
// are lost and counted. Close it when done: while any subscription
// lives, the devices do their tracing work.
func (h *Hub) Subscribe(port string, depth int) *Subscription {
	return &Subscription{hub: h, sub: h.subscribe(port, depth)}
}

// Next appends to buf the lines that have queued up, waiting for at
// least one unless ctx is done: a marker where events were lost, then
// the event, for each. Queued lines come out even after ctx is done, so
// a reader can drain what was published before it stopped; the error is
// ctx's once nothing is left.
func (s *Subscription) Next(ctx context.Context, buf []TraceLine) ([]TraceLine, error) {
	var it traceItem
	select {
	case it = <-s.sub.ch:
	default:
		select {
		case <-ctx.Done():
			return buf, ctx.Err()
		case it = <-s.sub.ch:
		}
	}
	for {
		if it.dropped > 0 {
			buf = append(buf, TraceLine{Time: it.ev.Time, Dropped: it.dropped})
		}
		buf = append(buf, traceLine(it.ev))
		select {
		case it = <-s.sub.ch:
		default:
			return buf, nil
		}
	}
}

// Close ends the subscription; Next returns nothing more from it.
func (s *Subscription) Close() { s.hub.unsubscribe(s.sub) }

// subscribe adds a subscriber for port ("" for all) with room for depth
// events.
func (h *Hub) subscribe(port string, depth int) *traceSub {
	s := &traceSub{port: port, ch: make(chan traceItem, depth)}
	h.mu.Lock()
	defer h.mu.Unlock()
	var next []*traceSub
	if old := h.subs.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, s)
	h.subs.Store(&next)
	return s
}

// unsubscribe removes s. Publish may still hand it an event it loaded
// before; nobody reads it and it is collected with s.
func (h *Hub) unsubscribe(s *traceSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.subs.Load()
	if old == nil {
		return
	}
	next := make([]*traceSub, 0, len(*old))
	for _, o := range *old {
		if o != s {
			next = append(next, o)
		}
	}
	h.subs.Store(&next)
}

// TraceLine is one line of GET /v1/trace. It is record.TraceLine, which
// lives there so that a recording and the replay wire, which control's
// imports would make a cycle of, read the same lines.
type TraceLine = record.TraceLine

// traceLine turns a driver event into its JSON form.
func traceLine(ev driver.TraceEvent) TraceLine {
	l := TraceLine{
		Time:    ev.Time,
		Port:    ev.Port,
		ID:      ev.ID,
		Phase:   ev.Phase.String(),
		Request: RequestName(ev.Major, ev.Code),
		Length:  ev.Length,
		Data:    hex.EncodeToString(ev.Data),
		Input:   ev.Input,
	}
	if ev.Phase == driver.PhaseEvent {
		l.Output = ev.Output
	}
	if ev.Phase == driver.PhaseComplete {
		l.Status = ev.Status.String()
		l.Duration = ev.Duration
		l.Output = ev.Output
		if err, ok := ev.Output.(error); ok {
			// An error's fields are unexported: JSON would show {}.
			l.Output = err.Error()
		}
	}
	return l
}

// RequestName is the name a trace gives a request: the IOCTL's for
// device control, IRP_MJ_ and the major function's otherwise.
func RequestName(m driver.Major, code ioctl.Code) string {
	if m == driver.MajorDeviceControl {
		return code.String()
	}
	return "IRP_MJ_" + m.String()
}
