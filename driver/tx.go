package driver

import "github.com/vcomd/vcomd/uart16550"

// txWorkLocked reports whether the transmitter has something it is allowed
// to send now.
func (d *Device) txWorkLocked() bool {
	s := &d.s
	held := s.txHolding
	switch {
	case s.sendXon && held&^txWaitingForXon == 0:
		return true
	case s.sendXoff && held == 0:
		return true
	case s.immediate != nil && !s.immSent && held&^txWaitingForXon == 0:
		return true
	case s.curWrite != nil && !s.writeDone && held == 0 && d.mayLoadLocked():
		return true
	}
	return false
}

// txWindow bounds, at realistic timing, how many characters may be on
// their way to the far end before it has applied them. Each device's
// chip runs on the wall clock, but the far end acts on what arrives only
// when its ISR goroutine gets to run; a transmitter that went on
// regardless would, on a busy host, overshoot the moment the receiver
// dropped RTS or sent XOFF by however long that goroutine waited, and
// overflow a receiver whose flow control was on. 256 characters keep the
// overshoot well inside the 512 bytes of room the default XoffLimit
// leaves, and let the receiver run 22 ms late at 115200 baud (2.8 ms at
// 921600) before the line idles.
//
// Our own ISR goroutine can be late too: a pass that the host ran 50 ms
// after its timer catches the chip up over those 50 ms, and would load
// all of them before the far end saw the first. So while the transmitter
// obeys output flow control a pass loads no more than passLoadLocked
// allows, and the rest of its span goes in further rounds, each once
// the far end has taken the last; one that obeys none cannot be stopped
// in time anyway, and a pass of a stretched quantum (16 ms, 6400
// characters at 4 Mbaud) may then load what its span holds.
const txWindow = 256

// mayLoadLocked reports whether the next FIFO's worth of write data may
// go: at timing off when the far end took the last round, at realistic
// timing while the window has room and the pass's cap allows. A refusal
// by the cap in the ISR stops the chip there (txResume): runLocked
// returns, the pass hands the far end what went, and the next run loads
// on from the same instant, so a pass that came late loads its backlog a
// round at a time with the line kept busy, the far end's reaction to each
// round seen before the next (see runLocked).
func (d *Device) mayLoadLocked() bool {
	s := &d.s
	if s.instant {
		return !s.txRound
	}
	if s.wire == nil {
		return true
	}
	if s.txAwait {
		return false
	}
	if s.txUnacked < txWindow && (!d.outputFlowLocked() || s.txLoaded < d.passLoadLocked()) {
		return true
	}
	if s.inISR && s.txUnacked < txWindow {
		s.txResume = true
	}
	s.txWindowFull = true
	return false
}

// passLoadLocked is how many characters one ISR pass of a transmitter that
// obeys output flow control may load: the window, and a lineQuantum's
// worth more, because the runtime's timers wake a goroutine with a
// millisecond's granularity. A pass planned half a millisecond ahead at
// 4 Mbaud comes about a millisecond later, 440 characters on; held to the
// window, the line ran at about 0.6 of its rate with RTS/CTS (and a late pass
// wastes the rest of its span, where the host, not the line, set the
// pace). The receiver's room must hold this much past its limit: at
// 4 Mbaud, 672 characters with the FIFO, inside the 8 KiB a port's 64 KiB
// typeahead leaves.
func (d *Device) passLoadLocked() int {
	return txWindow + int(lineQuantum/d.s.chip.Format().CharTime())
}

// transmitLocked is the THR-empty step of SerialISR: with the holding
// register empty, send XON, XOFF, the immediate character, or up to a
// FIFO's worth of write data, in that order of priority.
func (d *Device) transmitLocked() {
	s := &d.s
	c := s.chip
	held := s.txHolding
	switch {
	case s.sendXon && held&^txWaitingForXon == 0:
		s.sendXon = false
		s.txHolding &^= txWaitingForXon
		s.rxHolding &^= rxHoldXoff
		d.sendLocked(s.chars.XonChar)
	case s.sendXoff && held == 0:
		s.sendXoff = false
		if s.handflow.FlowReplace&flowXoffContinue == 0 {
			// Having told the peer to stop, stop ourselves until it says XON.
			d.holdTxLocked(txWaitingForXon)
		}
		d.sendLocked(s.chars.XoffChar)
	case s.immediate != nil && !s.immSent && held&^txWaitingForXon == 0:
		s.immSent = true
		d.sendLocked(s.immediate.Input.(byte))
		d.dpcs.Insert(d.imDpc, nil, nil)
	case s.curWrite != nil && !s.writeDone && held == 0 && d.mayLoadLocked():
		s.txRound, s.txRoundOut = s.instant && s.wire != nil, false
		buf := s.curWrite.Buffer
		n := min(c.FIFODepth(), len(buf)-s.writeOff)
		d.sendManyLocked(buf[s.writeOff : s.writeOff+n])
		s.writeOff += n
		s.txLoaded += n
		if s.writeOff == len(buf) {
			s.writeDone = true
			d.dpcs.Insert(d.writeDpc, nil, nil)
			d.chainWriteLocked()
		}
	}
}

