package driver

import "github.com/vcomd/vcomd/uart16550"

// receiveCharLocked handles one character from RBR (SerialISR's receive
// loop): count it, strip nulls, act on XON/XOFF, raise events, store it.
func (d *Device) receiveCharLocked(c byte) {
	s := &d.s
	s.stats.ReceivedCount++
	c &= dataMask(s.line.WordLength)
	hf := &s.handflow
	if c == 0 && hf.FlowReplace&flowNullStripping != 0 {
		return
	}
	if hf.FlowReplace&flowAutoTransmit != 0 && (c == s.chars.XoffChar || c == s.chars.XonChar) {
		// Consumed by the output flow control, never delivered.
		if c == s.chars.XoffChar {
			d.holdTxLocked(txWaitingForXon)
		} else if s.txHolding&txWaitingForXon != 0 {
			s.txHolding &^= txWaitingForXon
		}
		return
	}
	ev := uint32(evRxChar)
	if c == s.chars.EventChar {
		ev |= evRxFlag
	}
	d.eventLocked(ev)
	d.putCharLocked(c)
}

// putCharLocked stores a received byte (SerialPutChar): into the pending
// read's buffer if the ISR owns one, else into the typeahead buffer, with
// input flow control and queue-overrun accounting.
func (d *Device) putCharLocked(c byte) {
	s := &d.s
	if s.handflow.ControlHandShake&ctlDSRSensitivity != 0 && s.rxHolding&rxHoldDSR != 0 {
		return
	}
	if s.readByISR {
		s.curRead.Buffer[s.readN] = c
		d.readStoredLocked(1)
		return
	}
	size := s.rxSize
	if s.rxCount+1 >= size-s.xoffLimit {
		d.engageInputFlowLocked()
	}
	if s.rxCount == size {
		s.stats.BufferOverrunErrorCount++
		s.errorWord |= errQueueOverrun
		if s.handflow.FlowReplace&flowErrorChar != 0 {
			s.rxBuf[(s.rxHead+size-1)%size] = s.chars.ErrorChar // full: rxBuf has size bytes
		}
		d.errorAbortLocked()
		return
	}
	d.growRxLocked(s.rxCount + 1)
	s.rxBuf[(s.rxHead+s.rxCount)%len(s.rxBuf)] = c
	s.rxCount++
	if s.rxCount == size*13/16 {
		d.eventLocked(evRx80Full)
	}
}

// readStoredLocked accounts for n bytes the ISR has just stored in the
// current read's buffer.
func (d *Device) readStoredLocked(n int) {
	s := &d.s
	s.readN += n
	s.readLast = s.chip.Now()
	if s.readIntDur > 0 && !s.readIntvl.armed {
		// The interval clock starts with the first byte.
		d.armTimerLocked(&s.readIntvl, s.readIntDur, d.readIntervalDpc)
	}
	if s.readN == s.readLen {
		s.readByISR = false
		s.readDone = true
		d.dpcs.Insert(d.readDpc, nil, nil)
	}
}

// engageInputFlowLocked tells the peer to stop sending: the typeahead
// buffer is down to XoffLimit free bytes.
func (d *Device) engageInputFlowLocked() {
	s := &d.s
	hf := &s.handflow
	if hf.ControlHandShake&ctlDTRMask == ctlDTRHandshake && s.rxHolding&rxHoldDTR == 0 {
		s.rxHolding |= rxHoldDTR
		d.setMCRBitLocked(uart16550.MCRDTR, false)
	}
	if hf.FlowReplace&flowRTSMask == flowRTSHandshake && s.rxHolding&rxHoldRTS == 0 {
		s.rxHolding |= rxHoldRTS
		d.setMCRBitLocked(uart16550.MCRRTS, false)
	}
	if hf.FlowReplace&flowAutoReceive != 0 && s.rxHolding&rxHoldXoff == 0 {
		s.rxHolding |= rxHoldXoff
		d.prodXonXoffLocked(false)
	}
}

