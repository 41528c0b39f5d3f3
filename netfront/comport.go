package netfront

import (
	"context"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/rfc2217"
)

// answer acts on one COM-PORT-OPTION request the rfc2217.Server left to
// the front, with the IOCTLs a program's call would make, and appends the
// reply carrying the value in force afterwards. A request the device
// refuses is logged and answered with the value it kept.
func (c *client) answer(m rfc2217.Message, out []byte) []byte {
	switch m.Cmd {
	case rfc2217.SetBaudRate:
		return rfc2217.AppendReply(out, m.Cmd, c.baud(m.Value), nil)
	case rfc2217.SetDataSize, rfc2217.SetParity, rfc2217.SetStopSize:
		return rfc2217.AppendReply(out, m.Cmd, c.lineControl(m.Cmd, m.Value), nil)
	case rfc2217.SetControl:
		return c.control(m.Value, out)
	case rfc2217.PurgeData:
		c.purge(m.Value)
		return rfc2217.AppendReply(out, m.Cmd, m.Value, nil)
	}
	return out
}

func (c *client) ioctl(code ioctl.Code, in any) error {
	return c.sess.Ioctl(c.s.ctx, code, in)
}

// get asks the device for a value; nil if it cannot answer (closing).
func (c *client) get(code ioctl.Code) any {
	irp := driver.NewIoctl(code, nil)
	if err := c.sess.Call(c.s.ctx, irp); err != nil {
		c.refused(err)
		return nil
	}
	return irp.Output()
}

func (c *client) refused(err error) {
	if err != nil && c.s.ctx.Err() == nil {
		c.noisy.Warn().Err(err).Msg("client request not applied: answered with the value in force")
	}
}

func (c *client) baud(v uint32) uint32 {
	if v != 0 {
		c.refused(c.ioctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: v}))
	}
	b, _ := c.get(ioctl.GetBaudRate).(ioctl.BaudRate)
	return b.BaudRate
}

// RFC 2217's stop sizes by the driver's, and back.
var (
	stopToRFC   = [...]uint32{ioctl.StopBit1: rfc2217.StopOne, ioctl.StopBits1_5: rfc2217.StopOneHalf, ioctl.StopBits2: rfc2217.StopTwo}
	stopFromRFC = [...]uint8{rfc2217.StopOne: ioctl.StopBit1, rfc2217.StopTwo: ioctl.StopBits2, rfc2217.StopOneHalf: ioctl.StopBits1_5}
)

// lineControl applies SET-DATASIZE, -PARITY or -STOPSIZE (v not 0) on top
// of the device's line control, and returns the value in force.
func (c *client) lineControl(cmd rfc2217.Command, v uint32) uint32 {
	lc, ok := c.get(ioctl.GetLineControl).(ioctl.LineControl)
	if !ok {
		return 0
	}
	if v != 0 {
		next := lc
		switch cmd {
		case rfc2217.SetDataSize:
			next.WordLength = uint8(v)
			// The 16550 has one stop-bit flag: 2 stop bits, or 1.5 at 5
			// data bits. A client sends size, parity and stops one at a
			// time, and 8N2 to 5N1.5 would fail at its first step.
			switch {
			case v == 5 && next.StopBits == ioctl.StopBits2:
				next.StopBits = ioctl.StopBits1_5
			case v != 5 && next.StopBits == ioctl.StopBits1_5:
				next.StopBits = ioctl.StopBits2
			}
		case rfc2217.SetParity:
			next.Parity = uint8(v - 1) // RFC 2217 counts from 1, the driver from 0
		case rfc2217.SetStopSize:
			next.StopBits = stopFromRFC[v]
		}
		if err := c.ioctl(ioctl.SetLineControl, next); err != nil {
			c.refused(err)
		} else {
			lc = next
		}
	}
	switch cmd {
	case rfc2217.SetDataSize:
		return uint32(lc.WordLength)
	case rfc2217.SetParity:
		return uint32(lc.Parity) + 1
	default:
		if int(lc.StopBits) < len(stopToRFC) {
			return stopToRFC[lc.StopBits]
		}
		return 0
	}
}

