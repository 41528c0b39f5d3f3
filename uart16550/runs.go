package uart16550

import (
	"math/bits"
	"time"
)

// Runs at realistic timing. A transmitter kept busy sends one character
// per character time, and a caller that handles each one as a signal, an
// Advance and a Receive of its own pays per character what the line costs
// per run. With [Options.TimedRuns] back-to-back characters go on the wire
// as one SignalChars that still says when each one ended (End), and a
// receiver takes them with ReceiveSpaced, each at its own end, stopping
// where a byte-wise caller would have had to act. RunUntil is Advance for a
// caller that services the interrupt at the instant it is raised, without
// a NextEvent round trip per character.

// End is when the k-th character of a SignalChars (k from 0) finished
// shifting out: At for k 0, and for each further character one Step later,
// in the exact arithmetic the transmitter paces characters with (loadTSR),
// so End(k) is the At that character's own SignalChar would have had. For a
// signal without Step (a run at timing off, any other kind) it is At.
func (s Signal) End(k int) time.Duration {
	end, _ := s.end(k)
	return end
}

// end is End and the fraction of a nanosecond, in 1/Format.ClockHz ns,
// by which the character really ends after it. The end of character k is
// At + (Frac0 + k*Step)/clock; splitting Step into whole nanoseconds q and
// a remainder r keeps every product within 64 bits (r < clock < 2^32).
func (s Signal) end(k int) (time.Duration, uint64) {
	if s.Step == 0 || s.Format.ClockHz == 0 || k <= 0 {
		return s.At, uint64(s.Frac0)
	}
	clock := uint64(s.Format.ClockHz)
	q, r := s.Step/clock, s.Step%clock
	n := uint64(k)
	f := uint64(s.Frac0) + n*r
	return s.At + time.Duration(n*q+f/clock), f % clock
}

// From is the run of s's characters from the k-th on (k from 0), each
// still ending at its End in s: what is left of a run a receiver has taken
// k characters of. For a signal without Step it is Data[k:] at At.
func (s Signal) From(k int) Signal {
	k = min(max(k, 0), len(s.Data))
	end, frac := s.end(k)
	s.At, s.Data = end, s.Data[k:]
	if s.Step != 0 && s.Format.ClockHz != 0 {
		s.Frac0 = uint32(frac)
	}
	return s
}

// EndedBy is how many of the characters of a SignalChars have finished
// shifting out by t: the number of k with End(k) <= t. A receiver that has
// caught up to t takes that many of them (ReceiveSpaced's n).
//
// It is worked out, not searched for: the driver asks at every receive
// interrupt, 50 000 times a second at 4 Mbaud, where a binary search
// over a pass's run cost 13 End calls of four 64-bit divisions each.
// End(k) <= t means floor((Frac0 + k*Step)/clock) <= t - At, that is
// k*Step <= (t-At+1)*clock - Frac0 - 1, in 128 bits, for k from 1; the
// first character ends at At.
func (s Signal) EndedBy(t time.Duration) int {
	if len(s.Data) == 0 || t < s.At {
		return 0
	}
	if s.Step == 0 || s.Format.ClockHz == 0 {
		return len(s.Data) // all end at At
	}
	hi, lo := bits.Mul64(uint64(t-s.At)+1, uint64(s.Format.ClockHz))
	var borrow uint64
	lo, borrow = bits.Sub64(lo, uint64(s.Frac0)+1, 0)
	if hi, borrow = bits.Sub64(hi, 0, borrow); borrow != 0 {
		return 1 // not even the second
	}
	if hi >= s.Step {
		return len(s.Data) // a quotient past 64 bits: past any run
	}
	last, _ := bits.Div64(hi, lo, s.Step) // the last k that has ended
	return int(min(last, uint64(len(s.Data)-1))) + 1
}

