package driver

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// BenchmarkRealisticPass measures the ISR's work at realistic timing,
// one side of a line at a time, with no ISR goroutine and no wall clock:
// the benchmark is the ISR goroutine, and it runs each pass at the
// virtual instant the device's wake policy (nextWakeLocked) asks for,
// and, on the receiving side, at each instant the sender's pass would
// have kicked it. An op is one millisecond of line time. Reported per
// character on the line: the CPU time (ns/char) and the allocations
// (allocs/char, every goroutine's, so a DPC's count too); and ISR passes
// per second of line time (passes/s), which is what waking once per
// quantum instead of once per character moves (docs/PERFORMANCE-PLAN.md,
// sections 1 and 3).
//
// What a pass is here is runLocked and TakeSignals, the ISR proper and
// the chip. The rest of the ISR goroutine's loop (the wire's taken
// callbacks and window, Transmit, Delivered and InputThen callbacks) is
// not run, so its allocations (PERFORMANCE-PLAN.md section 3's first rows)
// are not in allocs/char; BenchmarkInstantWriteRead and vcombench's soak
// see them.
func BenchmarkRealisticPass(b *testing.B) {
	for _, baud := range []uint32{115200, 4_000_000} {
		b.Run(strconv.Itoa(int(baud)), func(b *testing.B) {
			b.Run("send", func(b *testing.B) { benchSend(b, baud) })
			b.Run("receive", func(b *testing.B) { benchReceive(b, baud) })
		})
	}
}

// benchSend keeps a device's output queue full and runs its ISR passes
// over b.N milliseconds of line time. The device has no wire: what the
// chip sends is taken after each pass, as the ISR goroutine takes it for
// Transmit, and the wire's own cost (converting the signals, the far
// end's inbox) is not counted.
func benchSend(b *testing.B, baud uint32) {
	d := newBenchDevice(b, "S", baud)
	data := make([]byte, 64<<10)
	perMs := int(baud) / 10 / 1000
	topUp := func() {
		if d.OutputQueued() < 4*perMs+64 {
			d.Submit(NewWrite(data))
		}
	}
	chars := 0
	count := func(_ time.Duration, s []uart16550.Signal) { chars += uart16550.CountChars(s) }
	topUp()
	start := d.benchNow()
	// A millisecond first, so that the line is busy when timing starts.
	d.passes(b, start+time.Millisecond, count)
	start += time.Millisecond
	chars = 0
	passes := d.benchPassCount()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		topUp()
		d.passes(b, start+time.Duration(i+1)*time.Millisecond, count)
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	// A pass may run up to a quantum after the characters it takes left:
	// those at the ends of the run may be counted an op early or late.
	want := float64(b.N) * float64(baud) / 10_000
	if slack := want/100 + float64(baud)/5_000 + 1; float64(chars) < want-slack || float64(chars) > want+slack {
		b.Fatalf("%d characters in %d ms of line, want about %.0f", chars, b.N, want)
	}
	benchReport(b, chars, m1.Mallocs-m0.Mallocs, d.benchPassCount()-passes)
}

