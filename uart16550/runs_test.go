package uart16550

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// The runs path against the byte-wise path at realistic timing. A source
// station transmits to a receiving station; each station is a pair of
// chips under the same program and the same ISR. One chip of each pair
// takes the runs path (TimedRuns, RunUntil, ReceiveSpaced), its twin the
// byte-wise path a driver takes today (a SignalChar each, NextEvent and
// Advance per event, Receive per character). The register reads each ISR
// makes, with their times, the characters on the wire with their times
// (End(k) of a run against the SignalChar's At), the counters and the
// whole inner state must agree after every step.

// regRead is one register read an ISR made.
type regRead struct {
	at  time.Duration
	off uint8
	v   byte
}

// station is one chip with its ISR.
type station struct {
	u     *UART
	runs  bool
	reads []regRead
	out   []byte // what the ISR sends when THRE asks for more

	inbox []Signal // what the far end sent, in time order
	from  int      // runs path: characters of inbox[0] already taken
	take  bool     // runs path: the last run's characters went by TakeSpaced

	lenient bool // the wire does not damage characters sent in another format
}

func (s *station) read(off uint8) byte {
	v := s.u.Read(off)
	s.reads = append(s.reads, regRead{s.u.Now(), off, v})
	return v
}

// service is the ISR: while INTR is up, read IIR and handle its cause.
func (s *station) service() error {
	for n := 0; s.u.INTR(); n++ {
		if n > 10_000 {
			return fmt.Errorf("INTR stays up: state %+v", s.u.State())
		}
		switch s.read(IIR) & iirIDMask {
		case IIRLineStatus:
			s.read(LSR)
		case IIRRxData, IIRCharTimeout:
			for s.read(LSR)&LSRDataReady != 0 {
				s.read(RBR)
			}
		case IIRTxEmpty:
			k := min(len(s.out), s.u.State().FIFODepth)
			for _, c := range s.out[:k] {
				s.u.Write(THR, c)
			}
			s.out = s.out[k:]
		case IIRModem:
			s.read(MSR)
		}
	}
	return nil
}

// damage is the errors a character sent in format f suffers at a receiver
// set to another format.
func (s *station) damage(f Format) RxError {
	if f != s.u.Format() && !s.lenient {
		return FramingError | ParityError
	}
	return 0
}

// apply hands a break or modem signal to the chip's inputs.
func (s *station) apply(sg Signal) {
	switch sg.Kind {
	case SignalBreak:
		s.u.SetBreakInput(sg.Break)
	case SignalModem:
		m := sg.Modem
		s.u.SetModemInputs(ModemInputs{CTS: m.RTS, DSR: m.DTR, DCD: m.DTR, RI: m.OUT1})
	case SignalChar:
		s.u.Receive(sg.Char, s.damage(sg.Format))
	}
}

// runTo brings the station to time t, taking its inbox and the chip's
// events in time order and servicing the interrupt after each.
func (s *station) runTo(t time.Duration) error {
	if s.runs {
		return s.runToRuns(t)
	}
	for {
		ev, evOK := s.u.NextEvent()
		if len(s.inbox) > 0 && s.inbox[0].At <= t && (!evOK || s.inbox[0].At <= ev) {
			in := s.inbox[0]
			s.inbox = s.inbox[1:]
			s.u.Advance(in.At)
			if err := s.service(); err != nil {
				return err
			}
			s.apply(in)
		} else if evOK && ev <= t {
			s.u.Advance(ev)
		} else {
			break
		}
		if err := s.service(); err != nil {
			return err
		}
	}
	s.u.Advance(t)
	return s.service()
}

