package ttybench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// stallTimeout is how long any one read or write may wait before the line
// counts as stalled and the measurement fails.
const stallTimeout = 10 * time.Second

// period is the length of the test pattern: a prime, so that the pattern
// never lines up with write sizes and a shifted or repeated chunk shows.
const period = 65521

// pattern returns the test data: period distinct-looking bytes, followed
// by the first extra of them again, so that any window of up to extra
// bytes starting at offset%period is one slice.
func pattern(extra int) []byte {
	b := make([]byte, period+extra)
	for i := range b {
		j := i % period
		b[i] = byte(j*7 ^ j>>8)
	}
	return b
}

// noise returns n bytes from a fixed pseudo-random sequence (xorshift), in
// which any 16 bytes in a row occur once.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x >> 32)
	}
	return b
}

// Throughput sends total bytes from a to b in writes of chunk bytes, and
// with both as many from b to a at the same time, checks every byte that
// arrives, and returns the bytes per second delivered, both directions
// added together: total times the directions, over the time from the first
// write to the last byte read.
func Throughput(ctx context.Context, a, b End, total, chunk int, both bool) (float64, error) {
	src := pattern(chunk)
	dirs := [][2]End{{a, b}}
	if both {
		dirs = append(dirs, [2]End{b, a})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		if err == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			cancel() // stop the other directions
		}
	}
	var senders, receivers sync.WaitGroup
	t0 := time.Now()
	for _, d := range dirs {
		senders.Go(func() { fail(send(ctx, d[0], src, total, chunk)) })
		receivers.Go(func() { fail(receive(ctx, d[1], src, total, chunk)) })
	}
	receivers.Wait()
	elapsed := time.Since(t0)
	senders.Wait()
	if first != nil {
		return 0, first
	}
	return float64(total*len(dirs)) / elapsed.Seconds(), nil
}

// send writes total bytes of the pattern in writes of at most chunk.
func send(ctx context.Context, p End, src []byte, total, chunk int) error {
	for off := 0; off < total; {
		n := min(chunk, total-off)
		s := off % period
		if err := p.write(ctx, src[s:s+n], stallTimeout); err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", off, total, err)
		}
		off += n
	}
	return nil
}

// receive reads total bytes, in reads of at most chunk, and checks that
// they are the pattern.
func receive(ctx context.Context, p End, src []byte, total, chunk int) error {
	buf := make([]byte, chunk)
	for off := 0; off < total; {
		n, err := p.read(ctx, buf[:min(chunk, total-off)], stallTimeout)
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", off, total, err)
		}
		s := off % period
		if !bytes.Equal(buf[:n], src[s:s+n]) {
			return mismatch(p.Name(), off, buf[:n], src[s:s+n])
		}
		off += n
	}
	return nil
}

// ErrCorrupt is a measurement that read other bytes than were sent: the
// line lost, added or changed some.
var ErrCorrupt = errors.New("data corrupt")

// mismatch describes where a read differs from what was sent.
func mismatch(name string, off int, got, want []byte) error {
	i := 0
	for i < len(got) && got[i] == want[i] {
		i++
	}
	// Where the received bytes are found in the pattern tells whether
	// bytes were lost (found later) or repeated (found earlier).
	where := "not found in the pattern"
	if k := bytes.Index(pattern(0)[:period], got[i:min(len(got), i+8)]); k >= 0 {
		where = fmt.Sprintf("pattern offset %d, expected %d", k, (off+i)%period)
	}
	return fmt.Errorf("%w: %s: byte %d (read of %d at %d) is %#x, want %#x; what follows is at %s", ErrCorrupt, name, off+i, len(got), off, got[i], want[i], where)
}