// sendTimed puts the character that just finished shifting out on the wire
// with TimedRuns: onto the last signal if that is a run of the same format
// whose last character ended exactly one Step before this one did (it was
// loaded the instant that one finished), else as a new run. The check is
// on the exact end, fraction included, so that End of every character in a
// run is its true end whatever happened between them (a character lost to
// break or looped back, an idle line, a format changed and back).
func (u *UART) sendTimed() {
	if last := u.runContinued(); last != nil {
		u.appendRunByte(last, u.tsrData)
		u.runNext, u.runNextFrac = addChar(u.tsrEnd, u.tsrFrac, u.runQ, u.runR, uint64(u.tsrFormat.ClockHz))
		return
	}
	clock := uint64(u.tsrFormat.ClockHz)
	s := Signal{
		At:     u.tsrEnd,
		Kind:   SignalChars,
		Format: u.tsrFormat,
		Step:   u.tsrFormat.charCycles() * uint64(time.Second),
		Frac0:  uint32(u.tsrFrac),
	}
	u.runQ, u.runR = s.Step/clock, s.Step%clock
	if !u.reuseRuns {
		// The characters in the FIFO are the likely rest of the run, up
		// to a size that a run cut short by TakeSignals does not waste.
		s.Data = make([]byte, 0, min(1+u.tx.len(), 64))
	}
	u.signals = append(u.signals, s)
	u.appendRunByte(&u.signals[len(u.signals)-1], u.tsrData)
	// Where the next character must end to join the run.
	u.runNext, u.runNextFrac = addChar(u.tsrEnd, u.tsrFrac, u.runQ, u.runR, clock)
}

// runContinued is the last signal if the character in the shift register
// continues it: a TimedRuns run of the same format whose next character
// must end exactly when this one does. Else nil.
func (u *UART) runContinued() *Signal {
	k := len(u.signals)
	if k == 0 {
		return nil
	}
	// A TimedRuns run that is the last signal is the latest one, the one
	// runNext describes.
	last := &u.signals[k-1]
	if last.Kind != SignalChars || last.Step == 0 || last.Format != u.tsrFormat ||
		u.tsrEnd != u.runNext || u.tsrFrac != u.runNextFrac {
		return nil
	}
	return last
}

// appendRunByte adds c to the run s, the last signal. With ReuseRunData a
// run's Data is the tail of runData (the last signal's, since only the last
// signal grows), capped so that a caller's append cannot reach the next
// run's characters.
func (u *UART) appendRunByte(s *Signal, c byte) {
	if !u.reuseRuns {
		s.Data = append(s.Data, c)
		return
	}
	start := len(u.runData) - len(s.Data)
	u.runData = append(u.runData, c)
	s.Data = u.runData[start:len(u.runData):len(u.runData)]
}

// appendRun adds the characters of p, masked, to the run s, the last
// signal, as appendRunByte does for one.
func (u *UART) appendRun(s *Signal, p []byte, mask byte) {
	if !u.reuseRuns {
		s.Data = appendMasked(s.Data, p, mask)
		return
	}
	start := len(u.runData) - len(s.Data)
	u.runData = appendMasked(u.runData, p, mask)
	s.Data = u.runData[start:len(u.runData):len(u.runData)]
}

// appendMasked appends each of p, masked to the word length, to dst.
func appendMasked(dst, p []byte, mask byte) []byte {
	if mask == 0xFF {
		return append(dst, p...)
	}
	for _, c := range p {
		dst = append(dst, c&mask)
	}
	return dst
}

// RunUntil is Advance(until) for a caller that services the interrupt at
// the instant it is raised: an ISR that steps from one NextEvent to the
// next, advancing to each and servicing while INTR is asserted. It carries
// out the chip's events in order, each instant's together (as Advance to
// that instant does), and stops after the first instant that leaves INTR
// asserted, with the chip's time at that instant, reporting true for the
// caller to service and call again. Otherwise it ends at until, as
// Advance(until) does, and reports false; INTR is then asserted only if
// it already was at the call and no event was due by until, and the
// stepping caller services at until too.
//
// The chip is left as the stepping caller leaves it, provided that
// caller's service does nothing while INTR is deasserted (an ISR that
// loops while INTR is asserted): the instants RunUntil passes without
// stopping are those after which the caller finds INTR deasserted.
func (u *UART) RunUntil(until time.Duration) bool {
	if u.stepTo(until) {
		return true
	}
	u.Advance(until)
	return false
}

