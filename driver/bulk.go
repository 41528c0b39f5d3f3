package driver

import "time"

// At timing off characters take no time, so what costs is handling them:
// the wire carries a FIFO's worth as one run (InputChars), the ISR reads
// the RX FIFO in bulk, and stretches of characters that need none of the
// per-character work (null stripping, XON/XOFF, character events, flow
// control limits, the 80 %-full event) are stored with one copy. Each
// bulk step leaves the driver as the byte-wise steps it stands for would.

// Instant reports whether the device runs at timing off, where
// characters take no time on the wire.
func (d *Device) Instant() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.instant
}

// Queued reports how many received bytes wait in the typeahead buffer,
// as GET_COMMSTATUS does (AmountInInQueue) but without its side effects.
// A read of at most that many completes at once.
func (d *Device) Queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.rxCount
}

// receiveRunLocked applies the next part of a run of characters from the
// wire, and reports whether the run is now all applied. At timing off the
// part is as many as the receiver takes without one of them having to
// wait on the line. At realistic timing a timed run (Step) gives what has
// arrived by now, each character at its own end, up to the first that
// leaves the chip's interrupt raised (ReceiveSpaced), which the ISR then
// services, as it would for the InputChar each stands for; a run without
// Step gives one character.
func (d *Device) receiveRunLocked(in *Input, now time.Duration) bool {
	s := &d.s
	if len(in.Data) == 0 {
		return true
	}
	if in.Step != 0 && !s.byteWise {
		// A timed run: the characters that have ended by now, each at
		// its end, the ISR running wherever the chip stops for it (the
		// RX trigger, an event of its own before the next character),
		// as runLocked's loop would take the run an interrupt at a
		// time, without its look at the inbox and the run's ends
		// between. The chip leaves in run where the rest begins.
		run := in.run()
		for n := run.EndedBy(now); n > 0; {
			k := s.chip.TakeSpaced(&run, n, in.Err)
			d.serviceLocked()
			if k == 0 || s.txResume {
				break // runLocked looks again, or stops for the cap
			}
			n -= k
		}
		in.At, in.Data, in.Frac0 = run.At, run.Data, run.Frac0
		return len(in.Data) == 0
	}
	s.chip.Advance(in.At)
	d.serviceLocked()
	k := d.admitLocked(in)
	s.chip.ReceiveRun(in.Data[:k], in.Err)
	d.serviceLocked()
	in.took(k)
	return len(in.Data) == 0
}

// admitLocked is how many characters of a run the line can hand over at
// once. At timing off the ISR empties the RX FIFO after every character,
// so each one is stored before the next arrives, and the line waits only
// when the read and the typeahead are both full: counting that room as one
// place a character (a character the driver strips or acts on takes none)
// and keeping within the FIFO gives a count after which the byte-wise path
// would still have taken every character. Damaged characters may each
// store an error character as well, so they go one at a time. So do all
// characters while XON/XOFF is on either way: a character can then make
// work for the transmitter (an XOFF to send, output held or released),
// which the ISR does before it takes the next one.
func (d *Device) admitLocked(in *Input) int {
	s := &d.s
	if s.byteWise || !s.instant || in.Err != 0 || s.handflow.FlowReplace&(flowAutoTransmit|flowAutoReceive) != 0 {
		return 1
	}
	room := s.rxSize - s.rxCount
	if s.readByISR {
		room += s.readLen - s.readN
	}
	return max(1, min(len(in.Data), room, s.chip.RxRoom()))
}

// readRBRLocked reads into rxFIFO what the ISR can take from the RX FIFO
// without a look at the line status: characters whose status shows no
// error. It returns how many.
func (d *Device) readRBRLocked() int {
	if d.s.byteWise {
		return 0
	}
	return d.s.chip.ReadRBR(d.s.rxFIFO)
}

// receiveCharsLocked is receiveCharLocked for each of p in turn.
func (d *Device) receiveCharsLocked(p []byte) {
	s := &d.s
	if s.waitMask&(evRxChar|evRxFlag) != 0 {
		// Every character is an event, and each may complete a wait.
		for _, c := range p {
			d.receiveCharLocked(c)
		}
		return
	}
	if m := dataMask(s.line.WordLength); m != 0xFF {
		for i := range p {
			p[i] &= m
		}
	}
	// The characters that null stripping and XON/XOFF output flow control
	// take out of the data (tested one by one: a table of all 256 cost
	// its clearing at every receive interrupt).
	fr := s.handflow.FlowReplace
	strip, flow := fr&flowNullStripping != 0, fr&flowAutoTransmit != 0
	xoff, xon := s.chars.XoffChar, s.chars.XonChar
	taken := func(c byte) bool { return c == 0 && strip || flow && (c == xoff || c == xon) }
	for len(p) > 0 {
		n := len(p)
		if strip || flow {
			n = 0
			for n < len(p) && !taken(p[n]) {
				n++
			}
		}
		if n == 0 {
			d.receiveCharLocked(p[0])
			p = p[1:]
			continue
		}
		s.stats.ReceivedCount += uint64(n)
		d.putCharsLocked(p[:n])
		p = p[n:]
	}
}

// putCharsLocked is putCharLocked for each of p in turn.
func (d *Device) putCharsLocked(p []byte) {
	s := &d.s
	for len(p) > 0 {
		if s.handflow.ControlHandShake&ctlDSRSensitivity != 0 && s.rxHolding&rxHoldDSR != 0 {
			return // all of them ignored, as each one would be
		}
		if s.readByISR {
			n := copy(s.curRead.Buffer[s.readN:s.readLen], p)
			d.readStoredLocked(n)
			p = p[n:]
			continue
		}
		// Into the typeahead, in bulk up to the first character that
		// finds the buffer full or makes it 80 % full (that one goes
		// through putCharLocked) or, while input flow control is not yet
		// engaged, the first that engages it. Once one character has
		// engaged it, the next find it engaged and do nothing.
		size := s.rxSize
		n := min(len(p), size-s.rxCount)
		if s.rxCount+1 >= size-s.xoffLimit {
			d.engageInputFlowLocked()
		} else {
			n = min(n, size-s.xoffLimit-1-s.rxCount)
		}
		if full := size * 13 / 16; s.rxCount < full {
			n = min(n, full-1-s.rxCount)
		}
		if n <= 0 {
			d.putCharLocked(p[0])
			p = p[1:]
			continue
		}
		d.growRxLocked(s.rxCount + n)
		tail := (s.rxHead + s.rxCount) % len(s.rxBuf)
		c := copy(s.rxBuf[tail:], p[:n])
		copy(s.rxBuf, p[c:n])
		s.rxCount += n
		p = p[n:]
	}
}
