package ttybench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcomd/vcomd/internal/benchrig"
)

// vcomd is the daemon built from this tree, once for all tests.
var vcomd string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "ttybench")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if vcomd, err = benchrig.BuildVcomd(context.Background(), dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// openPair starts what newPair says, opens both ends at baud and passes a
// byte each way, so that both are known to be open on the far side.
func openPair(t *testing.T, ctx context.Context, pair benchrig.Pair, baud int) (a, b *Port) {
	t.Helper()
	a, err := Open(pair.A, baud)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = Open(pair.B, baud)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := Sync(ctx, a, b, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := Sync(ctx, b, a, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func startVcomd(t *testing.T, ctx context.Context, timing string) benchrig.Pair {
	t.Helper()
	v, err := benchrig.StartVcomd(ctx, benchrig.VcomdConfig{Bin: vcomd, Dir: filepath.Join(t.TempDir(), "vcom"), Pairs: 1, Timing: timing})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Stop(); err != nil {
			t.Error(err)
		}
	})
	return v.Pairs[0]
}

// socat skips without socat, except in CI, where it fails.
func socat(t *testing.T) string {
	t.Helper()
	bin, err := benchrig.LookSocat()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return bin
}

// A few hundred KB each way at once through a vcomd pair arrive intact
// (Throughput checks every byte), and the figure is a rate.
func TestThroughputVcomd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := openPair(t, ctx, startVcomd(t, ctx, "off"), 115200)
	for _, both := range []bool{false, true} {
		bps, err := Throughput(ctx, a, b, 300<<10, 64<<10, both)
		if err != nil {
			t.Fatalf("both=%v: %v", both, err)
		}
		if bps <= 0 {
			t.Errorf("both=%v: %v bytes/s", both, bps)
		}
		t.Logf("both=%v: %.1f MB/s", both, bps/1e6)
	}
}

// The same through socat, so that the benchmark's other side works too.
func TestThroughputSocat(t *testing.T) {
	bin := socat(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	s, err := benchrig.StartSocat(ctx, benchrig.SocatConfig{Bin: bin, Dir: dir, Pairs: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	a, b := openPair(t, ctx, s.Pairs[0], 115200)
	if _, err := Throughput(ctx, a, b, 300<<10, 64<<10, true); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripVcomd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := openPair(t, ctx, startVcomd(t, ctx, "off"), 115200)
	d, err := RoundTrip(ctx, a, b, 10, 200)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 200 || Percentile(d, 50) <= 0 {
		t.Fatalf("%d samples, p50 %v", len(d), Percentile(d, 50))
	}
}

// At realistic timing, 115200 baud 8N1 carries 11520 bytes a second; a
// quarter second of it measures as paced (Rate.Paced), which is what a
// wall clock on a loaded machine can assert.
func TestLineRateVcomd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := openPair(t, ctx, startVcomd(t, ctx, ""), 115200)
	r, err := LineRate(ctx, a, b, 11520, 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.0f bytes/s over %v, ratio %.4f", r.BytesPerSec, r.Window, r.BytesPerSec/11520)
	if !r.Paced(11520) {
		t.Errorf("%.0f bytes/s over %v, want %g to %g times 11520", r.BytesPerSec, r.Window, PacedMin, PacedMax)
	}
}

func TestPercentile(t *testing.T) {
	xs := []int{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want int
	}{{50, 5}, {99, 10}, {10, 1}, {100, 10}, {1, 1}} {
		if got := Percentile(xs, c.p); got != c.want {
			t.Errorf("Percentile(%v) = %d, want %d", c.p, got, c.want)
		}
	}
	if xs[0] != 5 {
		t.Error("Percentile sorted its input")
	}
	if Median([]float64{3, 1, 2}) != 2 {
		t.Error("Median of 3, 1, 2 is not 2")
	}
}

// The tracker finds where the data resumes after a loss, however long.
func TestTrackerLoss(t *testing.T) {
	src := noise(200000)
	tr := tracker{src: src}
	// 100 bytes, then 150000 lost, then the rest in reads of 7 bytes,
	// too few for one read to find its place alone.
	if err := tr.add(src[:100]); err != nil {
		t.Fatal(err)
	}
	for off := 150100; off < len(src); off += 7 {
		if err := tr.add(src[off:min(off+7, len(src))]); err != nil {
			t.Fatal(err)
		}
	}
	if tr.pos != len(src) || tr.lost != 150000 || len(tr.pend) != 0 {
		t.Errorf("pos %d, lost %d, %d pending; want %d, 150000, 0", tr.pos, tr.lost, len(tr.pend), len(src))
	}
	if err := tr.add([]byte("never sent, at least sixteen bytes")); err == nil {
		t.Error("bytes that were never sent were accepted")
	}
}

// fit finds the rate of evenly spaced reads whatever their grouping: here
// each 8-byte interrupt comes as a read of 1 byte and a read of 7 at the
// same instant, as a pty front delivers them.
func TestFit(t *testing.T) {
	t0 := time.Now()
	var s []Sample
	for k := range 1000 {
		at := t0.Add(time.Duration(k) * 8 * time.Millisecond) // 1000 B/s
		s = append(s, Sample{at, 8*k + 1}, Sample{at.Add(50 * time.Microsecond), 8*k + 8})
	}
	r, err := Fit(s, 400, 7600)
	if err != nil {
		t.Fatal(err)
	}
	if e := r.BytesPerSec/1000 - 1; e < -0.001 || e > 0.001 {
		t.Errorf("fit = %.2f B/s, want 1000 within 0.1 %%", r.BytesPerSec)
	}
	if _, err := Fit(s[:2], 0, 10); err == nil {
		t.Error("two samples were enough to fit")
	}
}

// The checker takes the sequence however it is split, and finds a byte
// lost, added or changed where it happened.
func TestChecker(t *testing.T) {
	src := make([]byte, 100000)
	s := newSeq(3)
	s.fill(src)
	c := newChecker(3)
	for off := 0; off < len(src); off += 777 {
		if err := c.check(src[off:min(off+777, len(src))]); err != nil {
			t.Fatal(err)
		}
	}
	if c.n != int64(len(src)) {
		t.Fatalf("checked %d bytes, want %d", c.n, len(src))
	}
	other := make([]byte, 64)
	o := newSeq(4)
	o.fill(other)
	if bytes.Equal(other, src[:64]) {
		t.Error("seeds 3 and 4 give the same data")
	}
	for name, bad := range map[string][]byte{
		"lost":    slices.Concat(src[:5000], src[5001:6000]),
		"added":   slices.Concat(src[:5000], []byte{src[4999]}, src[5000:6000]),
		"changed": slices.Concat(src[:5000], []byte{src[5000] ^ 1}, src[5001:6000]),
	} {
		c := newChecker(3)
		err := c.check(bad)
		if err == nil || !strings.Contains(err.Error(), "byte 5000 ") || c.n != 5000 {
			t.Errorf("%s: %v, %d checked; want an error at byte 5000", name, err, c.n)
		}
	}
}

// A stream both ways through a vcomd pair, one reader pausing, arrives
// whole; a token passes once, and one that goes nowhere (a pair's end
// does not hear itself) is reported lost.
func TestStreamVcomd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := openPair(t, ctx, startVcomd(t, ctx, "off"), 115200)
	if err := a.SetRTSCTS(true); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	time.AfterFunc(600*time.Millisecond, func() { close(stop) })
	res := Stream(ctx, []Flow{
		{From: a, To: b, Seed: 1, Pauses: []Pause{{At: 100 * time.Millisecond, Len: 300 * time.Millisecond}}},
		{From: b, To: a, Seed: 2},
	}, stop, 10*time.Second)
	for i, r := range res {
		if r.Err != nil || r.Sent == 0 || r.Received != r.Sent {
			t.Errorf("flow %d: %+v", i, r)
		}
	}
	ok, extra, err := Pass(ctx, a, b, []byte("<token>"), 5*time.Second)
	if err != nil || !ok || extra != 0 {
		t.Errorf("Pass = %v, %d, %v; want the token alone", ok, extra, err)
	}
	if ok, _, err := Pass(ctx, a, a, []byte("<echo?>"), 300*time.Millisecond); ok || err != nil {
		t.Errorf("Pass to itself = %v, %v; want lost", ok, err)
	}
}

// Reads that come more often than sampleGap still leave a sample every
// sampleGap, the last one at the latest read.
func TestAddSample(t *testing.T) {
	t0 := time.Now()
	var spell []Sample
	mark := t0
	const every = 17 * time.Millisecond // reads at 115200, in 16 ms bursts
	n := 0
	for at := time.Duration(0); at <= 2*time.Second; at += every {
		n += 196
		spell, mark = addSample(spell, mark, Sample{t0.Add(at), n})
	}
	// A sample every two reads, 34 ms apart: at most a read after sampleGap.
	if k := len(spell); k < 50 || k > 101 {
		t.Fatalf("%d samples over 2 s of reads every %v, want one every %v to %v", k, every, sampleGap, sampleGap+every)
	}
	for i := 1; i < len(spell)-1; i++ {
		if d := spell[i].T.Sub(spell[i-1].T); d < sampleGap {
			t.Fatalf("samples %d and %d only %v apart", i-1, i, d)
		}
	}
	if last := spell[len(spell)-1]; last.N != n {
		t.Fatalf("last sample has %d bytes, want the latest read's %d", last.N, n)
	}
}

// The rate of the steady half of a spell of reading is the line's.
func TestRateAcc(t *testing.T) {
	t0 := time.Now()
	var spell []Sample
	for k := range 400 {
		// A backlog of 5000 bytes first, then 1000 bytes a second.
		spell = append(spell, Sample{t0.Add(time.Duration(k) * 10 * time.Millisecond), 5000 + 10*k})
	}
	var a rateAcc
	a.add(t0, t0.Add(4*time.Second), spell)
	a.add(t0, t0.Add(time.Second), spell[:100]) // too short to count
	if e := a.perSec()/1000 - 1; e < -0.001 || e > 0.001 {
		t.Errorf("rate %.1f B/s, want 1000", a.perSec())
	}
	if len(a.spells) != 1 || !a.spells[0].At.Equal(spell[200].T) || a.spells[0].Window != 1990*time.Millisecond {
		t.Errorf("spells %+v, want the one timed, from its middle sample for 1.99 s", a.spells)
	}
	if (rateAcc{}).perSec() != 0 {
		t.Error("no spell gave a rate")
	}
}

// A read that differs from what was sent is ErrCorrupt, saying where and
// whether bytes were lost.
func TestMismatchCorrupt(t *testing.T) {
	src := pattern(0)
	got := slices.Concat(src[100:110], src[111:120]) // byte 110 lost
	err := mismatch("x", 100, got, src[100:119])
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "byte 110 ") || !strings.Contains(err.Error(), "pattern offset 111, expected 110") {
		t.Errorf("mismatch = %v", err)
	}
}

// Quiet drops what has arrived and what arrives until the line is quiet:
// of three bytes sent, what Quiet did not drop is still there to read,
// before a byte sent after it, whenever each arrived.
func TestQuiet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := openPair(t, ctx, startVcomd(t, ctx, "off"), 115200)
	if err := a.write(ctx, []byte("abc"), time.Second); err != nil {
		t.Fatal(err)
	}
	n, err := Quiet(ctx, b, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := a.write(ctx, []byte("Z"), time.Second); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	for !bytes.HasSuffix(got, []byte("Z")) {
		k, err := b.read(ctx, buf, 10*time.Second)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, buf[:k]...)
	}
	left := got[:len(got)-1]
	if n+len(left) != 3 || !bytes.HasSuffix([]byte("abc"), left) {
		t.Errorf("Quiet dropped %d bytes and %q was left of \"abc\"", n, left)
	}
}
