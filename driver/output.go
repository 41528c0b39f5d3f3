package driver

// The serial core wakes a program blocked in write() or poll() once fewer
// than WAKEUP_CHARS characters wait to be sent (uart_write_wakeup); a
// front that paces its program's writes the same way asks the device to
// tell it when the output queue drains that far.

// OutputQueued reports how many written bytes wait to be loaded into the
// UART, as GET_COMMSTATUS does (AmountInOutQueue) but without its side
// effects.
func (d *Device) OutputQueued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.outQueueLocked()
}

// OutputHeld reports whether output flow control holds the transmitter:
// CTS, DSR or DCD low with their handshake on, or an XOFF in force.
func (d *Device) OutputHeld() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.txHolding&txFlowHolds != 0
}

// NotifyOutputBelow arranges for fn to run once, from an ISR pass with
// no lock held, when fewer than n bytes wait to be loaded into the UART.
// It replaces an earlier request. If fewer than n wait already it does
// not arm, and reports false: the caller goes on at once. fn must not
// block.
func (d *Device) NotifyOutputBelow(n int, fn func()) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.outQueueLocked() < n {
		d.s.lowWater, d.s.onLowWater = 0, nil
		return false
	}
	d.s.lowWater, d.s.onLowWater = n, fn
	return true
}

// lowWaterLocked returns the armed low-water callback if the output queue
// has drained below its mark, disarming it.
func (d *Device) lowWaterLocked() func() {
	s := &d.s
	if s.onLowWater == nil || d.outQueueLocked() >= s.lowWater {
		return nil
	}
	fn := s.onLowWater
	s.lowWater, s.onLowWater = 0, nil
	return fn
}
