package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/vcomd/vcomd/internal/procstat"
	"golang.org/x/sys/unix"
)

// row is one line of the results table.
type row struct {
	measure      string
	vcomd, socat string // socat: the peer's figure
	peer         string // who the peer is: "" or socat, or ser2net
	ratio        string // vcomd / socat, where both have a figure
	target       string // issue 6's, where it sets one
	verdict      string // met, or missed and by how much; PASS or FAIL
	fail         bool   // a resilience check failed
}

// ratio formats a/b.
func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) || math.IsInf(a/b, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// atLeast says whether got meets a floor of want.
func atLeast(got, want float64, unit string) string {
	if got >= want {
		return "met"
	}
	return fmt.Sprintf("**missed** by %.2f%s", want-got, unit)
}

// atMost says whether got keeps under a ceiling of want, inclusive.
func atMost(got, want float64, unit string) string {
	if got <= want {
		return "met"
	}
	return fmt.Sprintf("**missed** by %.2f%s", got-want, unit)
}

// below says whether got stays strictly under want.
func below(got, want float64, unit string) string {
	if got < want {
		return "met"
	}
	return fmt.Sprintf("**missed** by %.2f%s", got-want+0.005, unit)
}

// within says whether an error of pct percent is within ±limit percent.
func within(pct, limit float64) string {
	if math.Abs(pct) <= limit {
		return "met"
	}
	return fmt.Sprintf("**missed** by %.2f %%", math.Abs(pct)-limit)
}

func verdictPorts(ports int) string {
	if ports >= 1000 {
		return "met"
	}
	return fmt.Sprintf("not checked (%d ports in this run; the full run makes 1000)", ports)
}

// machine describes where the run happened.
type machine struct {
	date                  time.Time
	cpus                  int
	cpu, kernel, goVer    string
	socatVersion, command string
	ser2netVersion        string
	loadBefore            string // /proc/loadavg's 1, 5 and 15 minute figures
}

// loadavg is the machine's load average: other work on the machine skews
// every figure, and the table should say how busy it was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func describeMachine(socatVersion, ser2netVersion string) machine {
	m := machine{
		date: time.Now().UTC(), cpus: runtime.NumCPU(), goVer: runtime.Version(),
		socatVersion: socatVersion, ser2netVersion: ser2netVersion, cpu: "unknown", kernel: "unknown",
		command:    "go run ./cmd/vcombench " + strings.Join(os.Args[1:], " "),
		loadBefore: loadavg(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	return m
}

// report is the whole output.
type report struct {
	machine machine
	plan    plan
	rows    []row
	loads   []stepLoad // of each step run, in order
}

// stepLoad is how busy the machine was with other work while a step ran.
type stepLoad struct {
	name string
	// other is the machine's CPU time less what this bench and the
	// programs it started used, over the step's wall time: the cores'
	// worth of work that was not the benchmark's. ok is false when it
	// could not be read. steal, part of other, is the cores' worth the
	// hypervisor gave to other guests: time every program here stalled.
	other, steal  float64
	ok            bool
	before, after string // the 1-minute load average at the step's start and end
}

// loadMark is the machine's state at the start of a step.
type loadMark struct {
	t       time.Time
	machine procstat.MachineTimes
	own     time.Duration
	err     error
	load    string
}

func markLoad() loadMark {
	m := loadMark{load: loadavg1()}
	m.machine, m.err = procstat.Machine()
	if m.err == nil {
		m.own, m.err = procstat.Own()
	}
	m.t = time.Now()
	return m
}

// end is the load of the step that started at m. The step has stopped
// every program it started by now, so that what they used is in Own.
func (m loadMark) end(name string) stepLoad {
	l := stepLoad{name: name, before: m.load, after: loadavg1()}
	machine, err := procstat.Machine()
	own, err2 := procstat.Own()
	wall := time.Since(m.t).Seconds()
	if m.err == nil && err == nil && err2 == nil && wall > 0 {
		busy := machine.Busy - m.machine.Busy
		l.other, l.ok = max(0, (busy-(own-m.own)).Seconds()/wall), true
		l.steal = min(l.other, (machine.Steal-m.machine.Steal).Seconds()/wall)
	}
	return l
}

func (l stepLoad) String() string {
	other := "unknown"
	if l.ok {
		other = fmt.Sprintf("%.2f, steal %.2f", l.other, l.steal)
	}
	return fmt.Sprintf("%s %s (%s → %s)", l.name, other, l.before, l.after)
}

// loadavg1 is the 1-minute load average.
func loadavg1() string {
	one, _, _ := strings.Cut(loadavg(), " ")
	return one
}

// write prints the report as Markdown.
func (r report) write(w io.Writer) {
	m := r.machine
	fmt.Fprintf(w, "Run of %s (%s plan): `%s`\n\n", m.date.Format("2006-01-02 15:04 UTC"), r.plan.name, strings.TrimSpace(m.command))
	fmt.Fprintf(w, "- machine: %d × %s, %s\n", m.cpus, m.cpu, m.kernel)
	fmt.Fprintf(w, "- %s; socat %s; ser2net %s\n", m.goVer, m.socatVersion, m.ser2netVersion)
	fmt.Fprintf(w, "- load average (1, 5, 15 min) at the start: %s; at the end: %s\n", m.loadBefore, loadavg())
	if len(r.loads) > 0 {
		ls := make([]string, len(r.loads))
		for i, l := range r.loads {
			ls[i] = l.String()
		}
		fmt.Fprintf(w, "- other work while each step ran (the machine's CPU time less this bench's and its children's, in cores of %d, and of it the hypervisor's steal; 1-minute load average at the step's start → end): %s\n", m.cpus, strings.Join(ls, "; "))
	}
	fmt.Fprintln(w)
	// The peer's column is socat's, and another peer's (ser2net, the
	// floor program) for the rows against it, which say so.
	peers := []string{"socat"}
	for _, x := range r.rows {
		if x.peer != "" && !slices.Contains(peers, x.peer) {
			peers = append(peers, x.peer)
		}
	}
	per := "vcomd/socat"
	if len(peers) > 1 {
		per = "vcomd/that"
	}
	fmt.Fprintf(w, "| measure | vcomd | %s | %s | target | |\n", strings.Join(peers, " or "), per)
	fmt.Fprintln(w, "|---|--:|--:|--:|---|---|")
	for _, x := range r.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", x.measure, x.vcomd, dash(x.socat), dash(x.ratio), dash(x.target), x.verdict)
	}
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
