package driver

// dispatchLocked routes a new request: reads, writes, flushes, purges and
// wait-mask requests go to their queues; create, close and cleanup act at
// once; every other IOCTL completes synchronously (SerialEvtIoDeviceControl).
func (d *Device) dispatchLocked(a *afterUnlock, irp *IRP) {
	s := &d.s
	if d.errorGateLocked(irp) {
		d.completeLocked(a, irp, StatusCancelled, 0)
		return
	}
	switch irp.Major {
	case MajorCreate:
		d.openLocked()
		d.completeLocked(a, irp, StatusSuccess, 0)
	case MajorClose:
		d.closeLocked()
		d.completeLocked(a, irp, StatusSuccess, 0)
	case MajorCleanup:
		d.cancelAllLocked(a, func(p *IRP) bool { return p.Owner == irp.Owner })
		d.completeLocked(a, irp, StatusSuccess, 0)
	case MajorRead:
		if len(irp.Buffer) == 0 {
			d.completeLocked(a, irp, StatusSuccess, 0)
			return
		}
		irp.queued = true
		s.readQ = append(s.readQ, irp)
		d.startReadLocked(a)
	case MajorWrite, MajorFlush:
		irp.queued = true
		s.writeQ = append(s.writeQ, irp)
		d.startWriteLocked(a)
	case MajorDeviceControl:
		before := d.settingsLocked()
		d.deviceControlLocked(a, irp)
		if d.settingsLocked() != before {
			a.settings = true
		}
	default:
		d.completeLocked(a, irp, StatusInvalidDeviceRequest, 0)
	}
}

// errorGateLocked is SerialCompleteIfError: after an error with
// SERIAL_ERROR_ABORT set, every request but GET_COMMSTATUS (which clears
// the error) fails until the error is read.
func (d *Device) errorGateLocked(irp *IRP) bool {
	s := &d.s
	if s.handflow.ControlHandShake&ctlErrorAbort == 0 || s.errorWord == 0 {
		return false
	}
	switch irp.Major {
	case MajorRead, MajorWrite, MajorFlush:
		return true
	case MajorDeviceControl:
		return irp.Code != codeGetCommStatus
	}
	return false
}

// completeLocked records a request's result; the completion itself (waking
// the issuer, tracing) happens once the lock is released.
func (d *Device) completeLocked(a *afterUnlock, irp *IRP, st Status, info int) {
	irp.status = st
	irp.information = info
	irp.queued = false
	irp.onCancel = nil
	a.complete = append(a.complete, irp)
}

// cancelLocked is IoCancelIrp: a queued request is removed and completed
// CANCELLED; a current one is taken back from the ISR by its cancel
// routine.
func (d *Device) cancelLocked(a *afterUnlock, irp *IRP) bool {
	if irp.queued {
		s := &d.s
		for _, q := range []*[]*IRP{&s.readQ, &s.writeQ, &s.purgeQ} {
			*q = removeIRP(*q, irp)
		}
		d.completeLocked(a, irp, StatusCancelled, 0)
		return true
	}
	if irp.onCancel != nil {
		irp.onCancel(a)
		return true
	}
	return false // completed already, or completing
}

// cancelAllLocked cancels every request, queued or current, that match
// selects. The order is Serial.sys's cleanup order: writes, reads, purges,
// then the wait and the immediate character.
func (d *Device) cancelAllLocked(a *afterUnlock, match func(*IRP) bool) {
	s := &d.s
	var victims []*IRP
	for _, q := range [][]*IRP{s.writeQ, {s.curWrite}, s.readQ, {s.curRead}, s.purgeQ, {s.curPurge}, {s.curWait}, {s.immediate}} {
		for _, irp := range q {
			if irp != nil && match(irp) {
				victims = append(victims, irp)
			}
		}
	}
	for _, irp := range victims {
		d.cancelLocked(a, irp)
	}
}

func removeIRP(q []*IRP, irp *IRP) []*IRP {
	for i, p := range q {
		if p == irp {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}

// locked runs f under the interrupt lock, then finishes what it decided.
func (d *Device) locked(f func(a *afterUnlock)) {
	var after afterUnlock
	d.mu.Lock()
	f(&after)
	d.unlock(&after)
	d.finish(&after)
}