// control is SET-CONTROL: flow control, break, DTR and RTS.
func (c *client) control(v uint32, out []byte) []byte {
	reply := func(v uint32) []byte { return rfc2217.AppendReply(out, rfc2217.SetControl, v, nil) }
	switch v {
	case rfc2217.ControlFlowQuery, rfc2217.ControlInFlowQuery:
		hf, _ := c.get(ioctl.GetHandflow).(ioctl.HandFlow)
		return reply(flowState(hf, v == rfc2217.ControlInFlowQuery))
	case rfc2217.ControlFlowNone, rfc2217.ControlFlowXonXoff, rfc2217.ControlFlowHardware,
		rfc2217.ControlFlowDCD, rfc2217.ControlFlowDSR,
		rfc2217.ControlInFlowNone, rfc2217.ControlInFlowXonXoff, rfc2217.ControlInFlowHardware,
		rfc2217.ControlInFlowDTR:
		hf, ok := c.get(ioctl.GetHandflow).(ioctl.HandFlow)
		if !ok {
			return reply(0)
		}
		next := withFlow(hf, v)
		if err := c.ioctl(ioctl.SetHandflow, next); err != nil {
			c.refused(err)
		} else {
			hf = next
		}
		inbound := v >= rfc2217.ControlInFlowNone && v != rfc2217.ControlFlowDCD && v != rfc2217.ControlFlowDSR
		return reply(flowState(hf, inbound))
	case rfc2217.ControlBreakQuery:
		return reply(c.breakState())
	case rfc2217.ControlBreakOn, rfc2217.ControlBreakOff:
		code := ioctl.SetBreakOff
		if v == rfc2217.ControlBreakOn {
			code = ioctl.SetBreakOn
		}
		c.refused(c.ioctl(code, nil))
		return reply(c.breakState())
	case rfc2217.ControlDTRQuery, rfc2217.ControlRTSQuery:
		return reply(c.lineState(v))
	case rfc2217.ControlDTROn, rfc2217.ControlDTROff, rfc2217.ControlRTSOn, rfc2217.ControlRTSOff:
		code := map[uint32]ioctl.Code{
			rfc2217.ControlDTROn: ioctl.SetDTR, rfc2217.ControlDTROff: ioctl.ClrDTR,
			rfc2217.ControlRTSOn: ioctl.SetRTS, rfc2217.ControlRTSOff: ioctl.ClrRTS,
		}[v]
		c.refused(c.ioctl(code, nil))
		// A client that looks at its lines after the answer (pyserial's
		// cts after rts = False, over a loopback plug) should see what
		// the change did: the far end applies it, and the modem state
		// goes out ahead of the answer.
		ctx, cancel := context.WithTimeout(c.s.ctx, deliverTimeout)
		_ = c.s.dev.Delivered(ctx)
		cancel()
		out = c.appendModemState(out)
		query := uint32(rfc2217.ControlDTRQuery)
		if v >= rfc2217.ControlRTSQuery {
			query = rfc2217.ControlRTSQuery
		}
		return rfc2217.AppendReply(out, rfc2217.SetControl, c.lineState(query), nil)
	}
	return reply(0)
}

// deliverTimeout bounds the wait for a DTR or RTS change to reach the far
// end: one whose line waits for a reader may hold it back.
const deliverTimeout = time.Second

// lineState answers a DTR or RTS query from GET_DTRRTS.
func (c *client) lineState(query uint32) uint32 {
	st, _ := c.get(ioctl.GetDTRRTS).(uint32)
	if query == rfc2217.ControlDTRQuery {
		if st&ioctl.DTRState != 0 {
			return rfc2217.ControlDTROn
		}
		return rfc2217.ControlDTROff
	}
	if st&ioctl.RTSState != 0 {
		return rfc2217.ControlRTSOn
	}
	return rfc2217.ControlRTSOff
}