// stepTo carries out the events due by until, one instant at a time, and
// stops, reporting true, after the first instant that leaves INTR
// asserted. Time stays at the last event carried out.
func (u *UART) stepTo(until time.Duration) bool {
	at, ok := u.NextEvent()
	for ok && at <= until {
		if at == u.tsrEnd && u.tsrBusy && u.sendBurst(until) {
			at, ok = u.NextEvent()
			continue
		}
		u.now = at
		u.fire()
		next, more := u.NextEvent()
		if (!more || next > at) && u.INTR() {
			return true // this instant is done, and the ISR has work
		}
		at, ok = next, more
	}
	return false
}

// sendBurst carries out at once the ends of characters that the loop of
// stepTo would carry out one instant at a time, finding INTR deasserted
// after each, and reports whether there were any: the shift register's
// character and those the TX FIFO loads behind it back to back, up to
// until, while the FIFO keeps a character after each load (so THRE stays
// off) and before any other event of the chip's. They join the run that
// is the last signal, which the shift register's character must already
// continue, in one append; at 4 Mbaud a sending port otherwise spends
// most of its time in the per-character steps.
func (u *UART) sendBurst(until time.Duration) bool {
	last, m := u.burstable()
	if last == nil {
		return false
	}
	stop := until
	if at, ok := u.otherEvent(); ok {
		stop = min(stop, at-1) // stepTo carries that instant out itself
	}
	return u.burst(last, m, stop)
}

// burstable is the run a burst of the transmitter's would join, and the
// TX FIFO's level, or nil where the characters must go one at a time.
func (u *UART) burstable() (last *Signal, m int) {
	m = u.tx.len()
	if !u.timedRuns || u.instant || m < 2 || u.lcr&LCRBreak != 0 || u.loop() || u.tsrEnd < u.now || u.INTR() {
		return nil, 0
	}
	last = u.runContinued()
	if last == nil || u.tsrFormat != u.fmt || u.runQ != u.charQ || u.runR != u.charR {
		return nil, 0 // sendTimed decides, one character at a time
	}
	return last, m
}

// burstEnd is when the m-th character from the shift register's ends (m
// from 1, the shift register's own): with m the TX FIFO's level, the end
// at which its last character loads and THRE rises.
func (u *UART) burstEnd(m int) time.Duration {
	clock := uint64(u.clockHz)
	end, frac := u.tsrEnd, u.tsrFrac
	for range m - 1 {
		end, frac = addChar(end, frac, u.charQ, u.charR, clock)
	}
	return end
}

// burst is sendBurst's work once burstable has said yes: the ends up to
// stop, at most m-1 of them.
func (u *UART) burst(last *Signal, m int, stop time.Duration) bool {
	clock := uint64(u.clockHz)
	n, now := 0, u.now
	end, frac := u.tsrEnd, u.tsrFrac
	for n < m-1 && end <= stop {
		n++
		now = end
		end, frac = addChar(end, frac, u.charQ, u.charR, clock)
	}
	if n == 0 {
		return false
	}
	// Sent: the shift register's character and the FIFO's first n-1;
	// the FIFO's nth is loaded behind them.
	mask := u.dataMask()
	u.appendRunByte(last, u.tsrData)
	a, b := u.tx.oldest(n - 1)
	u.appendRun(last, a, mask)
	u.appendRun(last, b, mask)
	u.tsrData = u.tx.at(n-1) & mask
	u.tx.drop(n)
	u.counters.TxSent += uint64(n)
	u.now = now
	u.tsrEnd, u.tsrFrac = end, frac
	u.runNext, u.runNextFrac = end, frac
	return true
}

// otherEvent is when the chip next changes state on its own other than
// by the transmitter: a received break has lasted a whole frame, or the
// RX FIFO's character timeout expires. NextEvent has the same clauses
// written out: built on this it was a quarter slower a character in
// BenchmarkRealisticRun.
func (u *UART) otherEvent() (at time.Duration, ok bool) {
	if u.breakLevel && !u.breakDone {
		at, ok = u.breakSince+u.charTime, true
	}
	if u.fifoMode() && u.ier&IERRxData != 0 && !u.rx.empty() && u.rx.len() < u.trigger {
		if t := u.rxTimeoutAt(); t > u.now && (!ok || t < at) {
			at, ok = t, true
		}
	}
	return at, ok
}