func (d *Device) sendLocked(b byte) {
	d.s.chip.Write(uart16550.THR, b)
	d.s.stats.TransmittedCount++
	d.s.emptied = true
}

// sendManyLocked is sendLocked for each of p, as one bulk write while the
// FIFO has room.
func (d *Device) sendManyLocked(p []byte) {
	if d.s.byteWise {
		for _, b := range p {
			d.sendLocked(b)
		}
		return
	}
	if len(p) == 0 {
		return
	}
	c := d.s.chip
	for _, b := range p[c.WriteTHR(p):] {
		c.Write(uart16550.THR, b) // into a full FIFO: dropped and counted
	}
	d.s.stats.TransmittedCount += uint64(len(p))
	d.s.emptied = true
}

// kickTxLocked provokes a THR-empty interrupt the way Serial.sys does, by
// turning ETBEI off and on: if the holding register is empty, the chip
// raises the interrupt at once and the ISR goroutine sends.
func (d *Device) kickTxLocked() {
	c := d.s.chip
	d.syncTimeLocked()
	ier := c.Read(uart16550.IER)
	c.Write(uart16550.IER, ier&^uart16550.IERTxEmpty)
	c.Write(uart16550.IER, ier|uart16550.IERTxEmpty)
}

// setMCRBitLocked raises or drops a modem control output.
func (d *Device) setMCRBitLocked(bit byte, on bool) {
	c := d.s.chip
	d.syncTimeLocked()
	mcr := c.Read(uart16550.MCR)
	if on {
		mcr |= bit
	} else {
		mcr &^= bit
	}
	c.Write(uart16550.MCR, mcr)
}

// modemUpdateLocked handles a modem status change (SerialHandleModemUpdate):
// events, the DSR-sensitivity hold, and the output handshake holds.
func (d *Device) modemUpdateLocked() {
	s := &d.s
	msr := s.chip.Read(uart16550.MSR)
	var ev uint32
	if msr&uart16550.MSRDeltaCTS != 0 {
		ev |= evCTS
		s.stats.CTSCount++
	}
	if msr&uart16550.MSRDeltaDSR != 0 {
		ev |= evDSR
		s.stats.DSRCount++
	}
	if msr&uart16550.MSRTrailingRI != 0 {
		ev |= evRing
		s.stats.RingCount++
	}
	if msr&uart16550.MSRDeltaDCD != 0 {
		ev |= evRLSD
		s.stats.DCDCount++
	}
	d.eventLocked(ev)
	d.applyModemStatusLocked(msr)
	d.traceModemLocked(msr)
}

// applyModemStatusLocked sets the holds that follow the modem inputs.
func (d *Device) applyModemStatusLocked(msr byte) {
	s := &d.s
	if s.handflow.ControlHandShake&ctlDSRSensitivity != 0 && msr&uart16550.MSRDSR == 0 {
		s.rxHolding |= rxHoldDSR
	} else {
		s.rxHolding &^= rxHoldDSR
	}
	holds := d.handshakeHoldsLocked(msr)
	for _, l := range handshakeLines {
		if holds&l.hold != 0 {
			d.holdTxLocked(l.hold)
		} else {
			s.txHolding &^= l.hold
		}
	}
}

// handshakeLines are the output handshakes: the ControlHandShake bit
// that turns each on, its modem input, and the hold it engages while that
// input is low.
var handshakeLines = [...]struct {
	ctl  uint32
	msr  byte
	hold uint32
}{
	{ctlCTSHandshake, uart16550.MSRCTS, txWaitingForCTS},
	{ctlDSRHandshake, uart16550.MSRDSR, txWaitingForDSR},
	{ctlDCDHandshake, uart16550.MSRDCD, txWaitingForDCD},
}

// handshakeHoldsLocked is the output holds that the handshakes in force
// engage with the modem inputs msr.
func (d *Device) handshakeHoldsLocked(msr byte) uint32 {
	ctl := d.s.handflow.ControlHandShake
	var holds uint32
	for _, l := range handshakeLines {
		if ctl&l.ctl != 0 && msr&l.msr == 0 {
			holds |= l.hold
		}
	}
	return holds
}

// eventLocked records wait-mask events and completes an armed wait.
func (d *Device) eventLocked(ev uint32) {
	s := &d.s
	ev &= s.waitMask
	if ev == 0 {
		return
	}
	s.history |= ev
	if s.curWait != nil && !s.waitFired {
		s.waitFired = true
		s.waitOut = s.history
		s.history = 0
		d.dpcs.Insert(d.waitDpc, nil, nil)
	}
}

// txFlowHolds are the output holds that flow control engages; a break
// holds output too, but nobody asked the sender to wait.
const txFlowHolds = txWaitingForCTS | txWaitingForDSR | txWaitingForDCD | txWaitingForXon

// holdTxLocked engages an output hold, counting the times flow control
// stops a transmitter that was free to send.
func (d *Device) holdTxLocked(reason uint32) {
	s := &d.s
	if s.txHolding&txFlowHolds == 0 && reason&txFlowHolds != 0 {
		s.stats.TxHoldCount++
	}
	s.txHolding |= reason
}
