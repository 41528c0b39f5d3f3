package dpc

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/vcomd/vcomd/internal/leakcheck"
)

// recorder collects routine runs in order.
type recorder struct {
	mu   sync.Mutex
	runs []string
}

func (r *recorder) routine(d *DPC, ctx, a1, a2 any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := d.Name()
	if a1 != nil {
		s += ":" + a1.(string)
	}
	r.runs = append(r.runs, s)
}

func (r *recorder) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.runs, " ")
}

// gate returns a DPC whose routine blocks until release is closed, and a
// channel closed when it has started.
func gate(name string) (d *DPC, started, release chan struct{}) {
	started, release = make(chan struct{}), make(chan struct{})
	d = New(name, func(*DPC, any, any, any) {
		close(started)
		<-release
	}, nil)
	return d, started, release
}

// KeInsertQueueDpc: a second insert of a queued DPC returns false and the
// routine runs once, with the first insert's arguments.
func TestInsertCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{})
		defer q.Close()
		blocker, started, release := gate("block")
		q.Insert(blocker, nil, nil)
		<-started
		var r recorder
		d := New("x", r.routine, nil)
		if !q.Insert(d, "first", nil) {
			t.Fatal("first insert returned false")
		}
		if q.Insert(d, "second", nil) {
			t.Fatal("insert of a queued DPC returned true")
		}
		close(release)
		if err := q.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := r.got(); got != "x:first" {
			t.Fatalf("runs %q, want one run with the first arguments", got)
		}
		if s := q.Stats(); s.Inserts != 2 || s.Coalesced != 1 || s.Runs != 2 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// A DPC leaves the queue when its routine starts: inserted again while it
// runs, it runs again.
func TestInsertDuringRunRunsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{})
		defer q.Close()
		runs := 0
		var d *DPC
		d = New("self", func(*DPC, any, any, any) {
			runs++
			if runs == 1 && !q.Insert(d, nil, nil) {
				t.Error("re-insert from the running routine returned false")
			}
		}, nil)
		q.Insert(d, nil, nil)
		synctest.Wait()
		if runs != 2 {
			t.Fatalf("ran %d times, want 2", runs)
		}
	})
}

// High importance goes to the front, the others to the back.
func TestImportanceOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{})
		defer q.Close()
		blocker, started, release := gate("block")
		q.Insert(blocker, nil, nil)
		<-started
		var r recorder
		for _, n := range []struct {
			name string
			imp  Importance
		}{{"m1", Medium}, {"l1", Low}, {"h1", High}, {"m2", Medium}, {"h2", High}} {
			d := New(n.name, r.routine, nil)
			d.SetImportance(n.imp)
			q.Insert(d, nil, nil)
		}
		close(release)
		synctest.Wait()
		if got := r.got(); got != "h2 h1 m1 l1 m2" {
			t.Fatalf("order %q, want h2 h1 m1 l1 m2", got)
		}
	})
}

// KeRemoveQueueDpc: a removed DPC does not run; removing one that is not
// queued reports false.
func TestRemove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{})
		defer q.Close()
		blocker, started, release := gate("block")
		q.Insert(blocker, nil, nil)
		<-started
		var r recorder
		d, e := New("d", r.routine, nil), New("e", r.routine, nil)
		q.Insert(d, nil, nil)
		q.Insert(e, nil, nil)
		if !q.Remove(d) {
			t.Fatal("Remove of a queued DPC returned false")
		}
		if q.Remove(d) {
			t.Fatal("second Remove returned true")
		}
		close(release)
		synctest.Wait()
		if got := r.got(); got != "e" {
			t.Fatalf("runs %q, want only e", got)
		}
	})
}

// KeFlushQueuedDpcs: Flush returns only after the routine running and the
// DPCs queued at the call have finished; in the inline mode, the routine
// another goroutine's Drain runs and what that drainer runs after it.
func TestFlushWaits(t *testing.T) {
	for _, mode := range []struct {
		name  string
		opts  Options
		start func(q *Queue) // sets the queue running what is inserted
	}{
		{"worker", Options{}, func(*Queue) {}},
		{"inline", Options{Inline: true}, func(q *Queue) { go q.Drain() }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := NewQueue(mode.opts)
				defer q.Close()
				blocker, started, release := gate("block")
				q.Insert(blocker, nil, nil)
				mode.start(q)
				<-started
				var r recorder
				q.Insert(New("after", r.routine, nil), nil, nil)
				flushed := make(chan error)
				go func() { flushed <- q.Flush(context.Background()) }()
				synctest.Wait()
				select {
				case <-flushed:
					t.Fatal("Flush returned while a routine was still running")
				default:
				}
				close(release)
				if err := <-flushed; err != nil {
					t.Fatal(err)
				}
				if got := r.got(); got != "after" {
					t.Fatalf("Flush returned before the queued DPC ran: %q", got)
				}
			})
		})
	}
}

