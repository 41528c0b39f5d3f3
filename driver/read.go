package driver

import (
	"time"

	"github.com/vcomd/vcomd/dpc"
)

// maxTimeout is SERIAL_TIMEOUTS's MAXULONG.
const maxTimeout = ^uint32(0)

// startReadLocked is SerialStartRead: make the next queued read current
// and either satisfy it at once from the typeahead buffer or hand it to the
// ISR with its timers, following SERIAL_TIMEOUTS.
func (d *Device) startReadLocked(a *afterUnlock) {
	s := &d.s
	for s.curRead == nil && len(s.readQ) > 0 {
		irp := s.readQ[0]
		s.readQ = popFront(s.readQ)
		irp.queued = false
		s.curRead = irp
		s.readDone = false
		s.readLen = len(irp.Buffer)
		s.readN = d.takeTypeaheadLocked(irp.Buffer)

		t := s.timeouts
		rit, m, c := t.ReadIntervalTimeout, t.ReadTotalTimeoutMultiplier, t.ReadTotalTimeoutConstant
		var total time.Duration
		useTotal, useInterval := false, false
		switch {
		case s.readN == s.readLen:
		case rit == maxTimeout && m == 0 && c == 0:
			// Return at once with whatever there was.
			s.readLen = s.readN
		case rit == maxTimeout && m == maxTimeout && c != maxTimeout:
			// Return on the first byte, or time out after the constant.
			if s.readN > 0 {
				s.readLen = s.readN
			} else {
				s.readLen = 1
				total, useTotal = ms(c), true
			}
		case rit == maxTimeout && c == maxTimeout:
			// No timers: wait for all of it.
		case rit == maxTimeout:
			if s.readN > 0 {
				s.readLen = s.readN
			} else {
				total, useTotal = totalTimeout(len(irp.Buffer), m, c), true
			}
		default:
			if m != 0 || c != 0 {
				total, useTotal = totalTimeout(len(irp.Buffer), m, c), true
			}
			useInterval = rit != 0
		}
		if s.readN == s.readLen {
			d.finishReadLocked(a, StatusSuccess)
			continue
		}
		s.readByISR = true
		s.readIntDur = 0
		if useInterval {
			s.readIntDur = ms(rit)
			if s.readN > 0 {
				// Bytes copied from the typeahead count as received: the
				// interval clock is already running.
				s.readLast = d.s.chip.Now()
				d.armTimerLocked(&s.readIntvl, s.readIntDur, d.readIntervalDpc)
			}
		}
		if useTotal {
			d.armTimerLocked(&s.readTimer, total, d.readTotalDpc)
		}
		irp.onCancel = func(a *afterUnlock) { d.finishReadLocked(a, StatusCancelled) }
		return
	}
}

// takeTypeaheadLocked copies from the typeahead buffer into buf and
// releases input flow control if that made enough room.
func (d *Device) takeTypeaheadLocked(buf []byte) int {
	s := &d.s
	size := len(s.rxBuf)
	n := 0
	for n < len(buf) && s.rxCount > 0 {
		chunk := min(s.rxCount, size-s.rxHead, len(buf)-n)
		copy(buf[n:], s.rxBuf[s.rxHead:s.rxHead+chunk])
		n += chunk
		s.rxHead = (s.rxHead + chunk) % size
		s.rxCount -= chunk
	}
	if n > 0 && s.rxCount == 0 {
		d.rxEmptiedLocked()
	}
	if n > 0 {
		d.releaseInputFlowLocked()
		if len(s.inbox) > 0 {
			s.touched = true // characters may be waiting on the line for room
		}
	}
	return n
}