// benchReceive plays a sender's output into a receiving device's inbox
// and runs the receiver's ISR passes: one at each of the sender's passes
// that put characters on the line (the kick its Transmit gives), and
// those the receiver's own wake policy asks for in between. The receiver
// has reads pending, so the ISR stores into them as a session's pump
// lets it. The sender's output is recorded first, untimed, over
// benchPeriod of line time and played again as often as the benchmark
// needs, each round benchPeriod later.
func benchReceive(b *testing.B, baud uint32) {
	s := newBenchDevice(b, "S", baud)
	r := newBenchDevice(b, "R", baud)
	s.keepRuns = true // its output is recorded and played again
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i)
	}
	perMs := int(baud) / 10 / 1000
	// Record what the sender puts on the line over benchPeriod, in the
	// batches its passes hand to the wire.
	type batch struct {
		at       time.Duration
		from, to int // its inputs in recorded
	}
	var batches []batch
	var recorded []Input
	record := func(at time.Duration, signals []uart16550.Signal) {
		from := len(recorded)
		for _, sg := range signals {
			switch sg.Kind {
			case uart16550.SignalChar:
				recorded = append(recorded, Input{At: sg.At, Kind: InputChar, Char: sg.Char})
			case uart16550.SignalChars:
				recorded = append(recorded, Input{At: sg.At, Kind: InputChars, Data: sg.Data, Step: sg.Step, Frac0: sg.Frac0, Format: sg.Format})
			}
		}
		if len(recorded) > from {
			batches = append(batches, batch{at, from, len(recorded)})
		}
	}
	t0 := s.benchNow() + time.Millisecond
	for t := s.benchNow(); t < t0+benchPeriod; {
		if s.OutputQueued() < 4*perMs+64 {
			s.Submit(NewWrite(data))
		}
		t += time.Millisecond
		s.passes(b, t, func(at time.Duration, sg []uart16550.Signal) {
			if at > t0 {
				record(at, sg)
			}
		})
	}
	if len(batches) == 0 {
		b.Fatal("the sender sent nothing")
	}

	bufs := [2][]byte{make([]byte, 1<<20), make([]byte, 1<<20)}
	var reads [2]*IRP
	readOn := func() {
		for i := range reads {
			if reads[i] == nil || isDone(reads[i]) {
				reads[i] = NewRead(bufs[i])
				r.Submit(reads[i])
			}
		}
	}
	var scratch []Input
	chars, cur := 0, 0
	shift := time.Duration(0) // benchPeriod times the rounds played so far
	received0, passes := r.benchReceived(), r.benchPassCount()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		readOn()
		until := t0 + time.Duration(i+1)*time.Millisecond
		for {
			bt := batches[cur]
			at := bt.at + shift
			if at > until {
				break
			}
			// The receiver's own wake-ups before the kick.
			r.passes(b, at-1, nil)
			scratch = scratch[:0]
			for _, in := range recorded[bt.from:bt.to] {
				in.At += shift
				chars += max(1, len(in.Data))
				scratch = append(scratch, in)
			}
			r.kicked(at, scratch)
			if cur++; cur == len(batches) {
				cur, shift = 0, shift+benchPeriod
			}
		}
		r.passes(b, until, nil)
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	r.mu.Lock()
	st := r.s.stats
	r.mu.Unlock()
	if got := int(st.ReceivedCount - received0); got > chars || got < chars-16 || st.SerialOverrunErrorCount != 0 || st.BufferOverrunErrorCount != 0 {
		b.Fatalf("received %d of %d characters (%d overruns, %d buffer overruns)", got, chars, st.SerialOverrunErrorCount, st.BufferOverrunErrorCount)
	}
	benchReport(b, chars, m1.Mallocs-m0.Mallocs, r.benchPassCount()-passes)
}

// benchPeriod is how much of a sender's output benchReceive records and
// plays again.
const benchPeriod = 100 * time.Millisecond

// benchReport reports the per-character figures of a realistic-timing
// benchmark of b.N milliseconds of line time.
func benchReport(b *testing.B, chars int, mallocs, passes uint64) {
	if chars == 0 {
		b.Fatal("no character on the line")
	}
	lineSeconds := float64(b.N) / 1000
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chars), "ns/char")
	b.ReportMetric(float64(mallocs)/float64(chars), "allocs/char")
	b.ReportMetric(float64(passes)/lineSeconds, "passes/s")
}

// benchISR is a device whose ISR goroutine has been stopped: the
// benchmark runs its passes instead, on its own goroutine.
type benchISR struct {
	*Device
	signals []uart16550.Signal
	run     *runBuf // the last pass's run data, out until taken
	// keepRuns keeps every pass's run data out: a benchmark that records
	// what the device sent and plays it again later.
	keepRuns bool
	// What the last pass left for the completion DPCs, to see what the
	// next one adds.
	writeDone bool
	written   int
}