// breakState answers a BREAK query from GET_COMMSTATUS, whose hold
// reasons say whether the transmitter is held by a break. The errors it
// clears go to the client as line state.
func (c *client) breakState() uint32 {
	st, ok := c.get(ioctl.GetCommStatus).(ioctl.CommStatus)
	if ok {
		c.sendLineState(st.Errors)
	}
	if st.HoldReasons&ioctl.TxWaitingOnBreak != 0 {
		return rfc2217.ControlBreakOn
	}
	return rfc2217.ControlBreakOff
}

// withFlow changes hf as SET-CONTROL v asks. The outbound values set both
// directions, as a Linux tty's CRTSCTS and a pyserial or ser2net server
// do (see ioctl.FromTermios): hardware is CTS handshake and RTS as input
// flow control, XON/XOFF both AutoTransmit and AutoReceive, none neither.
// The inbound values change the input side only.
func withFlow(hf ioctl.HandFlow, v uint32) ioctl.HandFlow {
	outNone := func() {
		hf.ControlHandShake &^= ioctl.OutHandshakeAll
		hf.FlowReplace &^= ioctl.AutoTransmit
	}
	inNone := func() {
		hf.FlowReplace = hf.FlowReplace&^(ioctl.RTSMask|ioctl.AutoReceive) | ioctl.RTSControl
		hf.ControlHandShake = hf.ControlHandShake&^ioctl.DTRMask | ioctl.DTRControl
	}
	switch v {
	case rfc2217.ControlFlowNone:
		outNone()
		inNone()
	case rfc2217.ControlFlowXonXoff:
		outNone()
		inNone()
		hf.FlowReplace |= ioctl.AutoTransmit | ioctl.AutoReceive
	case rfc2217.ControlFlowHardware:
		outNone()
		inNone()
		hf.ControlHandShake |= ioctl.CTSHandshake
		hf.FlowReplace = hf.FlowReplace&^ioctl.RTSMask | ioctl.RTSHandshake
	case rfc2217.ControlFlowDCD:
		outNone()
		hf.ControlHandShake |= ioctl.DCDHandshake
	case rfc2217.ControlFlowDSR:
		outNone()
		hf.ControlHandShake |= ioctl.DSRHandshake
	case rfc2217.ControlInFlowNone:
		inNone()
	case rfc2217.ControlInFlowXonXoff:
		inNone()
		hf.FlowReplace |= ioctl.AutoReceive
	case rfc2217.ControlInFlowHardware:
		inNone()
		hf.FlowReplace = hf.FlowReplace&^ioctl.RTSMask | ioctl.RTSHandshake
	case rfc2217.ControlInFlowDTR:
		inNone()
		hf.ControlHandShake = hf.ControlHandShake&^ioctl.DTRMask | ioctl.DTRHandshake
	}
	return hf
}

// flowState is the SET-CONTROL value that names hf's outbound (or
// inbound) flow control.
func flowState(hf ioctl.HandFlow, inbound bool) uint32 {
	if inbound {
		switch {
		case hf.FlowReplace&ioctl.RTSMask == ioctl.RTSHandshake:
			return rfc2217.ControlInFlowHardware
		case hf.ControlHandShake&ioctl.DTRMask == ioctl.DTRHandshake:
			return rfc2217.ControlInFlowDTR
		case hf.FlowReplace&ioctl.AutoReceive != 0:
			return rfc2217.ControlInFlowXonXoff
		}
		return rfc2217.ControlInFlowNone
	}
	switch {
	case hf.ControlHandShake&ioctl.CTSHandshake != 0:
		return rfc2217.ControlFlowHardware
	case hf.ControlHandShake&ioctl.DSRHandshake != 0:
		return rfc2217.ControlFlowDSR
	case hf.ControlHandShake&ioctl.DCDHandshake != 0:
		return rfc2217.ControlFlowDCD
	case hf.FlowReplace&ioctl.AutoTransmit != 0:
		return rfc2217.ControlFlowXonXoff
	}
	return rfc2217.ControlFlowNone
}

