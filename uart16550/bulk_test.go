package uart16550

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// twins is a chip driven with the bulk calls and CharRuns, and a twin
// driven with the byte-wise calls they stand for. After every step the two
// must be in the same state and have put the same characters on the wire.
type twins struct {
	bulk, ref *UART
	thrWrites uint64 // THR writes on bulk, for checkInvariants
}

// newTwins makes the pair. mode's bit 0 gives the bulk chip TimedRuns as
// well, bit 1 ReuseRunData: neither may change anything but how the
// characters on the wire are grouped.
func newTwins(depth int, instant bool, mode byte) *twins {
	return &twins{
		bulk: New(Options{FIFODepth: depth, Instant: instant, CharRuns: true, TimedRuns: mode&1 != 0, ReuseRunData: mode&2 != 0}),
		ref:  New(Options{FIFODepth: depth, Instant: instant}),
	}
}

// step performs one operation on both chips. Opcodes 0-15 are FuzzChip's;
// 16-19 are the bulk calls and switching timing on and off.
func (w *twins) step(op, arg byte) error {
	switch op % 20 {
	case 16:
		p := pattern(int(arg%48), arg)
		got := w.bulk.WriteTHR(p)
		want := 0
		for _, b := range p {
			s := w.ref.State()
			if s.LCR&LCRDLAB != 0 || s.TxLevel >= s.FIFODepth {
				break
			}
			w.ref.Write(THR, b)
			want++
		}
		w.thrWrites += uint64(got)
		if got != want {
			return fmt.Errorf("WriteTHR(%d bytes) wrote %d, byte-wise %d", len(p), got, want)
		}
	case 17:
		n := int(arg % 48)
		got := make([]byte, n)
		got = got[:w.bulk.ReadRBR(got)]
		var want []byte
		for len(want) < n {
			s := w.ref.State()
			if s.LCR&LCRDLAB != 0 || s.LSR&LSRDataReady == 0 || s.LSR&lsrErrorBits != 0 {
				break
			}
			w.ref.Read(LSR)
			want = append(want, w.ref.Read(RBR))
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("ReadRBR(%d) read %q, byte-wise %q", n, got, want)
		}
	case 18:
		p := pattern(int(arg%48), arg)
		errs := RxError(arg>>4) & (ParityError | FramingError)
		got := w.bulk.ReceiveRun(p, errs)
		want := 0
		for _, b := range p {
			if w.ref.Receive(b, errs) {
				want++
			}
		}
		if got != want {
			return fmt.Errorf("ReceiveRun(%d bytes) took %d, byte-wise %d", len(p), got, want)
		}
	case 19:
		w.bulk.SetInstant(arg&1 != 0)
		w.ref.SetInstant(arg&1 != 0)
	default:
		if (op%16 == 0 || op%16 == 14 && arg&7 == THR) && w.bulk.lcr&LCRDLAB == 0 {
			w.thrWrites++
		}
		apply(w.bulk, op, arg)
		apply(w.ref, op, arg)
	}
	return w.check()
}

// check compares the two chips, their whole inner state included, and the
// characters each put on the wire since the last check.
func (w *twins) check() error {
	got, want := expandRuns(w.bulk.TakeSignals(nil)), w.ref.TakeSignals(nil)
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("wire:\n bulk %+v\n byte-wise %+v", got, want)
	}
	a, b := *w.bulk, *w.ref
	a.charRuns, a.timedRuns, a.reuseRuns = false, false, false
	a.signals, b.signals, a.runData, b.runData = nil, nil, nil, nil
	a.runNext, a.runNextFrac, a.runQ, a.runR = 0, 0, 0, 0 // TimedRuns' own bookkeeping
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("state:\n bulk %+v\n byte-wise %+v", a, b)
	}
	return checkInvariants(w.bulk, w.thrWrites)
}

// expandRuns turns every SignalChars into the SignalChar of each of its
// characters, stamped End(k), as a chip without CharRuns and TimedRuns
// sends them.
func expandRuns(signals []Signal) []Signal {
	var out []Signal
	for _, s := range signals {
		if s.Kind != SignalChars {
			out = append(out, s)
			continue
		}
		if len(s.Data) == 0 {
			out = append(out, Signal{Kind: SignalChars}) // never empty: fails the comparison
		}
		for k, c := range s.Data {
			out = append(out, Signal{At: s.End(k), Kind: SignalChar, Char: c, Format: s.Format})
		}
	}
	return out
}

// pattern is n bytes counting up from seed.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i)
	}
	return p
}

// bulkSetup programs FIFOs on (trigger 8), 8N1, every interrupt and OUT2:
// the way the driver runs the chip.
var bulkSetup = []byte{2, 0x87, 1, 0x03, 3, 0x0F, 4, 0x0B}