// runToRuns is runTo on the runs path.
func (s *station) runToRuns(t time.Duration) error {
	for len(s.inbox) > 0 {
		in := s.inbox[0]
		if in.Kind == SignalChars {
			n := in.EndedBy(t) - s.from
			if n <= 0 {
				break
			}
			// By turns as a caller that counts what it took
			// (ReceiveSpaced) and as one that keeps the rest
			// (TakeSpaced, the driver), which must leave it as From.
			if s.take = !s.take; s.take {
				rest := in.From(s.from)
				k := s.u.TakeSpaced(&rest, n, s.damage(in.Format))
				if want := in.From(s.from + k); rest.At != want.At || rest.Frac0 != want.Frac0 || len(rest.Data) != len(want.Data) {
					return fmt.Errorf("TakeSpaced of %d left the rest at %v+%d/%d with %d characters, want From's %v+%d/%d with %d",
						k, rest.At, rest.Frac0, in.Format.ClockHz, len(rest.Data), want.At, want.Frac0, in.Format.ClockHz, len(want.Data))
				}
				s.inbox[0], s.from = rest, 0
			} else {
				s.from += s.u.ReceiveSpaced(in, s.from, n, s.damage(in.Format))
			}
			if s.from == len(s.inbox[0].Data) {
				s.inbox, s.from = s.inbox[1:], 0
			}
		} else {
			if in.At > t {
				break
			}
			if s.u.RunUntil(in.At - 1) {
				// Something before the input raised the interrupt.
				if err := s.service(); err != nil {
					return err
				}
				continue
			}
			s.inbox = s.inbox[1:]
			s.u.Advance(in.At)
			if err := s.service(); err != nil {
				return err
			}
			s.apply(in)
		}
		if err := s.service(); err != nil {
			return err
		}
	}
	for s.u.RunUntil(t) {
		if err := s.service(); err != nil {
			return err
		}
	}
	return s.service()
}

// pair is a station on the runs path and its byte-wise twin.
type pair struct {
	runs, ref station
}

func newPair(opts Options, reuse bool) *pair {
	p := &pair{}
	p.ref.u = New(opts)
	opts.CharRuns, opts.TimedRuns, opts.ReuseRunData = true, true, reuse
	p.runs.u, p.runs.runs = New(opts), true
	return p
}

// do performs a CPU access on both chips, as a program outside the ISR
// does.
func (p *pair) do(fn func(s *station)) {
	fn(&p.runs)
	fn(&p.ref)
}

func (p *pair) runTo(t time.Duration) error {
	if err := p.runs.runTo(t); err != nil {
		return fmt.Errorf("runs path: %w", err)
	}
	if err := p.ref.runTo(t); err != nil {
		return fmt.Errorf("byte-wise path: %w", err)
	}
	return nil
}

// take collects what both chips sent since the last call, checks that it
// is the same once each run is expanded into its characters at End(k),
// and returns both. Runs are copied: with ReuseRunData their Data is only
// valid until the next TakeSignals, and the far end keeps them longer.
func (p *pair) take(st *runStats) (runs, ref []Signal, err error) {
	runs = p.runs.u.TakeSignals(nil)
	ref = p.ref.u.TakeSignals(nil)
	for i, s := range runs {
		switch {
		case s.Kind == SignalChar:
			return nil, nil, fmt.Errorf("runs path sent a SignalChar: %+v", s)
		case s.Kind == SignalChars:
			runs[i].Data = bytes.Clone(s.Data)
			st.runs++
			st.chars += len(s.Data)
			if len(s.Data) > 1 {
				st.inLongRuns += len(s.Data)
			}
		}
	}
	if got := expandRuns(runs); !reflect.DeepEqual(got, ref) {
		return nil, nil, fmt.Errorf("wire:\n runs %+v\n byte-wise %+v", got, ref)
	}
	return runs, ref, nil
}