// purge is PURGE-DATA: 1 empties what the device received and the client
// has not been sent (the typeahead and what the pump holds), 2 what the
// client sent and the device has not (the write queue and the UART's
// transmit FIFO, as tcflush(TCOFLUSH) on a pty does), 3 both.
func (c *client) purge(v uint32) {
	var m ioctl.PurgeMask
	if v&rfc2217.PurgeReceive != 0 {
		m |= ioctl.PurgeRxClear
	}
	if v&rfc2217.PurgeTransmit != 0 {
		m |= ioctl.PurgeTxAbort | ioctl.PurgeTxClear
	}
	if v&rfc2217.PurgeReceive != 0 {
		c.sess.Discard()
	}
	c.refused(c.ioctl(ioctl.Purge, m))
}

// watchMask is what a client hears about: the modem inputs, and break and
// line errors.
const watchMask = ioctl.EvCTS | ioctl.EvDSR | ioctl.EvRLSD | ioctl.EvRing | ioctl.EvBreak | ioctl.EvErr

// startWatch takes the device's wait mask for the client's notifications,
// as a Windows program's WaitCommEvent loop would, and records the
// present modem state (sent once the option is agreed). It returns the
// function that stops the watch.
func (c *client) startWatch() (stop func()) {
	if err := c.ioctl(ioctl.SetWaitMask, watchMask); err != nil {
		c.refused(err)
		return func() {}
	}
	c.s.ownsWait.Store(true)
	msr, _ := c.get(ioctl.GetModemStatus).(uint32)
	c.pmu.Lock()
	c.proto.ModemState(byte(msr))
	c.pmu.Unlock()
	ctx, cancel := context.WithCancel(c.s.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.watch(ctx)
	}()
	return func() {
		cancel()
		<-done
		_ = c.ioctl(ioctl.SetWaitMask, ioctl.WaitMask(0))
		c.s.ownsWait.Store(false)
	}
}

// watch keeps a WAIT_ON_MASK pending. It is armed before the modem status
// and errors are read, so a change after the read completes it: nothing
// is missed and nothing polls.
func (c *client) watch(ctx context.Context) {
	for {
		w := driver.NewIoctl(ioctl.WaitOnMask, nil)
		w.Owner = c.owner
		c.s.dev.Submit(w)
		var out []byte
		out = c.appendModemState(out)
		if st, ok := c.get(ioctl.GetCommStatus).(ioctl.CommStatus); ok {
			out = c.appendLineState(out, st.Errors)
		}
		_ = c.send(out)
		select {
		case <-w.Done():
		case <-ctx.Done():
			c.s.dev.Cancel(w)
			<-w.Done()
			return
		}
		if !w.Status().OK() {
			if ctx.Err() == nil {
				c.log.Warn().Msgf("modem-state notifications stopped: the wait on mask ended %v", w.Status())
			}
			return
		}
	}
}

// appendModemState appends a NOTIFY-MODEMSTATE if the modem inputs changed
// since the client last heard (and its mask selects the change).
func (c *client) appendModemState(out []byte) []byte {
	msr, ok := c.get(ioctl.GetModemStatus).(uint32)
	if !ok {
		return out
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return append(out, c.proto.ModemState(byte(msr))...)
}

// appendLineState appends a NOTIFY-LINESTATE for the driver's error bits.
func (c *client) appendLineState(out []byte, errs uint32) []byte {
	var bits byte
	for _, e := range [...]struct {
		err  uint32
		line byte
	}{
		{ioctl.ErrBreak, rfc2217.LineBreak},
		{ioctl.ErrFraming, rfc2217.LineFraming},
		{ioctl.ErrParity, rfc2217.LineParity},
		{ioctl.ErrOverrun | ioctl.ErrQueueOverrun, rfc2217.LineOverrun},
	} {
		if errs&e.err != 0 {
			bits |= e.line
		}
	}
	if bits == 0 {
		return out
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return append(out, c.proto.LineState(bits)...)
}

func (c *client) sendLineState(errs uint32) { _ = c.send(c.appendLineState(nil, errs)) }