// RoundTrip sends one byte at a time from a, which b echoes back, and
// returns how long each of n round trips took, after warmup trips that
// are not counted. The next byte leaves only when the last one is back.
func RoundTrip(ctx context.Context, a, b End, warmup, n int) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	echoed := make(chan error, 1)
	go func() { echoed <- echo(ctx, b, warmup+n) }()
	out := make([]time.Duration, 0, n)
	one, back := make([]byte, 1), make([]byte, 1)
	for i := range warmup + n {
		one[0] = byte(i)
		t0 := time.Now()
		if err := a.write(ctx, one, stallTimeout); err != nil {
			return nil, fmt.Errorf("round trip %d: %w", i, err)
		}
		if _, err := a.read(ctx, back, stallTimeout); err != nil {
			return nil, fmt.Errorf("round trip %d: %w", i, err)
		}
		d := time.Since(t0)
		if back[0] != one[0] {
			return nil, fmt.Errorf("round trip %d: sent %#x, %#x came back", i, one[0], back[0])
		}
		if i >= warmup {
			out = append(out, d)
		}
	}
	// Every byte came back, so the echo has finished.
	if err := <-echoed; err != nil {
		return nil, err
	}
	return out, nil
}

// echo writes back each of n bytes as it arrives.
func echo(ctx context.Context, p End, n int) error {
	b := make([]byte, 1)
	for i := range n {
		if _, err := p.read(ctx, b, stallTimeout); err != nil {
			return fmt.Errorf("echo %d: %w", i, err)
		}
		if err := p.write(ctx, b, stallTimeout); err != nil {
			return fmt.Errorf("echo %d: %w", i, err)
		}
	}
	return nil
}

// Rate is a measured line rate.
type Rate struct {
	// BytesPerSec is the line's pace in the window: the characters it
	// carried, delivered or lost, per second.
	BytesPerSec float64
	// Window is the time over which it was measured, Bytes how many
	// characters the line carried in it.
	Window time.Duration
	Bytes  int
	// Total is how many characters were sent in all, Lost how many of
	// them never arrived: at realistic timing a receiver whose buffers
	// overflow loses them, as hardware does.
	Total, Lost int
}

// A wall-clock test takes a measured rate for the line's pace (paced, not
// instant) from PacedMin to PacedMax times the nominal rate: that much a
// loaded 2-core machine holds, where one late wake-up of a reader moves
// the figure by percents. Precise pacing is asserted in virtual time.
const (
	PacedMin = 0.8
	PacedMax = 1.25
)

// Paced reports whether r is from PacedMin to PacedMax times expected.
func (r Rate) Paced(expected float64) bool {
	ratio := r.BytesPerSec / expected
	return ratio >= PacedMin && ratio <= PacedMax
}

// LineRate measures the pace at which a line carries characters when its
// sender always has data waiting. It writes enough for the line to run for
// about d/0.9 at the expected rate, all at once (the tty holds what the
// line has not taken yet), and fits a line through the times of the reads
// on b from the one that brings the total past 5 % to the last that stays
// within 95 %: the line's start and its last character, which waits out
// the receiver's character timeout, stay outside the window. Every byte
// is checked; bytes that never arrive are counted in Lost, found by where
// the data resumes, and still count as carried, since they took their
// time on the line.
func LineRate(ctx context.Context, a, b *Port, expected float64, d time.Duration) (Rate, error) {
	total := max(64, int(expected*d.Seconds()/0.9))
	const chunk = 4096
	// Not the periodic pattern: however much is lost, the data that
	// follows is found at one place only.
	src := noise(total + chunk + resyncLen)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		for off := 0; off < total; off += chunk {
			if err := a.write(ctx, src[off:min(total, off+chunk)], stallTimeout); err != nil {
				sent <- fmt.Errorf("after %d of %d bytes: %w", off, total, err)
				return
			}
		}
		sent <- nil
	}()

	t := tracker{src: src}
	samples := make([]Sample, 0, total/8+16)
	buf := make([]byte, chunk)
	sending := true
	for t.pos+len(t.pend) < total {
		timeout := stallTimeout
		if !sending {
			// All is written: what has not come within a second was
			// lost at the very end, too late to find the data again.
			timeout = time.Second
		}
		n, err := b.read(ctx, buf, timeout)
		if errors.Is(err, errTimeout) && !sending {
			t.lost += total - t.pos - len(t.pend)
			t.pos, t.pend = total, nil
			samples = append(samples, Sample{time.Now(), t.pos})
			break
		}
		if err != nil {
			return Rate{}, fmt.Errorf("after %d of %d bytes: %w", t.pos, total, err)
		}
		if err := t.add(buf[:n]); err != nil {
			return Rate{}, fmt.Errorf("%s: %w", b.path, err)
		}
		if len(t.pend) == 0 {
			samples = append(samples, Sample{time.Now(), t.pos})
		}
		if sending {
			select {
			case err := <-sent:
				if err != nil {
					return Rate{}, err
				}
				sending = false
			default:
			}
		}
	}
	if sending {
		// Everything arrived, so everything was written.
		if err := <-sent; err != nil {
			return Rate{}, err
		}
	}
	r, err := Fit(samples, total*5/100, total*95/100)
	if err != nil {
		return Rate{}, fmt.Errorf("%d bytes in %d reads: %w", total, len(samples), err)
	}
	r.Total, r.Lost = total, t.lost
	return r, nil
}

