package uart16550

import (
	"testing"
	"time"
)

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

// BenchmarkRealisticRun measures a transmitter kept busy at realistic
// timing: each op is one millisecond of line (refill the TX FIFO, Advance
// over the millisecond, TakeSignals), at 115200 from the standard clock
// and at 4 Mbaud from a 64 MHz one, 8N1, with a FIFO deep enough never to
// run dry within the millisecond: byte-wise (a SignalChar each), with
// TimedRuns (one run, its Data allocated) and with ReuseRunData too.
// ns/char is per character that left.
func BenchmarkRealisticRun(b *testing.B) {
	for _, rate := range benchRates {
		for _, mode := range []struct {
			name string
			opts Options
		}{
			{"bytewise", Options{}},
			{"runs", Options{TimedRuns: true}},
			{"runs-reuse", Options{TimedRuns: true, ReuseRunData: true}},
		} {
			b.Run(rate.name+"/"+mode.name, func(b *testing.B) {
				benchmarkRealisticRun(b, rate.clock, mode.opts)
			})
		}
	}
}

// benchRates are 115200 from the PC clock and 4 Mbaud from 64 MHz, both
// at divisor 1.
var benchRates = []struct {
	name  string
	clock uint32
}{
	{"115200", ClockHz},
	{"4M", 64_000_000},
}

func benchmarkRealisticRun(b *testing.B, clock uint32, opts Options) {
	opts.FIFODepth, opts.ClockHz = 1024, clock
	u := New(opts)
	u.Write(LCR, LCRDLAB)
	u.Write(DLL, 1)
	u.Write(LCR, 0x03)
	u.Write(FCR, FCREnable)
	data := pattern(opts.FIFODepth, 0)
	var signals []Signal
	chars := 0
	b.ReportAllocs()
	for b.Loop() {
		u.WriteTHR(data)
		u.Advance(u.Now() + time.Millisecond)
		signals = u.TakeSignals(signals[:0])
		chars += CountChars(signals)
	}
	if chars == 0 {
		b.Fatal("nothing sent")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chars), "ns/char")
	b.ReportMetric(float64(chars)/float64(b.N), "chars/op")
}

// BenchmarkRealisticReceive measures a receiver at realistic timing taking
// one millisecond of back-to-back characters per op (115200 and 4 Mbaud,
// 8N1, as a TimedRuns transmitter timed them), then reading the FIFO in
// bulk: byte-wise (Advance to each character's end and Receive it) and
// with ReceiveSpaced (the whole run in one call: OUT2 is low, so reaching
// the trigger raises no INTR to stop at). ns/char is per character
// received; the byte-wise loop's ends are computed beforehand, as the
// SignalChar each would have come in stamps them.
func BenchmarkRealisticReceive(b *testing.B) {
	for _, rate := range benchRates {
		for _, spaced := range []bool{false, true} {
			name := rate.name + "/bytewise"
			if spaced {
				name = rate.name + "/spaced"
			}
			b.Run(name, func(b *testing.B) {
				benchmarkRealisticReceive(b, rate.clock, spaced)
			})
		}
	}
}

func benchmarkRealisticReceive(b *testing.B, clock uint32, spaced bool) {
	var chips [2]*UART
	for i := range chips {
		chips[i] = New(Options{FIFODepth: 1024, ClockHz: clock, TimedRuns: true})
		chips[i].Write(LCR, LCRDLAB)
		chips[i].Write(DLL, 1)
		chips[i].Write(LCR, 0x03)
		chips[i].Write(FCR, FCREnable|FCRTrigger14)
		chips[i].Write(IER, IERRxData)
	}
	tx, rx := chips[0], chips[1]
	tx.WriteTHR(pattern(1024, 0))
	tx.Advance(time.Millisecond)
	run := tx.TakeSignals(nil)[0]
	ends := make([]time.Duration, len(run.Data)) // as SignalChars would have stamped them
	for k := range ends {
		ends[k] = run.End(k)
	}
	got := make([]byte, 1024)
	chars := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := run
		s.At += time.Duration(i) * time.Millisecond
		if spaced {
			rx.ReceiveSpaced(s, 0, len(s.Data), 0)
		} else {
			for k, c := range s.Data {
				rx.Advance(ends[k] + s.At - run.At)
				rx.Receive(c, 0)
			}
		}
		chars += rx.ReadRBR(got)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chars), "ns/char")
}

