// Command vcombench measures vcomd beside socat on this machine, in one
// run, and prints the results as a Markdown table: throughput and 1-byte
// round-trip latency at timing off, the same for a port served on the
// network (raw TCP against socat's tcp-listen, RFC 2217 against ser2net),
// the accuracy of realistic timing from 300 baud to 4 Mbaud, the CPU of an
// idle daemon, memory per idle port and ports created per second. Where
// socat (or ser2net) can do the same thing the table gives vcomd's figure
// as a ratio to its, and each row says whether it meets the target of
// issue 6 (issue 12 for the network, issue 13 for the costs).
//
// Beside the figures of the pair steps go rows that say why they are what
// they are: the CPU each program used per MB moved, its context switches
// per MB and per round trip (all threads; the bench's own side is not
// counted), the daemon's CPU while one pair streams one way at each rate
// (at 115200 beside the floor: vcombench itself run again as a program
// that only wakes every 16 ms on a timer and writes the characters of
// that much line to a pty master), and the driver's work counters (ISR passes and DPC runs per request, per
// round trip, per KB). The header says how much other work the machine
// had while each step ran.
//
// Named with -only, it also runs resilience checks, each PASS or FAIL:
// reopen (10 000 opens of one end of a pair, tokens passing, the daemon's
// memory and open files not growing), sighup (reloads while a pair
// streams, no byte lost) and soak (64 pairs streaming both ways with
// RTS/CTS for 10 minutes, readers pausing until flow control holds the
// senders; every byte checked, no overrun). "-only resilience" runs the
// three.
//
// Usage, from inside the vcomd module:
//
//	go run ./cmd/vcombench [-short] [-only LIST] [-duration D] [-seed N] [-vcomd BIN] [-socat BIN] [-ser2net BIN]
//
// It builds vcomd from the working tree (unless -vcomd names a binary),
// needs socat in $PATH for the steps that compare, and ser2net 4.x (in
// $PATH or /usr/sbin) for net-rfc2217, and stops every process it starts.
// A full run of the comparing steps takes about four minutes on two cores;
// -short about 1 ½ minutes. It exits 1 when a measurement could not be made or a
// resilience check failed. docs/BENCHMARKS.md records runs and how each
// figure is measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/vcomd/vcomd/internal/benchrig"
)

