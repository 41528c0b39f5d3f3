package uart16550

import "time"

// State is a snapshot of the chip for display and tests. IIR, LSR and MSR
// hold what a read would return, taken without a read's side effects.
type State struct {
	Now time.Duration

	RBR, IER, IIR, FCR, LCR, MCR, LSR, MSR, SCR, DLL, DLM byte

	Format     Format
	CharTime   time.Duration
	FIFODepth  int // configured depth; 1 while the FIFOs are off
	Trigger    int // RX trigger level in bytes
	RxLevel    int // characters waiting in the RX FIFO (or RBR)
	TxLevel    int // characters waiting in the TX FIFO (or THR)
	TxShifting bool
	THRELatch  bool

	Inputs   ModemInputs
	Outputs  ModemOutputs
	BreakIn  bool // the RX input is held at space
	BreakOut bool // the TX pin is held at space
	INTR     bool

	Counters Counters
}

// State returns a snapshot without disturbing the chip.
func (u *UART) State() State {
	rbr := u.rbrLast
	if !u.rx.empty() {
		rbr = u.rx.peek().data
	}
	return State{
		Now:        u.now,
		RBR:        rbr,
		IER:        u.ier,
		IIR:        u.pending() | u.iirFIFOBits(),
		FCR:        u.fcr,
		LCR:        u.lcr,
		MCR:        u.mcr,
		LSR:        u.lsr(),
		MSR:        u.msrStatus | u.msrDelta,
		SCR:        u.scr,
		DLL:        u.dll,
		DLM:        u.dlm,
		Format:     u.fmt,
		CharTime:   u.charTime,
		FIFODepth:  u.rx.limit(),
		Trigger:    u.trigger,
		RxLevel:    u.rx.len(),
		TxLevel:    u.tx.len(),
		TxShifting: u.tsrBusy,
		THRELatch:  u.threLatch,
		Inputs:     u.inputs,
		Outputs:    u.pins,
		BreakIn:    u.breakIn,
		BreakOut:   u.breakOut,
		INTR:       u.INTR(),
		Counters:   u.counters,
	}
}

// Counters returns the character accounting.
func (u *UART) Counters() Counters { return u.counters }
