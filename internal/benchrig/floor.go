package benchrig

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// FloorEnv, set in a benchmark's environment to a FloorSpec, makes the
// benchmark's binary the floor program instead: StartFloor runs the
// benchmark again with it, and the benchmark's main runs the program.
const FloorEnv = "VCOMBENCH_FLOOR"

// FloorSpec is what the floor program does: a program that does only
// what any daemon must that hands a stream to a pty in bursts. Its one
// goroutine sleeps on a runtime timer and, at each expiry, writes Chars
// characters to a pty master, nothing else. A streaming port's CPU at
// realistic timing is set against it, so that a figure says how much of
// it is the data path and how much the wake-up that the Go runtime and
// the kernel charge for each burst.
type FloorSpec struct {
	Quantum time.Duration // between bursts
	Chars   int           // in a burst
}

// String is the spec as FloorEnv carries it: "16ms,184".
func (s FloorSpec) String() string { return fmt.Sprintf("%v,%d", s.Quantum, s.Chars) }

// ParseFloorSpec reads what String wrote.
func ParseFloorSpec(v string) (FloorSpec, error) {
	q, n, ok := strings.Cut(v, ",")
	var s FloorSpec
	var err error
	if ok {
		if s.Quantum, err = time.ParseDuration(q); err == nil {
			_, err = fmt.Sscan(n, &s.Chars)
		}
	}
	if !ok || err != nil || s.Quantum <= 0 || s.Chars <= 0 {
		return FloorSpec{}, fmt.Errorf("%s=%q: want a positive quantum and character count, as 16ms,184", FloorEnv, v)
	}
	return s, nil
}

// Floor is a running floor program.
type Floor struct {
	p     *process
	Slave string // the pty's slave, for the benchmark to read
}

// StartFloor runs self (the benchmark's own binary) as the floor program
// of spec and waits for it to print its pty's slave.
func StartFloor(ctx context.Context, self string, spec FloorSpec) (*Floor, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p, err := startEnv(ctx, []string{FloorEnv + "=" + spec.String()}, w, nil, self)
	w.Close()
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("floor program: no pty announced: %w; %w", err, p.exitError())
	}
	return &Floor{p: p, Slave: strings.TrimSpace(line)}, nil
}

// PID is the floor program's process id.
func (f *Floor) PID() int { return f.p.pid() }

// Stop ends the floor program.
func (f *Floor) Stop() error { return f.p.stop() }
