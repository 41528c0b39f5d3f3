package ttybench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// SetRTSCTS turns hardware flow control (CRTSCTS) on or off, as a program
// does through termios; the rest of the settings stay.
func (p *Port) SetRTSCTS(on bool) error {
	t, err := unix.IoctlGetTermios(p.fd, unix.TCGETS2)
	if err != nil {
		return fmt.Errorf("TCGETS2 %s: %w", p.path, err)
	}
	t.Cflag &^= unix.CRTSCTS
	if on {
		t.Cflag |= unix.CRTSCTS
	}
	if err := unix.IoctlSetTermios(p.fd, unix.TCSETS2, t); err != nil {
		return fmt.Errorf("TCSETS2 %s, CRTSCTS %v: %w", p.path, on, err)
	}
	return nil
}

// Pass writes tok on from and reads on to until tok has arrived, for up
// to timeout, without sending it again: unlike Sync, it tells whether one
// write got through. extra is how many other bytes arrived before it, or
// in the time allowed when it did not come.
func Pass(ctx context.Context, from, to *Port, tok []byte, timeout time.Duration) (arrived bool, extra int, err error) {
	if err := from.write(ctx, tok, timeout); err != nil {
		return false, 0, err
	}
	var got []byte
	buf := make([]byte, 256)
	for end := time.Now().Add(timeout); ; {
		left := time.Until(end)
		if left <= 0 {
			return false, len(got), nil
		}
		n, err := to.read(ctx, buf, left)
		if errors.Is(err, errTimeout) {
			return false, len(got), nil
		}
		if err != nil {
			return false, len(got), err
		}
		got = append(got, buf[:n]...)
		if i := bytes.Index(got, tok); i >= 0 {
			return true, len(got) - len(tok), nil
		}
	}
}

// seq is the data of one direction of a stream: an endless xorshift
// sequence from a seed. Unlike the periodic pattern, no stretch of it
// repeats within any length a test sends, so a byte lost, added, changed
// or moved anywhere shows at the first byte after it.
type seq struct{ x uint64 }

func newSeq(seed uint64) seq {
	// splitmix64 of the seed: close seeds give unrelated sequences, and
	// the state is never zero, where xorshift would stay.
	z := seed + 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	z ^= z >> 31
	if z == 0 {
		z = 1
	}
	return seq{z}
}

func (s *seq) fill(b []byte) {
	for i := range b {
		s.x ^= s.x << 13
		s.x ^= s.x >> 7
		s.x ^= s.x << 17
		b[i] = byte(s.x >> 32)
	}
}

// checker compares what arrives with the sequence sent.
type checker struct {
	want seq
	n    int64 // bytes checked and right
	buf  []byte
}

func newChecker(seed uint64) *checker { return &checker{want: newSeq(seed)} }

// check takes the next bytes received. The first wrong one is an error,
// and so is everything after it: the checker stays at the byte that
// differed.
func (c *checker) check(got []byte) error {
	if cap(c.buf) < len(got) {
		c.buf = make([]byte, len(got))
	}
	probe := c.want
	w := c.buf[:len(got)]
	probe.fill(w)
	for i := range got {
		if got[i] != w[i] {
			// Keep the sequence at the first wrong byte.
			c.want.fill(make([]byte, i))
			c.n += int64(i)
			return fmt.Errorf("byte %d is %#x, want %#x (lost, added or changed bytes)", c.n, got[i], w[i])
		}
	}
	c.want = probe
	c.n += int64(len(got))
	return nil
}

// Pause is a time a reader stops reading: At after the stream starts,
// for Len.
type Pause struct{ At, Len time.Duration }

// Flow is one direction of a stream: From writes, To reads.
type Flow struct {
	From, To *Port
	// Seed picks the flow's data; flows with different seeds carry
	// different data, so that bytes crossing from one to another show.
	Seed uint64
	// Pauses are when To's reader stops reading, in order. Those that
	// start after the sender has finished are skipped.
	Pauses []Pause
}

