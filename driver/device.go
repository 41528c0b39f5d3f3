package driver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/vcomd/vcomd/dpc"
	"github.com/vcomd/vcomd/uart16550"
)

// DefaultQueueSize is the typeahead buffer's size, as Serial.sys allocates
// it on a machine with plenty of memory.
const DefaultQueueSize = 4096

// Wire is what the UART's pins are connected to. Transmit gets what the
// chip put on its pins, in order and stamped with virtual time; it is
// called from an ISR pass, on whichever goroutine runs it, never for one
// device from two goroutines at once, with no lock held; it must not block
// for long (hand the signals on, do not wait for the far end).
//
// The signals slice is the ISR's and is reused for the next call as soon
// as Transmit returns: a wire that hands signals to another goroutine
// copies the slice first. The Data of a SignalChars is the wire's to read
// until it calls taken, which is then never nil: the device reuses that
// memory for a later pass, so a wire that keeps characters longer copies
// them. At timing off a SignalChars is what left at one
// instant; at realistic timing it is a timed run, characters that left
// back to back, the k-th ending at its End(k): a wire that passes it to
// another device keeps Step, Frac0 and Format in the Input.
//
// taken, when not nil, must be called once the far end has applied the
// signals (InputThen does that), or, for a far end that is a socket, once
// the write carrying them has returned, not from inside Transmit: then
// the transmitter's window bounds how far a slow peer lets it run ahead. At timing off a character takes no time,
// so nothing but this acknowledgement stops a transmitter from emptying a
// whole write into the line before the receiver's RTS or XOFF can reach
// it: a device sends its next FIFO's worth of data only after the last
// was taken, as the pace of a real line would allow.
type Wire interface {
	Transmit(from *Device, signals []uart16550.Signal, taken func())
}

// Input is one change the far end makes to the UART's input pins.
//
// At is when it happened on the far end's clock, which a wire between two
// devices of one Epoch shares with the receiver. A far end with no such
// clock (a socket, a child process, a test) passes zero: the ISR applies
// input in time order, and a time already past is applied at once, so
// zero means "now, after whatever came before".
type Input struct {
	At    time.Duration // virtual time it happened (the far end's clock); 0 = at once
	Kind  InputKind
	Char  byte
	Err   uart16550.RxError
	Break bool
	Modem uart16550.ModemInputs
	Data  []byte // InputChars: the characters, in order, each damaged as Err says
	// InputChars at realistic timing, from a chip that sends timed runs:
	// the run's Step, Frac0 and Format as it left (uart16550.Signal), so
	// that each character arrives at its own end (Signal.End) and not all
	// at At. Step zero means they arrive at At, back to back.
	Step   uint64
	Frac0  uint32
	Format uart16550.Format
}

// run is in, an InputChars, as the run of signals it came from.
func (in *Input) run() uart16550.Signal {
	return uart16550.Signal{At: in.At, Kind: uart16550.SignalChars, Data: in.Data, Format: in.Format, Frac0: in.Frac0, Step: in.Step}
}

// took drops the first k characters of in, an InputChars, keeping the
// ends of the rest.
func (in *Input) took(k int) {
	if in.Step == 0 {
		in.Data = in.Data[k:]
		return
	}
	rest := in.run().From(k)
	in.At, in.Data, in.Frac0 = rest.At, rest.Data, rest.Frac0
}

// InputKind says what an Input carries.
type InputKind uint8

// What can arrive on the input pins.
const (
	InputChar    InputKind = iota // a character, possibly damaged (Err)
	InputBreak                    // RX held at space (Break true) or released
	InputModem                    // CTS, DSR, RI and DCD now
	InputOverrun                  // a character lost at the UART (an injected overrun)
	InputChars                    // characters arriving back to back (Data): all at At, as a wire at timing off carries them, or each at its end (Step)
)

// Options configure a device. The zero value is a 16550A at realistic
// timing with a 4096-byte typeahead buffer and nothing on its wire.
type Options struct {
	Name      string // for logs and traces
	FIFODepth int    // UART FIFO depth; 0 means 16
	Instant   bool   // timing off: characters take no time on the wire
	QueueSize int    // typeahead buffer; 0 means DefaultQueueSize
	Wire      Wire   // may also be set later with SetWire
	// DataBits and Parity are the line settings a device starts with.
	// Zero means 8 data bits and no parity.
	DataBits uint8
	Parity   uart16550.Parity
	// Epoch is the zero of the device's virtual time; zero means now.
	// Devices wired together must share one, since their wire stamps
	// what it carries with the sender's clock.
	Epoch  time.Time
	Logger zerolog.Logger
	// Trace, if set, sees every IRP as it starts and completes. It is
	// called with no lock held and must not block.
	Trace func(TraceEvent)
	// TraceEnabled, if set, is asked before each event is built; while
	// it reports false Trace is not called, and a trace hook that
	// nobody listens to costs no copy of the data.
	TraceEnabled func() bool
}

