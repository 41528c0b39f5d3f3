package control

import (
	"context"
	"testing"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// A subscriber that does not read loses events without blocking the
// publisher, and the next event it gets says how many it lost.
func TestHubDropsAndCounts(t *testing.T) {
	var h Hub
	if h.Enabled() {
		t.Fatal("a hub with no subscriber is enabled")
	}
	h.Publish(driver.TraceEvent{Port: "x"}) // nobody: nothing happens
	slow := h.subscribe("", 2)
	other := h.subscribe("ttyV1", 8)
	if !h.Enabled() {
		t.Fatal("a hub with subscribers is disabled")
	}
	for i := range 5 {
		h.Publish(driver.TraceEvent{Port: "ttyV0", ID: uint64(i)})
	}
	if len(other.ch) != 0 {
		t.Errorf("a subscriber of ttyV1 got %d events of ttyV0", len(other.ch))
	}
	if got := slow.dropped.Load(); got != 3 {
		t.Errorf("dropped %d, want 3 (5 events, room for 2)", got)
	}
	<-slow.ch
	<-slow.ch
	h.Publish(driver.TraceEvent{Port: "ttyV0", ID: 9})
	it := <-slow.ch
	if it.ev.ID != 9 || it.dropped != 3 || slow.dropped.Load() != 0 {
		t.Errorf("after the gap: event %d says %d dropped (%d left); want 9, 3, 0", it.ev.ID, it.dropped, slow.dropped.Load())
	}
	h.unsubscribe(slow)
	h.unsubscribe(other)
	if h.Enabled() {
		t.Error("enabled after every subscriber left")
	}
}

func TestPolicy(t *testing.T) {
	pl := policy{owner: 1000, gid: 20}
	for _, tc := range []struct {
		p    Peer
		want bool
	}{
		{Peer{UID: 0, GID: 0}, true},
		{Peer{UID: 1000, GID: 1000}, true},
		{Peer{UID: 1001, GID: 20}, true},
		{Peer{UID: 1001, GID: 1001, Groups: []int{4, 20}}, true},
		{Peer{UID: 1001, GID: 1001, Groups: []int{4, 21}}, false},
		{Peer{UID: 65534, GID: 65534}, false},
	} {
		if got := pl.mayChange(tc.p); got != tc.want {
			t.Errorf("%+v may change: %v, want %v", tc.p, got, tc.want)
		}
	}
	none := policy{owner: 1000, gid: -1}
	if none.mayChange(Peer{UID: 1001, GID: -1, Groups: []int{-1}}) {
		t.Error("with no socket group, a stranger may change ports")
	}
}

// BenchmarkIRPTraceCost is the device-side cost of tracing one IOCTL:
// without a trace hook, with a hub nobody subscribes to (as vcomd runs
// when nobody traces), and with a subscriber that keeps up.
func BenchmarkIRPTraceCost(b *testing.B) {
	for _, tc := range []struct {
		name       string
		hook, subs bool
	}{{"no-hook", false, false}, {"hub-idle", true, false}, {"hub-subscribed", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var hub Hub
			opts := driver.Options{Name: "bench"}
			if tc.hook {
				opts.Trace, opts.TraceEnabled = hub.Publish, hub.Enabled
			}
			dev := driver.New(opts)
			defer dev.Close()
			if tc.subs {
				sub := hub.subscribe("", traceDepth)
				done := make(chan struct{})
				go func() {
					for {
						select {
						case <-sub.ch:
						case <-done:
							return
						}
					}
				}()
				defer func() { hub.unsubscribe(sub); close(done) }()
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := dev.Call(ctx, driver.NewIoctl(ioctl.GetBaudRate, nil)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Next hands out what queued in one batch, marks the gap where events
// were lost, drains after its context is done, and then says so.
func TestSubscriptionNext(t *testing.T) {
	var h Hub
	sub := h.Subscribe("", 2)
	for i := range 3 {
		h.Publish(driver.TraceEvent{Port: "ttyV0", ID: uint64(i + 1)})
	}
	lines, err := sub.Next(context.Background(), nil)
	if err != nil || len(lines) != 2 || lines[0].ID != 1 || lines[1].ID != 2 {
		t.Fatalf("first batch %+v, %v; want events 1 and 2", lines, err)
	}
	h.Publish(driver.TraceEvent{Port: "ttyV0", ID: 4})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lines, err = sub.Next(ctx, lines[:0])
	if err != nil || len(lines) != 2 || lines[0].Dropped != 1 || lines[1].ID != 4 {
		t.Fatalf("after a cancel with one queued: %+v, %v; want a marker of 1 dropped, then event 4", lines, err)
	}
	if lines, err = sub.Next(ctx, lines[:0]); err == nil || len(lines) != 0 {
		t.Fatalf("drained and cancelled: %+v, %v; want no lines and the context's error", lines, err)
	}
	sub.Close()
	if h.Enabled() {
		t.Error("enabled after the subscription closed")
	}
}