// check compares the two chips' register reads since the last check and
// their inner state.
func (p *pair) check() error {
	if !slices.Equal(p.runs.reads, p.ref.reads) {
		return fmt.Errorf("register reads:\n runs %v\n byte-wise %v", p.runs.reads, p.ref.reads)
	}
	// Compared: only later reads can differ now.
	p.runs.reads, p.ref.reads = p.runs.reads[:0], p.ref.reads[:0]
	a, b := *p.runs.u, *p.ref.u
	a.charRuns, a.timedRuns, a.reuseRuns = false, false, false
	a.signals, b.signals, a.runData, b.runData = nil, nil, nil, nil
	a.runNext, a.runNextFrac, a.runQ, a.runR = 0, 0, 0, 0 // TimedRuns' own bookkeeping
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("state:\n runs %+v\n byte-wise %+v", a, b)
	}
	if !bytes.Equal(p.runs.out, p.ref.out) {
		return fmt.Errorf("ISR output left: runs %d, byte-wise %d", len(p.runs.out), len(p.ref.out))
	}
	return nil
}

// runStats counts what the runs path sent, to show runs did happen.
type runStats struct {
	runs, chars, inLongRuns int
}

// chooser hands out the choices of one link run, from fuzz input (zero
// once it is used up) or from a generator.
type chooser struct {
	b []byte
	r *rand.Rand
}