// FlowResult is what became of one flow.
type FlowResult struct {
	// Sent is what From wrote, Received what To read and found right.
	Sent, Received int64
	// Err is the first thing that went wrong: a wrong byte, a stalled
	// line, a system call that failed.
	Err error
	// ReadRate is the bytes per second To received while it was reading,
	// over the second half of each spell of reading of at least
	// MinSpell (the first half is where a backlog drains, or the line
	// starts again): the line's pace while nothing holds it. 0 when
	// no spell was long enough.
	ReadRate float64
	// Spells are the timed halves ReadRate is made of, in order: where a
	// direction's pace fell short, they say when.
	Spells []Spell
}

// Spell is the timed second half of one spell of reading: from At, for
// Window, the line carried BytesPerSec.
type Spell struct {
	At          time.Time
	Window      time.Duration
	BytesPerSec float64
}

// streamChunk is the size of each write, and of each read's buffer.
const streamChunk = 4096

// MinSpell is the shortest spell of reading timed for ReadRate; sampleGap
// the least time between two of its samples, which bounds their number
// however long the spell.
const (
	MinSpell  = 2 * time.Second
	sampleGap = 20 * time.Millisecond
)

// Stream runs the flows at once: every sender writes its data as fast as
// its line takes it until stop is closed, every reader reads and checks
// it, stopping for its pauses, and then reads on until it has all that
// was sent. A write may wait up to maxHold for room (flow control holds a
// sender while its reader pauses), a read stallTimeout for a byte. A
// failed flow stops; the others go on.
func Stream(ctx context.Context, flows []Flow, stop <-chan struct{}, maxHold time.Duration) []FlowResult {
	out := make([]FlowResult, len(flows))
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, f := range flows {
		wg.Go(func() { out[i] = runFlow(ctx, f, t0, stop, maxHold) })
	}
	wg.Wait()
	return out
}

func runFlow(ctx context.Context, f Flow, t0 time.Time, stop <-chan struct{}, maxHold time.Duration) FlowResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := make(chan int64, 1)
	var sendErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		n, err := sendUntil(ctx, f.From, f.Seed, stop, maxHold)
		sendErr = err
		sent <- n
	})
	r := reader{f: f, t0: t0, c: newChecker(f.Seed), sent: sent, total: -1}
	err := r.run(ctx)
	if err != nil {
		cancel() // the sender would wait for room that never comes
	}
	wg.Wait()
	res := FlowResult{Sent: r.total, Received: r.c.n, ReadRate: r.rate.perSec(), Spells: r.rate.spells}
	if r.total < 0 {
		res.Sent = <-sent
	}
	switch {
	case err != nil:
		res.Err = fmt.Errorf("%s to %s: %w", f.From.path, f.To.path, err)
	case sendErr != nil:
		res.Err = fmt.Errorf("%s to %s: %w", f.From.path, f.To.path, sendErr)
	}
	return res
}

// sendUntil writes the sequence of seed on p until stop is closed and
// returns how much it wrote.
func sendUntil(ctx context.Context, p *Port, seed uint64, stop <-chan struct{}, maxHold time.Duration) (int64, error) {
	s := newSeq(seed)
	buf := make([]byte, streamChunk)
	var n int64
	for {
		select {
		case <-stop:
			return n, nil
		default:
		}
		s.fill(buf)
		if err := p.write(ctx, buf, maxHold); err != nil {
			return n, fmt.Errorf("after %d bytes sent: %w", n, err)
		}
		n += int64(len(buf))
	}
}

// reader is the receiving side of a flow.
type reader struct {
	f     Flow
	t0    time.Time
	c     *checker
	sent  <-chan int64 // the sender's total, once it has finished
	total int64        // that total, -1 until known
	next  int          // the next pause in f.Pauses
	rate  rateAcc
	spell []Sample  // this spell of reading, for rate
	mark  time.Time // when the last of spell was appended
	began time.Time // of the spell
	last  time.Time // of the last data, or the end of the last pause
}