// FuzzBulk checks that the bulk calls, CharRuns and TimedRuns leave a chip
// exactly as the byte-wise calls they stand for do, whatever came before
// them. The first byte picks timing off (bit 0) and the run options (bits
// 1-2, newTwins' mode), the second the FIFO depth.
func FuzzBulk(f *testing.F) {
	seed := func(instant bool, ops ...byte) {
		b := byte(0)
		if instant {
			b = 1
		}
		f.Add(append(append([]byte{b, 64}, bulkSetup...), ops...))
	}
	// A FIFO's worth out and in, at timing off and at 9600.
	seed(true, 16, 40, 16, 40, 9, 0, 18, 30, 17, 47, 15, 0)
	seed(false, 16, 40, 9, 0, 9, 0, 8, 255, 18, 30, 17, 47)
	// Errors, a break and overruns, read in bulk and byte-wise.
	seed(true, 1, 0x1B, 18, 0x25, 18, 0x2F, 17, 40, 11, 0, 17, 40, 6, 1, 9, 0, 6, 0, 17, 10, 18, 47, 18, 47, 17, 47)
	// Loopback, a break on the way out, DLAB, 16450 mode.
	seed(true, 4, 0x1B, 16, 20, 9, 0, 17, 40, 4, 0x0B, 1, 0x43, 16, 20, 9, 0, 1, 0x83, 16, 5, 17, 5, 1, 0x03, 2, 0, 16, 5, 18, 5, 17, 5)
	// Switching timing off and on with characters on their way.
	seed(false, 16, 30, 8, 40, 19, 1, 9, 0, 16, 30, 19, 0, 9, 0, 1, 0x07, 16, 3, 19, 1, 9, 0)
	// TimedRuns and ReuseRunData at 9600: runs broken by a break, a format
	// change and timing switched off and on.
	timed := append([]byte{6, 64}, bulkSetup...)
	f.Add(append(timed, 16, 40, 8, 255, 8, 255, 16, 40, 8, 255, 1, 0x43, 8, 255, 1, 0x03, 16, 20, 8, 255, 1, 0x07, 8, 255, 19, 1, 9, 0, 19, 0, 16, 30, 8, 255))
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) < 2 {
			return
		}
		w := newTwins(int(ops[1]%64)+1, ops[0]&1 != 0, ops[0]>>1&3)
		for i := 2; i+1 < len(ops); i += 2 {
			if err := w.step(ops[i], ops[i+1]); err != nil {
				t.Fatalf("after op %d (%d, %#02x): %v", i/2-1, ops[i]%20, ops[i+1], err)
			}
		}
	})
}

// A thousand random runs of the bulk calls among everything else a chip
// does, each against its byte-wise twin.
func TestBulkMatchesByteWise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for run := range 1000 {
		w := newTwins([]int{1, 16, 64}[run%3], run%2 == 0, byte(run/2%4))
		ops := append([]byte(nil), bulkSetup...)
		for range 200 {
			// Mostly traffic and time, so that FIFOs fill and drain.
			op := []byte{16, 17, 18, 9, 8, 12, 11, 10}[r.IntN(8)]
			if r.IntN(8) == 0 {
				op = byte(r.IntN(20))
			}
			ops = append(ops, op, byte(r.Uint32()))
		}
		for i := 0; i+1 < len(ops); i += 2 {
			if err := w.step(ops[i], ops[i+1]); err != nil {
				t.Fatalf("run %d, after op %d (%d, %#02x): %v\nops %v", run, i/2, ops[i]%20, ops[i+1], err, ops[:i+2])
			}
		}
	}
}

// At timing off with CharRuns a FIFO's worth leaves as one signal.
func TestCharRunsOneSignal(t *testing.T) {
	u := New(Options{Instant: true, CharRuns: true, FIFODepth: 64})
	u.Write(LCR, 0x03)
	u.Write(FCR, FCREnable)
	// The shift register takes the first, the FIFO the next 64.
	data := pattern(66, 'A')
	if n := u.WriteTHR(data); n != 65 {
		t.Fatalf("WriteTHR took %d of 66 with the shift register idle, want 65", n)
	}
	if n := u.WriteTHR([]byte{'x'}); n != 0 {
		t.Fatalf("WriteTHR into a full FIFO took %d", n)
	}
	u.Advance(0)
	sig := u.TakeSignals(nil)
	if len(sig) != 1 || sig[0].Kind != SignalChars || !bytes.Equal(sig[0].Data, data[:65]) {
		t.Fatalf("signals %+v, want one run of the 65 characters", sig)
	}
	if SignalChars.String() != "chars" {
		t.Fatalf("SignalChars is %q", SignalChars)
	}
}

// RxRoom is what the RX FIFO takes before it overruns.
func TestRxRoom(t *testing.T) {
	u := fifoChip(t, FCRTrigger14)
	if got := u.RxRoom(); got != 16 {
		t.Fatalf("RxRoom of an empty FIFO: %d, want 16", got)
	}
	if n := u.ReceiveRun(pattern(20, 'a'), 0); n != 16 || u.RxRoom() != 0 {
		t.Fatalf("ReceiveRun took %d of 20, RxRoom %d: want 16 and 0", n, u.RxRoom())
	}
	u.Read(RBR)
	if got := u.RxRoom(); got != 1 {
		t.Fatalf("RxRoom after one read: %d, want 1", got)
	}
}