func (c *chooser) byte() byte {
	if c.r != nil {
		return byte(c.r.Uint32())
	}
	if len(c.b) == 0 {
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *chooser) intn(n int) int { return int(c.byte()) % n }

// clocks are reference clocks boards use: the PC crystal, and the ones
// faster boards divide to rates up to 4 Mbaud.
var clocks = []uint32{ClockHz, 7_372_800, 24_000_000, 64_000_000}

// pickRate programs a chip for a random rate between 300 and 4 Mbaud
// (divisors odd as often as even) and word format: a clock, then a divisor,
// then LCR.
func pickRate(c *chooser) (clock uint32, div uint16, lcr byte) {
	clock = clocks[c.intn(len(clocks))]
	lo := max(1, int(clock/16/4_000_000))
	hi := min(0xFFFF, int(clock/16/300))
	switch c.intn(4) {
	case 0:
		div = uint16(lo) // the fastest the clock does
	case 1:
		div = uint16(lo + c.intn(8)) // near it, odd or even
	default:
		div = uint16(lo + (int(c.byte())<<8|int(c.byte()))%(hi-lo+1))
	}
	return clock, div, c.byte() & 0x1F // word length, stop bits, parity
}

func program(s *station, clock uint32, div uint16, lcr, fcr, ier, mcr byte) {
	s.u.SetClock(clock)
	s.u.Write(LCR, LCRDLAB)
	s.u.Write(DLL, byte(div))
	s.u.Write(DLM, byte(div>>8))
	s.u.Write(LCR, lcr)
	s.u.Write(FCR, fcr)
	s.u.Write(IER, ier)
	s.u.Write(MCR, mcr)
}

// runLink plays one random session between a source and a receiver and
// reports the first difference between the paths.
func runLink(c *chooser, st *runStats) error {
	depths := []int{1, 4, 16, 64, 256}
	src := newPair(Options{FIFODepth: depths[c.intn(len(depths))]}, c.byte()&1 != 0)
	dst := newPair(Options{FIFODepth: depths[c.intn(len(depths))]}, c.byte()&1 != 0)
	clock, div, lcr := pickRate(c)
	srcFCR := FCREnable | c.byte()&FCRTrigger
	src.do(func(s *station) { program(s, clock, div, lcr, srcFCR, IERTxEmpty, MCROUT2|MCRRTS|MCRDTR) })
	// The receiver mostly matches the source, so that most characters
	// arrive whole; sometimes it is set otherwise.
	dClock, dDiv, dLCR := clock, div, lcr
	if c.intn(4) == 0 {
		dClock, dDiv, dLCR = pickRate(c)
	}
	dstFCR := c.byte() & (FCREnable | FCRTrigger)
	dstIER := c.byte() & 0x0F
	dstMCR := byte(MCROUT2)
	if c.intn(8) == 0 {
		dstMCR = 0 // INTR never reaches the CPU: the FIFO fills and overruns
	}
	lenient := c.intn(4) == 0 // then a fast receiver sees undamaged characters far apart
	dst.do(func(s *station) {
		program(s, dClock, dDiv, dLCR, dstFCR, dstIER, dstMCR)
		s.lenient = lenient
	})
	if _, _, err := src.take(st); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if _, _, err := dst.take(st); err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	now := time.Duration(0)
	const steps = 150
	for step := range steps {
		// A step of up to about 40 source characters, often less than one.
		ct := src.ref.u.State().CharTime
		var dt time.Duration
		switch c.intn(4) {
		case 0:
			dt = ct * time.Duration(c.intn(4)) / 4
		case 1:
			dt = time.Duration(c.byte())
		default:
			dt = ct * time.Duration(c.intn(40))
		}
		now += dt + 1
		if err := src.runTo(now); err != nil {
			return fmt.Errorf("step %d, source: %w", step, err)
		}
		if err := src.check(); err != nil {
			return fmt.Errorf("step %d, source: %w", step, err)
		}
		// The source's signals go to the receiver only every few steps,
		// so that a run can span what the source program did meanwhile
		// (a gap, loopback, a break, a format change must end it).
		if c.intn(3) == 0 || step == steps-1 {
			runs, ref, err := src.take(st)
			if err != nil {
				return fmt.Errorf("step %d, source: %w", step, err)
			}
			dst.runs.inbox = append(dst.runs.inbox, runs...)
			dst.ref.inbox = append(dst.ref.inbox, ref...)
			if err := dst.runTo(now); err != nil {
				return fmt.Errorf("step %d, receiver: %w", step, err)
			}
			if err := dst.check(); err != nil {
				return fmt.Errorf("step %d, receiver: %w", step, err)
			}
			dstProgram(c, dst)
			if _, _, err := dst.take(st); err != nil {
				return fmt.Errorf("step %d, receiver: %w", step, err)
			}
		} else if c.intn(2) == 0 {
			// The receiver runs ahead of what has reached it: those
			// characters arrive late, at its present time.
			if err := dst.runTo(now); err != nil {
				return fmt.Errorf("step %d, receiver: %w", step, err)
			}
			if err := dst.check(); err != nil {
				return fmt.Errorf("step %d, receiver: %w", step, err)
			}
		}
		srcProgram(c, src, div)
	}
	return nil
}

// srcProgram is what the source's program does between steps, outside its
// ISR.
func srcProgram(c *chooser, src *pair, div uint16) {
	arg := c.byte()
	switch c.intn(32) {
	case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15:
		// More to send: a burst straight into THR, the rest on THRE.
		p := pattern(int(arg)%200+1, arg)
		src.do(func(s *station) {
			s.out = append(s.out, p...)
			k := min(len(s.out), s.u.State().FIFODepth-s.u.State().TxLevel)
			for _, b := range s.out[:k] {
				s.u.Write(THR, b)
			}
			s.out = s.out[k:]
		})
	case 16, 17:
		src.do(func(s *station) { s.u.Write(LCR, s.u.Read(LCR)^LCRBreak) })
	case 18, 19:
		src.do(func(s *station) { s.u.Write(LCR, arg&0x1F) }) // a format change
	case 20, 21:
		src.do(func(s *station) { s.u.Write(MCR, s.u.Read(MCR)^(arg&(MCRLoop|MCRRTS|MCRDTR))) })
	case 22, 23:
		// A new divisor mid-stream.
		nd := uint16(int(div) + int(arg%5) - 2)
		src.do(func(s *station) {
			l := s.u.Read(LCR)
			s.u.Write(LCR, l|LCRDLAB)
			s.u.Write(DLL, byte(nd))
			s.u.Write(DLM, byte(nd>>8))
			s.u.Write(LCR, l)
		})
	case 24:
		src.do(func(s *station) { s.u.Write(FCR, FCREnable|arg&(FCRTxReset|FCRTrigger)) })
	case 25:
		// Timing off for a while: the runs path's chip sends CharRuns
		// runs (Step 0), the twin a SignalChar each.
		src.do(func(s *station) { s.u.SetInstant(arg&7 == 0) })
	}
}

// dstProgram is what the receiver's program does between steps, outside
// its ISR.
func dstProgram(c *chooser, dst *pair) {
	arg := c.byte()
	switch c.intn(8) {
	case 0:
		dst.do(func(s *station) { s.u.Write(IER, arg&0x0F) })
	case 1:
		dst.do(func(s *station) { s.u.Write(FCR, arg&(FCREnable|FCRRxReset|FCRTxReset|FCRTrigger)) })
	case 2:
		// The receiver polls, as a program does without interrupts.
		dst.do(func(s *station) {
			for range arg % 8 {
				if s.read(LSR)&LSRDataReady != 0 {
					s.read(RBR)
				}
			}
		})
	case 3, 4:
		// The receiver sends too, so that its own events fall between
		// the characters it receives.
		p := pattern(int(arg)%64+1, arg)
		dst.do(func(s *station) {
			s.out = append(s.out, p...)
			if s.u.Read(LSR)&LSRTHRE != 0 && len(s.out) > 0 {
				s.u.Write(THR, s.out[0])
				s.out = s.out[1:]
			}
		})
	case 5:
		dst.do(func(s *station) { s.u.Write(LCR, arg&0x1F|s.u.Read(LCR)&LCRBreak) })
	case 6:
		dst.do(func(s *station) { s.u.Write(MCR, MCROUT2|arg&MCRLoop) })
	}
}

// Many random sessions: rates from 300 to 4 Mbaud, formats, FIFO depths,
// breaks and format changes mid-stream, each on both paths.
func TestRunsMatchByteWise(t *testing.T) {
	var st runStats
	for run := range 400 {
		c := &chooser{r: rand.New(rand.NewPCG(uint64(run), 13))}
		if err := runLink(c, &st); err != nil {
			t.Fatalf("session %d: %v", run, err)
		}
	}
	// The comparison is only worth something if runs did form.
	if st.inLongRuns < st.chars/2 {
		t.Fatalf("%d of %d characters in runs of more than one (%d runs): the sessions hardly exercise runs", st.inLongRuns, st.chars, st.runs)
	}
	t.Logf("%d characters in %d runs, %d in runs of more than one", st.chars, st.runs, st.inLongRuns)
}

// FuzzRuns is TestRunsMatchByteWise with the choices from the fuzzer.
// Each input is a whole session (milliseconds), and nearly every one finds
// new coverage, so the default minimisation (up to 60 s per find) stalls
// the fuzzer: run it with -test.fuzzminimizetime=10x.
func FuzzRuns(f *testing.F) {
	for seed := range 8 {
		r := rand.New(rand.NewPCG(uint64(seed), 99))
		b := make([]byte, 600)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := runLink(&chooser{b: b}, &runStats{}); err != nil {
			t.Fatal(err)
		}
	})
}

