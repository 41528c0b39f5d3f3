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
// By default a Queue runs routines on one goroutine that exists only while
// there is work, so an idle device has no goroutine and uses no CPU.
// Routines run with no lock of the queue held: they may insert or remove
// DPCs, their own included. A routine that panics is recovered, logged and
// counted; the queue goes on with the next DPC.
//
// With Options.Inline the queue starts no goroutine: routines run on the
// goroutine that calls Drain, as Windows runs a DPC on the processor whose
// ISR queued it once IRQL drops. The owner calls Drain after an Insert
// (typically once after its interrupt pass), having released every lock a
// routine takes. These rules hold in both modes:
//
//   - Routines of one queue still run one at a time, in queue order: while
//     one goroutine drains (or the worker runs), Drain elsewhere returns at
//     once and the active drainer runs what was queued, because it looks at
//     the queue again, under its lock, after every routine and stops only
//     when it is empty. Nothing inserted is left unrun: an Insert either
//     lands before the drainer's last look or finds no drainer, and then the
//     Drain that follows it runs the DPC. So Drain returning does not mean
//     the caller's DPCs have run; Flush is for that.
//   - A routine that calls Drain on its own queue gets an immediate return:
//     its goroutine is that queue's drainer already, and the loop below the
//     routine runs whatever it inserted. Draining another queue from a
//     routine runs that queue nested.
//   - A routine must not Flush its own queue (nor one whose drain it runs
//     nested in): it would wait for itself until the context ends.
//   - A routine must not Close its own queue, in either mode: Close waits
//     for the running routine to return, and Go gives a goroutine no
//     identity by which the queue could tell that the caller is that
//     routine, so it would wait for itself for ever (the same goes for a
//     queue whose drain the routine runs nested in). A routine that decides
//     to close its device leaves the Close to its owner after the drain.
//     Outside a routine, Close waits only for a drain on another goroutine
//     (in inline mode, a Flush's): an owner that is its queue's only
//     drainer waits for nothing when it closes between drains.
//   - In inline mode Flush drains first, on its caller, so that it never
//     waits for a Drain the owner has not made yet; call it with no lock
//     held that a routine takes.
//
// In the steady state (Insert and run, no Flush waiting) neither mode
// allocates: the queue's slice keeps its capacity, and a Flush's channel
// exists only while one waits. The default mode still starts a goroutine
// each time the queue goes from idle to busy (the runtime reuses exited
// goroutines, so that is scheduling work rather than garbage).
package dpc

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
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

// Options configure a Queue. The zero value logs nowhere and runs routines
// on the queue's own goroutine.
type Options struct {
	Logger zerolog.Logger

	// Inline makes the owner run the routines: Insert starts no goroutine,
	// and routines run on whoever calls Drain (or Flush). See the package
	// doc for the rules.
	Inline bool
}

// Stats count what a queue did.
type Stats struct {
	Inserts   uint64 // inserts that queued a DPC
	Coalesced uint64 // inserts refused because the DPC was already queued
	Runs      uint64 // routines run
	Panics    uint64 // routines that panicked
}

// queueCap is the capacity a queue starts with. A DPC is queued at most
// once, so a queue is never longer than its owner has DPCs: 16 covers a
// driver device's nine. A longer queue grows once; the slice keeps its
// capacity, so it never allocates again.
const queueCap = 16

// Queue is a per-device DPC queue. The zero value is not usable; create
// it with NewQueue.
type Queue struct {
	log    zerolog.Logger
	inline bool
	// workFn is q.work bound once: `go q.work()` would allocate a closure
	// for the receiver at every start of the worker.
	workFn func()

	mu         sync.Mutex
	queue      []*DPC // waiting, in run order; shifted with copy so it keeps its capacity
	current    *DPC   // running now, if any
	currentTix uint64 // ticket of the running routine
	tickets    uint64 // last ticket handed out; each insert takes one
	// active is set while a drainer runs routines: the worker goroutine, or
	// a caller of Drain. At most one at a time, which is what keeps routines
	// one at a time.
	active bool
	// changed exists only while a Flush waits: Flush makes it, and the next
	// change (a routine ending, a Remove, Close) closes it and clears it, so
	// routines that run with no Flush waiting make no channel.
	changed    chan struct{}
	closed     bool
	workerDone chan struct{} // closed when the active drainer stops after Close
	stats      Stats
}

