package driver

import (
	"bytes"
	"slices"
	"time"

	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// isrLoop is the interrupt goroutine. It sleeps until the chip's next
// event, input from the wire, or a wake-up from dispatch (a register write
// that raised INTR), then runs the ISR (service).
func (d *Device) isrLoop() {
	defer close(d.isrDone)
	for {
		select {
		case <-d.stop:
			d.passMu.Lock() // a pass running elsewhere ends first
			d.timer.Stop()
			d.mu.Lock()
			for _, ch := range d.s.deliverWaiters {
				close(ch)
			}
			d.s.deliverWaiters = nil
			d.mu.Unlock()
			d.passMu.Unlock()
			return
		case <-d.wake:
		case <-d.timer.C:
		}
		d.service()
	}
}

// service runs ISR passes on the calling goroutine until none is wanted.
// One goroutine at a time runs a device's passes: if another is running
// them, service returns at once and that one runs the pass asked for
// here, because it looks at want again before it lets go. So service
// never blocks, and a pass that hands characters to a far end whose own
// pass hands something back (RTS, XOFF, an acknowledgement) asks for
// another pass of the first device instead of running it inside itself.
func (d *Device) service() {
	d.want.Store(true)
	for d.want.Load() {
		if !d.passMu.TryLock() {
			return // the goroutine in the pass sees want
		}
		for d.want.Swap(false) {
			d.pass()
			d.dpcs.Drain() // what the pass queued, on this goroutine
		}
		d.passMu.Unlock()
	}
}

// pass is one ISR pass: catch the chip up to the present, servicing the
// interrupt at every virtual instant it is raised, hand what the chip
// transmitted to the wire, and run what waited for the pass (the wire's
// acknowledgements, Delivered, the low-water callback). The caller holds
// passMu.
func (d *Device) pass() {
	d.mu.Lock()
	now := d.vnow()
	rx := d.s.stats.ReceivedCount
	d.runLocked(now)
	q := d.quantumLocked(d.noteStreamLocked(now, rx))
	next, ok := d.nextWakeLocked(q)
	signals := d.signals[:0]
	if ok && d.holdCharsLocked(now, q) {
		next = min(next, d.s.handAt+q)
	} else {
		signals = d.s.chip.TakeSignals(signals)
		d.signals = signals
		d.s.txLoaded = 0
		if len(signals) > 0 {
			d.s.handAt = now
		}
	}
	d.s.wakeAt, d.s.wakeArmed = next, ok
	wire := d.s.wire
	var taken func()
	if chars := uart16550.CountChars(signals); chars > 0 && wire != nil {
		rb := d.ownRunDataLocked(signals)
		rb.acks, taken = 0, rb.taken
		if d.s.txRound && !d.s.txRoundOut {
			// The round written into the FIFO is on its way: the next
			// goes when the far end has taken it.
			rb.acks |= ackRound
			d.s.txRoundOut = true
		}
		if !d.s.instant {
			d.s.txUnacked += chars
			d.s.txBatches = append(d.s.txBatches, chars)
			rb.acks |= ackBatch
		}
	}
	dones := d.dones[:0]
	if w := d.s.deliverWaiters; len(w) > 0 {
		d.s.deliverWaiters = nil
		delivered := func() {
			for _, ch := range w {
				close(ch)
			}
		}
		switch {
		case len(signals) == 0 || wire == nil:
			dones = append(dones, delivered) // nothing on the way
		case taken == nil:
			taken = delivered
		default:
			first := taken
			taken = func() { first(); delivered() }
		}
	}
	keep := d.s.inboxDone[:0]
	for _, w := range d.s.inboxDone {
		if w.seq <= d.s.appliedSeq {
			dones = append(dones, w.fn)
		} else {
			keep = append(keep, w)
		}
	}
	d.s.inboxDone = keep
	if fn := d.lowWaterLocked(); fn != nil {
		dones = append(dones, fn)
	}
	traced := d.s.traceEvents
	d.s.traceEvents = nil
	d.mu.Unlock()

	for _, ev := range traced {
		d.trace(ev)
	}
	if ok {
		d.timer.Reset(max(0, next-d.vnow()))
	} else {
		d.timer.Stop()
	}
	if len(signals) > 0 && wire != nil {
		wire.Transmit(d, signals, taken)
	}
	// The far end's reaction (RTS, XOFF) went out above, ahead of the
	// acknowledgement that lets it send more.
	for i, fn := range dones {
		fn()
		dones[i] = nil
	}
	d.dones = dones[:0]
}

// holdCharsLocked reports whether a pass at now, whose quantum is q, may
// leave the characters the chip has sent on its pins for a later pass,
// which must then come within q of the last hand-over. While both
// ends of a cable stream, each pass that hands the far end characters
// runs the far end's pass, which hands some back: the near end's next
// pass, a few microseconds on, finds a character or two more that ended
// meanwhile, and so on, each pass completing the far end's waiting read
// with a character or two and a write to its pty, ten passes a quantum
// where two do. A stream's characters come in bursts a stretched quantum
// apart anyway, so the ones a pass finds less than half a quantum after
// the last hand-over wait for the burst. A modem line's change or a break
// goes at once, and everything with it, in order; so does what a Delivered
// caller waits for; the end of a stream (no backlog, no stretch) holds
// nothing back.
func (d *Device) holdCharsLocked(now, q time.Duration) bool {
	s := &d.s
	if s.instant || s.txResume || !s.streaming || len(s.deliverWaiters) > 0 || q <= lineQuantum || now-s.handAt >= q/2 {
		return false
	}
	_, onlyChars, ok := s.chip.Waiting()
	return !ok || onlyChars
}

// passWantedLocked reports whether what a locked section outside the ISR
// did to the chip (a catch-up, a register access) needs an ISR pass
// before the one the timer is armed for: an interrupt is up, a modem
// line's change or a break waits for the wire, characters waiting would
// reach the far end more than a quantum after the first of them ended,
// or the chip's next event now wants the ISR sooner. A relay's reads each
// catch the chip up, and a pass for each, run at once, carried the
// character or two sent since into the far end, which answered in kind.
func (d *Device) passWantedLocked() bool {
	s := &d.s
	if s.instant || !s.wakeArmed || s.chip.INTR() {
		return true
	}
	q := d.quantumLocked(d.outQueueLocked())
	if first, onlyChars, ok := s.chip.Waiting(); ok && (!onlyChars || s.wakeAt > first+q) {
		return true
	}
	at, ok := d.nextWakeLocked(q)
	return ok && at < s.wakeAt
}

// lineQuantum is how late, in line time, the ISR goroutine may come to
// service what the chip did at realistic timing: about the 0.7 ms an 8250
// at trigger level 8 leaves between receive interrupts at 115200 baud, and
// one character at 9600. The chip is caught up in virtual time, so every
// interrupt is still serviced at its own instant and every character keeps
// its time on the line; what the quantum bounds is only how long after
// that instant a program can see the effect (a read or write completing,
// a wait firing, the far end receiving). Waking per quantum instead of
// per character is what makes a streaming port cheap.
const lineQuantum = time.Millisecond

// nextWakeLocked is when the ISR goroutine must run next: the next thing
// due (nextDueLocked), q (quantumLocked) later, or, for a chip stopped by
// the cap whose round the far end has yet to take, when it stops waiting.
func (d *Device) nextWakeLocked(q time.Duration) (time.Duration, bool) {
	if d.waitsForRoundLocked() {
		return d.s.txResumeBy, true
	}
	at, ok := d.nextDueLocked()
	return at + q, ok
}

// noteStreamLocked records, at the end of a pass at realistic timing that
// began with rx characters received, what quantumLocked looks at: the
// pass's receive burst and whether a stream is under way, and since when.
// It returns the backlog, which it had to measure.
func (d *Device) noteStreamLocked(now time.Duration, rx uint64) int {
	s := &d.s
	if s.instant {
		return 0
	}
	s.rxBurst = int(s.stats.ReceivedCount - rx)
	backlog := d.outQueueLocked()
	if backlog == 0 {
		s.streaming = false
	} else if !s.streaming {
		s.streaming, s.streamSince = true, now
	}
	return backlog
}

// quantumLocked is how late the ISR goroutine may come: lineQuantum, or
// less at rates where a quantum holds more than a quarter of txWindow's
// characters (above about 2.5 Mbaud): a receiver's RTS drop or XOFF, sent
// when its buffer reaches its limit, then still stops the sender well
// inside the room that limit leaves. It stretches toward streamQuantum
// while a stream is under way:
//   - the transmitter has a backlog: up to half the time the backlog
//     takes to send and half the time it has been streaming, so a
//     stream's first and last characters and its write's completion come
//     as promptly as an exchange's (a NotifyOutputBelow in mid-stream may
//     come a stretched quantum late: the front asks for one with 100 ms
//     of line still queued);
//   - the receiver took in, in its last pass, more than half a stretched
//     quantum's characters (or a quarter-window), which only a far end
//     streaming with stretched quanta hands it; as that end's backlog
//     ends, its bursts shrink below that. Its timer then waits a
//     lineQuantum longer than the sender's: the sender's next pass runs
//     the receiver's in its own, and a receiver's timer due a few
//     character times after the sender's fired beside it whenever the
//     Go timers woke the sender that late (46 of the 106 wake-ups a
//     second of a pair streaming at 115200).
func (d *Device) quantumLocked(backlog int) time.Duration {
	if d.s.instant {
		return 0 // nothing takes time: the ISR runs as soon as something is due
	}
	ct := d.s.chip.Format().CharTime()
	q := min(lineQuantum, ct*(txWindow/4))
	if backlog > 0 && d.s.streaming {
		age := d.s.chip.Now() - d.s.streamSince
		stretch := min(streamQuantum, ct*time.Duration(backlog/2), age/2)
		if d.outputFlowLocked() {
			stretch = min(stretch, ct*streamChars)
		}
		q = max(q, stretch)
	}
	if burst := time.Duration(d.s.rxBurst) * ct; d.s.rxBurst > txWindow/4 || burst > streamQuantum/2 {
		// What the receiver's timer serves (its FIFO's timeout, its
		// reads' completion) is not what stops the far end: an RTS drop
		// or XOFF leaves in the pass that takes in the character.
		q = max(q, streamQuantum+lineQuantum)
	}
	return q
}

// streamQuantum is how late the ISR goroutine may come while a write
// streams: what a program can tell of a stream is its rate, which stays
// exact, and how the data comes in bursts, here at most 16 ms apart, the
// latency timer a USB serial adapter (FTDI's default) applies. A
// request and its answer, a few characters each, still see lineQuantum:
// the stretch needs a backlog, and ends as the backlog does, so the last
// characters of a stream, the write's completion and the far end's
// reading of them come at most lineQuantum late. Sixteen times fewer
// wake-ups than lineQuantum is what makes a streaming port cost next to
// nothing.
const streamQuantum = 16 * time.Millisecond

// streamChars bounds a stretched quantum in characters while the
// transmitter obeys output flow control: it runs at most that far past a
// receiver's RTS drop or XOFF (plus its FIFO), well inside the 512 bytes
// of room the default XoffLimit leaves, and a pass hands the wire less
// than txWindow. A transmitter that obeys none cannot be stopped, so how
// far it runs ahead of the far end's reactions changes nothing.
const streamChars = 192

// outputFlowLocked reports whether the transmitter obeys output flow
// control: CTS, DSR or DCD handshake, or received XON/XOFF.
func (d *Device) outputFlowLocked() bool {
	hf := d.s.handflow
	return hf.ControlHandShake&ioctl.OutHandshakeAll != 0 || hf.FlowReplace&ioctl.AutoTransmit != 0
}

// nextDueLocked is when something next happens that the ISR must handle:
// the chip's next event or the earliest input stamped in the future. A
// chip stopped by the cap (txResume) is due at once if its window has
// room, and otherwise when it gives up waiting for the far end.
func (d *Device) nextDueLocked() (time.Duration, bool) {
	if s := &d.s; s.txResume {
		if d.waitsForRoundLocked() {
			return s.txResumeBy, true
		}
		return s.chip.Now(), true
	}
	at, ok := d.s.chip.NextEvent()
	if len(d.s.inbox) > 0 && d.lineWaitsLocked(d.s.inbox[0]) {
		return at, ok // a read that makes room wakes the ISR goroutine
	}
	for _, in := range d.s.inbox {
		if !ok || in.At < at {
			at, ok = in.At, true
		}
	}
	return at, ok
}

// catchUpLocked services, here and now under the interrupt lock, what the
// ISR goroutine has yet to service, as a processor takes a pending
// interrupt before the dispatch routine that raised IRQL gets the lock:
// a request or a timeout then acts on the chip as it is now, not as it
// was up to a quantum ago. A timeout fires with every byte that arrived
// before it. Call it only at the start of a locked section, before any
// state is half changed. What the pass put on the pins stays in the chip
// for the ISR goroutine, which it wakes, to hand to the wire.
func (d *Device) catchUpLocked() {
	s := &d.s
	if s.instant || s.inISR {
		return
	}
	now := d.vnow()
	if at, ok := d.nextDueLocked(); ok && at <= now {
		d.runLocked(now)
		s.touched = true
	}
}

// runLocked brings the chip to virtual time now, applying input and chip
// events in time order and servicing the interrupt after each, so that the
// ISR sees every interrupt at the moment it was raised (a receive FIFO is
// drained between characters, not after the lot).
//
// It stops short of now where passLoadLocked's cap refuses a load
// (mayLoadLocked sets txResume), so that the pass can hand the far end
// what went; the next run loads on from that instant, once the far end has
// taken it (the window has room) or, if it has not by txResumeBy, runs on
// without the load, the line idle as the far end's lateness leaves it.
// Until then a run takes in only what came before that instant: a far end
// stopped the same way, later, waits for this end to take its round too.
// The far end applies a round on the sender's pass over a cable, and its
// reaction (an RTS drop, an XOFF) is stamped with its own present, later
// than the instant this chip stopped at: a run that finds one waiting
// loads nothing more (txAwait) until it has reached now and applied it,
// so a late pass overshoots a receiver's limit by at most a round, as it
// did when the line idled instead.
func (d *Device) runLocked(now time.Duration) {
	s := &d.s
	s.passes++
	resume, wait := s.txResume, false
	if d.waitsForRoundLocked() && now < s.txResumeBy {
		now, resume, wait = s.chip.Now(), false, true
	}
	s.txResume = false
	s.inISR = true
	defer func() { s.inISR, s.txAwait = false, false }()
	byTime := func(a, b Input) int { return int(a.At - b.At) }
	if !slices.IsSortedFunc(s.inbox, byTime) {
		slices.SortStableFunc(s.inbox, byTime)
	}
	s.txAwait = resume && d.flowStopPendingLocked()
	i := 0
	for {
		if resume && (i == len(s.inbox) || s.inbox[i].At > s.chip.Now()) {
			resume = false
			d.serviceLocked() // the load refused, at the instant it was
		}
		if s.txResume {
			break
		}
		ev, evOK := s.chip.NextEvent()
		if i < len(s.inbox) && s.inbox[i].At <= now && (!evOK || s.inbox[i].At <= ev) && !d.lineWaitsLocked(s.inbox[i]) {
			if s.inbox[i].Kind == InputChars {
				if d.receiveRunLocked(&s.inbox[i], now) {
					i++
					s.appliedSeq++
				}
				continue
			}
			in := s.inbox[i]
			i++
			s.appliedSeq++
			s.chip.Advance(in.At)
			d.serviceLocked()
			d.applyInputLocked(in)
			d.serviceLocked()
			continue
		}
		if evOK && ev <= now {
			if s.byteWise {
				s.chip.Advance(ev)
			} else {
				// The chip's events up to the next input, in one call
				// until one leaves INTR raised: a transmitter's
				// characters following each other out of its FIFO need
				// no servicing between them.
				limit := now
				if i < len(s.inbox) && s.inbox[i].At <= now {
					limit = s.inbox[i].At - 1 // an input at an event's instant goes first
				}
				s.chip.RunUntil(max(limit, ev))
			}
			d.serviceLocked()
			continue
		}
		break
	}
	s.inbox = s.inbox[:copy(s.inbox, s.inbox[i:])]
	if s.txResume {
		s.txResumeBy = now + lineQuantum
		return
	}
	s.chip.Advance(now)
	s.txAwait = false // what it waited for is applied
	d.serviceLocked()
	if wait {
		s.txResume = true // the window is still full: nothing loaded
		return
	}
	if ev, ok := s.chip.NextEvent(); ok && ev <= now {
		// Servicing started something that is already due (at timing
		// off a character loaded now also leaves now): carry on, rather
		// than leave it to a timer that would fire at once.
		d.runLocked(now)
	}
}

// lineWaitsLocked reports whether a character must stay on the line for
// now. At timing off the line has no pace of its own, so it waits for the
// receiver, as a pipe does: a character is taken only when the typeahead
// buffer or a read has room for it, and nothing is lost even without flow
// control. (A read that takes from the typeahead wakes the ISR goroutine.)
// At realistic timing the line waits for nobody: without flow control a
// receiver that falls behind overruns, as hardware does.
func (d *Device) lineWaitsLocked(in Input) bool {
	s := &d.s
	return s.instant && (in.Kind == InputChar || in.Kind == InputChars) && !s.readByISR && s.rxCount >= s.rxSize
}

// waitsForRoundLocked reports whether the chip is stopped by the cap
// (txResume) with a round the far end has yet to take: until txResumeBy,
// runLocked takes in only what came before the instant it stopped at.
func (d *Device) waitsForRoundLocked() bool {
	return d.s.txResume && d.s.txUnacked >= txWindow
}

// flowStopPendingLocked reports whether an input in the inbox could hold
// the transmitter once applied: an output handshake line low, or an XOFF
// it obeys.
func (d *Device) flowStopPendingLocked() bool {
	s := &d.s
	xoff := s.handflow.FlowReplace&flowAutoTransmit != 0
	for _, in := range s.inbox {
		switch in.Kind {
		case InputModem:
			if d.handshakeHoldsLocked(msrBits(d.forceInputsLocked(in.Modem))) != 0 {
				return true
			}
		case InputChar:
			if xoff && in.Char == s.chars.XoffChar {
				return true
			}
		case InputChars:
			if xoff && bytes.IndexByte(in.Data, s.chars.XoffChar) >= 0 {
				return true
			}
		}
	}
	return false
}

func (d *Device) applyInputLocked(in Input) {
	switch in.Kind {
	case InputChar:
		d.s.chip.Receive(in.Char, in.Err)
	case InputBreak:
		d.s.chip.SetBreakInput(in.Break)
	case InputModem:
		d.s.chip.SetModemInputs(d.forceInputsLocked(in.Modem))
	case InputOverrun:
		// The chip's FIFO never fills while the ISR drains it at once, so
		// an injected overrun is reported to the ISR's line-status
		// handling as the chip's OE would be.
		d.processLSRLocked(uart16550.LSROverrun)
	}
}

// syncTimeLocked moves the chip's clock up to the present before dispatch
// or a DPC touches its registers, so what they do is stamped with the right
// time. It stops short of any event or input the ISR goroutine has not yet
// handled: those happened first, and the ISR goroutine will handle them in
// order.
func (d *Device) syncTimeLocked() {
	if d.s.inISR {
		return // the ISR runs at the instant it is servicing
	}
	d.s.touched = true
	if d.s.txResume {
		return // the ISR loads on from where the chip stopped
	}
	t := d.vnow()
	if at, ok := d.nextDueLocked(); ok && at <= t {
		t = at - 1
	}
	d.s.chip.Advance(t)
}

// serviceLocked is the ISR proper (SerialISR): while the interrupt line is
// up, read IIR and handle its cause in the chip's priority order.
func (d *Device) serviceLocked() {
	c := d.s.chip
	for c.INTR() {
		switch c.Read(uart16550.IIR) & 0x0E {
		case uart16550.IIRLineStatus:
			d.processLSRLocked(c.Read(uart16550.LSR))
		case uart16550.IIRRxData, uart16550.IIRCharTimeout:
			d.receiveLocked()
		case uart16550.IIRTxEmpty:
			d.transmitLocked()
		case uart16550.IIRModem:
			d.modemUpdateLocked()
		}
	}
	// As Serial.sys does after its loop: if the holding register is empty
	// and there is work the holds allow, send it now. This restarts output
	// after an XON or a released handshake.
	if c.Read(uart16550.LSR)&uart16550.LSRTHRE != 0 && d.txWorkLocked() {
		d.transmitLocked()
	}
}

// receiveLocked drains the RX FIFO (the receive loop of SerialISR): each
// character's line status first, then the character. Characters whose
// status shows no error are read and handled a FIFO's worth at a time; one
// that shows an error is handled on its own, as SerialISR does.
func (d *Device) receiveLocked() {
	c := d.s.chip
	for {
		if n := d.readRBRLocked(); n > 0 {
			d.receiveCharsLocked(d.s.rxFIFO[:n])
			continue
		}
		lsr := c.Read(uart16550.LSR)
		if lsr&lsrErrors != 0 {
			if d.processLSRLocked(lsr) {
				continue // the errored character was replaced or dropped
			}
		}
		if lsr&uart16550.LSRDataReady == 0 {
			return
		}
		d.receiveCharLocked(c.Read(uart16550.RBR))
	}
}

const lsrErrors = uart16550.LSROverrun | uart16550.LSRParityError | uart16550.LSRFramingErr | uart16550.LSRBreak