// fastChip is a chip at divisor 1 from the given clock, 8N1, FIFOs on.
func fastChip(clock uint32, opts Options) *UART {
	opts.ClockHz = clock
	u := New(opts)
	u.Write(LCR, LCRDLAB)
	u.Write(DLL, 1)
	u.Write(LCR, 0x03)
	u.Write(FCR, FCREnable|FCRTrigger8)
	u.TakeSignals(nil)
	return u
}

// A FIFO's worth sent back to back is one run, and End(k) of each of its
// characters is the At of the SignalChar a chip without TimedRuns sends
// for it, fraction carry included: at 115200 from 1.8432 MHz a character
// is 86805.55 ns, at 4 Mbaud from 64 MHz exactly 2500 ns, and from
// 7.3728 MHz at divisor 3 (153600) 65104.16 ns.
func TestTimedRunsOneSignal(t *testing.T) {
	for _, clock := range []uint32{ClockHz, 64_000_000, 7_372_800} {
		t.Run(fmt.Sprint(clock), func(t *testing.T) {
			runs := fastChip(clock, Options{FIFODepth: 64, TimedRuns: true})
			ref := fastChip(clock, Options{FIFODepth: 64})
			if clock == 7_372_800 {
				for _, u := range []*UART{runs, ref} {
					u.Write(LCR, LCRDLAB)
					u.Write(DLL, 3)
					u.Write(LCR, 0x03)
				}
			}
			data := pattern(65, 'A')
			runs.Write(THR, 'x') // starts the line at 0 ...
			ref.Write(THR, 'x')
			mid := ref.State().CharTime / 3 // ... and the rest joins mid-character
			runs.Advance(mid)
			ref.Advance(mid)
			for _, u := range []*UART{runs, ref} {
				if n := u.WriteTHR(data); n != 64 {
					t.Fatalf("WriteTHR took %d", n)
				}
				u.Advance(time1s)
			}
			got, want := runs.TakeSignals(nil), ref.TakeSignals(nil)
			if len(got) != 1 || got[0].Kind != SignalChars || !bytes.Equal(got[0].Data, append([]byte{'x'}, data[:64]...)) {
				t.Fatalf("signals %+v, want one run of the 65 characters", got)
			}
			run := got[0]
			if len(want) != 65 {
				t.Fatalf("byte-wise chip sent %d signals", len(want))
			}
			fracs := 0
			for k, w := range want {
				if end := run.End(k); end != w.At {
					t.Fatalf("End(%d) = %v, byte-wise At %v", k, end, w.At)
				}
				if n := run.EndedBy(w.At); n != k+1 {
					t.Fatalf("EndedBy(End(%d)) = %d, want %d", k, n, k+1)
				}
				if n := run.EndedBy(w.At - 1); n != k {
					t.Fatalf("EndedBy(End(%d)-1) = %d, want %d", k, n, k)
				}
				if _, f := run.end(k); f != 0 {
					fracs++
				}
				// What is left after k characters ends where the run
				// did, fractions carried.
				rest := run.From(k)
				for j := 0; k+j < len(want); j += 7 {
					if end := rest.End(j); end != want[k+j].At {
						t.Fatalf("From(%d).End(%d) = %v, byte-wise At %v", k, j, end, want[k+j].At)
					}
				}
				if !bytes.Equal(rest.Data, run.Data[k:]) {
					t.Fatalf("From(%d) holds %q", k, rest.Data)
				}
			}
			if clock != 64_000_000 && fracs == 0 {
				t.Fatalf("no character ended on a fraction of a nanosecond: the carry is untested")
			}
		})
	}
}

