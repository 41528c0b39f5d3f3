package uart16550

import (
	"fmt"
	"time"
)

// SignalKind says what a Signal on the wire is.
type SignalKind uint8

// What the chip can put on its output pins.
const (
	// SignalChar: a character finished shifting out (its last stop bit
	// ended at Signal.At).
	SignalChar SignalKind = iota
	// SignalBreak: the TX pin went to space (Break true) or back to mark.
	SignalBreak
	// SignalModem: DTR, RTS, OUT1 or OUT2 changed at the pins.
	SignalModem
	// SignalChars: characters that finished shifting out back to back,
	// all with the same Format, in the order sent (Data): the k-th at
	// Signal.End(k), the first at At. A chip at timing off with
	// [Options.CharRuns] sends it for characters that leave at one instant
	// (Step 0, all at At), and one at realistic timing with
	// [Options.TimedRuns] for characters that leave one character time
	// apart.
	SignalChars
)

// String names the kind for traces.
func (k SignalKind) String() string {
	switch k {
	case SignalChar:
		return "char"
	case SignalBreak:
		return "break"
	case SignalModem:
		return "modem"
	case SignalChars:
		return "chars"
	}
	return fmt.Sprintf("SignalKind(%d)", uint8(k))
}

// Signal is one change the chip made on its output pins, stamped with the
// virtual time it happened. The far end replays signals in order, advancing
// its own chip to each At before applying it.
type Signal struct {
	At     time.Duration
	Kind   SignalKind
	Char   byte         // SignalChar: the data bits sent (masked to the word length)
	Break  bool         // SignalBreak: space (true) or mark (false)
	Modem  ModemOutputs // SignalModem: the output pins now
	Data   []byte       // SignalChars: the characters sent, each masked like Char
	Format Format       // SignalChar, SignalChars: the framing and speed they were sent with

	// SignalChars: the exact timing of the run, for End. Frac0 is how far
	// past At, in 1/Format.ClockHz ns, the first character really ended:
	// At is truncated to the nanosecond, and the chip carries the
	// remainder from character to character so that a long run keeps the
	// exact rate. Step is the length of each character in the same unit
	// (0 at timing off, where characters take no time). (In this order
	// Frac0 fills what would be padding, and a Signal stays 64 bytes.)
	Frac0 uint32
	Step  uint64
}

// CountChars is how many characters signals carry.
func CountChars(signals []Signal) int {
	n := 0
	for _, sg := range signals {
		switch sg.Kind {
		case SignalChar:
			n++
		case SignalChars:
			n += len(sg.Data)
		}
	}
	return n
}

// ModemInputs are the four modem status inputs, true meaning asserted.
type ModemInputs struct {
	CTS, DSR, RI, DCD bool
}

// ModemOutputs are the four modem control outputs at the pins, true meaning
// asserted. In loopback all four are held inactive.
type ModemOutputs struct {
	DTR, RTS, OUT1, OUT2 bool
}

// RxError is the damage a character suffered on the wire.
type RxError uint8

// Receive errors. A parity error is only seen while the receiver checks
// parity (LCR bit 3), as on silicon.
const (
	ParityError  RxError = LSRParityError
	FramingError RxError = LSRFramingErr
)

// TakeSignals appends what the chip put on the wire since the last call to
// dst and returns it. The chip forgets them, so each is delivered once.
// The Data of a SignalChars is the caller's from then on, unless the chip
// has [Options.ReuseRunData]: then it is valid until the next TakeSignals.
func (u *UART) TakeSignals(dst []Signal) []Signal {
	dst = append(dst, u.signals...)
	clear(u.signals)
	u.signals = u.signals[:0]
	u.runData = u.runData[:0]
	return dst
}

// Waiting reports what TakeSignals would take, without taking it: when
// the first of those signals happened, and whether all of them are
// characters; ok is false when there are none. A driver may leave
// characters on the pins for a later pass, but not a modem line's change
// or a break, which the far end must see at once.
func (u *UART) Waiting() (first time.Duration, onlyChars, ok bool) {
	if len(u.signals) == 0 {
		return 0, false, false
	}
	onlyChars = true
	for i := range u.signals {
		if k := u.signals[i].Kind; k != SignalChar && k != SignalChars {
			onlyChars = false
			break
		}
	}
	return u.signals[0].At, onlyChars, true
}

