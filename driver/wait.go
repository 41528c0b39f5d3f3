package driver

// setWaitMaskLocked is IOCTL_SERIAL_SET_WAIT_MASK (SerialStartMask): a wait
// already armed completes with an empty mask, and history keeps only the
// events still wanted.
func (d *Device) setWaitMaskLocked(a *afterUnlock, mask uint32) {
	s := &d.s
	if s.curWait != nil && !s.waitFired {
		s.waitOut = 0
		s.waitFired = true
		d.finishWaitLocked(a, StatusSuccess)
	}
	s.history &= mask
	s.waitMask = mask
}

// waitOnMaskLocked is IOCTL_SERIAL_WAIT_ON_MASK: one wait at a time, and
// only with a mask set. Events already in history complete it at once.
func (d *Device) waitOnMaskLocked(a *afterUnlock, irp *IRP) {
	s := &d.s
	if s.waitMask == 0 || s.curWait != nil {
		d.completeLocked(a, irp, StatusInvalidParameter, 0)
		return
	}
	if s.history != 0 {
		irp.output = s.history
		s.history = 0
		d.completeLocked(a, irp, StatusSuccess, 4)
		return
	}
	s.curWait = irp
	s.waitFired = false
	// EV_TXEMPTY needs a byte transmitted after the wait was armed.
	s.emptied = false
	irp.onCancel = func(a *afterUnlock) {
		s.waitOut = 0
		d.finishWaitLocked(a, StatusCancelled)
	}
}

// finishWaitLocked completes the current wait with the events in waitOut.
func (d *Device) finishWaitLocked(a *afterUnlock, st Status) {
	s := &d.s
	irp := s.curWait
	if irp == nil {
		return
	}
	s.curWait = nil
	s.waitFired = false
	info := 0
	if st == StatusSuccess {
		irp.output = s.waitOut
		info = 4
	}
	d.completeLocked(a, irp, st, info)
}

// CommWaitDpc: the ISR saw an event the armed wait was waiting for.
func (d *Device) commWaitDpc() {
	d.locked(func(a *afterUnlock) {
		if d.s.curWait != nil && d.s.waitFired {
			d.finishWaitLocked(a, StatusSuccess)
		}
	})
}
