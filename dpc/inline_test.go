package dpc

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"go.uber.org/goleak"

	"github.com/vcomd/vcomd/internal/leakcheck"
	"github.com/vcomd/vcomd/internal/race"
)

// Inline: Insert starts nothing; Drain runs the queue on its caller, in
// importance order, and has run everything when it returns.
func TestInlineDrainRunsOnCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{Inline: true})
		defer q.Close()
		var r recorder
		for _, n := range []struct {
			name string
			imp  Importance
		}{{"m1", Medium}, {"h1", High}, {"l1", Low}, {"h2", High}} {
			d := New(n.name, r.routine, nil)
			d.SetImportance(n.imp)
			if !q.Insert(d, nil, nil) {
				t.Fatalf("insert of %s returned false", n.name)
			}
		}
		// Nothing may run before Drain: no goroutine was started.
		synctest.Wait()
		if got := r.got(); got != "" {
			t.Fatalf("ran before Drain: %q", got)
		}
		q.Drain()
		if got := r.got(); got != "h2 h1 m1 l1" {
			t.Fatalf("Drain ran %q, want h2 h1 m1 l1", got)
		}
		if s := q.Stats(); s.Runs != 4 || s.Inserts != 4 {
			t.Fatalf("stats %+v", s)
		}
		q.Drain() // an empty queue: nothing to do
	})
}

// An inline queue never has a goroutine of its own.
func TestInlineNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	q := NewQueue(Options{Inline: true})
	defer q.Close()
	runs := 0
	d := New("x", func(*DPC, any, any, any) { runs++ }, nil)
	for range 100 {
		q.Insert(d, nil, nil)
		leakcheck.Verify(t, before)
		q.Drain()
	}
	if runs != 100 {
		t.Fatalf("ran %d times, want 100", runs)
	}
}

// A routine's Drain of its own queue returns at once; what it inserted
// runs after it, from the outer Drain, including itself re-inserted.
func TestInlineNestedDrainReturns(t *testing.T) {
	q := NewQueue(Options{Inline: true})
	defer q.Close()
	var r recorder
	other := New("other", r.routine, nil)
	runs := 0
	var self *DPC
	self = New("self", func(d *DPC, ctx, a1, a2 any) {
		runs++
		if runs > 1 {
			r.routine(d, ctx, "again", nil)
			return
		}
		r.routine(d, ctx, nil, nil)
		q.Insert(other, nil, nil)
		q.Insert(self, nil, nil)
		q.Drain()
		if got := r.got(); got != "self" {
			t.Errorf("nested Drain ran %q; it should return at once", got)
		}
	}, nil)
	q.Insert(self, nil, nil)
	q.Drain()
	if got := r.got(); got != "self other self:again" {
		t.Fatalf("runs %q, want self other self:again", got)
	}
}

// A routine may drain another queue: it runs nested, on the same goroutine.
func TestInlineDrainOtherQueueNested(t *testing.T) {
	outer, inner := NewQueue(Options{Inline: true}), NewQueue(Options{Inline: true})
	defer outer.Close()
	defer inner.Close()
	var r recorder
	outer.Insert(New("outer", func(d *DPC, ctx, a1, a2 any) {
		r.routine(d, ctx, nil, nil)
		inner.Insert(New("inner", r.routine, nil), nil, nil)
		inner.Drain()
		r.routine(New("outer-end", nil, nil), nil, nil, nil)
	}, nil), nil, nil)
	outer.Drain()
	if got := r.got(); got != "outer inner outer-end" {
		t.Fatalf("runs %q", got)
	}
}

// While one goroutine drains, Drain elsewhere returns at once, and the
// active drainer runs what the other queued before its Drain returns.
func TestInlineDrainWhileDraining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{Inline: true})
		defer q.Close()
		blocker, started, release := gate("block")
		q.Insert(blocker, nil, nil)
		drained := make(chan struct{})
		go func() { q.Drain(); close(drained) }()
		<-started
		var r recorder
		q.Insert(New("late", r.routine, nil), nil, nil)
		q.Drain() // returns at once: the other goroutine is the drainer
		if got := r.got(); got != "" {
			t.Fatalf("second Drain ran %q while another drained", got)
		}
		close(release)
		<-drained
		if got := r.got(); got != "late" {
			t.Fatalf("the active drainer left %q", got)
		}
	})
}