// ReceiveSpaced receives characters from, from+1, ... of the run s (a
// SignalChars, typically from a far end's TimedRuns chip), each at its own
// end s.End(k), and returns how many it took: at most n, and fewer where a
// caller doing it byte-wise would have had to service an interrupt first.
// errs applies to each character, as Receive's does.
//
// The caller it stands for does, for each character k in turn: step
// through the chip's own events before End(k) (Advance to each NextEvent
// and service INTR), Advance to End(k) and service INTR, then
// Receive(s.Data[k], errs) and service INTR. ReceiveSpaced does the same
// without the servicing, and stops where that caller would find INTR
// asserted, for the caller to service and call again with from advanced by
// the count:
//   - after one of the chip's own events before a character's end (the
//     transmitter finishing, a break detected, the character timeout),
//     with the chip's time at that event and that character not taken;
//   - at a character's end, when INTR is asserted there before it arrives
//     (events due at that very instant, or an interrupt the caller left
//     pending), with the character not taken;
//   - after a character whose arrival left INTR asserted (it reached the
//     trigger level, it is in error, it overran, the FIFOs are off), with
//     the character taken.
//
// Otherwise it ends at End(from+n-1) with n taken. It returns 0 only where
// the caller has to service first, so a caller that never services INTR
// uses Receive. Every character taken counts, including one the chip
// ignores (loopback, break) or loses to overrun, for which Receive reports
// false. A character whose end is before the chip's time arrives at the
// chip's time, as Receive would; a caller that must not take characters
// beyond its own present limits n with EndedBy.
//
// After the call the whole chip (its time, the RX FIFO and error flags,
// LSR, the character-timeout stamp, which is End(k) of the last character
// taken, the counters, the transmitter and the signals it sent) is as the
// byte-wise caller leaves it at the same point, provided that caller's
// service does nothing while INTR is deasserted, as an ISR that loops while
// INTR is asserted does.
func (u *UART) ReceiveSpaced(s Signal, from, n int, errs RxError) int {
	from = max(from, 0)
	n = min(n, len(s.Data)-from)
	if n <= 0 {
		return 0
	}
	t := newRunTimer(s, from)
	return u.receiveSpaced(s.Data[from:from+n], errs, &t)
}

// TakeSpaced is ReceiveSpaced of the first n characters of *s, which it
// then leaves as what is left of the run (s.From of the count): a receiver
// that takes a run an interrupt's worth at a time keeps its place so,
// without working out where the rest begins (End's divisions) at every
// interrupt.
func (u *UART) TakeSpaced(s *Signal, n int, errs RxError) int {
	n = min(n, len(s.Data))
	if n <= 0 {
		return 0
	}
	t := newRunTimer(*s, 0)
	k := u.receiveSpaced(s.Data[:n], errs, &t)
	s.Data = s.Data[k:]
	if t.clock != 0 {
		s.At, s.Frac0 = t.end, uint32(t.frac)
	}
	return k
}

// receiveSpaced is ReceiveSpaced of p, the first of which ends at t.end:
// it returns how many it took, with t at the end of the next.
func (u *UART) receiveSpaced(p []byte, errs RxError, t *runTimer) int {
	n := len(p)
	for i := 0; ; {
		k := u.receiveQuiet(p[i:], errs, t)
		i += k
		if i == n || k > 0 && u.INTR() {
			return i // the last one taken reached the trigger level
		}
		// The next character the careful way, as the caller it stands
		// for takes it.
		if u.stepTo(t.end - 1) {
			return i
		}
		u.Advance(t.end)
		if u.INTR() {
			return i
		}
		u.Receive(p[i], errs)
		i++
		t.next()
		if u.INTR() || i == n {
			return i
		}
	}
}

// runTimer walks the ends of a run's characters: End(k) of the one it is
// at, and the fraction past it, moved on by Step as loadTSR moves tsrEnd,
// without End's divisions per character.
type runTimer struct {
	end         time.Duration
	frac        uint64
	q, r, clock uint64        // Step in whole ns and 1/clock ns; clock 0 for a run without Step
	maxGap      time.Duration // the longest from one end to the next
}