// newBenchDevice is a device opened at baud, for the benchmark to be its
// ISR goroutine. Its epoch is far in the future, so that the present
// (vnow) is always behind the chip's clock and a request's register access
// happens at the chip's time, the last pass's, instead of moving the clock
// on.
func newBenchDevice(b *testing.B, name string, baud uint32) *benchISR {
	b.Helper()
	d := New(Options{Name: name, Epoch: time.Now().Add(1000 * time.Hour)})
	close(d.stop)
	<-d.isrDone
	b.Cleanup(d.dpcs.Close)
	for _, irp := range []*IRP{{Major: MajorCreate}, NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: baud})} {
		if st := d.Submit(irp); st != StatusSuccess {
			b.Fatalf("%s %s: %v", irp.Major, irp.Code, st)
		}
	}
	return &benchISR{Device: d}
}

// passes runs the ISR passes the device's wake policy asks for up to
// until, each at its virtual instant, as the ISR goroutine's select on its
// timer and its wake channel would, taking what the chip sent after each
// and handing it to each (if not nil).
func (x *benchISR) passes(b *testing.B, until time.Duration, each func(time.Duration, []uart16550.Signal)) {
	d := x.Device
	last, stuck := time.Duration(-1), 0
	for {
		// A kick (a request that raised INTR, a DPC that made room) wakes
		// the ISR goroutine at once: here, at the chip's present.
		kicked := false
		select {
		case <-d.wake:
			kicked = true
		default:
		}
		d.mu.Lock()
		at, ok := d.nextWakeLocked(d.quantumLocked(d.outQueueLocked()))
		if kicked && (!ok || at > d.s.chip.Now()) {
			at, ok = d.s.chip.Now(), true
		}
		if !ok || at > until {
			d.mu.Unlock()
			return
		}
		d.runLocked(at)
		x.afterPassLocked()
		if each != nil {
			each(at, x.signals)
		}
		if x.run != nil && !x.keepRuns {
			x.run.taken() // as a wire's far end would, soon after
		}
		if at == last {
			if stuck++; stuck > 1000 {
				b.Fatalf("%s: the ISR wants to run at %v for ever", d.name, at)
			}
		} else {
			last, stuck = at, 0
		}
	}
}

// kicked is the pass a far end's Transmit causes: in arrive at the
// inbox, and the pass runs at their instant.
func (x *benchISR) kicked(at time.Duration, in []Input) {
	d := x.Device
	d.mu.Lock()
	d.inputLocked(nil, in...)
	d.runLocked(at)
	x.afterPassLocked()
}

// afterPassLocked ends a pass: it takes what the chip sent and releases
// the lock, then does what the ISR goroutine does when the pass queued a
// completion DPC, which is finish its locked section: that is where a
// queue that runs its DPCs on the goroutine of the pass runs them. A read
// the pass filled is waited for, since CompleteReadDpc starts the next
// read: line time runs here far faster than the wall clock, and a DPC
// goroutine's wait for a CPU would overrun the typeahead meanwhile (on
// Windows the DPC runs within microseconds).
func (x *benchISR) afterPassLocked() {
	d := x.Device
	s := &d.s
	x.signals = s.chip.TakeSignals(x.signals[:0])
	x.run = nil
	if uart16550.CountChars(x.signals) > 0 {
		x.run = d.ownRunDataLocked(x.signals)
	}
	var filled *IRP
	if s.readDone {
		filled = s.curRead
	}
	queued := filled != nil || (s.writeDone && !x.writeDone) || len(s.written) > x.written
	x.writeDone, x.written = s.writeDone, len(s.written)
	d.mu.Unlock()
	if queued {
		d.locked(func(*afterUnlock) {})
	}
	if filled != nil {
		<-filled.Done()
	}
}

func (d *Device) benchNow() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.chip.Now()
}

func (d *Device) benchPassCount() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.passes
}

func (d *Device) benchReceived() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.stats.ReceivedCount
}

func isDone(irp *IRP) bool {
	select {
	case <-irp.Done():
		return true
	default:
		return false
	}
}

