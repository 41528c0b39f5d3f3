package main

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/internal/procstat"
	"github.com/vcomd/vcomd/internal/ttybench"
	"github.com/vcomd/vcomd/ioctl"
)

func TestChooseSteps(t *testing.T) {
	got, err := chooseSteps("scale,throughput")
	if err != nil || !slices.Equal(got, []string{"throughput", "scale"}) {
		t.Errorf("chooseSteps(scale,throughput) = %v, %v; want the usual order", got, err)
	}
	if got, _ := chooseSteps(""); !slices.Equal(got, compareSteps) {
		t.Errorf("chooseSteps() = %v, want the steps that compare", got)
	}
	if got, _ := chooseSteps("soak,resilience,scale"); !slices.Equal(got, []string{"scale", "reopen", "sighup", "soak"}) {
		t.Errorf("chooseSteps(soak,resilience,scale) = %v, want scale and the resilience steps once each", got)
	}
	if _, err := chooseSteps("speed"); err == nil || !strings.Contains(err.Error(), "throughput") {
		t.Errorf("an unknown step: %v, want an error listing the steps", err)
	}
}

func TestVerdicts(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{atLeast(0.96, 0.95, "×"), "met"},
		{atLeast(0.5, 0.95, "×"), "**missed** by 0.45×"},
		{atMost(1.1, 1.1, "×"), "met"},
		{atMost(1.5, 1.1, "×"), "**missed** by 0.40×"},
		{below(0.49, 0.5, " %"), "met"},
		{within(-0.9, 1), "met"},
		{within(1.25, 1), "**missed** by 0.25 %"},
		{ratio(1, 0), "–"},
		{ratio(3, 2), "1.50×"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// Rows against another peer (ser2net, the floor program) name it in the
// peer's column, each peer once.
func TestReportPeers(t *testing.T) {
	var b bytes.Buffer
	report{machine: describeMachine("1.2.3", "4.5.6"), plan: shortPlan, rows: []row{
		{measure: "m", vcomd: "1", socat: "2"},
		{measure: "n", vcomd: "1", socat: "2", peer: "ser2net"},
		{measure: "o", vcomd: "1", socat: "2", peer: "ser2net"},
		{measure: "p", vcomd: "1", socat: "2", peer: "the floor"},
	}}.write(&b)
	if want := "| measure | vcomd | socat or ser2net or the floor | vcomd/that |"; !strings.Contains(b.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, b.String())
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	report{machine: describeMachine("1.2.3", "4.5.6"), plan: shortPlan, rows: []row{{measure: "m", vcomd: "1", socat: "2", ratio: "0.50×", verdict: "met"}}}.write(&b)
	out := b.String()
	for _, want := range []string{" socat 1.2.3; ser2net 4.5.6", "(short plan)", "| m | 1 | 2 | 0.50× | – | met |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// Without socat the command says what to install, before building or
// starting anything.
func TestNoSocat(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-short"}, &out, &errs); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !strings.Contains(errs.String(), "install the socat package") {
		t.Errorf("stderr %q does not say to install socat", errs.String())
	}
}

func TestBadFlags(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-only", "nothing"}, &out, &errs); code != 2 {
		t.Errorf("-only nothing: exit status %d, want 2", code)
	}
	if code := run(context.Background(), []string{"extra"}, &out, &errs); code == 0 {
		t.Error("an argument was accepted")
	}
	errs.Reset()
	if code := run(context.Background(), []string{"-only", "soak", "-duration", "10s"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "-duration") {
		t.Errorf("-duration 10s: exit status %d, stderr %q; want 2 and a message naming -duration", code, errs.String())
	}
}

// The resilience steps start no socat: without it they still get as far
// as building vcomd (here, a -vcomd that does not exist).
func TestResilienceWithoutSocat(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"-only", "sighup", "-vcomd", "/nonexistent/vcomd"}, &out, &errs)
	if code != 1 || strings.Contains(errs.String(), "socat") || !strings.Contains(errs.String(), "/nonexistent/vcomd") {
		t.Errorf("exit status %d, stderr %q; want 1 and the missing vcomd, not socat", code, errs.String())
	}
}

// Every reader of a soak long enough pauses long at least once, and every
// schedule stays in the stream, in order, its pauses of the two kinds.
func TestPauseSchedule(t *testing.T) {
	for seed := range uint64(200) {
		for _, d := range []time.Duration{minSoak, 10 * time.Minute} {
			ps := pauseSchedule(rand.New(rand.NewPCG(1, seed)), d)
			if countLong(ps) == 0 {
				t.Fatalf("seed %d, %v: no long pause in %v", seed, d, ps)
			}
			end := time.Duration(0)
			for i, p := range ps {
				short := p.Len >= shortMin && p.Len <= shortMax
				long := p.Len >= longMin && p.Len <= longMax
				if !short && !long || p.At < end+spellMin || p.At > end+spellMax || p.At+p.Len > d {
					t.Fatalf("seed %d, %v: pause %d %+v after one ending at %v", seed, d, i, p, end)
				}
				if i > 0 && long == (ps[i-1].Len >= longMin) {
					t.Fatalf("seed %d: pauses %d and %d are of one kind: %v", seed, i-1, i, ps)
				}
				end = p.At + p.Len
			}
		}
	}
	a := pauseSchedule(rand.New(rand.NewPCG(1, 7)), time.Minute)
	b := pauseSchedule(rand.New(rand.NewPCG(1, 7)), time.Minute)
	if !slices.Equal(a, b) {
		t.Errorf("one seed gave two schedules: %v and %v", a, b)
	}
}

// A soak's figures: the holds of each sender, the overruns of each
// receiver, and a FAIL for a sender never held.
func TestSoakRows(t *testing.T) {
	t0 := time.Now()
	mk := func(link string, holds uint64, overruns uint32) control.Port {
		var p control.Port
		p.Link = link
		p.State.Counters.TxHolds = holds
		p.State.Counters.BufferOverrunErrorCount = overruns
		return p
	}
	s := soakFigures{
		pairs: 1, d: time.Minute,
		flows: []flowEnds{{from: "a", to: "b", long: 1}, {from: "b", to: "a"}},
		res: []ttybench.FlowResult{{Sent: 10, Received: 10, ReadRate: soakLineRate, Spells: []ttybench.Spell{
			{At: t0.Add(3 * time.Second), Window: time.Second, BytesPerSec: 0.9 * soakLineRate},
			{At: t0.Add(9 * time.Second), Window: time.Second, BytesPerSec: 1.1 * soakLineRate},
		}}, {Sent: 5, Received: 5}},
		ports: map[string]control.Port{"a": mk("a", 3, 0), "b": mk("b", 0, 2)},
		cpu:   30, rss: 500, idle: 100, peak: rssPeak{kib: 600, samples: 60}, start: t0, wall: 10 * time.Second,
		work: ioctl.Work{ISRPasses: 2000, DPCRuns: 400, Requests: 1000},
	}
	s.sum = sumFlows(s.res)
	var log bytes.Buffer
	rows := s.rows(&log)
	if l := "slow direction a -> b: 1.0000 of the line rate over 2 spells (2s timed); spells under 0.99: 0.900 at 3s for 1s\n"; !strings.Contains(log.String(), l) {
		t.Errorf("log:\n%s\nwant the line %q", log.String(), l)
	}
	want := []struct{ figure, verdict string }{
		{"0.0 MB → 0.0 MB", "PASS"},
		{"2", "**FAIL**"},
		{"1 of 2; holds per sender min 0, median 0, max 3; 3 holds in all for 1 long pauses", "**FAIL**"},
		{"1.000, 1.000, 1.000; 1 directions not timed (no spell of reading of 2s)", "met"},
		{"30.0", "**missed** by 5.00 %"},
		{"250.0 (100 -> 600 KiB; 300.0 a port in all, 250.0 at the end)", "**missed** by 50.01 KiB"},
		{"100 / 20 per s; 2.00 / 0.40 per request (1000 requests)", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		if rows[i].vcomd != w.figure || rows[i].verdict != w.verdict || rows[i].fail != (w.verdict == "**FAIL**") {
			t.Errorf("row %d %q: %q %q, want %q %q", i, rows[i].measure, rows[i].vcomd, rows[i].verdict, w.figure, w.verdict)
		}
	}
}

// The pace row's verdict is on the direction farthest from line rate,
// either way.
func TestPaceRow(t *testing.T) {
	for _, c := range []struct {
		ratios  []float64
		verdict string
	}{
		{[]float64{0.995, 1.0, 1.004}, "met"},
		{[]float64{0.985, 1.0, 1.004}, "**missed** by 0.50 %"},
		{[]float64{1.0, 1.02}, "**missed** by 1.00 %"},
		{nil, "not measured"},
	} {
		if got := paceRow("soak", c.ratios, 0).verdict; got != c.verdict {
			t.Errorf("paceRow(%v) verdict %q, want %q", c.ratios, got, c.verdict)
		}
	}
}

// The soak's driver work is each port's counters from before to after,
// less the one request each read of them is, for the ports in both.
func TestWorkBetween(t *testing.T) {
	mk := func(link string, w ioctl.Work) control.Port {
		var p control.Port
		p.Link, p.State.Work = link, w
		return p
	}
	before := map[string]control.Port{"a": mk("a", ioctl.Work{ISRPasses: 10, DPCRuns: 2, Requests: 5}), "b": mk("b", ioctl.Work{})}
	after := map[string]control.Port{
		"a": mk("a", ioctl.Work{ISRPasses: 110, DPCRuns: 12, Requests: 26}),
		"b": mk("b", ioctl.Work{ISRPasses: 1, Requests: 1}),
		"c": mk("c", ioctl.Work{ISRPasses: 1000}),
	}
	if got, want := workBetween(before, after), (ioctl.Work{ISRPasses: 101, DPCRuns: 10, Requests: 20}); got != want {
		t.Errorf("workBetween = %+v, want %+v", got, want)
	}
}

// What a window cost, per unit: CPU as percent of a core and per MB,
// switches of both kinds, the driver's passes and runs per unit and per
// request; a program without a driver shows none.
func TestCostFigures(t *testing.T) {
	c := cost{
		wall: 2 * time.Second,
		th:   procstat.Threads{Run: 100 * time.Millisecond, Voluntary: 600, Involuntary: 50},
		work: ioctl.Work{ISRPasses: 300, DPCRuns: 100, Requests: 200}, hasWork: true,
	}
	c = c.add(c)
	if got := c.cpuPercent(); got != 5 {
		t.Errorf("cpuPercent = %v, want 5", got)
	}
	if got := c.msPerMB(4e6); got != 50 {
		t.Errorf("msPerMB = %v, want 50", got)
	}
	if got, want := c.switchesFigure(100), "13.00 (12.00 + 1.00)"; got != want {
		t.Errorf("switchesFigure = %q, want %q", got, want)
	}
	if got, want := c.workFigure(100, "per trip"), "6.00 / 2.00 per trip; per request 1.50 / 0.50 (400 requests)"; got != want {
		t.Errorf("workFigure = %q, want %q", got, want)
	}
	if got := (cost{}).workFigure(1, "per KB"); got != "–" {
		t.Errorf("workFigure without a driver = %q", got)
	}
	if got := (cost{}).cpuPercent() + (cost{}).msPerMB(0) + per(1, 0); got != 0 {
		t.Errorf("figures of nothing = %v, want 0", got)
	}
}

// A step's load: the machine's other work is read around it, and the
// report prints each step's.
func TestStepLoad(t *testing.T) {
	l := markLoad().end("latency")
	if !l.ok || l.other < 0 || l.steal < 0 || l.steal > l.other || l.before == "" || l.after == "" {
		t.Errorf("stepLoad = %+v", l)
	}
	var b bytes.Buffer
	report{machine: describeMachine("1", "2"), plan: shortPlan, loads: []stepLoad{
		{name: "throughput", other: 0.25, steal: 0.1, ok: true, before: "0.10", after: "0.80"},
		{name: "timing", before: "0.80", after: "0.90"},
	}}.write(&b)
	if want := "throughput 0.25, steal 0.10 (0.10 → 0.80); timing unknown (0.80 → 0.90)"; !strings.Contains(b.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, b.String())
	}
}

// The timing rows of a rate: the rate against theory, the daemon's CPU
// over the rate's window, and the driver's work; issue 13's target is
// held to the steady CPU's row (TestSteadyRow).
func TestTimingRows(t *testing.T) {
	c := cost{
		wall: 10 * time.Second, th: procstat.Threads{Run: 100 * time.Millisecond},
		work: ioctl.Work{ISRPasses: 10000, DPCRuns: 1000, Requests: 500}, hasWork: true,
	}
	got := ttybench.Rate{BytesPerSec: 11520, Window: 9 * time.Second, Total: 115200}
	var log bytes.Buffer
	rows := timingRows(&log, 115200, got, c)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	if rows[0].verdict != "met" || rows[0].target != "within 1 %" {
		t.Errorf("rate row %+v", rows[0])
	}
	if rows[1].vcomd != "1.00 (868 ms/MB)" || rows[1].target != "" {
		t.Errorf("CPU row %+v", rows[1])
	}
	if want := "1000 / 100 per s; 86.81 / 8.68 per KB; per request 20.00 / 2.00 (500 requests)"; rows[2].vcomd != want {
		t.Errorf("work row %q, want %q", rows[2].vcomd, want)
	}
}

// The steady CPU's row: the median window against the rate's target,
// every window beside it, and a port's half of the pair.
func TestSteadyRow(t *testing.T) {
	win := func(ms int) cost {
		return cost{wall: 2 * time.Second, th: procstat.Threads{Run: time.Duration(ms) * time.Millisecond}}
	}
	var log bytes.Buffer
	rw := steadyRow(&log, 115200, []cost{win(40), win(20), win(8)}, nil)
	if want := "1.00 (2.00, 1.00, 0.40; 0.50 a port)"; rw.vcomd != want {
		t.Errorf("figure %q, want %q", rw.vcomd, want)
	}
	if rw.target != "≤ 0.5 %" || rw.verdict != "**missed** by 0.50 %" {
		t.Errorf("target %q, verdict %q", rw.target, rw.verdict)
	}
	if !strings.Contains(rw.measure, "median of 3 windows of 2 s after 1 s") {
		t.Errorf("measure %q", rw.measure)
	}
	if rw := steadyRow(&log, 4000000, []cost{win(80), win(90), win(100)}, nil); rw.verdict != "met" {
		t.Errorf("4.50 %% at 4 Mbaud against 5 %%: %q", rw.verdict)
	}
	if rw := steadyRow(&log, 9600, []cost{win(10)}, nil); rw.target != "" {
		t.Errorf("a CPU target at 9600 baud: %q", rw.target)
	}
	lost := errors.New("byte 5000 differs")
	if rw := steadyRow(&log, 115200, []cost{win(10)}, lost); rw.verdict != "not measured" || rw.target != "≤ 0.5 %" || !strings.Contains(rw.vcomd, "byte 5000 differs") {
		t.Errorf("a failed stream: %+v", rw)
	}
}

// Every step has its function.
func TestStepFuncs(t *testing.T) {
	for _, s := range stepNames {
		if stepFuncs[s] == nil {
			t.Errorf("step %q has no function", s)
		}
	}
	if len(stepFuncs) != len(stepNames) {
		t.Errorf("%d functions for %d steps", len(stepFuncs), len(stepNames))
	}
}

// Without ser2net, net-rfc2217 says what to install before building or
// starting anything; the other steps do not look for it.
func TestNoSer2net(t *testing.T) {
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"-only", "net-rfc2217", "-ser2net", "/nonexistent/ser2net"}, &out, &errs)
	if code != 1 || !strings.Contains(errs.String(), "/nonexistent/ser2net") || strings.Contains(errs.String(), "building") {
		t.Errorf("exit status %d, stderr %q; want 1 and the missing ser2net", code, errs.String())
	}
	errs.Reset()
	code = run(context.Background(), []string{"-only", "sighup", "-ser2net", "/nonexistent/ser2net", "-vcomd", "/nonexistent/vcomd"}, &out, &errs)
	if code != 1 || strings.Contains(errs.String(), "ser2net") {
		t.Errorf("sighup: exit status %d, stderr %q; want no word of ser2net", code, errs.String())
	}
}
