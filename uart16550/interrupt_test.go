package uart16550

import "testing"

// Datasheet IIR table, THRE row: the interrupt is raised when THR empties or
// when ETBEI is enabled with THR empty, and cleared by an IIR read that
// reports it or by a THR write.
func TestTHREInterruptRules(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(IER, IERTxEmpty)
	wantIIR(t, u, 0xC2, "enabling ETBEI with THR empty")
	wantIIR(t, u, 0xC1, "the IIR read that reported THRE cleared it")
	u.Write(IER, 0)
	u.Write(IER, IERTxEmpty)
	wantIIR(t, u, 0xC2, "re-enabling ETBEI re-arms THRE")

	u.Write(THR, 'a') // goes straight to the shift register: the FIFO is empty again
	u.Write(THR, 'b') // stays in the FIFO
	wantIIR(t, u, 0xC1, "THR write cleared THRE while the FIFO holds a byte")
	if lsr := u.Read(LSR); lsr&(LSRTHRE|LSRTEMT) != 0 {
		t.Fatalf("LSR %#02x: THRE/TEMT set with a byte in the FIFO", lsr)
	}
	u.Advance(charTime9600) // 'a' leaves, 'b' moves into the shift register
	wantIIR(t, u, 0xC2, "FIFO drained into the shift register")
	if lsr := u.Read(LSR); lsr&(LSRTHRE|LSRTEMT) != LSRTHRE {
		t.Fatalf("LSR %#02x: want THRE without TEMT while 'b' shifts", lsr)
	}
	u.Advance(3 * charTime9600)
	if lsr := u.Read(LSR); lsr&(LSRTHRE|LSRTEMT) != LSRTHRE|LSRTEMT {
		t.Fatalf("LSR %#02x: want THRE and TEMT once idle", lsr)
	}
	if got := string(chars(u.TakeSignals(nil))); got != "ab" {
		t.Fatalf("wire carried %q, want \"ab\"", got)
	}

	u.Write(IER, 0)
	if u.State().THRELatch {
		t.Fatal("clearing ETBEI left the THRE latch set")
	}
}

// Datasheet: THRE is only cleared by an IIR read when THRE is what that
// read reports; a higher-priority source hides it without clearing it.
func TestIIRReadClearsOnlyReportedTHRE(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(IER, IERTxEmpty|IERRxData)
	receive(u, 'x')
	wantIIR(t, u, 0xC4, "RX data outranks THRE")
	wantIIR(t, u, 0xC4, "an IIR read does not clear RX data")
	u.Read(RBR)
	wantIIR(t, u, 0xC2, "THRE was not consumed while hidden")
	wantIIR(t, u, 0xC1, "now it was")
}

// Datasheet IIR priority: line status > RX data > THRE > modem status, and
// each source clears by its own action. (Test list item 8 of the reference
// notes.)
func TestInterruptPriorityAndClearing(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(IER, 0x0F) // THR is empty: THRE pending from here
	u.Write(LCR, 0x1B) // 8E1 so parity errors count
	u.Receive('p', ParityError)
	u.SetModemInputs(ModemInputs{CTS: true})

	wantIIR(t, u, 0xC6, "all four pending: line status first")
	if lsr := u.Read(LSR); lsr&LSRParityError == 0 {
		t.Fatalf("LSR %#02x: PE not shown", lsr)
	}
	wantIIR(t, u, 0xC4, "line status cleared by reading LSR; RX data next")
	if got := u.Read(RBR); got != 'p' {
		t.Fatalf("RBR %q, want 'p'", got)
	}
	wantIIR(t, u, 0xC2, "RX data cleared by draining; THRE next")
	wantIIR(t, u, 0xC0, "THRE consumed by the read that reported it; modem status next")
	if msr := u.Read(MSR); msr != MSRCTS|MSRDeltaCTS {
		t.Fatalf("MSR %#02x, want CTS|DCTS", msr)
	}
	wantIIR(t, u, 0xC1, "modem status cleared by reading MSR")
}

