package uart16550

import "time"

// The bulk calls below do what a run of byte-wise calls does, with the same
// register-visible results, counters and signals; they exist because at
// timing off, where characters take no time, the per-call cost of moving a
// FIFO's worth one character at a time is all the time there is.

// WriteTHR performs CPU writes of THR with the bytes of p in order,
// stopping before the first one that would find the transmit FIFO full
// (a THR write would drop it and count it in TxDropped). It returns how
// many bytes it wrote. With LCR.DLAB set offset 0 is the divisor latch,
// so it writes nothing.
func (u *UART) WriteTHR(p []byte) int {
	if u.lcr&LCRDLAB != 0 {
		return 0
	}
	n := 0
	for n < len(p) && !u.tx.full() {
		n += u.tx.write(p[n:])
		u.threLatch = false
		if !u.tsrBusy {
			// Frees one place, which the next round fills.
			u.loadTSR(u.now)
		}
	}
	return n
}

// ReadRBR reads received characters into dst as a CPU does that reads LSR
// and then RBR for each: it goes on while LSR would show data ready and
// none of OE, PE, FE and BI, and leaves the character (and the LSR read)
// that would show otherwise to the caller. It returns how many characters
// it read. With LCR.DLAB set offset 0 is the divisor latch, so it reads
// nothing.
func (u *UART) ReadRBR(dst []byte) int {
	if u.lcr&LCRDLAB != 0 || u.overrun {
		return 0
	}
	n := min(len(dst), u.rx.len())
	taken := 0 // errored characters among them
	if n > 0 && u.rx.flags.peek() != 0 {
		if !u.headReported {
			return 0 // this LSR read would show the character's errors
		}
		// An LSR read has shown them: RBR gives the character as data.
		taken = 1
	}
	if u.rxErrored > taken {
		// Another errored character may be among them: stop before it.
		a, b := u.rx.flags.oldest(n)
		if i := firstFlagged(a[taken:]); i >= 0 {
			n = taken + i
		} else if i := firstFlagged(b); i >= 0 {
			n = len(a) + i
		}
	}
	a, b := u.rx.data.oldest(n)
	copy(dst[copy(dst, a):], b)
	u.rx.drop(n)
	u.rxErrored -= taken
	if n > 0 {
		u.headReported = false
		u.rbrLast = dst[n-1]
		u.rxLast = u.now
		u.counters.RxRead += uint64(n)
	}
	return n
}

// ReceiveRun is Receive for each byte of p in order, all with the same
// errors, at the chip's present time. It returns how many of them entered
// the RX FIFO (for how many Receive would have reported true).
func (u *UART) ReceiveRun(p []byte, errs RxError) int {
	if len(p) == 0 {
		return 0
	}
	if u.loop() || u.breakLevel {
		u.counters.RxIgnored += uint64(len(p))
		return 0
	}
	flags := byte(errs) & (LSRParityError | LSRFramingErr)
	if u.lcr&LCRParity == 0 {
		flags &^= LSRParityError
	}
	mask := u.dataMask()
	n := 0
	if k := min(len(p), u.rx.limit()-u.rx.len()); u.fifoMode() && k > 0 {
		a, b := u.rx.data.grow(k)
		maskCopy(a, p, mask)
		maskCopy(b, p[len(a):], mask)
		a, b = u.rx.flags.grow(k)
		fill(a, flags)
		fill(b, flags)
		if flags != 0 {
			u.rxErrored += k
		}
		u.rxLast = u.now
		u.counters.RxReceived += uint64(k)
		n = k
	}
	// What is left meets a full FIFO (or RBR without FIFOs): the overrun
	// rule, one character at a time.
	for _, c := range p[n:] {
		if u.pushRx(rxEntry{data: c & mask, flags: flags}) {
			n++
		}
	}
	return n
}

// firstFlagged returns the index of the first non-zero flags byte, or -1.
func firstFlagged(flags []byte) int {
	for i, f := range flags {
		if f != 0 {
			return i
		}
	}
	return -1
}

// maskCopy fills dst with the first len(dst) characters of p, masked to
// the word length.
func maskCopy(dst, p []byte, mask byte) {
	if mask == 0xFF {
		copy(dst, p)
		return
	}
	p = p[:len(dst)]
	for i, c := range p {
		dst[i] = c & mask
	}
}

// fill sets every byte of flags to f.
func fill(flags []byte, f byte) {
	if f == 0 {
		clear(flags)
		return
	}
	for i := range flags {
		flags[i] = f
	}
}

// finishTxRun is finishTx at timing off with CharRuns: the character in
// the shift register and every one behind it in the FIFO finish at this
// same instant, so they go on the wire together, with the state that
// finishing and loading them one by one would leave.
func (u *UART) finishTxRun() {
	at := u.tsrEnd
	first := u.runAt(at, u.tsrFormat, 1+u.tx.len())
	u.appendRunByte(first, u.tsrData)
	sent := uint64(1)
	if n := u.tx.len(); n > 0 {
		// Each is loaded at this instant with the present format, and
		// loading the last one empties the FIFO and raises THRE.
		run := u.runAt(at, u.fmt, n)
		mask := u.dataMask()
		a, b := u.tx.oldest(n)
		u.appendRun(run, a, mask)
		u.appendRun(run, b, mask)
		u.tx.drop(n)
		u.tsrData = run.Data[len(run.Data)-1]
		u.tsrFormat = u.fmt
		u.threLatch = true
		sent += uint64(n)
	}
	u.tsrBusy = false
	u.counters.TxSent += sent
}

// runAt returns the SignalChars that characters finishing at at with
// format f join: the last signal if it is such a run (one at timing off,
// Step 0: a TimedRuns run's later characters end after its At), else a new
// one with room for n characters.
func (u *UART) runAt(at time.Duration, f Format, n int) *Signal {
	if k := len(u.signals); k > 0 {
		if last := &u.signals[k-1]; last.Kind == SignalChars && last.Step == 0 && last.At == at && last.Format == f {
			return last
		}
	}
	s := Signal{At: at, Kind: SignalChars, Format: f}
	if !u.reuseRuns {
		s.Data = make([]byte, 0, n)
	}
	u.signals = append(u.signals, s)
	return &u.signals[len(u.signals)-1]
}