// BenchmarkRealisticRunUntil is BenchmarkRealisticRun/4M with the
// transmitter's THRE interrupt enabled, stepped with RunUntil, and an ISR
// refilling a 16-byte FIFO at each THRE (as a driver does): ns/char is
// per character that left.
func BenchmarkRealisticRunUntil(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts Options
	}{
		{"bytewise", Options{}},
		{"runs-reuse", Options{TimedRuns: true, ReuseRunData: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			u := fastChip(64_000_000, mode.opts)
			u.Write(IER, IERTxEmpty)
			u.Write(MCR, MCROUT2)
			data := pattern(16, 0)
			var signals []Signal
			chars := 0
			b.ReportAllocs()
			for b.Loop() {
				end := u.Now() + time.Millisecond
				for {
					for u.INTR() {
						if u.Read(IIR)&iirIDMask == IIRTxEmpty {
							u.WriteTHR(data)
						}
					}
					if mode.opts.TimedRuns {
						if !u.RunUntil(end) {
							break
						}
						continue
					}
					at, ok := u.NextEvent()
					if !ok || at > end {
						u.Advance(end)
						break
					}
					u.Advance(at)
				}
				signals = u.TakeSignals(signals[:0])
				for _, s := range signals {
					chars += max(1, len(s.Data))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chars), "ns/char")
		})
	}
}

// BenchmarkRealisticDuplex is a chip that sends and receives at once at
// realistic timing, as each end of a pair streaming both ways: an ISR
// refills its 16-byte TX FIFO at each THRE and drains the RX FIFO at each
// receive interrupt, and the far end's output, recorded beforehand, comes
// in as timed runs taken with TakeSpaced, as the driver takes them. An op
// is a millisecond of line; ns/char is per character sent or received.
func BenchmarkRealisticDuplex(b *testing.B) {
	for _, rate := range benchRates {
		b.Run(rate.name, func(b *testing.B) {
			far := fastChip(rate.clock, Options{TimedRuns: true})
			far.WriteTHR(pattern(16, 'a'))
			u := fastChip(rate.clock, Options{TimedRuns: true, ReuseRunData: true})
			u.Write(IER, IERRxData|IERTxEmpty)
			u.Write(MCR, MCROUT2)
			// A second of the far end's line, played again each second.
			var runs []Signal
			for ms := range 1000 {
				far.RunUntil(time.Duration(ms+1) * time.Millisecond)
				for far.State().TxLevel < 16 {
					far.Write(THR, byte(ms))
				}
				runs = far.TakeSignals(runs)
			}
			data, got := pattern(16, 0), make([]byte, 64)
			service := func() {
				for u.INTR() {
					switch u.Read(IIR) & iirIDMask {
					case IIRTxEmpty:
						u.WriteTHR(data)
					case IIRRxData, IIRCharTimeout:
						u.ReadRBR(got)
					default:
						u.Read(LSR)
					}
				}
			}
			var signals []Signal
			chars, next := 0, 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				end := time.Duration(i+1) * time.Millisecond
				shift := time.Duration(i/1000) * time.Second
				if i%1000 == 0 {
					next = 0
				}
				for next < len(runs) && runs[next].At+shift <= end {
					s := runs[next]
					s.At += shift
					chars += len(s.Data)
					for len(s.Data) > 0 {
						service()
						n := s.EndedBy(end)
						if n == 0 {
							break
						}
						u.TakeSpaced(&s, n, 0)
					}
					next++
				}
				service()
				for u.RunUntil(end) {
					service()
				}
				signals = u.TakeSignals(signals[:0])
				for _, s := range signals {
					chars += max(1, len(s.Data))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chars), "ns/char")
		})
	}
}