// With ReuseRunData a busy transmitter allocates nothing in steady state:
// the runs' Data share one buffer, reused after every TakeSignals, capped
// so that a caller's append cannot reach the next run.
func TestReuseRunDataAllocatesNothing(t *testing.T) {
	u := fastChip(64_000_000, Options{FIFODepth: 1024, TimedRuns: true, ReuseRunData: true})
	data := pattern(1024, 0)
	var signals []Signal
	ms := func() {
		u.WriteTHR(data)
		u.Advance(u.Now() + time.Millisecond)
		signals = u.TakeSignals(signals[:0])
	}
	ms()
	if allocs := testing.AllocsPerRun(100, ms); allocs != 0 {
		t.Fatalf("%v allocations per millisecond of line at 4 Mbaud, want 0", allocs)
	}
	if len(signals) != 1 || len(signals[0].Data) != 400 || cap(signals[0].Data) != 400 {
		t.Fatalf("a millisecond at 4 Mbaud: %d signals, the first of len %d cap %d; want one run of 400, cap 400",
			len(signals), len(signals[0].Data), cap(signals[0].Data))
	}
}

// ReceiveSpaced stops at the character that reaches the trigger level,
// at that character's end, and takes a run's tail that raises nothing
// whole; the character timeout then follows four character times after
// the last one, as for characters received one by one.
func TestReceiveSpacedStopsAtTrigger(t *testing.T) {
	tx := fastChip(ClockHz, Options{TimedRuns: true, FIFODepth: 64})
	tx.WriteTHR(pattern(20, 'a'))
	tx.Advance(time1s)
	sig := tx.TakeSignals(nil)
	if len(sig) != 1 || len(sig[0].Data) != 20 {
		t.Fatalf("signals %+v, want one run of 20", sig)
	}
	run := sig[0]
	rx := fastChip(ClockHz, Options{})
	rx.Write(IER, IERRxData)
	rx.Write(MCR, MCROUT2)
	from := 0
	for _, want := range []int{8, 8} {
		if n := rx.ReceiveSpaced(run, from, len(run.Data)-from, 0); n != want {
			t.Fatalf("ReceiveSpaced from %d took %d, want %d", from, n, want)
		}
		from += want
		if rx.Now() != run.End(from-1) || rx.Read(IIR)&iirIDMask != IIRRxData {
			t.Fatalf("after %d: time %v (want End %v), IIR not RX data", from, rx.Now(), run.End(from-1))
		}
		if got := drain(rx); !bytes.Equal(got, run.Data[from-8:from]) {
			t.Fatalf("read %q", got)
		}
	}
	if n := rx.ReceiveSpaced(run, from, 100, 0); n != 4 || rx.Now() != run.End(19) || rx.INTR() {
		t.Fatalf("tail: took %d at %v, INTR %v; want 4 at %v without an interrupt", n, rx.Now(), rx.INTR(), run.End(19))
	}
	if !rx.RunUntil(time1s) || rx.Now() != run.End(19)+4*rx.State().CharTime || rx.Read(IIR)&iirIDMask != IIRCharTimeout {
		t.Fatalf("RunUntil: time %v, want the timeout at %v", rx.Now(), run.End(19)+4*rx.State().CharTime)
	}
}