// Flush from a routine of the same queue would wait for itself: it ends
// with the context instead of hanging.
func TestFlushFromRoutineEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{})
		defer q.Close()
		var err error
		d := New("flusher", func(*DPC, any, any, any) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err = q.Flush(ctx)
		}, nil)
		q.Insert(d, nil, nil)
		synctest.Wait()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if err == nil {
			t.Fatal("Flush from a routine returned nil")
		}
	})
}

// A panicking routine is recovered, logged and counted; later DPCs run.
func TestPanicRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logbuf strings.Builder
		var mu sync.Mutex
		q := NewQueue(Options{Logger: zerolog.New(lockedWriter{&mu, &logbuf})})
		defer q.Close()
		var r recorder
		q.Insert(New("boom", func(*DPC, any, any, any) { panic("kaboom") }, nil), nil, nil)
		q.Insert(New("next", r.routine, nil), nil, nil)
		synctest.Wait()
		if got := r.got(); got != "next" {
			t.Fatalf("runs after the panic: %q", got)
		}
		if s := q.Stats(); s.Panics != 1 || s.Runs != 2 {
			t.Fatalf("stats %+v", s)
		}
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(logbuf.String(), "kaboom") || !strings.Contains(logbuf.String(), `"dpc":"boom"`) {
			t.Fatalf("log does not name the DPC and the panic: %s", logbuf.String())
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Close drops what waits, waits for what runs, refuses later inserts and
// leaves no goroutine behind.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue(Options{})
		blocker, started, release := gate("block")
		q.Insert(blocker, nil, nil)
		<-started
		var r recorder
		q.Insert(New("dropped", r.routine, nil), nil, nil)
		closed := make(chan struct{})
		go func() { q.Close(); close(closed) }()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while a routine was running")
		default:
		}
		close(release)
		<-closed
		if got := r.got(); got != "" {
			t.Fatalf("a DPC queued before Close ran: %q", got)
		}
		if q.Insert(New("late", r.routine, nil), nil, nil) {
			t.Fatal("Insert after Close returned true")
		}
		q.Close()
	})
}

// An idle queue has no goroutine.
func TestNoGoroutineWhenIdle(t *testing.T) {
	before := goleak.IgnoreCurrent()
	q := NewQueue(Options{})
	defer q.Close()
	for range 100 {
		q.Insert(New("x", func(*DPC, any, any, any) {}, nil), nil, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	leakcheck.Verify(t, before)
}

// Many goroutines inserting at once: every insert either queues or
// coalesces, and everything queued runs.
func TestConcurrentInsert(t *testing.T) {
	q := NewQueue(Options{})
	defer q.Close()
	var mu sync.Mutex
	runs := 0
	dpcs := make([]*DPC, 8)
	for i := range dpcs {
		dpcs[i] = New("c", func(*DPC, any, any, any) { mu.Lock(); runs++; mu.Unlock() }, nil)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				q.Insert(dpcs[(g+i)%len(dpcs)], nil, nil)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s := q.Stats()
	if s.Inserts+s.Coalesced != 8000 {
		t.Fatalf("inserts %d + coalesced %d != 8000", s.Inserts, s.Coalesced)
	}
	mu.Lock()
	defer mu.Unlock()
	if uint64(runs) != s.Inserts {
		t.Fatalf("ran %d routines for %d queued inserts", runs, s.Inserts)
	}
}

// BenchmarkInsertRun measures one insert and the run of its routine on
// the worker goroutine the insert starts (the default mode), with the
// hand-off back to the benchmark.
func BenchmarkInsertRun(b *testing.B) {
	b.ReportAllocs()
	q := NewQueue(Options{})
	defer q.Close()
	done := make(chan struct{})
	d := New("bench", func(*DPC, any, any, any) { done <- struct{}{} }, nil)
	for b.Loop() {
		q.Insert(d, nil, nil)
		<-done
	}
}

// BenchmarkInsertDrain measures one insert and the run of its routine in
// inline mode, on the benchmark's goroutine.
func BenchmarkInsertDrain(b *testing.B) {
	b.ReportAllocs()
	q := NewQueue(Options{Inline: true})
	defer q.Close()
	runs := 0
	d := New("bench", func(*DPC, any, any, any) { runs++ }, nil)
	for b.Loop() {
		q.Insert(d, nil, nil)
		q.Drain()
	}
	if runs != b.N {
		b.Fatalf("ran %d routines for %d inserts", runs, b.N)
	}
}