// NewQueue returns an empty queue.
func NewQueue(opts Options) *Queue {
	q := &Queue{log: opts.Logger, inline: opts.Inline, queue: make([]*DPC, 0, queueCap)}
	q.workFn = q.work
	return q
}

// Insert queues d with two arguments for its routine (KeInsertQueueDpc).
// It reports false, changing nothing, when d is already queued or the queue
// is closed. In inline mode the caller, or whoever it wakes, must call Drain
// afterwards (whatever Insert reported: a coalesced DPC may be waiting for
// that very Drain).
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
		q.queue = slices.Insert(q.queue, 0, d)
	} else {
		q.queue = append(q.queue, d)
	}
	q.stats.Inserts++
	if !q.inline && !q.active {
		q.active = true
		go q.workFn()
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
	if i := slices.Index(q.queue, d); i >= 0 {
		q.queue = slices.Delete(q.queue, i, i+1)
	}
	d.queued, d.arg1, d.arg2 = false, nil, nil
	q.signalLocked()
	return true
}

// Drain runs the queued routines on the calling goroutine, one at a time,
// until the queue is empty, and returns. It returns at once when another
// drainer is active (a Drain on another goroutine, the worker goroutine, or
// the routine calling Drain is itself running under a Drain of this queue):
// that drainer runs what is queued before it stops. Call it with no lock
// held that a routine takes. It is meant for Options.Inline; in the default
// mode the worker runs everything queued and Drain finds nothing to do.
func (q *Queue) Drain() {
	q.mu.Lock()
	if q.active || len(q.queue) == 0 {
		q.mu.Unlock()
		return
	}
	q.active = true
	q.drainLocked()
}

// Flush waits until every DPC queued when it was called, and the routine
// running then, have finished (KeFlushQueuedDpcs), or ctx ends. A routine
// must not flush its own queue: it would wait for itself until ctx ends. In
// inline mode Flush first drains on its caller what no drainer is running.
func (q *Queue) Flush(ctx context.Context) error {
	q.mu.Lock()
	target := q.tickets
	q.mu.Unlock()
	// What was queued before target is run by this Drain, or by the
	// drainer that is active now, which stops only on an empty queue.
	q.Drain()
	q.mu.Lock()
	for {
		if q.oldestTicketLocked() > target {
			q.mu.Unlock()
			return nil
		}
		if q.changed == nil {
			q.changed = make(chan struct{})
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
// dropped without running, and Close waits for a running routine to end,
// on whichever goroutine it runs (the worker, or a Drain caller). When it
// returns no goroutine of the queue is left and no routine of it runs. A
// routine must not Close its own queue: it would wait for itself. Closing
// again does nothing.
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
	clear(q.queue)
	q.queue = q.queue[:0]
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

// work is the worker goroutine of the default mode: Insert set active and
// started it; it runs queued routines until the queue is empty, then exits.
func (q *Queue) work() {
	q.mu.Lock()
	q.drainLocked()
}

// drainLocked runs queued routines until the queue is empty. The caller
// holds q.mu and has set q.active; drainLocked returns with q.mu released
// and q.active cleared. Clearing active under the same lock hold as the
// check that found the queue empty is what strands no DPC: an Insert
// either comes before that check and is run here, or after it and finds no
// drainer.
func (q *Queue) drainLocked() {
	for len(q.queue) > 0 {
		d := q.queue[0]
		q.queue = slices.Delete(q.queue, 0, 1)
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
		q.workerDone = nil
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

// signalLocked wakes Flush callers, if any wait.
func (q *Queue) signalLocked() {
	if q.changed != nil {
		close(q.changed)
		q.changed = nil
	}
}
