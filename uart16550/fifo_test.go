package uart16550

import (
	"bytes"
	"testing"
)

// Datasheet LSR bit 1, FIFO mode: OE is set when the FIFO is full and
// another character has been assembled; that character is lost, the 16 in
// the FIFO are kept, and OE shows at once (not when data reaches the head).
func TestFIFOOverrunKeepsFIFO(t *testing.T) {
	u := fifoChip(t, FCRTrigger14)
	u.Write(IER, IERLineStatus)
	for i := range 17 {
		accepted := u.Receive(byte(i), 0)
		if want := i < 16; accepted != want {
			t.Fatalf("character %d accepted=%v, want %v", i, accepted, want)
		}
	}
	wantIIR(t, u, 0xC6, "overrun raises line status at once")
	if lsr := u.Read(LSR); lsr&LSROverrun == 0 || lsr&LSRDataReady == 0 {
		t.Fatalf("LSR %#02x, want OE and DR", lsr)
	}
	if lsr := u.Read(LSR); lsr&LSROverrun != 0 {
		t.Fatalf("LSR %#02x: OE not cleared by the previous LSR read", lsr)
	}
	got := drain(u)
	want := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	if !bytes.Equal(got, want) {
		t.Fatalf("FIFO held %v, want %v", got, want)
	}
	if c := u.Counters(); c.RxOverrun != 1 || c.RxReceived != 17 || c.RxRead != 16 {
		t.Fatalf("counters %+v: want 17 received, 16 read, 1 lost to overrun", c)
	}
}

// 16450 mode: a new character overwrites the unread one in RBR and sets OE.
func TestCharacterModeOverrunOverwrites(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(LCR, 0x03)
	receive(u, 'a', 'b')
	if lsr := u.Read(LSR); lsr&(LSROverrun|LSRDataReady) != LSROverrun|LSRDataReady {
		t.Fatalf("LSR %#02x, want OE|DR", lsr)
	}
	if got := drain(u); string(got) != "b" {
		t.Fatalf("read %q, want \"b\" (the newer character)", got)
	}
	if got := u.Read(RBR); got != 'b' {
		t.Fatalf("RBR after it was read: %q, want 'b' again (RBR keeps its value)", got)
	}
}

// Datasheet: LSR PE/FE/BI belong to the character at the head of the RX
// FIFO; an LSR read clears them; FIFOE (bit 7) stays while another errored
// character is still in the FIFO.
func TestPerByteErrorFlagsAndFIFOE(t *testing.T) {
	u := fifoChip(t, FCRTrigger14)
	u.Write(LCR, 0x1B) // 8E1
	u.Write(IER, IERLineStatus)
	u.Receive('a', 0)
	u.Receive('b', ParityError)
	u.Receive('c', FramingError)
	u.Receive('d', 0)

	wantIIR(t, u, 0xC1, "errors behind the head raise nothing yet")
	if lsr := u.Read(LSR); lsr != LSRDataReady|LSRTHRE|LSRTEMT|LSRFIFOError {
		t.Fatalf("LSR %#02x with a clean head: want DR|THRE|TEMT|FIFOE", lsr)
	}
	u.Read(RBR) // 'a'
	wantIIR(t, u, 0xC6, "errored character at the head")
	if lsr := u.Read(LSR); lsr&(LSRParityError|LSRFramingErr|LSRFIFOError) != LSRParityError|LSRFIFOError {
		t.Fatalf("LSR %#02x: want PE and FIFOE ('c' still errored behind)", lsr)
	}
	if lsr := u.Read(LSR); lsr&(LSRParityError|LSRFIFOError) != LSRFIFOError {
		t.Fatalf("LSR %#02x: PE must clear on read, FIFOE stays for 'c'", lsr)
	}
	u.Read(RBR) // 'b'
	if lsr := u.Read(LSR); lsr&(LSRFramingErr|LSRFIFOError) != LSRFramingErr|LSRFIFOError {
		t.Fatalf("LSR %#02x: want FE at the head, FIFOE for it", lsr)
	}
	if lsr := u.Read(LSR); lsr&(LSRFramingErr|LSRFIFOError) != 0 {
		t.Fatalf("LSR %#02x: FE and FIFOE must clear with no error left behind the head", lsr)
	}
	u.Read(RBR) // 'c'
	if lsr := u.Read(LSR); lsr&lsrErrorBits != 0 || lsr&LSRFIFOError != 0 {
		t.Fatalf("LSR %#02x: clean character at the head", lsr)
	}
}