// resyncLen is how many received bytes locate a point in the data after a
// loss.
const resyncLen = 16

// tracker follows where received bytes stand in the data sent.
type tracker struct {
	src  []byte
	pos  int    // bytes of src accounted for, received or lost
	lost int    // of which lost
	pend []byte // received, too few yet to say where they stand
}

// add accounts for bytes just received: those that follow on from pos
// advance it; at a difference, the bytes lost are those up to where the
// next resyncLen received bytes are found in src.
func (t *tracker) add(b []byte) error {
	t.pend = append(t.pend, b...)
	for len(t.pend) > 0 {
		rest := t.src[t.pos:]
		m := 0
		for m < len(t.pend) && m < len(rest) && t.pend[m] == rest[m] {
			m++
		}
		t.pos, t.pend = t.pos+m, t.pend[m:]
		if len(t.pend) < resyncLen {
			return nil // all matched, or too few to find where they resume
		}
		gap := bytes.Index(rest[m:], t.pend[:resyncLen])
		if gap < 0 {
			return fmt.Errorf("%d bytes into the data, %q... arrived, which was never sent", t.pos, t.pend[:resyncLen])
		}
		t.lost, t.pos = t.lost+gap, t.pos+gap
	}
	return nil
}

// Sample is the time of a read and how much of the data had arrived (or
// was lost) by then.
type Sample struct {
	T time.Time
	N int
}

// Fit is the slope of a least-squares line through the samples from the
// first at or past lo bytes to the last at or before hi. Not the two ends
// alone: a receiver's reads split what one interrupt delivers (the first
// byte completes the read, the rest wait for the next), so an end can
// stand a few characters early or late, which at 9600 baud is most of a
// percent over a second.
func Fit(samples []Sample, lo, hi int) (Rate, error) {
	i := 0
	for i < len(samples) && samples[i].N < lo {
		i++
	}
	j := len(samples) - 1
	for j > i && samples[j].N > hi {
		j--
	}
	if j-i < 2 {
		return Rate{}, errors.New("too few reads to time")
	}
	in := samples[i : j+1]
	at := func(x Sample) float64 { return x.T.Sub(in[0].T).Seconds() }
	var mt, mn float64
	for _, x := range in {
		mt += at(x)
		mn += float64(x.N)
	}
	mt, mn = mt/float64(len(in)), mn/float64(len(in))
	var cov, vart float64
	for _, x := range in {
		dt := at(x) - mt
		cov += dt * (float64(x.N) - mn)
		vart += dt * dt
	}
	if vart == 0 {
		return Rate{}, errors.New("every read at the same instant")
	}
	return Rate{
		BytesPerSec: cov / vart,
		Window:      in[len(in)-1].T.Sub(in[0].T),
		Bytes:       in[len(in)-1].N - in[0].N,
	}, nil
}
