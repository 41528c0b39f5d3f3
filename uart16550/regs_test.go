package uart16550

import "testing"

// Datasheet, "Reset" table: IER, IIR, LCR, MCR, LSR and MSR after master
// reset.
func TestResetValues(t *testing.T) {
	u := newChip(t, Options{})
	for _, tc := range []struct {
		name string
		off  uint8
		want byte
	}{
		{"IER all interrupts disabled", IER, 0x00},
		{"IIR no interrupt pending, FIFOs off", IIR, 0x01},
		{"LCR zero", LCR, 0x00},
		{"MCR zero", MCR, 0x00},
		{"LSR THRE and TEMT", LSR, 0x60},
		{"MSR no inputs asserted, no deltas", MSR, 0x00},
		{"SCR zero at power-on", SCR, 0x00},
	} {
		t.Run(tc.name, func(t *testing.T) { wantReg(t, u, tc.off, tc.want, tc.name) })
	}
	if u.INTR() {
		t.Fatal("INTR high after reset")
	}
	if got := u.Format().String(); got != "9600 5N1" {
		t.Fatalf("power-on format %q, want 9600 5N1 (divisor 12, LCR 0)", got)
	}
}

// Datasheet: MR resets IER, FCR, LCR, MCR and the FIFOs but not the divisor
// latch or SCR.
func TestResetKeepsDivisorAndScratch(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(LCR, LCRDLAB)
	u.Write(DLL, 0x01)
	u.Write(DLM, 0x02)
	u.Write(LCR, 0x1F)
	u.Write(SCR, 0x5A)
	u.Write(IER, 0x0F)
	u.Write(MCR, 0x0F)
	receive(u, 1, 2, 3)
	u.Write(THR, 'x')
	u.Reset()
	wantReg(t, u, IER, 0, "IER after reset")
	wantReg(t, u, IIR, 0x01, "IIR after reset")
	wantReg(t, u, LCR, 0, "LCR after reset")
	wantReg(t, u, MCR, 0, "MCR after reset")
	wantReg(t, u, LSR, 0x60, "LSR after reset")
	wantReg(t, u, SCR, 0x5A, "SCR kept")
	u.Write(LCR, LCRDLAB)
	wantReg(t, u, DLL, 0x01, "DLL kept")
	wantReg(t, u, DLM, 0x02, "DLM kept")
	if c := u.Counters(); c.RxCleared != 3 {
		t.Fatalf("reset discarded %d received characters, want 3 counted", c.RxCleared)
	}
}

// Datasheet register map: DLAB switches offsets 0 and 1 to the divisor
// latch and leaves the others alone.
func TestDLAB(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(IER, IERRxData)
	u.Write(LCR, LCRDLAB|0x03)
	u.Write(DLL, 0x34)
	u.Write(DLM, 0x12)
	wantReg(t, u, DLL, 0x34, "DLL")
	wantReg(t, u, DLM, 0x12, "DLM")
	wantReg(t, u, IIR, 0x01, "offset 2 is still IIR with DLAB set")
	wantReg(t, u, LCR, 0x83, "LCR")
	if u.State().TxLevel != 0 || u.State().TxShifting {
		t.Fatal("a DLL write reached the transmitter")
	}
	u.Write(LCR, 0x03)
	wantReg(t, u, IER, IERRxData, "IER back after DLAB cleared")
	if got := u.Format().Divisor; got != 0x1234 {
		t.Fatalf("divisor %#x, want 0x1234", got)
	}
}

// Bits that do not exist on a 16550A read 0: IER 4-7 (the Linux probe
// checks the low nibble and the XScale probe bit 6), MCR 5-7.
func TestWritableBits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		off       uint8
		write     byte
		wantAfter byte
	}{
		{"IER keeps bits 0-3", IER, 0xFF, 0x0F},
		{"MCR keeps bits 0-4", MCR, 0xFF, 0x1F},
		{"LCR keeps all bits", LCR, 0x7F, 0x7F},
		{"SCR round-trips 0xA5", SCR, 0xA5, 0xA5},
		{"SCR round-trips 0x5A", SCR, 0x5A, 0x5A},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newChip(t, Options{})
			u.Write(tc.off, tc.write)
			wantReg(t, u, tc.off, tc.wantAfter, tc.name)
		})
	}
}

// LSR and MSR writes are factory-test access on silicon: no defined
// effect, and the emulation ignores them.
func TestStatusRegisterWritesIgnored(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(LSR, 0xFF)
	u.Write(MSR, 0xFF)
	wantReg(t, u, LSR, 0x60, "LSR after write")
	wantReg(t, u, MSR, 0x00, "MSR after write")
}