func main() {
	if spec, ok := os.LookupEnv(benchrig.FloorEnv); ok {
		// Run by the timing step as the floor program (floorCPU).
		if err := runFloor(spec, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "vcombench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: exit status 2 for bad flags, 1 when a
// measurement could not be made.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vcombench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	short := fs.Bool("short", false, "a shorter run: less data, fewer samples, 100 ports instead of 1000 for the scale figures")
	only := fs.String("only", "", "comma-separated `steps` to run, of: "+strings.Join(compareSteps, ",")+
		" (the default), "+strings.Join(resilienceSteps, ",")+", or resilience for the last three")
	duration := fs.Duration("duration", 0, "how long the soak streams (default 10m, 1m with -short; at least "+minSoak.String()+")")
	seed := fs.Uint64("seed", 1, "seed of the soak readers' pauses")
	vcomdBin := fs.String("vcomd", "", "vcomd `binary` to measure (default: build ./cmd/vcomd of the working tree)")
	socatBin := fs.String("socat", "", "socat `binary` (default: socat in $PATH)")
	ser2netBin := fs.String("ser2net", "", "ser2net 4.x `binary` (default: ser2net in $PATH or /usr/sbin)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	steps, err := chooseSteps(*only)
	if err != nil {
		fmt.Fprintf(stderr, "vcombench: %v\n", err)
		return 2
	}
	p := fullPlan
	if *short {
		p = shortPlan
	}
	if *duration != 0 {
		if *duration < minSoak {
			fmt.Fprintf(stderr, "vcombench: -duration %v: the soak needs at least %v, for every reader to pause long\n", *duration, minSoak)
			return 2
		}
		p.soak = *duration
	}
	b := benchArgs{plan: p, steps: steps, vcomd: *vcomdBin, socat: *socatBin, ser2net: *ser2netBin, seed: *seed}
	if err := bench(ctx, b, fs.Args(), stdout, stderr); err != nil {
		if ctx.Err() != nil {
			// Say why everything was cancelled: a signal, most likely.
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		fmt.Fprintf(stderr, "vcombench: %v\n", err)
		return 1
	}
	return 0
}

// chooseSteps turns -only into the steps to run, those that compare with
// socat by default.
func chooseSteps(only string) ([]string, error) {
	if only == "" {
		return compareSteps, nil
	}
	want := map[string]bool{}
	for s := range strings.SplitSeq(only, ",") {
		if s == "resilience" {
			for _, r := range resilienceSteps {
				want[r] = true
			}
			continue
		}
		if !slices.Contains(stepNames, s) {
			return nil, fmt.Errorf("-only: unknown step %q; the steps are %s, and resilience", s, strings.Join(stepNames, ", "))
		}
		want[s] = true
	}
	// Always in the usual order, whatever the order given.
	var out []string
	for _, s := range stepNames {
		if want[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// busy reports whether a load average says the machine has other work:
// more than half a core's worth over the last minute.
func busy(loadavg string) bool {
	var one float64
	_, err := fmt.Sscan(loadavg, &one)
	return err == nil && one > 0.5
}

// benchArgs is what the flags chose.
type benchArgs struct {
	plan                  plan
	steps                 []string
	vcomd, socat, ser2net string // binaries; empty for the default
	seed                  uint64
}

// errChecks is a run in which a check failed: a resilience check, or a
// network step's data arriving corrupt.
var errChecks = errors.New("checks failed")

// tool is a program some steps compare vcomd with.
type tool struct {
	steps   []string // that need it
	given   string   // its binary from the flags, "" to look it up
	look    func() (string, error)
	version func(ctx context.Context, bin string) (string, error)
}

// find finds the tool and its version, if a step of steps needs it.
func (t tool) find(ctx context.Context, steps []string) (bin, version string, err error) {
	if !slices.ContainsFunc(steps, func(s string) bool { return slices.Contains(t.steps, s) }) {
		return "", "not used", nil
	}
	if bin = t.given; bin == "" {
		if bin, err = t.look(); err != nil {
			return "", "", err
		}
	}
	version, err = t.version(ctx, bin)
	return bin, version, err
}

// bench finds or builds the programs and runs the steps.
func bench(ctx context.Context, b benchArgs, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	socatBin, socatVersion, err := tool{socatSteps, b.socat, benchrig.LookSocat, benchrig.SocatVersion}.find(ctx, b.steps)
	if err != nil {
		return err
	}
	ser2netBin, ser2netVersion, err := tool{ser2netSteps, b.ser2net, benchrig.LookSer2net, benchrig.Ser2netVersion}.find(ctx, b.steps)
	if err != nil {
		return err
	}
	vcomdBin, p, steps := b.vcomd, b.plan, b.steps
	tmp, err := os.MkdirTemp("", "vcombench")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	if vcomdBin == "" {
		fmt.Fprintln(stderr, "building vcomd")
		if vcomdBin, err = benchrig.BuildVcomd(ctx, tmp); err != nil {
			return err
		}
	}
	r := &runner{plan: p, vcomd: vcomdBin, socat: socatBin, ser2net: ser2netBin, tmp: tmp, seed: b.seed, log: stderr}
	rep := report{machine: describeMachine(socatVersion, ser2netVersion), plan: p}
	if l := rep.machine.loadBefore; busy(l) {
		fmt.Fprintf(stderr, "warning: load average %s: other work on this machine will skew the figures\n", l)
	}
	for _, name := range steps {
		fmt.Fprintf(stderr, "== %s\n", name)
		m := markLoad()
		rows, err := r.step(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		l := m.end(name)
		fmt.Fprintf(stderr, "  other work: %s\n", l)
		rep.rows = append(rep.rows, rows...)
		rep.loads = append(rep.loads, l)
	}
	rep.write(stdout)
	failed := 0
	for _, x := range rep.rows {
		if x.fail {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of them", errChecks, failed)
	}
	return nil
}
