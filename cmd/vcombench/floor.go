package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/internal/benchrig"
	"github.com/vcomd/vcomd/internal/ttybench"
)

// floorQuantum is the driver's streamQuantum: how often a streaming
// port's ISR goroutine wakes to hand on what the line carried since.
const floorQuantum = 16 * time.Millisecond

// runFloor is the floor program (benchrig.FloorSpec), which vcombench
// becomes when benchrig.FloorEnv is set: it opens a pty, sets it raw,
// prints the slave's path on out, and writes a burst to the master at
// every expiry of a timer re-armed as a port's ISR goroutine re-arms its
// own, until it is killed.
func runFloor(v string, out io.Writer) error {
	spec, err := benchrig.ParseFloorSpec(v)
	if err != nil {
		return err
	}
	master, slave, err := pty.Open()
	if err != nil {
		return fmt.Errorf("floor program: %w", err)
	}
	defer master.Close()
	defer slave.Close()
	// Raw, so that the line discipline neither echoes nor waits for a
	// newline; held open, so that the master's writes go on between
	// the bench's reads.
	raw, err := ttybench.Open(slave.Name(), 115200)
	if err != nil {
		return fmt.Errorf("floor program: %w", err)
	}
	defer raw.Close()
	if _, err := fmt.Fprintln(out, slave.Name()); err != nil {
		return err
	}
	fd := int(master.Fd())
	burst := make([]byte, spec.Chars)
	t := time.NewTimer(spec.Quantum)
	for range t.C {
		t.Reset(spec.Quantum)
		if _, err := unix.Write(fd, burst); err != nil && !errors.Is(err, unix.EAGAIN) {
			return fmt.Errorf("floor program: writing the pty master: %w", err)
		}
	}
	return nil
}

// floorSpec is the floor program of a stream at baud: floorQuantum's
// line (8N1, ten bits a character) a burst.
func floorSpec(baud int) benchrig.FloorSpec {
	return benchrig.FloorSpec{Quantum: floorQuantum, Chars: int(float64(baud) / 10 * floorQuantum.Seconds())}
}

// floorCPU runs the floor program with the bursts a stream at baud makes
// at floorQuantum, reads its slave as fast as it comes, and measures the
// program over the windows steadyCPU measures a streaming pair over.
func (r *runner) floorCPU(ctx context.Context, baud int) (costs []cost, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("floor program: %w", err)
	}
	spec := floorSpec(baud)
	f, err := benchrig.StartFloor(ctx, self, spec)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, f.Stop()) }()
	slave, err := os.OpenFile(f.Slave, os.O_RDONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("floor program: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, slave) }() // ends when slave is closed
	defer slave.Close()
	return r.windows(ctx, meter{pid: f.PID()})
}

// floorRow sets the streaming pair's steady CPU at baud against the floor
// program's, measured right after it.
func (r *runner) floorRow(ctx context.Context, baud int, pair []cost) row {
	spec := floorSpec(baud)
	measure := fmt.Sprintf("%s: the floor, a Go program whose one goroutine only wakes every %v on a timer and writes %d characters to a pty master (the pair above beside it; %% of one core, median of %d windows)",
		atRate(baud), spec.Quantum, spec.Chars, cpuWindows)
	costs, err := r.floorCPU(ctx, baud)
	if err != nil {
		fmt.Fprintf(r.log, "  %d baud, the floor program: %v\n", baud, err)
		return row{measure: measure, vcomd: "–", socat: fmt.Sprintf("not measured: %v", err), peer: "the floor", verdict: "not measured"}
	}
	floor := ttybench.Median(mapped(costs, cost.cpuPercent))
	fmt.Fprintf(r.log, "  %d baud, the floor program: %.2f %% of a core\n", baud, floor)
	x := row{measure: measure, vcomd: "–", socat: fmt.Sprintf("%.2f", floor), peer: "the floor"}
	if len(pair) > 0 {
		med := ttybench.Median(mapped(pair, cost.cpuPercent))
		x.vcomd, x.ratio = fmt.Sprintf("%.2f", med), ratio(med, floor)
	}
	return x
}