// finishReadLocked completes the current read and starts the next one.
// Serial.sys reports no bytes for a cancelled read; a timed-out one reports
// what it got.
func (d *Device) finishReadLocked(a *afterUnlock, st Status) {
	s := &d.s
	irp := s.curRead
	if irp == nil {
		return
	}
	d.stopTimerLocked(&s.readTimer)
	d.stopTimerLocked(&s.readIntvl)
	s.readByISR, s.readDone = false, false
	s.curRead = nil
	irp.onCancel = nil
	n := s.readN
	if st == StatusCancelled {
		n = 0
	}
	d.completeLocked(a, irp, st, n)
	d.startReadLocked(a)
}

// CompleteReadDpc: the ISR filled the current read's buffer.
func (d *Device) completeReadDpc() {
	d.locked(func(a *afterUnlock) {
		if d.s.readDone {
			d.finishReadLocked(a, StatusSuccess)
		}
	})
}

// ReadRequestTotalTimer's DPC.
func (d *Device) readTotalTimeoutDpc() {
	d.locked(func(a *afterUnlock) {
		d.catchUpLocked() // bytes that came before the deadline are in the read
		if d.timerDueLocked(&d.s.readTimer) && d.s.curRead != nil && !d.s.readDone {
			d.finishReadLocked(a, StatusTimeout)
		}
	})
}

// ReadRequestIntervalTimer's DPC: time out if no byte came for the
// interval, else look again when the interval from the last byte ends.
func (d *Device) readIntervalTimeoutDpc() {
	d.locked(func(a *afterUnlock) {
		d.catchUpLocked() // a byte that came in the interval restarts it
		s := &d.s
		if !d.timerDueLocked(&s.readIntvl) || s.curRead == nil {
			return
		}
		if s.readDone {
			return // CompleteReadDpc is on its way
		}
		idle := d.vnow() - s.readLast
		if idle >= s.readIntDur {
			d.finishReadLocked(a, StatusTimeout)
			return
		}
		d.armTimerLocked(&s.readIntvl, s.readIntDur-idle, d.readIntervalDpc)
	})
}

// armTimerLocked starts a timer slot that queues dpcObj when it fires.
// A slot keeps one runtime timer for the device's life and re-arms it,
// so a read or write with timeouts costs no allocation.
func (d *Device) armTimerLocked(slot *timerSlot, after time.Duration, dpcObj *dpc.DPC) {
	slot.due, slot.armed = false, true
	slot.deadline = time.Now().Add(after)
	if slot.t == nil {
		slot.t = time.AfterFunc(after, func() { d.timerFired(slot, dpcObj) })
		return
	}
	slot.t.Reset(after)
}

// timerFired is a slot's timer function. A run left over from an earlier
// arming (its Stop came too late) finds the slot disarmed, or its new
// deadline still ahead, and does nothing.
func (d *Device) timerFired(slot *timerSlot, dpcObj *dpc.DPC) {
	d.mu.Lock()
	fire := slot.armed && !time.Now().Before(slot.deadline)
	if fire {
		slot.armed, slot.due = false, true
	}
	d.mu.Unlock()
	if fire {
		d.dpcs.Insert(dpcObj, nil, nil)
		d.dpcs.Drain()
	}
}

// stopTimerLocked disarms a timer slot; a DPC it already queued finds the
// slot not due and does nothing.
func (d *Device) stopTimerLocked(slot *timerSlot) {
	slot.armed, slot.due = false, false
	if slot.t != nil {
		slot.t.Stop()
	}
}

// timerDueLocked consumes a timer slot's firing.
func (d *Device) timerDueLocked(slot *timerSlot) bool {
	if !slot.due {
		return false
	}
	slot.due = false
	return true
}

// ms turns SERIAL_TIMEOUTS milliseconds into a duration.
func ms(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }

// totalTimeout is n x multiplier + constant milliseconds, saturating
// instead of overflowing.
func totalTimeout(n int, multiplier, constant uint32) time.Duration {
	total := uint64(n)*uint64(multiplier) + uint64(constant)
	const maxMs = uint64(1<<63-1) / uint64(time.Millisecond)
	if total > maxMs {
		total = maxMs
	}
	return time.Duration(total) * time.Millisecond
}
