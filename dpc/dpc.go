// Package dpc provides deferred procedure calls in the manner of the
// Windows kernel's KDPC: objects that an interrupt routine queues for work
// it must not do itself, run one at a time by a per-device queue.
//
// The rules follow the kernel's:
//
//   - Insert (KeInsertQueueDpc) queues a DPC and reports true, or reports
//     false and changes nothing when that DPC is already queued: several
//     interrupts before the routine runs collapse into one run, with the
//     arguments of the first insert.
//   - A DPC leaves the queue when its routine starts, so inserting it while
//     its routine runs queues it again, and it runs again afterwards.
//   - Remove (KeRemoveQueueDpc) takes a queued DPC out before it runs.
//   - Flush (KeFlushQueuedDpcs) waits until everything queued so far has run.
//   - High importance goes to the front of the queue, the others to the back.
//
// A Queue runs routines on one goroutine that exists only while there is
// work, so an idle device has no goroutine and uses no CPU. Routines run
// with no lock of the queue held: they may insert or remove DPCs, their own
// included. A routine that panics is recovered, logged and counted; the
// queue goes on with the next DPC.
package dpc

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/rs/zerolog"
)

// Importance is where an inserted DPC goes in the queue.
type Importance uint8

// Importances, as KeSetImportanceDpc has them. Low and Medium both queue at
// the back (the kernel's difference is about waking idle processors).
const (
	Medium Importance = iota
	Low
	High
)

// Routine is a deferred routine: the DPC itself, the context it was created
// with, and the two arguments of the Insert that queued it.
type Routine func(d *DPC, context, arg1, arg2 any)

// DPC is a deferred procedure call object. Create it with New; it may be
// inserted into one Queue at a time.
type DPC struct {
	name       string
	routine    Routine
	context    any
	importance Importance

	// Guarded by the queue's mutex.
	queued     bool
	ticket     uint64 // order of insertion, for Flush
	arg1, arg2 any
}

// New returns a DPC that runs routine with context (KeInitializeDpc).
func New(name string, routine Routine, context any) *DPC {
	return &DPC{name: name, routine: routine, context: context}
}

// SetImportance sets where later inserts put the DPC (KeSetImportanceDpc).
func (d *DPC) SetImportance(i Importance) { d.importance = i }

// Name is the DPC's name, for logs.
func (d *DPC) Name() string { return d.name }

// Options configure a Queue. The zero value logs nowhere.
type Options struct {
	Logger zerolog.Logger
}

// Stats count what a queue did.
type Stats struct {
	Inserts   uint64 // inserts that queued a DPC
	Coalesced uint64 // inserts refused because the DPC was already queued
	Runs      uint64 // routines run
	Panics    uint64 // routines that panicked
}

// Queue is a per-device DPC queue. The zero value is not usable; create
// it with NewQueue.
type Queue struct {
	log zerolog.Logger

	mu         sync.Mutex
	queue      []*DPC        // waiting, in run order
	current    *DPC          // running now, if any
	currentTix uint64        // ticket of the running routine
	tickets    uint64        // last ticket handed out; each insert takes one
	active     bool          // a worker goroutine exists
	changed    chan struct{} // closed and replaced each time a routine ends
	closed     bool
	workerDone chan struct{} // closed when the last worker exits after Close
	stats      Stats
}

// NewQueue returns an empty queue.
func NewQueue(opts Options) *Queue {
	return &Queue{log: opts.Logger, changed: make(chan struct{})}
}

// Insert queues d with two arguments for its routine (KeInsertQueueDpc).
// It reports false, changing nothing, when d is already queued or the queue
// is closed.
func (q *Queue) Insert(d *DPC, arg1, arg2 any) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if d.queued {
		q.stats.Coalesced++
		return false
	}
	q.tickets++
	d.queued, d.ticket, d.arg1, d.arg2 = true, q.tickets, arg1, arg2
	if d.importance == High {
		q.queue = append([]*DPC{d}, q.queue...)
	} else {
		q.queue = append(q.queue, d)
	}
	q.stats.Inserts++
	if !q.active {
		q.active = true
		go q.work()
	}
	return true
}

// Remove takes d out of the queue before its routine starts
// (KeRemoveQueueDpc). It reports whether d was queued.
func (q *Queue) Remove(d *DPC) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !d.queued {
		return false
	}
	for i, x := range q.queue {
		if x == d {
			q.queue = append(q.queue[:i], q.queue[i+1:]...)
			break
		}
	}
	d.queued, d.arg1, d.arg2 = false, nil, nil
	q.signalLocked()
	return true
}

// Flush waits until every DPC queued when it was called, and the routine
// running then, have finished (KeFlushQueuedDpcs), or ctx ends. A routine
// must not flush its own queue: it would wait for itself until ctx ends.
func (q *Queue) Flush(ctx context.Context) error {
	q.mu.Lock()
	target := q.tickets
	for {
		if q.oldestTicketLocked() > target {
			q.mu.Unlock()
			return nil
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("flushing DPCs: %w", ctx.Err())
		}
		q.mu.Lock()
	}
}

// oldestTicketLocked is the smallest ticket still queued or running, or one
// past the last handed out when there is none.
func (q *Queue) oldestTicketLocked() uint64 {
	oldest := q.tickets + 1
	if q.current != nil {
		oldest = min(oldest, q.currentTix)
	}
	for _, d := range q.queue {
		oldest = min(oldest, d.ticket)
	}
	return oldest
}

// Close stops the queue: later inserts are refused, DPCs still waiting are
// dropped without running, and Close waits for a running routine to end.
// When it returns no goroutine of the queue is left. Closing again does
// nothing.
func (q *Queue) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	for _, d := range q.queue {
		d.queued, d.arg1, d.arg2 = false, nil, nil
	}
	q.queue = nil
	q.signalLocked()
	var wait chan struct{}
	if q.active {
		q.workerDone = make(chan struct{})
		wait = q.workerDone
	}
	q.mu.Unlock()
	if wait != nil {
		<-wait
	}
}

// Stats returns the queue's counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}

// work runs queued routines until the queue is empty, then exits.
func (q *Queue) work() {
	q.mu.Lock()
	for len(q.queue) > 0 {
		d := q.queue[0]
		q.queue = q.queue[1:]
		arg1, arg2 := d.arg1, d.arg2
		d.queued, d.arg1, d.arg2 = false, nil, nil
		q.current, q.currentTix = d, d.ticket
		q.mu.Unlock()

		panicked := q.run(d, arg1, arg2)

		q.mu.Lock()
		q.current = nil
		q.stats.Runs++
		if panicked {
			q.stats.Panics++
		}
		q.signalLocked()
	}
	q.active = false
	if q.workerDone != nil {
		close(q.workerDone)
	}
	q.mu.Unlock()
}

// run calls d's routine, recovering a panic so that one broken routine
// cannot take the daemon down or stall the queue.
func (q *Queue) run(d *DPC, arg1, arg2 any) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			q.log.Error().Str("dpc", d.name).Interface("panic", v).Bytes("stack", debug.Stack()).Msg("DPC routine panicked")
		}
	}()
	d.routine(d, d.context, arg1, arg2)
	return false
}

// signalLocked wakes Flush callers.
func (q *Queue) signalLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}