// Receive is a character arriving on the RX input at the chip's present
// time (its stop bit just ended). It reports whether the character entered
// the RX FIFO: it does not while the chip is in loopback or the input is held
// at break (the chip is not listening to the wire then), nor when the FIFO is
// full (overrun).
func (u *UART) Receive(c byte, errs RxError) bool {
	if u.loop() || u.breakLevel {
		u.counters.RxIgnored++
		return false
	}
	flags := byte(errs) & (LSRParityError | LSRFramingErr)
	if u.lcr&LCRParity == 0 {
		flags &^= LSRParityError
	}
	return u.pushRx(rxEntry{data: c & u.dataMask(), flags: flags})
}

// pushRx moves a character from the RX shift register into the FIFO (or
// RBR). In FIFO mode a full FIFO keeps its contents and the new character is
// lost; in 16450 mode the new character overwrites the unread one. Both set
// OE at once.
func (u *UART) pushRx(e rxEntry) bool {
	u.rxLast = u.now
	u.counters.RxReceived++
	if u.rx.full() {
		u.overrun = true
		u.counters.RxOverrun++
		if u.fifoMode() {
			return false
		}
		if u.rx.peek().flags != 0 {
			u.rxErrored--
		}
		u.rx.overwriteLast(e)
	} else {
		u.rx.push(e)
	}
	if e.flags != 0 {
		u.rxErrored++
	}
	if u.rx.len() == 1 {
		// The new character is the head (FIFO was empty, or RBR overwritten).
		u.headReported = false
	}
	return true
}

// RxRoom is how many more characters the RX FIFO takes before it overruns.
// Real hardware has no such output; emulated wires may use it to throttle.
func (u *UART) RxRoom() int { return u.rx.limit() - u.rx.len() }

// FIFODepth is how many characters a FIFO holds now: the depth with the
// FIFOs on, 1 with them off (State's FIFODepth, without building the rest
// of State: a transmitter loads this many at every THR-empty interrupt).
func (u *UART) FIFODepth() int { return u.rx.limit() }

// SetBreakInput holds the RX input at space (on) or releases it. A break
// that lasts a whole frame puts one zero character flagged BI (and FE, the
// stop bit being space too) into the RX FIFO.
func (u *UART) SetBreakInput(on bool) {
	u.breakIn = on
	u.updateBreakInput()
}

// updateBreakInput follows what the receiver sees: the wire, or in loopback
// the chip's own break output.
func (u *UART) updateBreakInput() {
	level := u.breakIn
	if u.loop() {
		level = u.lcr&LCRBreak != 0
	}
	if level == u.breakLevel {
		return
	}
	u.breakLevel = level
	if level {
		u.breakSince = u.now
		u.breakDone = false
	}
}

// SetModemInputs sets CTS, DSR, RI and DCD as the far end drives them.
// Changes show in MSR (with their delta bits) unless the chip is in
// loopback, where the inputs are disconnected.
func (u *UART) SetModemInputs(m ModemInputs) {
	u.inputs = m
	u.updateMSR()
}

// effectiveMSR is MSR's high nibble: the inputs, or in loopback the chip's
// own outputs (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD).
func (u *UART) effectiveMSR() byte {
	cts, dsr, ri, dcd := u.inputs.CTS, u.inputs.DSR, u.inputs.RI, u.inputs.DCD
	if u.loop() {
		cts, dsr = u.mcr&MCRRTS != 0, u.mcr&MCRDTR != 0
		ri, dcd = u.mcr&MCROUT1 != 0, u.mcr&MCROUT2 != 0
	}
	var v byte
	if cts {
		v |= MSRCTS
	}
	if dsr {
		v |= MSRDSR
	}
	if ri {
		v |= MSRRI
	}
	if dcd {
		v |= MSRDCD
	}
	return v
}