// Each source is gated by its own IER bit.
func TestIEREnablesEachSource(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(LCR, 0x1B)
	u.Receive('p', ParityError)
	u.SetModemInputs(ModemInputs{DSR: true})
	wantIIR(t, u, 0xC1, "nothing enabled")
	for _, tc := range []struct {
		ier  byte
		want byte
	}{
		{IERModem, 0xC0},
		{IERRxData, 0xC4},
		{IERLineStatus, 0xC6},
	} {
		u.Write(IER, tc.ier)
		if got := u.State().IIR; got != tc.want {
			t.Fatalf("IER %#02x: IIR %#02x, want %#02x", tc.ier, got, tc.want)
		}
	}
}

// Datasheet, character timeout: with data below the trigger level and no
// FIFO activity for four character times, IIR says 0xCC; one RBR read
// clears it and restarts the timer. It is gated by ERBFI (IER bit 0).
func TestCharacterTimeout(t *testing.T) {
	u := fifoChip(t, FCRTrigger14)
	u.Write(IER, IERRxData)
	receive(u, 'a', 'b')
	four := 4 * u.State().CharTime

	at, ok := u.NextEvent()
	if !ok || at != four {
		t.Fatalf("NextEvent = %v, %v; want the timeout at %v", at, ok, four)
	}
	u.Advance(four - 1)
	wantIIR(t, u, 0xC1, "one nanosecond before four character times")
	u.Advance(four)
	wantIIR(t, u, 0xCC, "four character times after the last character")
	if !u.INTR() {
		t.Fatal("timeout pending but INTR low")
	}
	u.Read(RBR)
	wantIIR(t, u, 0xC1, "an RBR read clears the timeout")
	at, ok = u.NextEvent()
	if !ok || at != 2*four {
		t.Fatalf("NextEvent after read = %v, %v; want timer restarted to %v", at, ok, 2*four)
	}
	u.Advance(2 * four)
	wantIIR(t, u, 0xCC, "timeout again for the byte left")

	u.Write(IER, 0)
	wantIIR(t, u, 0xC1, "timeout gated by ERBFI")
	if _, ok := u.NextEvent(); ok {
		t.Fatal("a timeout event is scheduled although ERBFI is off")
	}

	// A new character restarts the timer too.
	u.Write(IER, IERRxData)
	u.Read(RBR)
	receive(u, 'c')
	u.Advance(u.Now() + four - 1)
	receive(u, 'd')
	u.Advance(u.Now() + four - 1)
	wantIIR(t, u, 0xC1, "character arrival restarted the timer")
	u.Advance(u.Now() + 1)
	wantIIR(t, u, 0xCC, "timeout four character times after the last arrival")
}

// In 16450 mode there is no character timeout; any received byte raises RX
// data at once.
func TestNoTimeoutWithoutFIFO(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(IER, IERRxData)
	receive(u, 'a')
	wantIIR(t, u, 0x04, "16450 RX data")
	u.Advance(time1s)
	wantIIR(t, u, 0x04, "never a timeout id without FIFOs")
	u.Read(RBR)
	wantIIR(t, u, 0x01, "RBR read cleared it")
}

// On a PC board INTR reaches the IRQ line only through OUT2; in loopback
// OUT2 is held inactive at its pin.
func TestOUT2GatesINTR(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(IER, IERTxEmpty)
	if !u.Interrupt() {
		t.Fatal("chip interrupt not raised by ETBEI with THR empty")
	}
	for _, tc := range []struct {
		mcr  byte
		want bool
	}{
		{0x00, false},
		{MCROUT2, true},
		{MCROUT2 | MCRLoop, false},
		{MCRDTR | MCRRTS | MCROUT2, true},
	} {
		u.Write(MCR, tc.mcr)
		if got := u.INTR(); got != tc.want {
			t.Errorf("MCR %#02x: INTR %v, want %v", tc.mcr, got, tc.want)
		}
	}
	un := New(Options{UngatedINTR: true})
	un.Write(IER, IERTxEmpty)
	if !un.INTR() {
		t.Fatal("UngatedINTR chip: INTR low with an interrupt pending and OUT2 off")
	}
}