func (r *reader) run(ctx context.Context) error {
	buf := make([]byte, streamChunk)
	r.began = time.Now()
	r.last = r.began
	for r.total < 0 || r.c.n < r.total {
		if r.total < 0 {
			select {
			case r.total = <-r.sent:
				r.endSpell() // what follows is only the backlog
			default:
			}
		}
		if err := r.pause(ctx); err != nil {
			return err
		}
		// Short reads, so that the sender's end and the next pause are
		// seen in time; a stall is a long time without data.
		wait := pollSlice
		if r.total < 0 && r.next < len(r.f.Pauses) {
			wait = min(wait, time.Until(r.t0.Add(r.f.Pauses[r.next].At)))
		}
		n, err := r.f.To.read(ctx, buf, max(wait, time.Millisecond))
		if errors.Is(err, errTimeout) {
			if time.Since(r.last) > stallTimeout {
				return fmt.Errorf("after %d bytes received: nothing for %v", r.c.n, stallTimeout)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("after %d bytes received: %w", r.c.n, err)
		}
		if err := r.c.check(buf[:n]); err != nil {
			return err
		}
		r.last = time.Now()
		r.sample()
	}
	return nil
}

// pause stops reading if the next pause is due, and the sender still
// sends.
func (r *reader) pause(ctx context.Context) error {
	if r.total >= 0 || r.next >= len(r.f.Pauses) {
		return nil
	}
	p := r.f.Pauses[r.next]
	if time.Since(r.t0) < p.At {
		return nil
	}
	r.next++
	r.endSpell()
	t := time.NewTimer(time.Until(r.t0.Add(p.At + p.Len)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.began = time.Now()
	r.last = r.began // a pause is no stall
	return nil
}

func (r *reader) sample() {
	if r.total >= 0 {
		return
	}
	r.spell, r.mark = addSample(r.spell, r.mark, Sample{time.Now(), int(r.c.n)})
}

// addSample adds x, the count read by its time, to a spell's samples,
// whose last was appended at mark: as a sample of its own once sampleGap
// has passed since mark, else in place of the last, so that the samples
// are at least sampleGap apart but the last is always the latest. It
// returns the samples and the new mark. Measured from the last sample's
// own time instead, reads that come more often than sampleGap (every
// 17 ms at 115200, where data comes in 16 ms bursts) would only ever
// move the last sample on, and a spell of seconds would keep two or
// three.
func addSample(spell []Sample, mark time.Time, x Sample) ([]Sample, time.Time) {
	if k := len(spell); k > 0 && x.T.Sub(mark) < sampleGap {
		spell[k-1] = x
		return spell, mark
	}
	return append(spell, x), x.T
}

// endSpell adds the spell of reading that ends now to the rate.
func (r *reader) endSpell() {
	r.rate.add(r.began, time.Now(), r.spell)
	r.spell = r.spell[:0]
}

// rateAcc adds up the steady part of spells of reading.
type rateAcc struct {
	bytes   float64
	seconds float64
	spells  []Spell
}

// add fits the samples of the second half of the spell from began to
// ended, if it lasted MinSpell.
func (a *rateAcc) add(began, ended time.Time, spell []Sample) {
	d := ended.Sub(began)
	if d < MinSpell {
		return
	}
	mid := began.Add(d / 2)
	i := 0
	for i < len(spell) && spell[i].T.Before(mid) {
		i++
	}
	half := spell[i:]
	if len(half) < 3 {
		return
	}
	r, err := Fit(half, half[0].N, half[len(half)-1].N)
	if err != nil {
		return
	}
	a.bytes += r.BytesPerSec * r.Window.Seconds()
	a.seconds += r.Window.Seconds()
	a.spells = append(a.spells, Spell{half[0].T, r.Window, r.BytesPerSec})
}

func (a rateAcc) perSec() float64 {
	if a.seconds == 0 {
		return 0
	}
	return a.bytes / a.seconds
}
