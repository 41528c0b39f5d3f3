package driver

import "github.com/vcomd/vcomd/uart16550"

// startPurgeLocked takes the next purge request and does what must
// happen under the interrupt lock, at one instant, so that no byte slips
// through: take the aborted requests back from the ISR and complete them
// CANCELLED, and empty the UART FIFOs and the typeahead buffer. PurgeDpc
// then completes the purge and starts the next one.
func (d *Device) startPurgeLocked(a *afterUnlock) {
	s := &d.s
	if s.curPurge != nil || len(s.purgeQ) == 0 {
		return
	}
	irp := s.purgeQ[0]
	s.purgeQ = popFront(s.purgeQ)
	irp.queued = false
	s.curPurge = irp
	flags := purgeFlags(irp)
	if flags&purgeTxAbort != 0 {
		d.cancelAllLocked(a, func(p *IRP) bool { return p.Major == MajorWrite || p.Major == MajorFlush })
	}
	if flags&purgeRxAbort != 0 {
		d.cancelAllLocked(a, func(p *IRP) bool { return p.Major == MajorRead })
	}
	d.syncTimeLocked()
	if flags&purgeTxClear != 0 {
		s.chip.Write(uart16550.FCR, s.fcr|uart16550.FCRTxReset)
	}
	if flags&purgeRxClear != 0 {
		d.rxEmptiedLocked()
		s.chip.Write(uart16550.FCR, s.fcr|uart16550.FCRRxReset)
		d.releaseInputFlowLocked()
	}
	d.dpcs.Insert(d.purgeDpc, nil, nil)
}

// purgeDpcRoutine is PurgeDpc: complete the current purge and start the
// next.
func (d *Device) purgeDpcRoutine() {
	d.locked(func(a *afterUnlock) {
		s := &d.s
		if irp := s.curPurge; irp != nil {
			s.curPurge = nil
			d.completeLocked(a, irp, StatusSuccess, 0)
			d.startPurgeLocked(a)
		}
	})
}

// CommErrorDpc: with SERIAL_ERROR_ABORT, an error cancels every read and
// write (SerialCommError).
func (d *Device) commErrorDpc() {
	d.locked(func(a *afterUnlock) {
		d.cancelAllLocked(a, func(p *IRP) bool {
			return p.Major == MajorRead || p.Major == MajorWrite || p.Major == MajorFlush
		})
	})
}