// RunUntil takes an instant whole, as Advance to it does: at timing off
// without CharRuns, in loopback, every character that leaves at once is in
// the receiver before RunUntil stops for the interrupt the first raised.
func TestRunUntilTakesAnInstantWhole(t *testing.T) {
	u := New(Options{Instant: true, UngatedINTR: true})
	u.Write(LCR, 0x03)
	u.Write(FCR, FCREnable)
	u.Write(MCR, MCRLoop)
	u.Write(IER, IERRxData)
	u.Write(THR, 'a') // into the shift register at once: the FIFO stays empty
	u.WriteTHR([]byte("bcd"))
	if !u.RunUntil(time1s) || u.Now() != 0 {
		t.Fatalf("RunUntil did not stop at 0 (now %v)", u.Now())
	}
	if got := u.State().RxLevel; got != 4 {
		t.Fatalf("%d characters looped back when RunUntil stopped, want all 4", got)
	}
}

// A character that ends at the very instant the receiver's own
// transmitter raises THRE waits for the ISR, as it does byte-wise: the
// event at that instant comes first.
func TestReceiveSpacedTie(t *testing.T) {
	tx := fastChip(64_000_000, Options{TimedRuns: true})
	tx.WriteTHR(pattern(8, 'a'))
	tx.Advance(time1s)
	run := tx.TakeSignals(nil)[0]
	rx := fastChip(64_000_000, Options{})
	rx.Write(IER, IERRxData|IERTxEmpty)
	rx.Write(MCR, MCROUT2)
	rx.Read(IIR) // the THRE raised by enabling it
	if n := rx.ReceiveSpaced(run, 0, 1, 0); n != 1 || rx.Now() != run.End(0) {
		t.Fatalf("first character: took %d, at %v", n, rx.Now())
	}
	// At 4 Mbaud from 64 MHz a character is exactly 2500 ns, so 'x' sent
	// from End(0) ends at End(1), where 'y' leaves the FIFO empty.
	rx.Write(THR, 'x')
	rx.Write(THR, 'y')
	if n := rx.ReceiveSpaced(run, 1, 7, 0); n != 0 || rx.Now() != run.End(1) {
		t.Fatalf("took %d, at %v; want 0 at End(1) %v", n, rx.Now(), run.End(1))
	}
	wantIIR(t, rx, IIRFIFOs|IIRTxEmpty, "THRE at End(1)")
	if n := rx.ReceiveSpaced(run, 1, 7, 0); n != 7 || rx.State().RxLevel != 8 {
		t.Fatalf("after the ISR: took %d, %d waiting; want 7 and 8", n, rx.State().RxLevel)
	}
}