// A parity error is only detected while the receiver checks parity.
func TestParityErrorNeedsParityEnabled(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Receive('a', ParityError|FramingError)
	if lsr := u.Read(LSR); lsr&(LSRParityError|LSRFramingErr) != LSRFramingErr {
		t.Fatalf("LSR %#02x at 8N1: want FE only", lsr)
	}
}

// Word lengths below 8 carry fewer data bits both ways.
func TestWordLengthMasksData(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(LCR, 0x02) // 7N1
	u.Receive(0xFF, 0)
	if got := u.Read(RBR); got != 0x7F {
		t.Fatalf("received %#02x at 7 bits, want 0x7f", got)
	}
	u.Write(THR, 0xFF)
	u.Advance(time1s)
	if got := chars(u.TakeSignals(nil)); !bytes.Equal(got, []byte{0x7F}) {
		t.Fatalf("sent %#v at 7 bits, want 0x7f", got)
	}
}

// FCR bit 1/2 empty one FIFO each; changing bit 0 empties both. The shift
// register is not touched.
func TestFIFOResets(t *testing.T) {
	u := fifoChip(t, FCRTrigger14)
	receive(u, 1, 2, 3)
	u.Write(THR, 'a') // into the shift register
	u.Write(THR, 'b')
	u.Write(THR, 'c')
	u.Write(FCR, FCREnable|FCRRxReset)
	if s := u.State(); s.RxLevel != 0 || s.TxLevel != 2 {
		t.Fatalf("after RX reset: rx %d tx %d, want 0 and 2", s.RxLevel, s.TxLevel)
	}
	u.Write(IER, IERTxEmpty)
	u.Read(IIR)
	u.Write(FCR, FCREnable|FCRTxReset)
	if s := u.State(); s.TxLevel != 0 || !s.TxShifting {
		t.Fatalf("after TX reset: tx %d shifting %v, want 0 and the shift register busy", s.TxLevel, s.TxShifting)
	}
	wantIIR(t, u, 0xC2, "TX FIFO reset raises THRE")
	u.Advance(time1s)
	if got := string(chars(u.TakeSignals(nil))); got != "a" {
		t.Fatalf("wire carried %q, want only \"a\" from the shift register", got)
	}
	receive(u, 4)
	u.Write(FCR, 0)
	if s := u.State(); s.RxLevel != 0 || s.FIFODepth != 1 {
		t.Fatalf("FIFOs off: rx %d depth %d, want 0 and 1", s.RxLevel, s.FIFODepth)
	}
	c := u.Counters()
	if c.TxCleared != 2 || c.RxCleared != 4 {
		t.Fatalf("counters %+v: want 2 TX and 4 RX characters cleared", c)
	}
}

// A THR write into a full FIFO is dropped and counted; nothing grows past
// the FIFO depth.
func TestTHRWriteIntoFullFIFO(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	for i := range 20 {
		u.Write(THR, byte('a'+i))
	}
	s := u.State()
	if s.TxLevel != 16 || !s.TxShifting {
		t.Fatalf("tx level %d shifting %v: want 16 and busy", s.TxLevel, s.TxShifting)
	}
	if s.Counters.TxDropped != 3 {
		t.Fatalf("dropped %d, want 3", s.Counters.TxDropped)
	}
	u.Advance(time1s)
	if got := string(chars(u.TakeSignals(nil))); got != "abcdefghijklmnopq" {
		t.Fatalf("wire carried %q", got)
	}
}

// Reference test list item 16: after THRE, 16 THR writes with no LSR polls
// in between all reach the wire in order (Linux tx_loadsz = 16).
func TestTxBurstOfSixteen(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	var want []byte
	for i := range 16 {
		want = append(want, byte(0x30+i))
		u.Write(THR, byte(0x30+i))
	}
	u.Advance(time1s)
	if got := chars(u.TakeSignals(nil)); !bytes.Equal(got, want) {
		t.Fatalf("wire carried %q, want %q", got, want)
	}
	if c := u.Counters(); c.TxDropped != 0 || c.TxSent != 16 {
		t.Fatalf("counters %+v", c)
	}
}

func TestEmptyRBRReadReturnsLastCharacter(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	receive(u, 'z')
	u.Read(RBR)
	if got := u.Read(RBR); got != 'z' {
		t.Fatalf("empty RBR read %q, want the last character again", got)
	}
	if c := u.Counters(); c.RxRead != 1 {
		t.Fatalf("RxRead %d, want 1 (the empty read is not a character)", c.RxRead)
	}
}
