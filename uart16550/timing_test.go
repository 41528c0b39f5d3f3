package uart16550

import (
	"testing"
	"time"
)

// Datasheet baud generator: baud = clock / (16 x divisor); a character is
// start + data + parity + stop bits.
func TestCharTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lcr     byte
		divisor uint16
		want    time.Duration
	}{
		{"9600 8N1", 0x03, 12, 1041666 * time.Nanosecond},
		{"115200 8N1", 0x03, 1, 86805 * time.Nanosecond},
		{"115200 5N1.5: 7.5 bits", 0x04, 1, 65104 * time.Nanosecond},
		{"115200 8E2: 12 bits", 0x1F, 1, 104166 * time.Nanosecond},
		{"300 8E2: 40 ms", 0x1F, 384, 40 * time.Millisecond},
		{"divisor 0 counts as 65536", 0x03, 0, 5688888888 * time.Nanosecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newChip(t, Options{})
			u.Write(LCR, LCRDLAB)
			u.Write(DLL, byte(tc.divisor))
			u.Write(DLM, byte(tc.divisor>>8))
			u.Write(LCR, tc.lcr)
			if got := u.State().CharTime; got != tc.want {
				t.Fatalf("char time %v, want %v", got, tc.want)
			}
		})
	}
}

// Characters leave one character time apart, stamped with the moment their
// stop bit ends, and a long run keeps the exact rate (no drift from
// rounding): 9600 characters at 115200 8N1 take 9600 x 10 / 115200 s.
func TestTransmitPacing(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(LCR, LCRDLAB)
	u.Write(DLL, 1)
	u.Write(LCR, 0x03)
	ct := u.State().CharTime
	u.Write(IER, IERTxEmpty)

	const total = 9600
	sent := 0
	var last time.Duration
	var signals []Signal
	for sent < total || u.State().TxShifting {
		// An ISR: refill the FIFO whenever THRE is raised.
		if u.INTR() && u.Read(IIR)&iirIDMask == IIRTxEmpty {
			for range 16 {
				if sent == total {
					break
				}
				u.Write(THR, byte(sent))
				sent++
			}
		}
		at, ok := u.NextEvent()
		if !ok {
			t.Fatal("transmitter stalled with data left")
		}
		u.Advance(at)
		signals = u.TakeSignals(signals[:0])
		for _, s := range signals {
			if s.Kind != SignalChar {
				continue
			}
			if d := s.At - last; last != 0 && d != ct && d != ct+1 {
				t.Fatalf("characters %v apart, want %v", s.At-last, ct)
			}
			last = s.At
		}
	}
	want := time.Duration(total) * 10 * time.Second / 115200
	if diff := last - want; diff < -time.Nanosecond || diff > time.Nanosecond {
		t.Fatalf("%d characters ended at %v, want %v", total, last, want)
	}
	if c := u.Counters(); c.TxSent != total || c.TxDropped != 0 {
		t.Fatalf("counters %+v", c)
	}
}

// A format change applies from the next character on; the one shifting
// keeps the time it started with.
func TestFormatChangeMidCharacter(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(THR, 'a')
	u.Write(LCR, LCRDLAB)
	u.Write(DLL, 1)
	u.Write(LCR, 0x03)
	at, _ := u.NextEvent()
	if at != charTime9600 {
		t.Fatalf("character in flight ends at %v, want %v (9600 baud)", at, charTime9600)
	}
	u.Advance(at)
	sig := u.TakeSignals(nil)
	if len(sig) != 1 || sig[0].Format.Baud() != 9600 {
		t.Fatalf("signals %+v: want one char sent at 9600", sig)
	}
}

// Datasheet LCR bit 6: break forces the output to space; the transmitter
// keeps running but what it shifts is lost.
func TestBreakTransmit(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(THR, 'x')
	u.Write(LCR, 0x03|LCRBreak)
	u.Advance(time1s)
	u.Write(LCR, 0x03)
	sig := u.TakeSignals(nil)
	if len(sig) != 2 || sig[0].Kind != SignalBreak || !sig[0].Break || sig[1].Kind != SignalBreak || sig[1].Break {
		t.Fatalf("signals %+v: want break on then off, and no character", sig)
	}
	if sig[1].At-sig[0].At != time1s {
		t.Fatalf("break lasted %v, want 1s", sig[1].At-sig[0].At)
	}
	if c := u.Counters(); c.TxSent != 1 {
		t.Fatalf("TxSent %d: the transmitter should have shifted 'x' into the break", c.TxSent)
	}
}