// Device is one serial port: the chip, the driver state around it, the ISR
// goroutine and the DPC queue. Create it with New and end it with Close.
type Device struct {
	name    string
	log     zerolog.Logger
	trace   func(TraceEvent)
	traceOn func() bool
	epoch   time.Time

	wake    chan struct{} // INTR raised, input arrived, or time must be re-planned
	want    atomic.Bool   // an ISR pass is needed (service)
	stop    chan struct{}
	isrDone chan struct{}
	dpcs    *dpc.Queue

	// The DPC objects the ISR and the timers queue.
	readDpc, writeDpc, waitDpc, purgeDpc, errorDpc      *dpc.DPC
	readTotalDpc, readIntervalDpc, writeTotalDpc, imDpc *dpc.DPC

	// passMu is held by the goroutine running an ISR pass (service):
	// the ISR goroutine, or one that runs the pass where it is. It
	// guards the pass's timer and scratch.
	passMu  sync.Mutex
	timer   *time.Timer // the chip's next event, a quantum late at realistic timing
	signals []uart16550.Signal
	dones   []func()

	mu sync.Mutex // the interrupt lock; guards everything below
	// +checklocks:mu
	s state
}

// ErrClosed is returned by calls on a device that has been closed.
var ErrClosed = errors.New("device closed")

// New creates a device and starts its ISR goroutine. The port starts
// closed (no opener), at 9600 baud with the given data bits and parity.
func New(opts Options) *Device {
	d := &Device{
		name:    opts.Name,
		log:     opts.Logger,
		trace:   opts.Trace,
		traceOn: opts.TraceEnabled,
		epoch:   opts.Epoch,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		isrDone: make(chan struct{}),
		timer:   time.NewTimer(time.Hour),
	}
	d.timer.Stop()
	if d.epoch.IsZero() {
		d.epoch = time.Now()
	}
	// The DPCs an ISR pass queues run on the goroutine that ran the
	// pass, once it has released the interrupt lock, as Windows runs a
	// DPC on the processor whose ISR queued it: a read the pass filled
	// completes with no hand-off. Whoever else inserts one (dispatch,
	// a timer) drains after unlocking (finish, timerFired).
	d.dpcs = dpc.NewQueue(dpc.Options{Logger: d.log, Inline: true})
	d.initDPCs()
	d.initState(opts)
	go d.isrLoop()
	d.kick() // enabling ETBEI with THR empty raised INTR
	return d
}

// Name is the device's name.
func (d *Device) Name() string { return d.name }

// SetWire connects the UART's pins.
func (d *Device) SetWire(w Wire) {
	d.mu.Lock()
	d.s.wire = w
	// Inputs the new wire drives are no longer the control API's to hold.
	d.s.forcedMask &^= d.drivenBitsLocked()
	d.s.txRound = false // an old wire's acknowledgement will not come
	// Nor will its batches' (one that still does only frees the window a
	// batch early).
	d.s.txUnacked, d.s.txBatches, d.s.txWindowFull, d.s.txLoaded = 0, nil, false, 0
	d.s.txResume = false
	// The new wire gets what waits on the pins, and the inputs it drives.
	after := afterUnlock{settings: true, kick: true}
	d.unlock(&after)
	d.finish(&after)
}

// Close cancels every request, stops the ISR goroutine and the DPC queue,
// and waits for both: no goroutine of the device is left when it returns.
func (d *Device) Close() error {
	var after afterUnlock
	d.mu.Lock()
	if d.s.closed {
		d.mu.Unlock()
		return nil
	}
	d.s.closed = true
	d.cancelAllLocked(&after, func(*IRP) bool { return true })
	d.unlock(&after)
	d.finish(&after)
	close(d.stop)
	<-d.isrDone
	d.dpcs.Close()
	// Input still in the inbox is dropped, but whoever sent it must not
	// wait for it forever.
	d.mu.Lock()
	dones := d.s.inboxDone
	d.s.inboxDone, d.s.inbox = nil, nil
	d.mu.Unlock()
	for _, w := range dones {
		w.fn()
	}
	return nil
}

