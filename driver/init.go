package driver

import (
	"github.com/vcomd/vcomd/dpc"
	"github.com/vcomd/vcomd/uart16550"
)

// The UART's FIFO programming: FIFOs on, receive trigger at 8 bytes, the
// default of both Serial.sys (RxFIFO) and the Linux 8250 driver for a
// 16550A. The character timeout picks up whatever is left below it.
const fcrDefault = uart16550.FCREnable | uart16550.FCRTrigger8

// initDPCs creates the CustomDpc objects: one per kind of deferred work,
// so that each can be queued independently of the others.
func (d *Device) initDPCs() {
	mk := func(name string, fn func()) *dpc.DPC {
		return dpc.New(d.name+"."+name, func(*dpc.DPC, any, any, any) { fn() }, nil)
	}
	d.readDpc = mk("CompleteReadDpc", d.completeReadDpc)
	d.writeDpc = mk("CompleteWriteDpc", d.completeWriteDpc)
	d.waitDpc = mk("CommWaitDpc", d.commWaitDpc)
	d.purgeDpc = mk("PurgeDpc", d.purgeDpcRoutine)
	d.errorDpc = mk("CommErrorDpc", d.commErrorDpc)
	d.imDpc = mk("CompleteImmediateDpc", d.completeImmediateDpc)
	d.readTotalDpc = mk("ReadTotalTimeoutDpc", d.readTotalTimeoutDpc)
	d.readIntervalDpc = mk("ReadIntervalTimeoutDpc", d.readIntervalTimeoutDpc)
	d.writeTotalDpc = mk("WriteTotalTimeoutDpc", d.writeTotalTimeoutDpc)
}

// initState powers the chip up and programs it the way the driver runs it
// for its whole life: FIFOs on, every interrupt enabled, OUT2 on so INTR
// reaches the "IRQ line", 9600 baud with the configured framing.
func (d *Device) initState(opts Options) {
	s := &d.s
	s.wire = opts.Wire
	s.instant = opts.Instant
	s.chip = uart16550.New(uart16550.Options{FIFODepth: opts.FIFODepth, Instant: opts.Instant, CharRuns: true, TimedRuns: true, ReuseRunData: true})
	s.rxFIFO = make([]byte, max(opts.FIFODepth, uart16550.DefaultFIFODepth))
	size := opts.QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}
	s.rxSize = size
	s.xoffLimit, s.xonLimit = size/8, size/2
	s.fcr = fcrDefault
	c := s.chip
	c.Write(uart16550.FCR, s.fcr|uart16550.FCRRxReset|uart16550.FCRTxReset)
	c.Write(uart16550.MCR, uart16550.MCROUT2)
	c.Write(uart16550.IER, uart16550.IERRxData|uart16550.IERTxEmpty|uart16550.IERLineStatus|uart16550.IERModem)
	s.line = defaultLineControl(opts.DataBits, opts.Parity)
	s.chars = defaultChars()
	s.handflow = defaultHandFlow(size)
	d.applyBaudLocked(9600)
	d.applyLineControlLocked()
}

// openLocked is IRP_MJ_CREATE. The first open resets what Serial.sys
// resets at open (typeahead, limits, wait mask, errors, statistics) and
// raises DTR and RTS as the handflow settings say, as the Linux serial core
// raises them on open.
func (d *Device) openLocked() {
	s := &d.s
	s.openCount++
	if s.openCount > 1 {
		return
	}
	// What arrived while nobody had the port open is dropped, as the
	// serial core and Serial.sys do at open, and counted in the new
	// session's buffer overruns, so that a test that wrote too early
	// sees why its data is missing.
	lost := s.rxCount + int(s.stats.BufferOverrunErrorCount-s.overrunsAtClose)
	d.rxEmptiedLocked()
	s.xoffLimit, s.xonLimit = s.rxSize/8, s.rxSize/2
	s.waitMask, s.history = 0, 0
	s.errorWord = 0
	s.stats = Stats{BufferOverrunErrorCount: uint64(lost)}
	s.rxHolding = 0
	s.sendXon, s.sendXoff = false, false
	d.applyHandFlowLocked(s.handflow, true)
}

// closeLocked is IRP_MJ_CLOSE. The last close turns break off and drops
// DTR and RTS (HUPCL).
func (d *Device) closeLocked() {
	s := &d.s
	if s.openCount == 0 {
		return
	}
	s.openCount--
	if s.openCount > 0 {
		return
	}
	s.overrunsAtClose = s.stats.BufferOverrunErrorCount
	d.syncTimeLocked()
	c := s.chip
	c.Write(uart16550.LCR, c.Read(uart16550.LCR)&^uart16550.LCRBreak)
	s.txHolding &^= txWaitingOnBreak
	c.Write(uart16550.MCR, c.Read(uart16550.MCR)&^(uart16550.MCRDTR|uart16550.MCRRTS))
	s.rxHolding = 0
}
