package uart16550

import "testing"

// BenchmarkCharacterPath measures one character's whole trip in realistic
// timing at 115200 8N1: THR write on one chip, the shift register finishing
// in virtual time, the signal carried to a second chip, and an RBR read
// there.
func BenchmarkCharacterPath(b *testing.B) {
	tx, rx := fifoChip(b, FCRTrigger1), fifoChip(b, FCRTrigger1)
	for _, u := range []*UART{tx, rx} {
		u.Write(LCR, LCRDLAB)
		u.Write(DLL, 1)
		u.Write(LCR, 0x03)
	}
	var signals []Signal
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tx.Write(THR, byte(i))
		at, _ := tx.NextEvent()
		tx.Advance(at)
		signals = tx.TakeSignals(signals[:0])
		rx.Advance(signals[0].At)
		rx.Receive(signals[0].Char, 0)
		if rx.Read(LSR)&LSRDataReady == 0 || rx.Read(RBR) != byte(i) {
			b.Fatal("character lost")
		}
	}
}

// BenchmarkFIFORun measures a FIFO's worth at timing off moved with the
// bulk calls: WriteTHR into one chip, its run of characters leaving in one
// Advance, ReceiveRun into a second chip and ReadRBR there.
func BenchmarkFIFORun(b *testing.B) {
	const depth = 4096
	var chips [2]*UART
	for i := range chips {
		chips[i] = New(Options{FIFODepth: depth, Instant: true, CharRuns: true})
		chips[i].Write(LCR, 0x03)
		chips[i].Write(FCR, FCREnable|FCRTrigger8)
	}
	tx, rx := chips[0], chips[1]
	data, got := pattern(depth, 0), make([]byte, depth)
	var signals []Signal
	b.SetBytes(depth)
	b.ReportAllocs()
	for b.Loop() {
		tx.WriteTHR(data)
		tx.Advance(tx.Now())
		signals = tx.TakeSignals(signals[:0])
		for _, s := range signals {
			rx.ReceiveRun(s.Data, 0)
		}
		if rx.ReadRBR(got) != depth {
			b.Fatal("characters lost")
		}
	}
}
