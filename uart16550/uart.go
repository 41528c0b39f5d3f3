package uart16550

import "time"

// Options configure a chip. The zero value is a PC16550D on a PC board:
// 16-byte FIFOs, a 1.8432 MHz clock, INTR gated by OUT2, and characters that
// take their real time on the wire.
type Options struct {
	// FIFODepth is the size of each FIFO; 0 means 16. A deeper FIFO scales
	// the RX trigger levels with it (4/16, 8/16 and 14/16 of the depth).
	FIFODepth int
	// ClockHz is the reference clock; 0 means 1.8432 MHz.
	ClockHz uint32
	// UngatedINTR makes INTR follow the chip's interrupt output directly,
	// as on boards that do not route it through OUT2.
	UngatedINTR bool
	// Instant makes every character take no time on the wire ("timing off").
	Instant bool
	// CharRuns makes a chip at timing off put the characters that leave at
	// one instant on the wire as one SignalChars rather than a SignalChar
	// each. A whole FIFO leaves at once when characters take no time, and
	// one signal per character would cost more than moving the characters.
	// At realistic timing it changes nothing; see TimedRuns.
	CharRuns bool
	// TimedRuns makes a chip at realistic timing put characters that leave
	// the shift register back to back (each loaded the instant the one
	// before it finished) in one format on the wire as one SignalChars,
	// whose Signal.End(k) is the k-th one's end, exactly the At its own
	// SignalChar would have had. Every character then goes out in a
	// SignalChars, a lone one too. Another signal between two characters
	// (a break, a modem change), a character between them that does not go
	// out (loopback, break), an idle line or a new format starts a new run,
	// as does TakeSignals. At timing off it changes nothing; see CharRuns.
	// Off, the chip sends exactly what it always did.
	TimedRuns bool
	// ReuseRunData makes the Data of every SignalChars a stretch of one
	// buffer the chip keeps, instead of a slice allocated for each run:
	// it is valid until the next call to TakeSignals, after which the chip
	// writes over it. A caller that keeps characters longer copies them.
	ReuseRunData bool
}

// UART is one emulated 16550A. It is not safe for concurrent use: the
// caller holds a lock around every method, as a driver holds its interrupt
// lock around register access.
type UART struct {
	depth     int
	ungated   bool
	instant   bool
	charRuns  bool
	timedRuns bool
	reuseRuns bool
	clockHz   uint32

	// Registers as written; IIR, LSR and MSR are computed when read.
	ier, lcr, mcr, scr, dll, dlm byte
	fcr                          byte // FCREnable | FCRDMAMode | trigger, as last accepted

	rx           rxFIFO
	rxErrored    int  // entries in rx whose flags are not 0
	headReported bool // an LSR read has shown the head entry's error flags
	overrun      bool // LSR.OE, until LSR is read
	rbrLast      byte // what reading an empty RBR returns
	rxLast       time.Duration
	trigger      int

	tx        ring[byte]
	threLatch bool // THRE interrupt raised and not yet acknowledged
	tsrBusy   bool
	tsrData   byte
	tsrFormat Format
	tsrEnd    time.Duration
	tsrFrac   uint64 // tsrEnd's fraction of a nanosecond, in 1/clockHz ns

	inputs    ModemInputs // what the far end drives
	msrStatus byte        // effective CTS/DSR/RI/DCD, in MSR's high nibble
	msrDelta  byte

	breakIn    bool // the far end holds our RX input at space
	breakLevel bool // the receiver sees space (breakIn, or our own break in loopback)
	breakSince time.Duration
	breakDone  bool // the BI character for this break is in the FIFO

	pins     ModemOutputs // output pins as last reported on the wire
	breakOut bool         // TX pin held at space, as last reported

	now      time.Duration
	fmt      Format
	charTime time.Duration // truncated; for timeouts and break detection
	charNum  uint64        // exact character time in 1/clockHz ns, for pacing
	charQ    uint64        // charNum in whole nanoseconds ...
	charR    uint64        // ... and what is left, in 1/clockHz ns
	signals  []Signal
	runData  []byte // with ReuseRunData: the Data of this batch's runs, back to back

	// The latest TimedRuns run: when the next character joining it ends
	// (exactly, as tsrEnd and tsrFrac), and its Step split as charQ and
	// charR split charNum. Only looked at while that run is the last signal.
	runNext     time.Duration
	runNextFrac uint64
	runQ, runR  uint64
	counters    Counters
}

