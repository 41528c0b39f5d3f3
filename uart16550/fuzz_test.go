package uart16550

import (
	"fmt"
	"testing"
	"time"
)

// FuzzChip drives a chip with random register reads and writes, wire
// input, modem input, breaks, resets and time steps, and after every step
// checks what must always hold: FIFO levels in range, LSR agreeing with the
// FIFOs, IIR agreeing with the pending sources, and every character that
// went in or out accounted for.
//
// Each operation takes two bytes: an opcode and an argument.
func FuzzChip(f *testing.F) {
	f.Add([]byte{})
	// FIFOs on, 8N1, all interrupts, some traffic and time.
	f.Add([]byte{1, 0x03, 2, 0xC7, 3, 0x0F, 4, 0x0B, 0, 'a', 0, 'b', 5, 'x', 5, 'y', 8, 40, 9, 0, 10, 0, 11, 0, 12, 0})
	// Overrun in FIFO mode, then loopback, then a break.
	f.Add(append(append([]byte{2, 0x01, 1, 0x1B}, repeatOp(5, 20)...), 4, 0x10, 0, 'L', 1, 0x43, 8, 200, 1, 0x03, 8, 200, 6, 1, 8, 255, 6, 0))
	// 16450 mode overrun, modem inputs, reset.
	f.Add([]byte{3, 0x0D, 5, 1, 5, 2, 5, 3, 7, 0x0F, 7, 0x00, 12, 0, 13, 0, 11, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		u := New(Options{FIFODepth: 16})
		var thrWrites uint64
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			writesTHR := op%16 == 0 || op%16 == 14 && arg&7 == THR
			if writesTHR && u.lcr&LCRDLAB == 0 {
				thrWrites++
			}
			apply(u, op, arg)
			if err := checkInvariants(u, thrWrites); err != nil {
				t.Fatalf("after op %d (%d, %#02x): %v\nstate %+v", i/2, op%16, arg, err, u.State())
			}
		}
	})
}

func repeatOp(op byte, n int) []byte {
	var b []byte
	for i := range n {
		b = append(b, op, byte(i))
	}
	return b
}

// apply performs one fuzz operation.
func apply(u *UART, op, arg byte) {
	switch op % 16 {
	case 0:
		u.Write(THR, arg) // THR, or DLL with DLAB set
	case 1:
		u.Write(LCR, arg)
	case 2:
		u.Write(FCR, arg)
	case 3:
		u.Write(IER, arg)
	case 4:
		u.Write(MCR, arg)
	case 5:
		u.Receive(arg, RxError(arg&0x0C))
	case 6:
		u.SetBreakInput(arg&1 != 0)
	case 7:
		u.SetModemInputs(ModemInputs{CTS: arg&1 != 0, DSR: arg&2 != 0, RI: arg&4 != 0, DCD: arg&8 != 0})
	case 8:
		// A time step of up to about two character times.
		u.Advance(u.Now() + time.Duration(arg)*u.State().CharTime/128 + time.Duration(arg))
	case 9:
		if at, ok := u.NextEvent(); ok {
			u.Advance(at)
		}
	case 10:
		u.Read(IIR)
	case 11:
		u.Read(LSR)
	case 12:
		u.Read(RBR)
	case 13:
		u.Read(MSR)
	case 14:
		u.Read(arg)
		u.Write(arg|0x08, arg) // any offset, through the aliasing
	case 15:
		if arg == 0xFF {
			u.Reset()
		}
		u.TakeSignals(nil)
	}
}

