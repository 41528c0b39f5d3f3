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
}

// write prints the report as Markdown.
func (r report) write(w io.Writer) {
	m := r.machine
	fmt.Fprintf(w, "Run of %s (%s plan): `%s`\n\n", m.date.Format("2006-01-02 15:04 UTC"), r.plan.name, strings.TrimSpace(m.command))
	fmt.Fprintf(w, "- machine: %d × %s, %s\n", m.cpus, m.cpu, m.kernel)
	fmt.Fprintf(w, "- %s; socat %s; ser2net %s\n", m.goVer, m.socatVersion, m.ser2netVersion)
	fmt.Fprintf(w, "- load average (1, 5, 15 min) at the start: %s; at the end: %s\n\n", m.loadBefore, loadavg())
	// The peer's column is socat's, and ser2net's for the rows against
	// it (which say so).
	peer, per := "socat", "vcomd/socat"
	if slices.ContainsFunc(r.rows, func(x row) bool { return x.peer == "ser2net" }) {
		peer, per = "socat or ser2net", "vcomd/that"
	}
	fmt.Fprintf(w, "| measure | vcomd | %s | %s | target | |\n", peer, per)
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
