// Command vcombench measures vcomd beside socat on this machine, in one
// run, and prints the results as a Markdown table: throughput and 1-byte
// round-trip latency at timing off, the accuracy of realistic timing, the
// CPU of an idle daemon, memory per idle port and ports created per
// second. Where socat can do the same thing the table gives vcomd's figure
// as a ratio to socat's, and each row says whether it meets the target of
// issue 6.
//
// Usage, from inside the vcomd module:
//
//	go run ./cmd/vcombench [-short] [-only LIST] [-vcomd BIN] [-socat BIN]
//
// It builds vcomd from the working tree (unless -vcomd names a binary),
// needs socat in $PATH, and stops every process it starts. A full run
// takes about two and a half minutes on two cores; -short about 20 s.
// docs/BENCHMARKS.md records a run and how each figure is measured.
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
	only := fs.String("only", "", "comma-separated `steps` to run, of: "+strings.Join(stepNames, ","))
	vcomdBin := fs.String("vcomd", "", "vcomd `binary` to measure (default: build ./cmd/vcomd of the working tree)")
	socatBin := fs.String("socat", "", "socat `binary` (default: socat in $PATH)")
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
	if err := bench(ctx, p, steps, *vcomdBin, *socatBin, fs.Args(), stdout, stderr); err != nil {
		if ctx.Err() != nil {
			// Say why everything was cancelled: a signal, most likely.
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		fmt.Fprintf(stderr, "vcombench: %v\n", err)
		return 1
	}
	return 0
}

// chooseSteps turns -only into the steps to run, all of them by default.
func chooseSteps(only string) ([]string, error) {
	if only == "" {
		return stepNames, nil
	}
	want := map[string]bool{}
	for s := range strings.SplitSeq(only, ",") {
		if !slices.Contains(stepNames, s) {
			return nil, fmt.Errorf("-only: unknown step %q; the steps are %s", s, strings.Join(stepNames, ", "))
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

// bench finds or builds the two programs and runs the steps.
func bench(ctx context.Context, p plan, steps []string, vcomdBin, socatBin string, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	if socatBin == "" {
		var err error
		if socatBin, err = benchrig.LookSocat(); err != nil {
			return err
		}
	}
	socatVersion, err := benchrig.SocatVersion(ctx, socatBin)
	if err != nil {
		return err
	}
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
	r := &runner{plan: p, vcomd: vcomdBin, socat: socatBin, tmp: tmp, log: stderr}
	rep := report{machine: describeMachine(socatVersion), plan: p}
	if l := rep.machine.loadBefore; busy(l) {
		fmt.Fprintf(stderr, "warning: load average %s: other work on this machine will skew the figures\n", l)
	}
	for _, name := range steps {
		fmt.Fprintf(stderr, "== %s\n", name)
		rows, err := r.step(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rep.rows = append(rep.rows, rows...)
	}
	rep.write(stdout)
	return nil
}