// checkInvariants compares the chip's registers with what its FIFOs, latch
// and inputs say they must be.
func checkInvariants(u *UART, thrWrites uint64) error {
	s := u.State()
	fifo := s.FCR&FCREnable != 0
	wantLimit := 1
	if fifo {
		wantLimit = u.depth
	}
	if s.FIFODepth != wantLimit {
		return fmt.Errorf("FIFO depth %d, want %d", s.FIFODepth, wantLimit)
	}
	if s.RxLevel < 0 || s.RxLevel > s.FIFODepth || s.TxLevel < 0 || s.TxLevel > s.FIFODepth {
		return fmt.Errorf("levels rx %d tx %d outside 0..%d", s.RxLevel, s.TxLevel, s.FIFODepth)
	}
	if s.Trigger < 1 || (fifo && s.Trigger > s.FIFODepth) {
		return fmt.Errorf("trigger %d", s.Trigger)
	}

	// LSR against the FIFOs.
	if got := s.LSR&LSRDataReady != 0; got != (s.RxLevel > 0) {
		return fmt.Errorf("LSR.DR %v with %d characters", got, s.RxLevel)
	}
	if got := s.LSR&LSRTHRE != 0; got != (s.TxLevel == 0) {
		return fmt.Errorf("LSR.THRE %v with %d characters in the TX FIFO", got, s.TxLevel)
	}
	if got := s.LSR&LSRTEMT != 0; got != (s.TxLevel == 0 && !s.TxShifting) {
		return fmt.Errorf("LSR.TEMT %v with tx %d shifting %v", got, s.TxLevel, s.TxShifting)
	}
	errored := 0
	for i := range u.rx.len() {
		if u.rx.at(i).flags != 0 {
			errored++
		}
	}
	if errored != u.rxErrored {
		return fmt.Errorf("rxErrored %d, FIFO holds %d errored characters", u.rxErrored, errored)
	}
	if s.LSR&LSRFIFOError != 0 && (!fifo || errored == 0) {
		return fmt.Errorf("LSR.FIFOE set with FIFO mode %v and %d errored characters", fifo, errored)
	}
	if s.LSR&(LSRParityError|LSRFramingErr|LSRBreak) != 0 && s.RxLevel == 0 {
		return fmt.Errorf("LSR %#02x shows a character error with nothing received", s.LSR)
	}
	if s.THRELatch && s.TxLevel != 0 {
		return fmt.Errorf("THRE latch set with %d characters in the TX FIFO", s.TxLevel)
	}
	if s.IER&^ierWritable != 0 || s.MCR&^mcrWritable != 0 {
		return fmt.Errorf("IER %#02x or MCR %#02x holds bits a 16550A lacks", s.IER, s.MCR)
	}

	// IIR from the sources, by priority.
	want := byte(IIRNone)
	switch {
	case s.IER&IERLineStatus != 0 && s.LSR&lsrErrorBits != 0:
		want = IIRLineStatus
	case s.IER&IERRxData != 0 && s.RxLevel > 0 && (!fifo || s.RxLevel >= s.Trigger):
		want = IIRRxData
	case s.IER&IERRxData != 0 && s.RxLevel > 0 && s.Now >= u.rxLast+4*s.CharTime:
		want = IIRCharTimeout
	case s.IER&IERTxEmpty != 0 && s.THRELatch:
		want = IIRTxEmpty
	case s.IER&IERModem != 0 && s.MSR&msrDeltaBits != 0:
		want = IIRModem
	}
	if fifo {
		want |= IIRFIFOs
	}
	if s.IIR != want {
		return fmt.Errorf("IIR %#02x, want %#02x", s.IIR, want)
	}
	if s.INTR != (want&IIRNone == 0 && s.Outputs.OUT2) {
		return fmt.Errorf("INTR %v with IIR %#02x and OUT2 %v", s.INTR, s.IIR, s.Outputs.OUT2)
	}
	if at, ok := u.NextEvent(); ok && at < s.Now {
		return fmt.Errorf("next event %v is in the past (now %v)", at, s.Now)
	}

	// Every character accounted for.
	c := s.Counters
	if c.RxReceived != c.RxRead+uint64(s.RxLevel)+c.RxCleared+c.RxOverrun {
		return fmt.Errorf("RX accounting: received %d != read %d + waiting %d + cleared %d + overrun %d",
			c.RxReceived, c.RxRead, s.RxLevel, c.RxCleared, c.RxOverrun)
	}
	shifting := uint64(0)
	if s.TxShifting {
		shifting = 1
	}
	if thrWrites != c.TxSent+uint64(s.TxLevel)+shifting+c.TxCleared+c.TxDropped {
		return fmt.Errorf("TX accounting: %d THR writes != sent %d + waiting %d + shifting %d + cleared %d + dropped %d",
			thrWrites, c.TxSent, s.TxLevel, shifting, c.TxCleared, c.TxDropped)
	}
	return nil
}