// A character timeout due at the very instant a run's character ends
// comes first, as it does byte-wise, where every event of an instant is
// carried out before the character that ends then: the run waits for the
// ISR there, whether the timeout is of a character already waiting or of
// the run's own last one, the next coming four character times later.
func TestReceiveSpacedTimeoutTie(t *testing.T) {
	const ct = 2500 * time.Nanosecond // 4 Mbaud from 64 MHz, 8N1
	for _, tc := range []struct {
		name    string
		waiting bool // a character is in the FIFO, its timeout due as the run begins
		gaps    uint64
		taken   int
	}{
		{"waiting character", true, 1, 0},
		{"four character times apart", false, 4, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx := fastChip(64_000_000, Options{})
			rx.Write(IER, IERRxData)
			rx.Write(MCR, MCROUT2)
			start := time.Microsecond
			if tc.waiting {
				rx.Advance(start)
				rx.Receive('x', 0)
				start += 4 * ct
			}
			f := rx.Format()
			run := Signal{At: start, Kind: SignalChars, Data: []byte("ab"), Format: f, Step: tc.gaps * f.charCycles() * uint64(time.Second)}
			n := rx.ReceiveSpaced(run, 0, 2, 0)
			if at := run.End(tc.taken); n != tc.taken || rx.Now() != at || rx.Read(IIR)&iirIDMask != IIRCharTimeout {
				t.Fatalf("took %d at %v, IIR %#x; want %d at %v with the character timeout pending", n, rx.Now(), rx.Read(IIR), tc.taken, at)
			}
		})
	}
}

// EndedBy, worked out, agrees with counting the characters whose End is
// at or before t, over runs of every rate and clock, at and around each
// character's end and far past the run.
func TestEndedByCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 0))
	count := func(s Signal, at time.Duration) int {
		n := 0
		for k := range s.Data {
			if s.End(k) <= at {
				n++
			}
		}
		return n
	}
	for range 2000 {
		clock := uint32(1 + rng.Uint64N(1<<32-1))
		s := Signal{
			Kind: SignalChars, At: time.Duration(rng.Int64N(1 << 50)),
			Data:   make([]byte, 1+rng.IntN(200)),
			Format: Format{ClockHz: clock},
			Frac0:  uint32(rng.Uint64N(uint64(clock))),
			Step:   1 + rng.Uint64N(uint64(clock)*uint64(1+rng.IntN(1e6))),
		}
		if rng.IntN(10) == 0 {
			s.Frac0 = rng.Uint32() // past the clock: End(0) is still At
		}
		last := s.End(len(s.Data) - 1)
		for _, at := range []time.Duration{s.At - 1, s.At, s.At + 1, last, last + 1, last - 1, 1<<63 - 1, s.At + time.Duration(rng.Int64N(int64(last-s.At)+1))} {
			if got, want := s.EndedBy(at), count(s, at); got != want {
				t.Fatalf("%+v: EndedBy(%v) = %d, %d characters end by then", s, at, got, want)
			}
		}
		for k := range s.Data {
			if end := s.End(k); s.EndedBy(end) < k+1 || k > 0 && s.EndedBy(end-1) > k {
				t.Fatalf("%+v: EndedBy around End(%d) = %v: %d, %d", s, k, end, s.EndedBy(end-1), s.EndedBy(end))
			}
		}
	}
	if n := (Signal{Kind: SignalChars, At: 5, Data: []byte("abc")}).EndedBy(5); n != 3 {
		t.Errorf("a run without Step: EndedBy(At) = %d, want 3", n)
	}
	if n := (Signal{Kind: SignalChars, At: 5}).EndedBy(100); n != 0 {
		t.Errorf("an empty run: EndedBy = %d", n)
	}
}
