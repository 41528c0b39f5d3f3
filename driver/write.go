package driver

// startWriteLocked is SerialStartWrite: make the next queued write current
// and hand it to the ISR. Writes are never buffered by the driver: bytes go
// from the request's buffer into the UART as it has room. A flush request
// in the write queue completes when it reaches the head, that is, after
// every write before it.
func (d *Device) startWriteLocked(a *afterUnlock) {
	s := &d.s
	for s.curWrite == nil && len(s.writeQ) > 0 {
		irp := s.writeQ[0]
		s.writeQ = s.writeQ[1:]
		irp.queued = false
		if irp.Major == MajorFlush || len(irp.Buffer) == 0 {
			d.completeLocked(a, irp, StatusSuccess, 0)
			continue
		}
		s.curWrite = irp
		s.writeOff = 0
		s.writeDone = false
		t := s.timeouts
		if m, c := t.WriteTotalTimeoutMultiplier, t.WriteTotalTimeoutConstant; m != 0 || c != 0 {
			d.armTimerLocked(&s.writeTimer, totalTimeout(len(irp.Buffer), m, c), d.writeTotalDpc)
		}
		irp.onCancel = func(a *afterUnlock) { d.finishWriteLocked(a, StatusCancelled) }
		d.kickTxLocked()
		a.kick = true
		return
	}
	if s.curWrite == nil {
		d.processEmptyTransmitLocked()
	}
}

// finishWriteLocked completes the current write and starts the next.
func (d *Device) finishWriteLocked(a *afterUnlock, st Status) {
	s := &d.s
	irp := s.curWrite
	if irp == nil {
		return
	}
	d.stopTimerLocked(&s.writeTimer)
	n := s.writeOff
	if st == StatusCancelled {
		n = 0
	}
	s.curWrite = nil
	s.writeDone = false
	irp.onCancel = nil
	d.completeLocked(a, irp, st, n)
	d.startWriteLocked(a)
}

// processEmptyTransmitLocked raises EV_TXEMPTY once the last request's
// bytes are with the UART and nothing else waits (SerialProcessEmptyTransmit).
func (d *Device) processEmptyTransmitLocked() {
	s := &d.s
	if s.emptied && s.curWrite == nil && len(s.writeQ) == 0 && s.immediate == nil {
		s.emptied = false
		d.eventLocked(evTxEmpty)
	}
}

// CompleteWriteDpc: the ISR handed the write's last byte to the UART.
func (d *Device) completeWriteDpc() {
	d.locked(func(a *afterUnlock) {
		if d.s.writeDone {
			d.finishWriteLocked(a, StatusSuccess)
		}
	})
}

// WriteRequestTotalTimer's DPC: the write took longer than allowed; it
// reports the bytes already handed to the UART.
func (d *Device) writeTotalTimeoutDpc() {
	d.locked(func(a *afterUnlock) {
		if d.timerDueLocked(&d.s.writeTimer) && d.s.curWrite != nil && !d.s.writeDone {
			d.finishWriteLocked(a, StatusTimeout)
		}
	})
}

// CompleteImmediateDpc: the immediate character went into THR.
func (d *Device) completeImmediateDpc() {
	d.locked(func(a *afterUnlock) {
		s := &d.s
		if s.immediate != nil && s.immSent {
			irp := s.immediate
			s.immediate, s.immSent = nil, false
			irp.onCancel = nil
			d.completeLocked(a, irp, StatusSuccess, 0)
			d.processEmptyTransmitLocked()
		}
	})
}
