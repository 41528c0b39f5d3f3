package driver

import (
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// defaultLineControl is 8N1 unless the port is configured otherwise.
func defaultLineControl(dataBits uint8, parity uart16550.Parity) ioctl.LineControl {
	if dataBits == 0 {
		dataBits = 8
	}
	return ioctl.LineControl{WordLength: dataBits, Parity: uint8(parity), StopBits: ioctl.StopBit1}
}

// defaultChars are XON = DC1 and XOFF = DC3, as on every serial port.
func defaultChars() ioctl.Chars { return ioctl.Chars{XonChar: 0x11, XoffChar: 0x13} }

// defaultHandFlow raises DTR and RTS with no flow control, as the Linux
// serial core does when a port opens, with Serial.sys's limits.
func defaultHandFlow(size int) ioctl.HandFlow {
	return ioctl.HandFlow{
		ControlHandShake: ioctl.DTRControl,
		FlowReplace:      ioctl.RTSControl,
		XonLimit:         int32(size / 2),
		XoffLimit:        int32(size / 8),
	}
}

// applyBaudLocked programs the divisor latch. Rates the 1.8432 MHz crystal
// divides down to exactly use it; any other rate gets a reference clock of
// 16 x baud and divisor 1, as a UART with a programmable clock would, so
// that every rate a program asks for is exact.
func (d *Device) applyBaudLocked(baud uint32) {
	s := &d.s
	c := s.chip
	d.syncTimeLocked()
	clock, div := uint32(uart16550.ClockHz), uint32(0)
	if baud != 0 && uart16550.ClockHz/16%baud == 0 {
		div = uart16550.ClockHz / 16 / baud
	} else {
		clock, div = 16*baud, 1
	}
	c.SetClock(clock)
	lcr := c.Read(uart16550.LCR)
	c.Write(uart16550.LCR, lcr|uart16550.LCRDLAB)
	c.Write(uart16550.DLL, byte(div))
	c.Write(uart16550.DLM, byte(div>>8))
	c.Write(uart16550.LCR, lcr)
	s.baud = baud
}

// applyLineControlLocked programs LCR from the line settings, keeping the
// break bit.
func (d *Device) applyLineControlLocked() {
	s := &d.s
	c := s.chip
	l := s.line
	d.syncTimeLocked()
	lcr := (l.WordLength - 5) & uart16550.LCRWordLength
	if l.StopBits != ioctl.StopBit1 {
		lcr |= uart16550.LCRStopBits
	}
	switch l.Parity {
	case ioctl.OddParity:
		lcr |= uart16550.LCRParity
	case ioctl.EvenParity:
		lcr |= uart16550.LCRParity | uart16550.LCREvenParity
	case ioctl.MarkParity:
		lcr |= uart16550.LCRParity | uart16550.LCRStickParity
	case ioctl.SpaceParity:
		lcr |= uart16550.LCRParity | uart16550.LCREvenParity | uart16550.LCRStickParity
	}
	c.Write(uart16550.LCR, lcr|c.Read(uart16550.LCR)&uart16550.LCRBreak)
}

// applyHandFlowLocked is SerialSetupNewHandFlow: set the modem outputs the
// new modes call for, drop holds whose modes went away, re-read the modem
// inputs for the output handshake, and engage input flow control at once if
// the buffer is already past the new limit.
func (d *Device) applyHandFlowLocked(hf ioctl.HandFlow, atOpen bool) {
	s := &d.s
	old := s.handflow
	s.handflow = hf
	s.xoffLimit, s.xonLimit = int(hf.XoffLimit), int(hf.XonLimit)
	// A port nobody has open keeps DTR and RTS down, as the serial core
	// leaves them after a last close: settings made then (a front's
	// defaults) raise them only at the next open.
	open := s.openCount > 0

	switch hf.ControlHandShake & ioctl.DTRMask {
	case 0:
		s.rxHolding &^= rxHoldDTR
		d.setMCRBitLocked(uart16550.MCRDTR, false)
	case ioctl.DTRControl:
		s.rxHolding &^= rxHoldDTR
		d.setMCRBitLocked(uart16550.MCRDTR, open)
	case ioctl.DTRHandshake:
		d.setMCRBitLocked(uart16550.MCRDTR, open && s.rxHolding&rxHoldDTR == 0)
	}
	switch hf.FlowReplace & ioctl.RTSMask {
	case 0:
		s.rxHolding &^= rxHoldRTS
		d.setMCRBitLocked(uart16550.MCRRTS, false)
	case ioctl.RTSControl, ioctl.TransmitToggle:
		// Transmit toggle keeps RTS up: the peer sees a line that is
		// always ready, which is what toggle mode looks like between bursts
		// on a null-modem cable.
		s.rxHolding &^= rxHoldRTS
		d.setMCRBitLocked(uart16550.MCRRTS, open)
	case ioctl.RTSHandshake:
		d.setMCRBitLocked(uart16550.MCRRTS, open && s.rxHolding&rxHoldRTS == 0)
	}
	if hf.FlowReplace&ioctl.AutoReceive == 0 && s.rxHolding&rxHoldXoff != 0 {
		d.prodXonXoffLocked(true)
	}
	if hf.FlowReplace&ioctl.AutoTransmit == 0 {
		s.txHolding &^= ioctl.TxWaitingForXon
	}
	if !atOpen && old == hf {
		return
	}
	d.applyModemStatusLocked(s.chip.State().MSR)
	if s.rxCount > 0 && s.rxCount+1 >= s.rxSize-s.xoffLimit {
		d.engageInputFlowLocked()
	}
	d.kickTxLocked()
}
