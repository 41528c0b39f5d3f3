package driver

import "github.com/vcomd/vcomd/uart16550"

// startPurgeLocked takes the next purge request. What must happen at the
// chip and in the ISR's buffers (emptying the UART FIFOs and the typeahead
// buffer) is done here, under the interrupt lock, so no byte slips in
// between; cancelling the queued and current requests is left to
// PurgeDpc, which also completes the purge.
func (d *Device) startPurgeLocked() {
	s := &d.s
	if s.curPurge != nil || len(s.purgeQ) == 0 {
		return
	}
	irp := s.purgeQ[0]
	s.purgeQ = s.purgeQ[1:]
	irp.queued = false
	s.curPurge = irp
	flags := purgeFlags(irp)
	d.syncTimeLocked()
	if flags&purgeRxClear != 0 {
		s.rxHead, s.rxCount = 0, 0
		d.s.chip.Write(uart16550.FCR, s.fcr|uart16550.FCRRxReset)
		d.releaseInputFlowLocked()
	}
	if flags&purgeTxClear != 0 {
		d.s.chip.Write(uart16550.FCR, s.fcr|uart16550.FCRTxReset)
	}
	d.dpcs.Insert(d.purgeDpc, nil, nil)
}

// purgeDpcRoutine is PurgeDpc: abort the requests the current purge names, complete it, and
// start the next.
func (d *Device) purgeDpcRoutine() {
	d.locked(func(a *afterUnlock) {
		s := &d.s
		irp := s.curPurge
		if irp == nil {
			return
		}
		flags := purgeFlags(irp)
		if flags&purgeTxAbort != 0 {
			d.cancelAllLocked(a, func(p *IRP) bool { return p.Major == MajorWrite || p.Major == MajorFlush })
		}
		if flags&purgeRxAbort != 0 {
			d.cancelAllLocked(a, func(p *IRP) bool { return p.Major == MajorRead })
		}
		s.curPurge = nil
		d.completeLocked(a, irp, StatusSuccess, 0)
		d.startPurgeLocked()
		a.kick = true
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