// Counters account for every character that went in or out of the chip,
// including the ones it lost, so tests can check that nothing disappears.
type Counters struct {
	TxSent     uint64 // characters that finished shifting out (wire or loopback)
	TxDropped  uint64 // THR writes into a full transmit FIFO
	TxCleared  uint64 // characters discarded by a TX FIFO reset, a mode change or Reset
	RxReceived uint64 // characters the receiver assembled: wire, loopback, or a break
	RxOverrun  uint64 // characters lost to overrun (the new one in FIFO mode, the unread one without)
	RxCleared  uint64 // characters discarded by an RX FIFO reset, a mode change or Reset
	RxIgnored  uint64 // characters from the wire ignored in loopback or during a break
	RxRead     uint64 // characters the CPU read from RBR
}

// New returns a chip in its power-on state: registers at their master-reset
// values, divisor 12 (9600 baud), FIFOs off, all modem inputs deasserted.
func New(opts Options) *UART {
	u := &UART{
		depth:     opts.FIFODepth,
		ungated:   opts.UngatedINTR,
		instant:   opts.Instant,
		charRuns:  opts.CharRuns,
		timedRuns: opts.TimedRuns,
		reuseRuns: opts.ReuseRunData,
		clockHz:   opts.ClockHz,
		dll:       powerOnDivisor,
	}
	if u.depth <= 0 {
		u.depth = DefaultFIFODepth
	}
	if u.clockHz == 0 {
		u.clockHz = ClockHz
	}
	u.rx = newRxFIFO(u.depth)
	u.tx = newRing[byte](u.depth)
	u.Reset()
	return u
}

// Reset is the MR pin: IER, FCR, LCR and MCR go to 0, both FIFOs and the
// transmitter are emptied, pending interrupts and MSR deltas are dropped.
// The divisor latch and SCR keep their values, as on the datasheet.
func (u *UART) Reset() {
	u.ier, u.mcr = 0, 0
	u.setFIFOMode(false)
	u.fcr = 0
	u.overrun = false
	u.threLatch = false
	if u.tsrBusy {
		u.tsrBusy = false
		u.counters.TxCleared++
	}
	u.lcr = 0
	u.updateTiming()
	u.msrStatus = u.effectiveMSR()
	u.msrDelta = 0
	u.updateOutputs()
}

// Read performs a CPU read of the register at off (only the low three
// address bits count), with the side effects a read has on real silicon.
func (u *UART) Read(off uint8) byte {
	switch off & 7 {
	case RBR:
		if u.lcr&LCRDLAB != 0 {
			return u.dll
		}
		return u.readRBR()
	case IER:
		if u.lcr&LCRDLAB != 0 {
			return u.dlm
		}
		return u.ier
	case IIR:
		id := u.pending()
		if id == IIRTxEmpty {
			u.threLatch = false
		}
		return id | u.iirFIFOBits()
	case LCR:
		return u.lcr
	case MCR:
		return u.mcr
	case LSR:
		v := u.lsr()
		u.overrun = false
		if !u.rx.empty() {
			u.headReported = true
		}
		return v
	case MSR:
		v := u.msrStatus | u.msrDelta
		u.msrDelta = 0
		return v
	default: // SCR
		return u.scr
	}
}

// Write performs a CPU write of v to the register at off.
func (u *UART) Write(off uint8, v byte) {
	switch off & 7 {
	case THR:
		if u.lcr&LCRDLAB != 0 {
			u.dll = v
			u.updateTiming()
			return
		}
		u.writeTHR(v)
	case IER:
		if u.lcr&LCRDLAB != 0 {
			u.dlm = v
			u.updateTiming()
			return
		}
		u.writeIER(v)
	case FCR:
		u.writeFCR(v)
	case LCR:
		u.lcr = v
		u.updateTiming()
		u.updateOutputs()
	case MCR:
		u.mcr = v & mcrWritable
		u.updateMSR()
		u.updateOutputs()
	case LSR, MSR:
		// Factory test registers on silicon; writes have no defined effect.
	default: // SCR
		u.scr = v
	}
}

