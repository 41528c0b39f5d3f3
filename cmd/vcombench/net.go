package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vcomd/vcomd/internal/benchrig"
	"github.com/vcomd/vcomd/internal/ttybench"
)

// netEnds is a port served on the network, opened as its two users open
// it: the client over TCP, the program on a pty.
type netEnds struct{ client, program ttybench.End }

// openNet opens the program's end at link and passes a byte each way
// between it and client, so that each is known to be connected on the far
// side; the close goes on c.
func openNet(ctx context.Context, client ttybench.End, link string, c *cleanup) (netEnds, error) {
	program, err := ttybench.Open(link, 115200)
	if err != nil {
		return netEnds{}, err
	}
	c.add(program.Close)
	e := netEnds{client, program}
	if err := ttybench.Sync(ctx, client, program, syncTimeout); err != nil {
		return netEnds{}, err
	}
	if err := ttybench.Sync(ctx, program, client, syncTimeout); err != nil {
		return netEnds{}, err
	}
	return e, nil
}

// servedVcomd starts a daemon of one pair a0:b0 at timing off with a0
// served at scheme://127.0.0.1:0, and returns the address it bound and
// the link of b0, where the program goes.
func (r *runner) servedVcomd(ctx context.Context, scheme string, c *cleanup) (addr, link string, err error) {
	v, err := r.startVcomd(ctx, 1, "off", c, "a0="+scheme+"://127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	url, ok := v.Served["a0"]
	if !ok {
		return "", "", fmt.Errorf("vcomd announced no address for a0 (announced %v)", v.Served)
	}
	addr, err = benchrig.HostPort(url)
	return addr, v.Pairs[0].B, err
}

// netRaw measures raw TCP: vcomd --serve a0=socket://, the program on
// b0, against socat bridging a pty to tcp-listen.
func (r *runner) netRaw(ctx context.Context) ([]row, error) {
	return r.netRows(ctx, netSide{what: "raw TCP", peer: "socat", rtTarget: 1.0, start: r.rawEnds})
}

// rawEnds starts a served vcomd and a socat tcp-listen, whose stops go
// on c, and opens both; socat takes one client only.
func (r *runner) rawEnds(ctx context.Context, c *cleanup) (v, s netEnds, err error) {
	vAddr, vLink, err := r.servedVcomd(ctx, "socket", c)
	if err != nil {
		return v, s, err
	}
	d, err := r.dir()
	if err != nil {
		return v, s, err
	}
	st, err := benchrig.StartSocatTCP(ctx, r.socat, d)
	if err != nil {
		return v, s, err
	}
	c.add(st.Stop)
	dial := func(addr string) (ttybench.End, func() error, error) {
		p, err := ttybench.DialTCP(ctx, addr, syncTimeout)
		if err != nil {
			return nil, nil, err
		}
		return p, p.Close, nil
	}
	return connectBoth(ctx, c, dial, [2]served{{"vcomd", vAddr, vLink}, {"socat", st.Addr, st.Link}})
}

// served is where a side's client connects and its program opens.
type served struct{ who, addr, link string }

// connectBoth connects a client to each side with dial and opens each
// program's end; the closes go on c.
func connectBoth(ctx context.Context, c *cleanup, dial func(addr string) (ttybench.End, func() error, error), sides [2]served) (v, s netEnds, err error) {
	out := [2]*netEnds{&v, &s}
	for i, x := range sides {
		client, closer, err := dial(x.addr)
		if err != nil {
			return v, s, fmt.Errorf("%s: %w", x.who, err)
		}
		c.add(closer)
		if *out[i], err = openNet(ctx, client, x.link, c); err != nil {
			return v, s, fmt.Errorf("%s: %w", x.who, err)
		}
	}
	return v, s, nil
}

// netRFC2217 measures RFC 2217: vcomd --serve a0=rfc2217://, the program
// on b0, against ser2net serving one end of another vcomd pair (timing
// off), the program on its other end. Both clients are package rfc2217's.
//
// Why a vcomd pair under ser2net and not a socat one: the program then
// opens the same kind of pty, through the same pty front, on both sides,
// so what differs is only what stands between the socket and the UART:
// vcomd's network front, or ser2net and one more pty crossed. The extra
// pty is ser2net's own cost: it serves devices, and needs one.
func (r *runner) netRFC2217(ctx context.Context) ([]row, error) {
	return r.netRows(ctx, netSide{what: "RFC 2217", peer: "ser2net", start: r.rfc2217Ends})
}

// rfc2217Ends starts a served vcomd, and ser2net on another vcomd's pair,
// whose stops go on c, and opens both.
func (r *runner) rfc2217Ends(ctx context.Context, c *cleanup) (v, s netEnds, err error) {
	vAddr, vLink, err := r.servedVcomd(ctx, "rfc2217", c)
	if err != nil {
		return v, s, err
	}
	under, err := r.startVcomd(ctx, 1, "off", c)
	if err != nil {
		return v, s, err
	}
	d, err := r.dir()
	if err != nil {
		return v, s, err
	}
	sn, err := benchrig.StartSer2net(ctx, benchrig.Ser2netConfig{Bin: r.ser2net, Dir: d, Device: under.Pairs[0].A})
	if err != nil {
		return v, s, err
	}
	c.add(sn.Stop)
	dial := func(addr string) (ttybench.End, func() error, error) {
		p, err := ttybench.DialRFC2217(ctx, addr)
		if err != nil {
			return nil, nil, err
		}
		return p, p.Close, nil
	}
	return connectBoth(ctx, c, dial, [2]served{{"vcomd", vAddr, vLink}, {"ser2net", sn.Addr, under.Pairs[0].B}})
}

// netSide says what a network step compares.
type netSide struct {
	what, peer string
	// rtTarget, when not zero, is the most the p50 round trip may be, as
	// a ratio to the peer's.
	rtTarget float64
	// start starts both sides' programs, their stops going on c, and
	// connects and opens their ends.
	start func(ctx context.Context, c *cleanup) (v, s netEnds, err error)
}

// netRows measures vcomd's side and the peer's alternately, repetition by
// repetition: throughput from the client to the program, back, and both
// ways at once (at least the peer's: 1.0×), then 1-byte round trips from
// the client, echoed by the program, in blocks. Each of these four starts
// on fresh programs and connections, so that a line that loses data or
// stalls fails its own row (FAIL, the error in the log) and leaves the
// others measured.
func (r *runner) netRows(ctx context.Context, side netSide) ([]row, error) {
	p := r.plan
	var rows []row
	for _, dir := range []struct {
		what       string
		back, both bool
	}{
		{what: "client to program"},
		{what: "program to client", back: true},
		{what: "both ways at once, sum", both: true},
	} {
		var vr, sr []float64
		measure := fmt.Sprintf("%s throughput, vs %s, %s (MB/s, median of %d × %d MiB, %d KiB writes)", side.what, side.peer, dir.what, p.reps, p.netTotal>>20, p.chunk>>10)
		failed, err := r.netBlock(ctx, side, measure, func(v, s netEnds) (err error) {
			vr, sr, err = alternate(p.reps, side.peer, v, s, func(e netEnds) (float64, error) {
				from, to := e.client, e.program
				if dir.back {
					from, to = to, from
				}
				bps, err := ttybench.Throughput(ctx, from, to, p.netTotal, p.chunk, dir.both)
				return bps / 1e6, err
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("throughput %s: %w", dir.what, err)
		}
		if failed != nil {
			rows = append(rows, *failed)
			continue
		}
		fmt.Fprintf(r.log, "  %s: vcomd %.1f MB/s, %s %.1f MB/s\n", dir.what, vr, side.peer, sr)
		vm, sm := ttybench.Median(vr), ttybench.Median(sr)
		rows = append(rows, row{
			measure: measure,
			vcomd:   fmt.Sprintf("%.1f", vm), socat: fmt.Sprintf("%.1f", sm), peer: side.peer,
			ratio: ratio(vm, sm), target: "≥ 1.0×", verdict: atLeast(vm/sm, 1.0, "×"),
		})
	}
	var vb, sb [][]time.Duration
	trip := func(q float64, n int) string {
		return fmt.Sprintf("%s 1-byte round trip p%.0f, vs %s, client to program and back (µs, %d samples)", side.what, q, side.peer, n)
	}
	failed, err := r.netBlock(ctx, side, trip(50, p.trips/p.reps*p.reps), func(v, s netEnds) (err error) {
		vb, sb, err = alternate(p.reps, side.peer, v, s, func(e netEnds) ([]time.Duration, error) {
			return ttybench.RoundTrip(ctx, e.client, e.program, 100, p.trips/p.reps)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("round trip: %w", err)
	}
	if failed != nil {
		return append(rows, *failed), nil
	}
	var limits map[float64]float64
	if side.rtTarget != 0 {
		limits = map[float64]float64{50: side.rtTarget}
	}
	return append(rows, tripRows(r.log, vb, sb, side.peer, limits, trip)...), nil
}

// netBlock runs measure on fresh ends. A measurement that fails on one
// side (data arriving corrupt, a line that stalls) is no error but a FAIL
// row, measure its name, saying whose, the error in the log; a failure to
// start or connect is an error.
func (r *runner) netBlock(ctx context.Context, side netSide, measure string, run func(v, s netEnds) error) (failed *row, err error) {
	var c cleanup
	defer c.run(&err)
	v, s, err := side.start(ctx, &c)
	if err != nil {
		return nil, err
	}
	err = run(v, s)
	var se *sideError
	if !errors.As(err, &se) || ctx.Err() != nil {
		return nil, err
	}
	fmt.Fprintf(r.log, "  FAIL: %s: %v\n", measure, err)
	x := row{measure: measure, vcomd: "–", socat: "–", peer: side.peer, verdict: "**FAIL**", fail: true}
	what := "failed (see the log)"
	if errors.Is(err, ttybench.ErrCorrupt) {
		what = "data corrupt"
	}
	cell := fmt.Sprintf("**%s** in repetition %d", what, se.rep)
	if se.who == "vcomd" {
		x.vcomd = cell
	} else {
		x.socat = cell
	}
	return &x, nil
}
