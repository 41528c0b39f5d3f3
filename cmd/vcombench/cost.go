package main

import (
	"context"
	"fmt"
	"time"

	"github.com/vcomd/vcomd/internal/benchrig"
	"github.com/vcomd/vcomd/internal/procstat"
	"github.com/vcomd/vcomd/ioctl"
)

// The rows that say why a figure is what it is read what the program
// serving a pair used while it was measured: its process's CPU time and
// context switches, all threads summed (procstat.Threads), and for vcomd
// the driver's work counters of the pair's two ports (VCOM_GET_PORT_STATE's
// work). The bench's own process, on the other side of the ptys, is not
// counted in any of them.

// meter reads what one program serving a pair costs.
type meter struct {
	pid int
	// work reads the driver's counters of the pair's ports, summed; nil
	// for a program without them (socat). Each read is itself one
	// request on each of ports.
	work  func(context.Context) (ioctl.Work, error)
	ports int
}

// vcomdMeter is the meter of pair i of daemon v.
func vcomdMeter(v *benchrig.Vcomd, i int) meter {
	return meter{pid: v.PID(), work: func(ctx context.Context) (ioctl.Work, error) { return v.Work(ctx, i) }, ports: 2}
}

// mark is a meter's reading at the start of a window.
type mark struct {
	t    time.Time
	th   procstat.Threads
	work ioctl.Work
}

// cost is what a program used over one window, or several added up.
type cost struct {
	wall    time.Duration
	th      procstat.Threads
	work    ioctl.Work
	hasWork bool
}

// start reads the meter at the start of a window: the driver's counters
// first and the process's threads last, and stop the other way round, so
// that the CPU the control socket's answers take stays outside it.
func (m meter) start(ctx context.Context) (mark, error) {
	var k mark
	if m.work != nil {
		w, err := m.work(ctx)
		if err != nil {
			return mark{}, err
		}
		k.work = w
	}
	th, err := procstat.ReadThreads(m.pid)
	if err != nil {
		return mark{}, err
	}
	k.th, k.t = th, time.Now()
	return k, nil
}

// stop reads the meter at the end of the window that k started.
func (m meter) stop(ctx context.Context, k mark) (cost, error) {
	th, err := procstat.ReadThreads(m.pid)
	if err != nil {
		return cost{}, err
	}
	c := cost{wall: time.Since(k.t), th: th.Sub(k.th)}
	if m.work != nil {
		w, err := m.work(ctx)
		if err != nil {
			return cost{}, err
		}
		c.work, c.hasWork = benchrig.SubWork(w, k.work), true
		// This read's own request on each port is not the window's.
		c.work.Requests -= min(c.work.Requests, uint64(m.ports))
	}
	return c, nil
}

// over measures what the program costs while f runs.
func (m meter) over(ctx context.Context, f func() error) (cost, error) {
	k, err := m.start(ctx)
	if err != nil {
		return cost{}, err
	}
	if err := f(); err != nil {
		return cost{}, err
	}
	return m.stop(ctx, k)
}

// add sums two windows.
func (c cost) add(d cost) cost {
	return cost{wall: c.wall + d.wall, th: c.th.Add(d.th), work: benchrig.AddWork(c.work, d.work), hasWork: c.hasWork || d.hasWork}
}

// sumCosts adds up the costs of several windows.
func sumCosts[T any](xs []T, of func(T) cost) cost {
	var c cost
	for _, x := range xs {
		c = c.add(of(x))
	}
	return c
}

// cpuPercent is the CPU used as percent of one core over the wall time.
func (c cost) cpuPercent() float64 {
	if c.wall <= 0 {
		return 0
	}
	return 100 * c.th.Run.Seconds() / c.wall.Seconds()
}

// msPerMB is the CPU used, in ms, for each MB (10⁶ bytes) of bytes.
func (c cost) msPerMB(bytes float64) float64 {
	if bytes <= 0 {
		return 0
	}
	return float64(c.th.Run) / float64(time.Millisecond) / (bytes / 1e6)
}

// per divides x by n, 0 for no n.
func per(x, n float64) float64 {
	if n <= 0 {
		return 0
	}
	return x / n
}

// switchesFigure is the context switches per unit, voluntary and
// involuntary, as "6.62 (6.50 + 0.12)".
func (c cost) switchesFigure(units float64) string {
	return fmt.Sprintf("%.2f (%.2f + %.2f)", per(float64(c.th.Switches()), units),
		per(float64(c.th.Voluntary), units), per(float64(c.th.Involuntary), units))
}

// workFigure is the driver's ISR passes and DPC runs per unit, and per
// request: "3.10 / 0.80 per KB; per request 1.21 / 0.31 (2000 requests)".
func (c cost) workFigure(units float64, unit string) string {
	if !c.hasWork {
		return "–"
	}
	w := c.work
	return fmt.Sprintf("%.2f / %.2f %s; per request %.2f / %.2f (%d requests)",
		per(float64(w.ISRPasses), units), per(float64(w.DPCRuns), units), unit,
		per(float64(w.ISRPasses), float64(w.Requests)), per(float64(w.DPCRuns), float64(w.Requests)), w.Requests)
}

// coarse notes a CPU figure read in 10 ms ticks, where the kernel has no
// schedstat.
func (c cost) coarse() string {
	if c.th.Coarse {
		return fmt.Sprintf("; in %v ticks: no schedstat", procstat.Tick)
	}
	return ""
}