// Datasheet LSR bit 4: a break longer than a whole frame puts one zero
// character with BI into the FIFO (with FE: the stop bit was space too);
// nothing more until the line returns to mark. A break shorter than a frame
// is not received.
func TestBreakReceive(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Write(IER, IERLineStatus|IERRxData)
	ct := u.State().CharTime

	u.SetBreakInput(true)
	u.Advance(ct - 1)
	u.SetBreakInput(false)
	u.Advance(time1s)
	if s := u.State(); s.RxLevel != 0 {
		t.Fatalf("a break of less than a frame was received: rx %d", s.RxLevel)
	}

	u.SetBreakInput(true)
	start := u.Now()
	at, ok := u.NextEvent()
	if !ok || at != start+ct {
		t.Fatalf("NextEvent %v %v, want break detection at %v", at, ok, start+ct)
	}
	if u.Receive('q', 0) {
		t.Fatal("a character was received while the line is held at space")
	}
	u.Advance(start + 10*ct)
	wantIIR(t, u, 0xC6, "break raises line status")
	if lsr := u.Read(LSR); lsr&(LSRBreak|LSRFramingErr|LSRDataReady|LSRFIFOError) != LSRBreak|LSRFramingErr|LSRDataReady|LSRFIFOError {
		t.Fatalf("LSR %#02x, want BI|FE|DR|FIFOE", lsr)
	}
	if got := u.Read(RBR); got != 0 {
		t.Fatalf("break character %#02x, want 0", got)
	}
	if s := u.State(); s.RxLevel != 0 {
		t.Fatal("a long break produced more than one character")
	}
	u.SetBreakInput(false)
	receive(u, 'k')
	if got := u.Read(RBR); got != 'k' {
		t.Fatalf("after the break: %q, want 'k'", got)
	}
}

// Timing off: characters take no time, so one Advance to the present moves
// everything.
func TestInstant(t *testing.T) {
	u := New(Options{Instant: true})
	u.Write(LCR, 0x03)
	u.Write(FCR, FCREnable|FCRTrigger14)
	u.Write(IER, IERRxData)
	for _, c := range []byte("fast") {
		u.Write(THR, c)
	}
	at, ok := u.NextEvent()
	if !ok || at != 0 {
		t.Fatalf("NextEvent %v %v, want now", at, ok)
	}
	u.Advance(0)
	if got := string(chars(u.TakeSignals(nil))); got != "fast" {
		t.Fatalf("wire %q, want \"fast\"", got)
	}
	receive(u, 'x')
	wantIIR(t, u, 0xCC, "instant timeout for data below the trigger")
	if _, ok := u.NextEvent(); ok {
		t.Fatal("an idle instant chip still has an event")
	}
	u.SetInstant(false)
	if u.State().CharTime == 0 {
		t.Fatal("SetInstant(false) left characters taking no time")
	}
}

// A faster clock reaches rates the PC crystal cannot divide down to.
func TestSetClock(t *testing.T) {
	u := newChip(t, Options{})
	u.Write(LCR, LCRDLAB)
	u.Write(DLL, 1)
	u.Write(LCR, 0x03)
	u.SetClock(0)
	u.SetClock(16 * 4_000_000)
	f := u.Format()
	if f.Baud() != 4_000_000 {
		t.Fatalf("baud %v, want 4000000", f.Baud())
	}
	if got := u.State().CharTime; got != 2500*time.Nanosecond {
		t.Fatalf("char time %v, want 2.5µs", got)
	}
	if (Format{}).CharTime() != 0 {
		t.Fatal("zero format must not divide by zero")
	}
}

// Time never runs backwards.
func TestAdvanceBackwards(t *testing.T) {
	u := fifoChip(t, FCRTrigger1)
	u.Advance(time1s)
	u.Advance(time.Millisecond)
	if u.Now() != time1s {
		t.Fatalf("Now %v after advancing backwards, want 1s", u.Now())
	}
	u.Write(THR, 'a')
	if at, _ := u.NextEvent(); at != time1s+charTime9600 {
		t.Fatalf("character started at the present: ends %v", at)
	}
}