// Many goroutines insert and drain at once: routines run one at a time,
// and nothing is stranded. A stranded DPC would be one queued while no
// drainer is active after every Drain has returned, so the test checks at
// many such points: rounds in which every goroutine inserts and drains,
// then the queue must be empty with no drainer. No Flush sweeps up (Flush
// drains too, and would hide a stranded DPC).
func TestInlineConcurrentNothingStranded(t *testing.T) {
	q := NewQueue(Options{Inline: true})
	defer q.Close()
	var running, overlaps, runs atomic.Int64
	routine := func(*DPC, any, any, any) {
		if running.Add(1) != 1 {
			overlaps.Add(1)
		}
		runs.Add(1)
		running.Add(-1)
	}
	dpcs := make([]*DPC, 9)
	for i := range dpcs {
		dpcs[i] = New("c", routine, nil)
		if i%3 == 0 {
			dpcs[i].SetImportance(High)
		}
	}
	// A routine that inserts another DPC and drains, as completion routines
	// start the next request, so inserts race with a drain from inside one.
	chain := New("chain", func(d *DPC, ctx, a1, a2 any) {
		routine(d, ctx, a1, a2)
		q.Insert(dpcs[0], nil, nil)
		q.Drain()
	}, nil)
	dpcs = append(dpcs, chain)
	goroutines, rounds := 16, 3000
	if race.Enabled {
		rounds = 600
	}
	inserts := 0
	for round := range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range goroutines {
			wg.Go(func() {
				<-start
				for i := range 3 {
					q.Insert(dpcs[(round+g*3+i)%len(dpcs)], nil, nil)
					q.Drain()
				}
			})
		}
		inserts += goroutines * 3
		close(start)
		wg.Wait()
		q.mu.Lock()
		left, active := len(q.queue), q.active
		q.mu.Unlock()
		if left != 0 || active {
			t.Fatalf("round %d, after every Drain returned: %d DPCs queued, drainer active %v", round, left, active)
		}
	}
	s := q.Stats()
	if s.Inserts+s.Coalesced < uint64(inserts) {
		t.Fatalf("inserts %d + coalesced %d < %d", s.Inserts, s.Coalesced, inserts)
	}
	if uint64(runs.Load()) != s.Inserts || s.Runs != s.Inserts {
		t.Fatalf("ran %d routines (stats %d) for %d queued inserts", runs.Load(), s.Runs, s.Inserts)
	}
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d routines ran while another of the queue was running", n)
	}
}

// Inline Flush runs on its caller what no one drains, so it does not wait
// for a Drain the owner has not made yet.
func TestInlineFlushDrains(t *testing.T) {
	q := NewQueue(Options{Inline: true})
	defer q.Close()
	var r recorder
	q.Insert(New("a", r.routine, nil), "1", nil)
	q.Insert(New("b", r.routine, nil), "2", nil)
	if err := q.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.got(); got != "a:1 b:2" {
		t.Fatalf("Flush ran %q", got)
	}
}

// Inline Remove: a removed DPC does not run at the next Drain.
func TestInlineRemove(t *testing.T) {
	q := NewQueue(Options{Inline: true})
	defer q.Close()
	var r recorder
	d, e := New("d", r.routine, nil), New("e", r.routine, nil)
	q.Insert(d, nil, nil)
	q.Insert(e, nil, nil)
	if !q.Remove(d) {
		t.Fatal("Remove of a queued DPC returned false")
	}
	q.Drain()
	if got := r.got(); got != "e" {
		t.Fatalf("runs %q, want only e", got)
	}
}

// Inline Close waits for the routine another goroutine's Drain runs, drops
// what waits behind it, and that Drain returns without running it.
func TestInlineClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{Inline: true})
		blocker, started, release := gate("block")
		q.Insert(blocker, nil, nil)
		drained := make(chan struct{})
		go func() { q.Drain(); close(drained) }()
		<-started
		var r recorder
		q.Insert(New("dropped", r.routine, nil), nil, nil)
		closed := make(chan struct{})
		go func() { q.Close(); close(closed) }()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while a routine was running on another goroutine")
		default:
		}
		close(release)
		<-closed
		<-drained
		if got := r.got(); got != "" {
			t.Fatalf("a DPC queued before Close ran: %q", got)
		}
		if q.Insert(New("late", r.routine, nil), nil, nil) {
			t.Fatal("Insert after Close returned true")
		}
		q.Drain()
		q.Close()
	})
}

// Close with nothing draining waits for nothing, and drops what is queued.
func TestInlineCloseIdle(t *testing.T) {
	q := NewQueue(Options{Inline: true})
	var r recorder
	q.Insert(New("dropped", r.routine, nil), nil, nil)
	q.Close()
	q.Drain()
	if got := r.got(); got != "" {
		t.Fatalf("a DPC queued before Close ran: %q", got)
	}
}

// A routine that panics under Drain is recovered and counted, and the
// Drain goes on and returns normally.
func TestInlinePanicRecovered(t *testing.T) {
	q := NewQueue(Options{Inline: true})
	defer q.Close()
	var r recorder
	q.Insert(New("boom", func(*DPC, any, any, any) { panic("kaboom") }, nil), nil, nil)
	q.Insert(New("next", r.routine, nil), nil, nil)
	q.Drain()
	if got := r.got(); got != "next" {
		t.Fatalf("runs after the panic: %q", got)
	}
	if s := q.Stats(); s.Panics != 1 || s.Runs != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// The steady state allocates nothing: Insert and Drain, with no Flush
// waiting, including a High insert and a Remove, once the queue's slice has
// its capacity.
func TestInlineSteadyStateAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates on its own")
	}
	q := NewQueue(Options{Inline: true})
	defer q.Close()
	nop := func(*DPC, any, any, any) {}
	a, b, c := New("a", nop, nil), New("b", nop, nil), New("c", nop, nil)
	b.SetImportance(High)
	allocs := testing.AllocsPerRun(1000, func() {
		q.Insert(a, nil, nil)
		q.Insert(b, nil, nil)
		q.Insert(c, nil, nil)
		q.Remove(c)
		q.Drain()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Insert+Drain, want 0", allocs)
	}
}

// The default mode allocates nothing per run either: the worker goroutine
// is started from a func bound once, not a closure per start.
func TestSteadyStateAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates on its own")
	}
	q := NewQueue(Options{})
	defer q.Close()
	ran := make(chan struct{})
	d := New("d", func(*DPC, any, any, any) { ran <- struct{}{} }, nil)
	allocs := testing.AllocsPerRun(1000, func() {
		q.Insert(d, nil, nil)
		<-ran
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Insert and run, want 0", allocs)
	}
}