// Only address lines A0-A2 reach the chip.
func TestOffsetAliasing(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(8+SCR, 0x42)
	wantReg(t, u, SCR, 0x42, "SCR written through offset 15")
	wantReg(t, u, 16+SCR, 0x42, "SCR read through offset 23")
}

// FCR is write-only: offset 2 reads IIR, whose top bits show the FIFO
// enable; bits 4 and 5 always read 0 (a 16750 would show bit 5).
func TestFCRAndIIRFIFOBits(t *testing.T) {
	u := newChip(t, Options{})
	for _, tc := range []struct {
		name string
		fcr  byte
		lcr  byte
		want byte
	}{
		{"FIFOs on", 0x01, 0, 0xC1},
		{"64-byte request (bit 5) ignored", 0x21, 0, 0xC1},
		{"FCR honoured while DLAB is set", 0x21, LCRDLAB, 0xC1},
		{"FIFOs off", 0x00, 0, 0x01},
		{"reset bits without enable change nothing", 0x06, 0, 0x01},
		{"trigger 14", 0xC1, 0, 0xC1},
	} {
		u.Write(LCR, tc.lcr)
		u.Write(FCR, tc.fcr)
		u.Write(LCR, 0)
		wantIIR(t, u, tc.want, tc.name)
	}
	if got := u.State().FCR; got != 0xC1 {
		t.Fatalf("stored FCR %#02x, want 0xc1", got)
	}
}

// Datasheet FCR bits 6-7: RX trigger levels 1, 4, 8, 14; deeper FIFOs scale.
func TestTriggerLevels(t *testing.T) {
	for _, tc := range []struct {
		bits  byte
		depth int
		want  int
	}{
		{FCRTrigger1, 16, 1}, {FCRTrigger4, 16, 4}, {FCRTrigger8, 16, 8}, {FCRTrigger14, 16, 14},
		{FCRTrigger1, 64, 1}, {FCRTrigger4, 64, 16}, {FCRTrigger8, 64, 32}, {FCRTrigger14, 64, 56},
		{FCRTrigger4, 2, 1},
	} {
		u := New(Options{FIFODepth: tc.depth})
		u.Write(IER, IERRxData)
		u.Write(FCR, FCREnable|tc.bits)
		for i := 1; i <= tc.want; i++ {
			if got := u.State().IIR &^ IIRFIFOs; got != IIRNone {
				t.Fatalf("depth %d trigger %#x: IIR %#x with %d of %d bytes", tc.depth, tc.bits, got, i-1, tc.want)
			}
			u.Receive(byte(i), 0)
		}
		if got := u.State().IIR &^ IIRFIFOs; got != IIRRxData {
			t.Fatalf("depth %d trigger %#x: IIR %#x at %d bytes, want RX data", tc.depth, tc.bits, got, tc.want)
		}
		u.Read(RBR)
		if tc.want > 1 {
			if got := u.State().IIR &^ IIRFIFOs; got == IIRRxData {
				t.Fatalf("depth %d trigger %#x: RX data still pending below the trigger", tc.depth, tc.bits)
			}
		}
	}
}

func TestFormatDecoding(t *testing.T) {
	for _, tc := range []struct {
		lcr  byte
		dll  byte
		want string
		bits uint32 // frame length in half bits
	}{
		{0x03, 12, "9600 8N1", 20},
		{0x1A, 12, "9600 7E1", 20},
		{0x0A, 1, "115200 7O1", 20},
		{0x2A, 1, "115200 7M1", 20},
		{0x3A, 1, "115200 7S1", 20},
		{0x04, 1, "115200 5N1.5", 15},
		{0x07, 1, "115200 8N2", 22},
		{0x1F, 1, "115200 8E2", 24},
		{0x00, 0x30, "2400 5N1", 14},
	} {
		u := newChip(t, Options{})
		u.Write(LCR, LCRDLAB)
		u.Write(DLL, tc.dll)
		u.Write(LCR, tc.lcr)
		f := u.Format()
		if got := f.String(); got != tc.want {
			t.Errorf("LCR %#02x divisor %d: %q, want %q", tc.lcr, tc.dll, got, tc.want)
		}
		if got := f.FrameHalfBits(); got != tc.bits {
			t.Errorf("LCR %#02x: %d half bits, want %d", tc.lcr, got, tc.bits)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Parity(9).String(), "Parity(9)"},
		{StopBits(7).String(), "StopBits(7/2)"},
		{SignalChar.String(), "char"},
		{SignalBreak.String(), "break"},
		{SignalModem.String(), "modem"},
		{SignalKind(9).String(), "SignalKind(9)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