func (u *UART) fifoMode() bool { return u.fcr&FCREnable != 0 }
func (u *UART) loop() bool     { return u.mcr&MCRLoop != 0 }

func (u *UART) iirFIFOBits() byte {
	if u.fifoMode() {
		return IIRFIFOs
	}
	return 0
}

func (u *UART) readRBR() byte {
	if u.rx.empty() {
		return u.rbrLast
	}
	e := u.rx.pop()
	if e.flags != 0 {
		u.rxErrored--
	}
	u.headReported = false
	u.rbrLast = e.data
	u.rxLast = u.now
	u.counters.RxRead++
	return e.data
}

func (u *UART) writeTHR(v byte) {
	u.threLatch = false
	if u.tx.full() {
		u.counters.TxDropped++
		return
	}
	u.tx.push(v)
	if !u.tsrBusy {
		u.loadTSR(u.now)
	}
}

// loadTSR moves the oldest character from THR or the TX FIFO into the
// shift register at time at. When that empties the FIFO, THRE goes from 0 to
// 1, which is what raises the THRE interrupt.
func (u *UART) loadTSR(at time.Duration) {
	if u.tx.empty() {
		return
	}
	u.tsrData = u.tx.pop() & u.dataMask()
	u.tsrFormat = u.fmt
	u.tsrBusy = true
	// Back-to-back characters carry the sub-nanosecond remainder so that a
	// long transmission keeps the exact baud rate instead of drifting by the
	// rounding of each character.
	var frac uint64
	if at == u.tsrEnd {
		frac = u.tsrFrac
	}
	u.tsrEnd, u.tsrFrac = addChar(at, frac, u.charQ, u.charR, uint64(u.clockHz))
	if u.tx.empty() {
		u.threLatch = true
	}
}

// addChar is the exact end of a character of q ns and r/clock ns that
// starts at at plus frac/clock ns (frac < clock): end plus its own
// fraction. It is at + (frac + q*clock + r)/clock without the division,
// which a busy line would otherwise pay per character.
func addChar(at time.Duration, frac, q, r, clock uint64) (time.Duration, uint64) {
	end := at + time.Duration(q)
	if frac += r; frac >= clock {
		frac -= clock
		end++
	}
	return end, frac
}

func (u *UART) writeIER(v byte) {
	v &= ierWritable
	if v&IERTxEmpty == 0 {
		u.threLatch = false
	} else if u.ier&IERTxEmpty == 0 && u.tx.empty() {
		// Enabling ETBEI while THR is empty raises the interrupt at once;
		// Linux's startup test and Windows both depend on it.
		u.threLatch = true
	}
	u.ier = v
}

func (u *UART) writeFCR(v byte) {
	enable := v&FCREnable != 0
	if enable != u.fifoMode() {
		u.setFIFOMode(enable)
	}
	if !enable {
		// The other bits are only taken when bit 0 is set in the same write.
		u.fcr = 0
		return
	}
	if v&FCRRxReset != 0 {
		u.counters.RxCleared += uint64(u.rx.len())
		u.clearRx()
	}
	if v&FCRTxReset != 0 {
		u.counters.TxCleared += uint64(u.tx.len())
		u.tx.reset()
		u.threLatch = true
	}
	u.fcr = v & fcrStoredBits
	u.trigger = triggerLevel(v&FCRTrigger, u.depth)
}

// setFIFOMode switches between 16450 mode (one-character RBR and THR) and
// FIFO mode. Either way both FIFOs are emptied; the shift registers are not.
func (u *UART) setFIFOMode(on bool) {
	u.counters.RxCleared += uint64(u.rx.len())
	u.counters.TxCleared += uint64(u.tx.len())
	u.clearRx()
	u.tx.reset()
	limit := 1
	if on {
		limit = u.depth
	}
	u.rx.setLimit(limit)
	u.tx.limit = limit
	u.threLatch = true
	u.trigger = 1
}

func (u *UART) clearRx() {
	u.rx.reset()
	u.rxErrored = 0
	u.headReported = false
}

