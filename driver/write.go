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
		s.writeQ = popFront(s.writeQ)
		irp.queued = false
		if irp.Major == MajorFlush || len(irp.Buffer) == 0 {
			d.completeLocked(a, irp, StatusSuccess, 0)
			continue
		}
		d.beginWriteLocked(irp)
		d.kickTxLocked()
		a.kick = true
		return
	}
	if s.curWrite == nil {
		d.processEmptyTransmitLocked()
	}
}

// beginWriteLocked makes irp the current write, with its timer.
func (d *Device) beginWriteLocked(irp *IRP) {
	s := &d.s
	s.curWrite = irp
	s.writeOff = 0
	s.writeDone = false
	t := s.timeouts
	if m, c := t.WriteTotalTimeoutMultiplier, t.WriteTotalTimeoutConstant; m != 0 || c != 0 {
		d.armTimerLocked(&s.writeTimer, totalTimeout(len(irp.Buffer), m, c), d.writeTotalDpc)
	}
	irp.onCancel = func(a *afterUnlock) { d.finishWriteLocked(a, StatusCancelled) }
}

// chainWriteLocked lets the ISR go straight on to the next queued write
// once the current one is all with the UART, leaving its completion to
// CompleteWriteDpc. Serial.sys starts the next write from that DPC, which
// on Windows runs within microseconds; here a DPC may wait for the
// scheduler longer than a FIFO takes to drain, and the line would idle
// between writes where a real port's transmit buffer runs on.
func (d *Device) chainWriteLocked() {
	s := &d.s
	if !s.writeDone || len(s.writeQ) == 0 {
		return
	}
	next := s.writeQ[0]
	if next.Major != MajorWrite || len(next.Buffer) == 0 {
		return // a flush or an empty write completes in order, from the DPC
	}
	d.stopTimerLocked(&s.writeTimer)
	s.curWrite.onCancel = nil
	s.written = append(s.written, s.curWrite)
	s.writeQ = popFront(s.writeQ)
	next.queued = false
	d.beginWriteLocked(next)
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
		s := &d.s
		for _, irp := range s.written {
			d.completeLocked(a, irp, StatusSuccess, len(irp.Buffer))
		}
		clear(s.written) // nor may the slice keep them, and their data, alive
		s.written = s.written[:0]
		if s.writeDone {
			d.finishWriteLocked(a, StatusSuccess)
		}
		if s.curWrite == nil {
			d.processEmptyTransmitLocked()
		}
	})
}

// WriteRequestTotalTimer's DPC: the write took longer than allowed; it
// reports the bytes already handed to the UART.
func (d *Device) writeTotalTimeoutDpc() {
	d.locked(func(a *afterUnlock) {
		d.catchUpLocked() // what went out before the deadline counts
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