// BenchmarkInstantWriteRead is one write and one read of the same size
// through two devices on a cable at timing off, with the FIFO depth and
// typeahead the daemon and the pty front give such a port. Besides
// allocs/op it reports allocs per request (two an op) and per KiB: if
// allocations are made per request, allocs/req is the same for 4 KiB
// and 64 KiB and allocs/KiB falls sixteenfold; if per byte or per FIFO
// round, allocs/KiB stays. The cable is the null modem's wiring without
// its allocations (wire's benchmarks count those), so the figures are
// the driver's.
func BenchmarkInstantWriteRead(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			op := instantWriteRead(b, size)
			op() // the inboxes and queues grow to their working size
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				op()
			}
			b.StopTimer()
			runtime.ReadMemStats(&m1)
			perOp := float64(m1.Mallocs-m0.Mallocs) / float64(b.N)
			b.ReportMetric(perOp/2, "allocs/req")
			b.ReportMetric(perOp/(float64(size)/1024), "allocs/KiB")
		})
	}
}

// instantWriteRead returns one write of size bytes through two opened
// devices on a cable at timing off and one read of them on the far end,
// checked.
func instantWriteRead(tb testing.TB, size int) func() {
	opts := Options{Instant: true, FIFODepth: 4096, QueueSize: 64 << 10, Epoch: time.Now()}
	oa, ob := opts, opts
	oa.Name, ob.Name = "A", "B"
	da, db := New(oa), New(ob)
	tb.Cleanup(func() { da.Close(); db.Close() })
	benchConnect(da, db)
	for _, d := range []*Device{da, db} {
		if st := d.Submit(&IRP{Major: MajorCreate}); st != StatusSuccess {
			tb.Fatalf("create: %v", st)
		}
	}
	data, buf := make([]byte, size), make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return func() {
		clear(buf)
		r := NewRead(buf)
		db.Submit(r)
		w := NewWrite(data)
		da.Submit(w)
		<-r.Done()
		<-w.Done()
		if r.Information() != size || w.Information() != size || !bytes.Equal(buf, data) {
			tb.Fatalf("read %v %d, write %v %d of %d, same data %v", r.Status(), r.Information(), w.Status(), w.Information(), size, bytes.Equal(buf, data))
		}
	}
}

// benchCable is a null-modem cable between two devices (TX to RX, RTS to
// CTS, DTR to DSR and DCD) that reuses one slice of inputs for each
// direction: Transmit for one sender runs only on that sender's ISR
// goroutine, and InputThen copies the inputs.
type benchCable struct {
	a, b    *Device
	scratch [2][]Input
}

func benchConnect(a, b *Device) {
	c := &benchCable{a: a, b: b}
	a.SetWire(c)
	b.SetWire(c)
	b.Input(benchModem(a.Outputs(), 0))
	a.Input(benchModem(b.Outputs(), 0))
}

func benchModem(o uart16550.ModemOutputs, at time.Duration) Input {
	return Input{At: at, Kind: InputModem, Modem: uart16550.ModemInputs{CTS: o.RTS, DSR: o.DTR, DCD: o.DTR}}
}

// Transmit implements Wire.
func (c *benchCable) Transmit(from *Device, signals []uart16550.Signal, taken func()) {
	to, dir := c.b, 0
	if from == c.b {
		to, dir = c.a, 1
	}
	in := c.scratch[dir][:0]
	for _, s := range signals {
		switch s.Kind {
		case uart16550.SignalChar:
			in = append(in, Input{At: s.At, Kind: InputChar, Char: s.Char})
		case uart16550.SignalChars:
			in = append(in, Input{At: s.At, Kind: InputChars, Data: s.Data, Step: s.Step, Frac0: s.Frac0, Format: s.Format})
		case uart16550.SignalBreak:
			in = append(in, Input{At: s.At, Kind: InputBreak, Break: s.Break})
		case uart16550.SignalModem:
			in = append(in, benchModem(s.Modem, s.At))
		}
	}
	c.scratch[dir] = in
	to.InputThen(taken, in...)
}