// triggerLevel turns FCR bits 6-7 into a byte count. With the standard
// 16-byte FIFO these are 1, 4, 8 and 14; deeper FIFOs scale them.
func triggerLevel(bits byte, depth int) int {
	var sixteenths int
	switch bits {
	case FCRTrigger1:
		return 1
	case FCRTrigger4:
		sixteenths = 4
	case FCRTrigger8:
		sixteenths = 8
	default:
		sixteenths = 14
	}
	return max(1, depth*sixteenths/16)
}

// lsr computes the line status register without the side effects of a read.
func (u *UART) lsr() byte {
	var v byte
	if !u.rx.empty() {
		v |= LSRDataReady
		if !u.headReported {
			v |= u.rx.peek().flags
		}
	}
	if u.overrun {
		v |= LSROverrun
	}
	if u.tx.empty() {
		v |= LSRTHRE
		if !u.tsrBusy {
			v |= LSRTEMT
		}
	}
	if u.fifoMode() && u.unreportedErrors() > 0 {
		v |= LSRFIFOError
	}
	return v
}

// unreportedErrors counts errored entries in the RX FIFO other than a head
// entry whose errors an LSR read has already shown: LSR bit 7 clears on a
// read only when no other errored character remains.
func (u *UART) unreportedErrors() int {
	n := u.rxErrored
	if n > 0 && u.headReported && u.rx.peek().flags != 0 {
		n--
	}
	return n
}

// pending is the IIR priority encoder: it returns the identification of the
// highest-priority enabled interrupt source, or IIRNone.
func (u *UART) pending() byte {
	if u.ier&IERLineStatus != 0 && u.lineStatusPending() {
		return IIRLineStatus
	}
	if u.ier&IERRxData != 0 && !u.rx.empty() {
		if !u.fifoMode() || u.rx.len() >= u.trigger {
			return IIRRxData
		}
		if u.now >= u.rxTimeoutAt() {
			return IIRCharTimeout
		}
	}
	if u.ier&IERTxEmpty != 0 && u.threLatch {
		return IIRTxEmpty
	}
	if u.ier&IERModem != 0 && u.msrDelta != 0 {
		return IIRModem
	}
	return IIRNone
}

func (u *UART) lineStatusPending() bool {
	if u.overrun {
		return true
	}
	return !u.rx.empty() && !u.headReported && u.rx.peek().flags != 0
}

// rxTimeoutAt is when the character timeout fires: four character times
// after the last character arrived or the CPU last read RBR.
func (u *UART) rxTimeoutAt() time.Duration {
	return u.rxLast + 4*u.charTime
}

// Interrupt reports the chip's own interrupt output: some enabled source is
// pending.
func (u *UART) Interrupt() bool { return u.pending() != IIRNone }

// INTR reports the interrupt line as the CPU sees it. On a PC board the
// chip's output only reaches the IRQ line while OUT2 is driven, and in
// loopback OUT2 is held inactive at its pin.
func (u *UART) INTR() bool {
	if !u.Interrupt() {
		return false
	}
	return u.ungated || u.pins.OUT2
}

// SetInstant switches between realistic timing and "timing off", where every
// character takes no time on the wire.
func (u *UART) SetInstant(on bool) {
	u.instant = on
	u.updateTiming()
}

// SetClock changes the reference clock. Boards with a programmable clock use
// this to reach rates the 1.8432 MHz crystal cannot divide down to exactly.
// A zero clock is ignored.
func (u *UART) SetClock(hz uint32) {
	if hz == 0 {
		return
	}
	u.clockHz = hz
	u.updateTiming()
}

// updateTiming recomputes the cached format and character time after LCR,
// the divisor, the clock or the timing mode changed. A character already in
// the shift register keeps the end time it started with.
func (u *UART) updateTiming() {
	u.fmt = u.format()
	u.charTime, u.charNum = 0, 0
	if !u.instant {
		u.charTime = u.fmt.CharTime()
		u.charNum = u.fmt.charCycles() * uint64(time.Second)
	}
	u.charQ, u.charR = u.charNum/uint64(u.clockHz), u.charNum%uint64(u.clockHz)
	u.updateBreakInput()
}
