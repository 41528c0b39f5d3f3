package uart16550

import (
	"bytes"
	"testing"
)

// Datasheet MSR: deltas for CTS, DSR and DCD on any change; TERI only when
// RI goes from asserted to deasserted; reading MSR clears the deltas.
func TestMSRDeltas(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(IER, IERModem)
	u.Write(MCR, MCROUT2)
	steps := []struct {
		name string
		in   ModemInputs
		want byte
	}{
		{"CTS up", ModemInputs{CTS: true}, MSRCTS | MSRDeltaCTS},
		{"DSR up", ModemInputs{CTS: true, DSR: true}, MSRCTS | MSRDSR | MSRDeltaDSR},
		{"DCD up", ModemInputs{CTS: true, DSR: true, DCD: true}, MSRCTS | MSRDSR | MSRDCD | MSRDeltaDCD},
		{"RI up: no TERI", ModemInputs{CTS: true, DSR: true, DCD: true, RI: true}, MSRCTS | MSRDSR | MSRDCD | MSRRI},
		{"RI down: TERI", ModemInputs{CTS: true, DSR: true, DCD: true}, MSRCTS | MSRDSR | MSRDCD | MSRTrailingRI},
		{"all down", ModemInputs{}, MSRDeltaCTS | MSRDeltaDSR | MSRDeltaDCD},
	}
	for _, s := range steps {
		u.SetModemInputs(s.in)
		wantInt := s.want&msrDeltaBits != 0
		if u.INTR() != wantInt {
			t.Fatalf("%s: INTR %v, want %v", s.name, u.INTR(), wantInt)
		}
		wantReg(t, u, MSR, s.want, s.name)
		wantReg(t, u, MSR, s.want&msrStatusBits, s.name+": deltas cleared by the read")
	}
	// Deltas accumulate until read.
	u.SetModemInputs(ModemInputs{CTS: true})
	u.SetModemInputs(ModemInputs{})
	wantReg(t, u, MSR, MSRDeltaCTS, "CTS pulse between reads leaves its delta")
}

// Datasheet MCR bit 4: loopback wires TX to RX and RTS->CTS, DTR->DSR,
// OUT1->RI, OUT2->DCD inside the chip; the output pins are held inactive,
// the wire sees nothing, and the RX input is ignored.
func TestLoopback(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.SetModemInputs(ModemInputs{CTS: true, DSR: true, RI: true, DCD: true})
	u.Write(MCR, MCRDTR|MCRRTS|MCROUT2)
	u.Read(MSR)
	u.TakeSignals(nil)

	u.Write(MCR, MCRLoop|MCRRTS|MCROUT2) // the Linux probe's 0x1A
	if got := u.Read(MSR) & msrStatusBits; got != 0x90 {
		t.Fatalf("loopback MCR 0x1A: MSR status %#02x, want 0x90", got)
	}
	u.Write(MCR, MCRLoop|0x0F)
	if got := u.Read(MSR); got != 0xF0|MSRDeltaDSR {
		t.Fatalf("loopback MCR 0x1F: MSR %#02x, want 0xF0 with DDSR (DTR rose)", got)
	}
	u.Write(MCR, MCRLoop|MCRDTR|MCRRTS|MCROUT2)
	if got := u.Read(MSR); got != 0xB0|MSRTrailingRI {
		t.Fatalf("OUT1 dropped in loopback: MSR %#02x, want 0xB0 with TERI", got)
	}

	sig := u.TakeSignals(nil)
	if len(sig) != 1 || sig[0].Kind != SignalModem || sig[0].Modem != (ModemOutputs{}) {
		t.Fatalf("entering loopback should report all output pins inactive once, got %+v", sig)
	}
	if u.Receive('w', 0) {
		t.Fatal("the RX input was heard in loopback")
	}
	for _, c := range []byte("loop") {
		u.Write(THR, c)
	}
	u.Advance(time1s)
	if got := drain(u); !bytes.Equal(got, []byte("loop")) {
		t.Fatalf("looped back %q, want \"loop\"", got)
	}
	if sig := u.TakeSignals(nil); len(sig) != 0 {
		t.Fatalf("the wire saw %+v in loopback", sig)
	}

	u.Write(MCR, MCRDTR|MCRRTS|MCROUT2)
	sig = u.TakeSignals(nil)
	if len(sig) != 1 || sig[0].Modem != (ModemOutputs{DTR: true, RTS: true, OUT2: true}) {
		t.Fatalf("leaving loopback: signals %+v", sig)
	}
	if got := u.Read(MSR); got != 0xF0 {
		t.Fatalf("leaving loopback: MSR %#02x, want the external inputs, no delta (only RI rose)", got)
	}
}

// Loopback routes a break sent by the chip into its own receiver.
func TestLoopbackBreak(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(MCR, MCRLoop)
	u.TakeSignals(nil)
	u.Write(LCR, 0x03|LCRBreak)
	u.Advance(u.State().CharTime)
	if lsr := u.Read(LSR); lsr&(LSRBreak|LSRDataReady) != LSRBreak|LSRDataReady {
		t.Fatalf("LSR %#02x: want BI|DR from our own break", lsr)
	}
	if sig := u.TakeSignals(nil); len(sig) != 0 {
		t.Fatalf("the wire saw %+v during a loopback break", sig)
	}
}

func TestModemOutputsOnWire(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(MCR, MCRDTR)
	u.Write(MCR, MCRDTR) // no change, no signal
	u.Write(MCR, MCRDTR|MCRRTS)
	sig := u.TakeSignals(nil)
	want := []ModemOutputs{{DTR: true}, {DTR: true, RTS: true}}
	if len(sig) != len(want) {
		t.Fatalf("got %d signals, want %d: %+v", len(sig), len(want), sig)
	}
	for i, w := range want {
		if sig[i].Kind != SignalModem || sig[i].Modem != w {
			t.Fatalf("signal %d = %+v, want modem %+v", i, sig[i], w)
		}
	}
	if got := u.Outputs(); got != want[1] {
		t.Fatalf("Outputs() = %+v", got)
	}
}

// Waiting tells what TakeSignals would take, and takes nothing: characters
// alone, or with a modem line's change, which a driver may not leave on
// the pins for later.
func TestWaiting(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	if _, _, ok := u.Waiting(); ok {
		t.Fatal("a fresh chip has signals waiting")
	}
	u.Write(THR, 'a')
	u.Write(THR, 'b')
	u.Advance(time1s)
	first, onlyChars, ok := u.Waiting()
	sig := u.TakeSignals(nil)
	if !ok || !onlyChars || len(sig) == 0 || first != sig[0].At {
		t.Fatalf("Waiting() = %v, %v, %v with %+v to take; want the first's time, characters only", first, onlyChars, ok, sig)
	}
	u.Write(THR, 'c')
	u.Advance(2 * time1s)
	u.Write(MCR, MCROUT2|MCRRTS)
	if _, onlyChars, ok := u.Waiting(); !ok || onlyChars {
		t.Fatalf("Waiting() = _, %v, %v after a character and RTS; want a modem change among them", onlyChars, ok)
	}
	if sig := u.TakeSignals(nil); len(sig) != 2 || sig[0].Kind == SignalModem || sig[1].Kind != SignalModem {
		t.Fatalf("took %+v: want the character, then RTS (Waiting took nothing)", sig)
	}
	if _, _, ok := u.Waiting(); ok {
		t.Fatal("signals waiting after TakeSignals")
	}
}