// updateMSR records a change of the modem status in the delta bits. RI only
// counts on its trailing edge (asserted to deasserted).
func (u *UART) updateMSR() {
	status := u.effectiveMSR()
	changed := (status ^ u.msrStatus) >> msrDeltaShift
	fell := (u.msrStatus &^ status) >> msrDeltaShift
	u.msrDelta |= changed&(MSRDeltaCTS|MSRDeltaDSR|MSRDeltaDCD) | fell&MSRTrailingRI
	u.msrStatus = status
}

// updateOutputs reports changes of the output pins as signals, and follows
// the receiver's break source (LCR or loopback may have changed it).
func (u *UART) updateOutputs() {
	u.updateBreakInput()
	var pins ModemOutputs
	breakOut := false
	if !u.loop() {
		pins = ModemOutputs{
			DTR:  u.mcr&MCRDTR != 0,
			RTS:  u.mcr&MCRRTS != 0,
			OUT1: u.mcr&MCROUT1 != 0,
			OUT2: u.mcr&MCROUT2 != 0,
		}
		breakOut = u.lcr&LCRBreak != 0
	}
	if pins != u.pins {
		u.pins = pins
		u.signals = append(u.signals, Signal{At: u.now, Kind: SignalModem, Modem: pins})
	}
	if breakOut != u.breakOut {
		u.breakOut = breakOut
		u.signals = append(u.signals, Signal{At: u.now, Kind: SignalBreak, Break: breakOut})
	}
}

// Outputs reports the modem control outputs at the pins.
func (u *UART) Outputs() ModemOutputs { return u.pins }

// Now is the chip's present virtual time.
func (u *UART) Now() time.Duration { return u.now }

// NextEvent reports when the chip will next change state on its own: the
// character in the transmit shift register finishes, a received break has
// lasted a whole frame, or the RX FIFO's character timeout expires. ok is
// false when nothing will happen until a register access or an input does
// it, so a driver can sleep without a timer.
func (u *UART) NextEvent() (at time.Duration, ok bool) {
	// Written out rather than with a helper closure: a busy transmitter
	// calls this once per character.
	if u.tsrBusy {
		at, ok = u.tsrEnd, true
	}
	if u.breakLevel && !u.breakDone {
		if t := u.breakSince + u.charTime; !ok || t < at {
			at, ok = t, true
		}
	}
	if u.fifoMode() && u.ier&IERRxData != 0 && !u.rx.empty() && u.rx.len() < u.trigger {
		if t := u.rxTimeoutAt(); t > u.now && (!ok || t < at) {
			at, ok = t, true
		}
	}
	if ok && at < u.now {
		at = u.now
	}
	return at, ok
}

// Advance moves virtual time forward to now, carrying out in order every
// event due by then. Moving backwards does nothing. A caller that wants to
// service interrupts at the moment they happen (as a real ISR would) steps
// from one NextEvent to the next, checking INTR after each.
func (u *UART) Advance(now time.Duration) {
	for {
		at, ok := u.NextEvent()
		if !ok || at > now {
			break
		}
		u.now = at
		u.fire()
	}
	if now > u.now {
		u.now = now
	}
}

// fire carries out what is due at u.now.
func (u *UART) fire() {
	if u.tsrBusy && u.tsrEnd <= u.now {
		u.finishTx()
	}
	if u.breakLevel && !u.breakDone && u.breakSince+u.charTime <= u.now {
		u.breakDone = true
		u.pushRx(rxEntry{data: 0, flags: LSRBreak | LSRFramingErr})
	}
}

// finishTx puts the character in the shift register on the wire (or, in
// loopback, into our own receiver) and loads the next one.
func (u *UART) finishTx() {
	if u.charRuns && u.instant && u.lcr&LCRBreak == 0 && !u.loop() {
		u.finishTxRun()
		return
	}
	u.tsrBusy = false
	u.counters.TxSent++
	switch {
	case u.lcr&LCRBreak != 0:
		// The line is held at space: the character never reaches anyone.
	case u.loop():
		u.pushRx(rxEntry{data: u.tsrData & u.dataMask()})
	case u.timedRuns && !u.instant:
		u.sendTimed()
	default:
		u.signals = append(u.signals, Signal{At: u.tsrEnd, Kind: SignalChar, Char: u.tsrData, Format: u.tsrFormat})
	}
	u.loadTSR(u.tsrEnd)
}