// Submit hands a request to the driver (IoCallDriver). It returns
// StatusPending if the request waits in the driver, or its final status if
// it completed at once; either way, Done is closed on completion.
func (d *Device) Submit(irp *IRP) Status { return d.submit(irp, false) }

// SubmitHere is Submit, but the ISR pass the request calls for (a write
// that starts the transmitter) runs on the calling goroutine, as
// InputHere does, instead of waking the ISR goroutine: a front's reader
// that hands the driver what a program wrote then carries it through the
// UART, and over a null-modem cable through the far end's too, with no
// goroutine hand-off. The caller must hold no lock that a Wire's Transmit
// or an InputThen callback could take.
func (d *Device) SubmitHere(irp *IRP) Status { return d.submit(irp, true) }

func (d *Device) submit(irp *IRP, here bool) Status {
	var after afterUnlock
	d.mu.Lock()
	d.s.seq++
	irp.id = d.s.seq
	irp.issued = time.Now()
	irp.done = make(chan struct{})
	irp.status = StatusPending
	irp.routine.Store(routineUndecided)
	d.traceStart(irp)
	if !d.queuesBehindLocked(irp) {
		d.catchUpLocked()
	}
	if d.s.closed {
		d.completeLocked(&after, irp, StatusDeviceRemoved, 0)
	} else {
		d.dispatchLocked(&after, irp)
	}
	d.unlock(&after)
	pass := here && after.kick
	if pass {
		after.kick = false
	}
	d.finish(&after)
	if pass {
		d.service()
	}
	if irp.OnComplete != nil {
		if irp.routine.CompareAndSwap(routineUndecided, routineOwed) {
			return StatusPending
		}
		return irp.status
	}
	select {
	case <-irp.done:
		return irp.status
	default:
		return StatusPending
	}
}

// queuesBehindLocked reports whether irp is a write that only joins the
// queue behind the current one: it acts on nothing the chip has done
// since the last pass, so catching up for it would only run a pass where
// the program wrote. A front streaming at 4 Mbaud hands the driver 4 KiB
// a read, and each of those passes carried the few characters since the
// last one through the far end and into a small write to its pty: half
// of a streaming pair's writes to its ptys (924 against 488 in 4 s), for
// nothing a program could see sooner, since the timer's pass delivers
// them within the quantum as it would have without this write.
func (d *Device) queuesBehindLocked(irp *IRP) bool {
	return irp.Major == MajorWrite && d.s.curWrite != nil && !d.s.closed
}

// Call submits a request and waits for it: a convenience for requests that
// complete at once or soon (IOCTLs). If ctx ends first the request is
// cancelled and its final status returned with ctx's error.
func (d *Device) Call(ctx context.Context, irp *IRP) (Status, error) {
	d.Submit(irp)
	st, err := irp.Wait(ctx)
	if err != nil {
		d.Cancel(irp)
		<-irp.done
		return irp.status, err
	}
	if !st.OK() {
		return st, fmt.Errorf("%s %s on %s: %w", irp.Major, irp.Code, d.name, st)
	}
	return st, nil
}

// Cancel asks the driver to give a request back (IoCancelIrp). A queued
// request completes CANCELLED; a current one is taken back from the ISR
// first. It reports whether the request was still with the driver.
func (d *Device) Cancel(irp *IRP) bool {
	var after afterUnlock
	d.mu.Lock()
	ok := d.cancelLocked(&after, irp)
	d.unlock(&after)
	d.finish(&after)
	return ok
}

// Input delivers changes on the input pins; the ISR goroutine applies them
// in time order.
func (d *Device) Input(in ...Input) { d.InputThen(nil, in...) }

// InputThen is Input, and calls done (from an ISR pass, with no lock
// held) once every one of in has been applied. A Wire passes its taken
// callback here. If the device is closed first, done is called by Close.
func (d *Device) InputThen(done func(), in ...Input) {
	if d.input(done, in) {
		d.kick()
	}
}

// InputHere is InputThen, but the ISR pass that applies in runs on the
// calling goroutine instead of the device's ISR goroutine, as an
// interrupt is serviced on the processor that raised it: a null-modem
// cable calls it from the sender's pass, so a character crosses from one
// UART to the other with no goroutine hand-off. done runs on the calling
// goroutine too, unless another goroutine is in a pass of this device,
// which then applies in and calls done. The caller must hold no lock that
// a Wire's Transmit or an InputThen callback could take.
func (d *Device) InputHere(done func(), in ...Input) {
	if d.input(done, in) {
		d.service()
	}
}