// releaseInputFlowLocked undoes engageInputFlowLocked once reads have taken
// the typeahead count down to XonLimit (SerialHandleReducedIntBuffer).
func (d *Device) releaseInputFlowLocked() {
	s := &d.s
	if s.rxHolding&(rxHoldDTR|rxHoldRTS|rxHoldXoff) == 0 || s.rxCount > s.xonLimit {
		return
	}
	if s.rxHolding&rxHoldDTR != 0 {
		s.rxHolding &^= rxHoldDTR
		d.setMCRBitLocked(uart16550.MCRDTR, true)
	}
	if s.rxHolding&rxHoldRTS != 0 {
		s.rxHolding &^= rxHoldRTS
		d.setMCRBitLocked(uart16550.MCRRTS, true)
	}
	if s.rxHolding&rxHoldXoff != 0 {
		// RX_XOFF clears when the XON actually goes out.
		d.prodXonXoffLocked(true)
	}
}

// prodXonXoffLocked asks the transmitter to send XON or XOFF ahead of any
// data; the last request wins (SerialProdXonXoff).
func (d *Device) prodXonXoffLocked(xon bool) {
	d.s.sendXon, d.s.sendXoff = xon, !xon
	d.kickTxLocked()
}

// processLSRLocked handles line status (SerialProcessLSR): count the errors,
// record them for GET_COMMSTATUS and the wait mask, substitute the error or
// break character when asked. It reports whether it took the errored
// character out of RBR.
func (d *Device) processLSRLocked(lsr byte) bool {
	s := &d.s
	if lsr&lsrErrors == 0 {
		return false
	}
	c := s.chip
	hf := &s.handflow
	consumed := false
	var ev uint32
	if lsr&uart16550.LSROverrun != 0 {
		s.stats.SerialOverrunErrorCount++
		s.errorWord |= errOverrun
		ev |= evErr
		if hf.FlowReplace&flowErrorChar != 0 {
			d.putCharLocked(s.chars.ErrorChar)
			if lsr&uart16550.LSRDataReady != 0 {
				c.Read(uart16550.RBR)
				consumed = true
			}
		}
	}
	switch {
	case lsr&uart16550.LSRBreak != 0:
		// PE and FE come with a break (the line was space throughout); a
		// break is not also a framing or parity error.
		s.stats.BreakCount++
		s.errorWord |= errBreak
		ev |= evBreak
		if hf.FlowReplace&flowBreakChar != 0 {
			d.putCharLocked(s.chars.BreakChar)
		}
		// The break's zero character stays in RBR and is delivered as data,
		// as both Serial.sys and the Linux 8250 driver do.
	case lsr&(uart16550.LSRParityError|uart16550.LSRFramingErr) != 0:
		if lsr&uart16550.LSRParityError != 0 {
			s.stats.ParityErrorCount++
			s.errorWord |= errParity
		}
		if lsr&uart16550.LSRFramingErr != 0 {
			s.stats.FrameErrorCount++
			s.errorWord |= errFraming
		}
		ev |= evErr
		if hf.FlowReplace&flowErrorChar != 0 && !consumed && lsr&uart16550.LSRDataReady != 0 {
			d.putCharLocked(s.chars.ErrorChar)
			c.Read(uart16550.RBR)
			consumed = true
		}
	}
	d.eventLocked(ev)
	d.errorAbortLocked()
	return consumed
}

// errorAbortLocked queues CommErrorDpc when SERIAL_ERROR_ABORT is on and an
// error was recorded: every read and write is then cancelled.
func (d *Device) errorAbortLocked() {
	if d.s.handflow.ControlHandShake&ctlErrorAbort != 0 && d.s.errorWord != 0 {
		d.dpcs.Insert(d.errorDpc, nil, nil)
	}
}

// dataMask keeps the bits a word length carries.
func dataMask(wordLength uint8) byte {
	if wordLength < 5 || wordLength >= 8 {
		return 0xFF
	}
	return byte(1)<<wordLength - 1
}
