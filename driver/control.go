package driver

import (
	"errors"

	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// deviceControlLocked handles IRP_MJ_DEVICE_CONTROL (SerialEvtIoDeviceControl).
// Purges and wait-on-mask go to their queues; the rest completes now.
func (d *Device) deviceControlLocked(a *afterUnlock, irp *IRP) {
	s := &d.s
	if err := ioctl.ValidateInput(irp.Code, irp.Input); err != nil {
		var ipe *ioctl.InvalidParameterError
		if errors.As(err, &ipe) {
			d.log.Debug().Str("port", d.name).Err(err).Msg("invalid IOCTL parameter")
		}
		irp.output = err
		d.completeLocked(a, irp, StatusInvalidParameter, 0)
		return
	}
	ok := func(out any) {
		irp.output = out
		d.completeLocked(a, irp, StatusSuccess, 0)
	}
	fail := func(st Status, err error) {
		irp.output = err
		d.completeLocked(a, irp, st, 0)
	}
	c := s.chip
	switch irp.Code {
	case ioctl.SetBaudRate:
		d.applyBaudLocked(irp.Input.(ioctl.BaudRate).BaudRate)
		ok(nil)
	case ioctl.GetBaudRate:
		ok(ioctl.BaudRate{BaudRate: s.baud})
	case ioctl.SetLineControl:
		s.line = irp.Input.(ioctl.LineControl)
		d.applyLineControlLocked()
		ok(nil)
	case ioctl.GetLineControl:
		ok(s.line)
	case ioctl.SetHandflow:
		hf := irp.Input.(ioctl.HandFlow)
		if err := hf.ValidateLimits(s.rxSize); err != nil {
			fail(StatusInvalidParameter, err)
			return
		}
		d.applyHandFlowLocked(hf, false)
		a.kick = true
		ok(nil)
	case ioctl.GetHandflow:
		ok(s.handflow)
	case ioctl.SetChars:
		s.chars = irp.Input.(ioctl.Chars)
		ok(nil)
	case ioctl.GetChars:
		ok(s.chars)
	case ioctl.SetTimeouts:
		s.timeouts = irp.Input.(ioctl.Timeouts)
		ok(nil)
	case ioctl.GetTimeouts:
		ok(s.timeouts)
	case ioctl.SetDTR, ioctl.ClrDTR:
		if s.handflow.ControlHandShake&ioctl.DTRMask == ioctl.DTRHandshake {
			fail(StatusInvalidParameter, errors.New("DTR is under handshake control"))
			return
		}
		d.setMCRBitLocked(uart16550.MCRDTR, irp.Code == ioctl.SetDTR)
		a.kick = true
		ok(nil)
	case ioctl.SetRTS, ioctl.ClrRTS:
		if mode := s.handflow.FlowReplace & ioctl.RTSMask; mode == ioctl.RTSHandshake || mode == ioctl.TransmitToggle {
			fail(StatusInvalidParameter, errors.New("RTS is under handshake or toggle control"))
			return
		}
		d.setMCRBitLocked(uart16550.MCRRTS, irp.Code == ioctl.SetRTS)
		a.kick = true
		ok(nil)
	case ioctl.GetDTRRTS:
		ok(uint32(c.State().MCR & (uart16550.MCRDTR | uart16550.MCRRTS)))
	case ioctl.GetModemControl:
		ok(uint32(c.State().MCR))
	case ioctl.SetModemControl:
		d.syncTimeLocked()
		// OUT2 stays on: the driver's interrupt line depends on it.
		c.Write(uart16550.MCR, byte(irp.Input.(uint32))|uart16550.MCROUT2)
		a.kick = true
		ok(nil)
	case ioctl.SetFIFOControl:
		d.syncTimeLocked()
		v := byte(irp.Input.(uint32))
		c.Write(uart16550.FCR, v)
		if v&uart16550.FCREnable != 0 {
			s.fcr = v &^ (uart16550.FCRRxReset | uart16550.FCRTxReset)
		}
		a.kick = true
		ok(nil)
	case ioctl.GetModemStatus:
		ok(uint32(c.State().MSR & 0xF0))
	case ioctl.SetBreakOn, ioctl.SetBreakOff:
		d.syncTimeLocked()
		lcr := c.Read(uart16550.LCR) &^ uart16550.LCRBreak
		if irp.Code == ioctl.SetBreakOn {
			lcr |= uart16550.LCRBreak
			s.txHolding |= ioctl.TxWaitingOnBreak
		} else {
			s.txHolding &^= ioctl.TxWaitingOnBreak
		}
		c.Write(uart16550.LCR, lcr)
		a.kick = true
		ok(nil)
	case ioctl.SetXoff:
		d.holdTxLocked(txWaitingForXon)
		ok(nil)
	case ioctl.SetXon:
		s.txHolding &^= ioctl.TxWaitingForXon
		a.kick = true
		ok(nil)
	case ioctl.ImmediateChar:
		if s.immediate != nil {
			fail(StatusInvalidParameter, errors.New("an immediate character is already waiting"))
			return
		}
		s.immediate, s.immSent = irp, false
		irp.onCancel = func(a *afterUnlock) {
			if !s.immSent {
				s.immediate = nil
				d.completeLocked(a, irp, StatusCancelled, 0)
			}
		}
		d.kickTxLocked()
		a.kick = true
	case ioctl.GetWaitMask:
		ok(ioctl.WaitMask(s.waitMask))
	case ioctl.SetWaitMask:
		d.setWaitMaskLocked(a, uint32(irp.Input.(ioctl.WaitMask)))
		ok(nil)
	case ioctl.WaitOnMask:
		d.waitOnMaskLocked(a, irp)
	case ioctl.Purge:
		irp.queued = true
		s.purgeQ = append(s.purgeQ, irp)
		d.startPurgeLocked(a)
	case ioctl.GetCommStatus:
		st := ioctl.CommStatus{
			Errors:           s.errorWord,
			HoldReasons:      d.holdReasonsLocked(),
			AmountInInQueue:  uint32(s.rxCount),
			AmountInOutQueue: uint32(d.outQueueLocked()),
			WaitForImmediate: s.immediate != nil,
		}
		s.errorWord = 0
		ok(st)
	case ioctl.GetStats:
		ok(s.stats.perf())
	case ioctl.ClearStats:
		s.stats = Stats{}
		ok(nil)
	case ioctl.GetProperties:
		ok(ioctl.Properties{
			MaxBaud:            ioctl.MaxBaud,
			CurrentRxQueue:     uint32(s.rxSize),
			SettableData:       0x0F,
			SettableStopParity: 0x1F07,
			ProvSubType:        1,
		})
	case ioctl.SetQueueSize:
		d.resizeQueueLocked(int(irp.Input.(ioctl.QueueSize).InSize))
		ok(nil)
	case ioctl.ResetDevice, ioctl.ConfigSize:
		ok(nil)
	case ioctl.SetModemInputs:
		if err := d.setModemInputsLocked(irp.Input.(ioctl.ModemInputs)); err != nil {
			fail(StatusInvalidParameter, err)
			return
		}
		a.kick = true
		ok(nil)
	case ioctl.Inject:
		if err := d.injectLocked(irp.Input.(ioctl.Injection)); err != nil {
			fail(StatusInvalidParameter, err)
			return
		}
		a.kick = true
		ok(nil)
	case ioctl.GetPortState:
		ok(d.portStateLocked())
	default:
		// XOFF_COUNTER and LSRMST_INSERT are not implemented: they change
		// the data stream in ways no Linux program can ask for through a
		// pty. They fail clearly rather than pretend.
		fail(StatusInvalidDeviceRequest, errors.New(irp.Code.String()+" is not supported"))
	}
}

// holdReasonsLocked is SERIAL_STATUS.HoldReasons.
func (d *Device) holdReasonsLocked() uint32 {
	s := &d.s
	h := s.txHolding
	if s.rxHolding&rxHoldXoff != 0 {
		h |= ioctl.TxWaitingXoffSent
	}
	if s.rxHolding&rxHoldDSR != 0 {
		h |= ioctl.RxWaitingForDSR
	}
	return h
}

// outQueueLocked is what writes still have to hand to the UART.
func (d *Device) outQueueLocked() int {
	s := &d.s
	n := 0
	if s.curWrite != nil {
		n += len(s.curWrite.Buffer) - s.writeOff
	}
	for _, w := range s.writeQ {
		n += len(w.Buffer)
	}
	if s.immediate != nil && !s.immSent {
		n++
	}
	return n
}

// resizeQueueLocked grows the typeahead buffer (SET_QUEUE_SIZE never
// shrinks it) and resets the flow-control limits to their defaults.
func (d *Device) resizeQueueLocked(size int) {
	s := &d.s
	if size <= s.rxSize {
		return
	}
	s.rxSize = size // its memory grows as it fills
	s.xoffLimit, s.xonLimit = size/8, size/2
	s.handflow.XoffLimit, s.handflow.XonLimit = int32(s.xoffLimit), int32(s.xonLimit)
}

func (st Stats) perf() ioctl.PerfStats {
	return ioctl.PerfStats{
		ReceivedCount:           uint32(st.ReceivedCount),
		TransmittedCount:        uint32(st.TransmittedCount),
		FrameErrorCount:         uint32(st.FrameErrorCount),
		SerialOverrunErrorCount: uint32(st.SerialOverrunErrorCount),
		BufferOverrunErrorCount: uint32(st.BufferOverrunErrorCount),
		ParityErrorCount:        uint32(st.ParityErrorCount),
	}
}