// input puts in into the inbox, or calls done at once if the device is
// gone, and reports whether a pass must apply it.
func (d *Device) input(done func(), in []Input) bool {
	d.mu.Lock()
	if d.s.closed && d.isrFinished() {
		d.mu.Unlock()
		if done != nil {
			done()
		}
		return false
	}
	d.inputLocked(done, in...)
	d.mu.Unlock()
	return true
}

// inputLocked puts in into the inbox for the ISR goroutine; the caller
// kicks it once the lock is released.
func (d *Device) inputLocked(done func(), in ...Input) {
	start := len(d.s.inbox)
	d.s.inbox = append(d.s.inbox, in...)
	if d.s.instant {
		// Nothing takes time at timing off: whatever the sender's clock
		// said, it is here now.
		now := d.vnow()
		for i := start; i < len(d.s.inbox); i++ {
			d.s.inbox[i].At, d.s.inbox[i].Step = now, 0
		}
	}
	d.s.inboxSeq += uint64(len(in))
	if done != nil {
		d.s.inboxDone = append(d.s.inboxDone, pendingDone{seq: d.s.inboxSeq, fn: done})
	}
}

// isrFinished reports whether the ISR goroutine has ended.
func (d *Device) isrFinished() bool {
	select {
	case <-d.isrDone:
		return true
	default:
		return false
	}
}

// Delivered waits until what the UART has put on its pins so far (modem
// outputs, break, characters that have left the shift register) has
// reached the far end of the wire and been applied there: a change one
// port makes is then visible on the other. A far end whose line waits for
// a reader holds it back, so callers bound ctx.
func (d *Device) Delivered(ctx context.Context) error {
	ch := make(chan struct{})
	d.mu.Lock()
	if d.s.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.s.deliverWaiters = append(d.s.deliverWaiters, ch)
	d.mu.Unlock()
	d.kick()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s's wire: %w", d.name, ctx.Err())
	}
}

// kick wakes the ISR goroutine: the chip's INTR line may have risen, input
// arrived, or the next event moved. While a pass is running (on any
// goroutine) it needs no wake: the goroutine in the pass looks at want
// again before it lets go (see service), so a far end's acknowledgement
// made inside our pass costs no hand-off.
func (d *Device) kick() {
	d.want.Store(true)
	if !d.passMu.TryLock() {
		return
	}
	d.passMu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Now is the device's virtual time: what Input.At counts in. A wire with
// no clock of its own passes At zero (at once), but stamps with Now what
// must come later than now on the port's clock, such as the end of a
// break the UART must see last a character time.
func (d *Device) Now() time.Duration { return d.vnow() }

// vnow is the present virtual time.
func (d *Device) vnow() time.Duration { return time.Since(d.epoch) }

// afterUnlock collects what a locked section decided and must be done once
// the lock is released: completions (which wake waiters and call the
// trace hook) and a wake-up for the ISR goroutine.
type afterUnlock struct {
	complete []*IRP
	kick     bool
	settings bool // line settings changed: tell a SettingsWire
}

// unlock ends a locked section. If it touched the chip, the ISR goroutine
// may have to look before its timer: INTR may be up, signals may wait for
// the wire, and the next event may have moved (passWantedLocked).
func (d *Device) unlock(a *afterUnlock) {
	if d.s.touched {
		d.s.touched = false
		a.kick = a.kick || d.passWantedLocked()
	}
	d.mu.Unlock()
}

// finish carries out what a locked section left to do. Call it with the
// lock released.
func (d *Device) finish(a *afterUnlock) {
	// Before the completions: once a request that changed the settings
	// returns, the wire has them.
	if a.settings {
		d.notifySettings()
	}
	for _, irp := range a.complete {
		d.traceComplete(irp)
		close(irp.done)
		if irp.OnComplete != nil && !irp.routine.CompareAndSwap(routineUndecided, routineNotOwed) {
			irp.OnComplete(irp)
		}
	}
	if a.kick {
		d.kick()
	}
	clear(a.complete)
	a.complete, a.kick, a.settings = a.complete[:0], false, false
	d.dpcs.Drain()
}

// Outputs reports the UART's modem control outputs at its pins.
func (d *Device) Outputs() uart16550.ModemOutputs {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.chip.Outputs()
}

// Format reports the UART's present framing and speed.
func (d *Device) Format() uart16550.Format {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.chip.Format()
}