func newRunTimer(s Signal, k int) runTimer {
	t := runTimer{}
	t.end, t.frac = s.end(k)
	if s.Step != 0 && s.Format.ClockHz != 0 {
		t.clock = uint64(s.Format.ClockHz)
		t.q, t.r = s.Step/t.clock, s.Step%t.clock
		t.maxGap = time.Duration(t.q)
		if t.r != 0 {
			t.maxGap++
		}
	}
	return t
}

// next moves to the next character's end.
func (t *runTimer) next() {
	if t.clock != 0 {
		t.end, t.frac = addChar(t.end, t.frac, t.q, t.r, t.clock)
	}
}

// receiveQuiet takes in one go the leading characters of p, the first of
// which ends at t.end, that the careful path of ReceiveSpaced would take
// one by one with nothing else happening: no interrupt raised by any of
// them but the last, which may reach the trigger level, no event of the
// chip's own before or between them. It returns how many, with t moved on
// past them and the chip as the careful path leaves it. It takes none
// unless the FIFOs are on, the chip listens to the wire and the
// characters are undamaged; it leaves to the careful path the character
// that finds the FIFO full. A receiver at trigger level 8 so takes each
// receive interrupt's characters in one step, where the eighth went the
// careful way (stepTo, Advance, Receive) after the seven.
func (u *UART) receiveQuiet(p []byte, errs RxError, t *runTimer) int {
	if len(p) == 0 || !u.fifoMode() || u.loop() || u.breakLevel || u.INTR() {
		return 0
	}
	flags := byte(errs) & (LSRParityError | LSRFramingErr)
	if u.lcr&LCRParity == 0 {
		flags &^= LSRParityError
	}
	if flags != 0 {
		return 0 // each raises a line status interrupt, or is counted apart
	}
	k := min(len(p), u.rx.limit()-u.rx.len())
	if (u.ungated || u.pins.OUT2) && u.ier&IERRxData != 0 {
		// Reaching the trigger level raises RX data available: the
		// character that does is the last taken, at its end, as the
		// careful path leaves it. The character timeout must not fall
		// before the first character (an event NextEvent reports) nor
		// between two of them: after each, it is four of the receiver's
		// character times away. A timeout due at the very instant a
		// character ends comes first, as every event of that instant
		// does.
		k = min(k, u.trigger-u.rx.len())
		ct4 := 4 * u.charTime
		if ct4 == 0 || t.maxGap >= ct4 || !u.rx.empty() && u.rxTimeoutAt() <= t.end {
			return 0
		}
	}
	// The shift register finishing may raise THRE: characters go in one
	// go only while they end before it does. But while its TX FIFO keeps
	// a character behind each load, the transmitter raises nothing until
	// the end at which the FIFO's last loads: a chip that sends while it
	// receives (both ways at once) takes its characters up to there, and
	// carries out its own ends among them in one burst, instead of one
	// character of each at a time. (A break being timed would be another
	// such event, but the chip is not at break.)
	cutoff, bounded := u.tsrEnd, u.tsrBusy
	var run *Signal
	var level int
	if bounded {
		if run, level = u.burstable(); run != nil {
			cutoff = u.burstEnd(level)
		}
	}
	last := t.end
	taken := 0
	for taken < k && (!bounded || t.end < cutoff) {
		last = t.end
		taken++
		t.next()
	}
	if taken == 0 {
		return 0
	}
	if run != nil {
		// The transmitter's ends up to the last character's, first:
		// none raises anything, and the burst wants the chip's time
		// not past the shift register's end.
		u.burst(run, level, last)
	}
	wasEmpty := u.rx.empty()
	mask := u.dataMask()
	a, b := u.rx.data.grow(taken)
	maskCopy(a, p, mask)
	maskCopy(b, p[len(a):], mask)
	a, b = u.rx.flags.grow(taken)
	clear(a)
	clear(b)
	if wasEmpty {
		u.headReported = false
	}
	u.now = max(u.now, last)
	u.rxLast = u.now
	u.counters.RxReceived += uint64(taken)
	return taken
}
