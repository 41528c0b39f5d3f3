package procstat

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseSwitches(t *testing.T) {
	status := "Name:\tvcomd\nState:\tS (sleeping)\nThreads:\t8\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n"
	vol, invol, err := parseSwitches(strings.NewReader(status))
	if err != nil || vol != 1234 || invol != 56 {
		t.Errorf("parseSwitches = %d, %d, %v; want 1234, 56", vol, invol, err)
	}
	if _, _, err := parseSwitches(strings.NewReader("voluntary_ctxt_switches:\t1\n")); err == nil {
		t.Error("a status without nonvoluntary_ctxt_switches parsed")
	}
	if _, _, err := parseSwitches(strings.NewReader("voluntary_ctxt_switches:\tx\nnonvoluntary_ctxt_switches:\t1\n")); err == nil {
		t.Error("a status with a bad count parsed")
	}
}

func TestParseSchedstat(t *testing.T) {
	got, err := parseSchedstat([]byte("1096545 20 2\n"))
	if err != nil || got != 1096545*time.Nanosecond {
		t.Errorf("parseSchedstat = %v, %v; want 1.096545ms", got, err)
	}
	if _, err := parseSchedstat([]byte("\n")); err == nil {
		t.Error("an empty schedstat parsed")
	}
}

func TestParseProcStat(t *testing.T) {
	// user 100, nice 1, system 20, idle 5000, iowait 7, irq 2, softirq 3,
	// steal 4: 130 ticks of work, 4 of them steal.
	got, err := parseProcStat([]byte("cpu  100 1 20 5000 7 2 3 4 0 0\ncpu0 50 0 10 2500 3 1 1 2 0 0\n"))
	if want := (MachineTimes{Busy: 130 * Tick, Steal: 4 * Tick}); err != nil || got != want {
		t.Errorf("parseProcStat = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseProcStat([]byte("intr 1 2 3\n")); err == nil {
		t.Error("a /proc/stat without its cpu line parsed")
	}
}

// This very process's threads: a ping-pong between two goroutines, each
// locked to its own thread, makes each thread wait for the other every
// turn, which the kernel counts as voluntary switches of the two threads;
// and spinning brings run time.
func TestReadThreadsSelf(t *testing.T) {
	before, err := ReadThreads(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if before.Count < 1 || before.Run <= 0 {
		t.Fatalf("ReadThreads = %+v", before)
	}
	const turns = 100
	ping, pong := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for v := range ping {
			pong <- v
		}
		close(done)
	}()
	runtime.LockOSThread()
	for i := range turns {
		ping <- i
		<-pong
	}
	runtime.UnlockOSThread()
	close(ping)
	<-done
	for end := time.Now().Add(time.Millisecond); time.Now().Before(end); {
	}
	after, err := ReadThreads(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	if d.Voluntary < turns {
		t.Errorf("%d voluntary switches over %d turns of a ping-pong between two threads, want at least %d", d.Voluntary, turns, turns)
	}
	if d.Run <= 0 {
		t.Errorf("run time %v after spinning", d.Run)
	}
	if d.Switches() != d.Voluntary+d.Involuntary {
		t.Errorf("Switches = %d, want %d + %d", d.Switches(), d.Voluntary, d.Involuntary)
	}
	if _, err := ReadThreads(-1); err == nil {
		t.Error("ReadThreads(-1) did not fail")
	}
}

// Both readings of CPU time work, after this process has spun a little.
func TestBusyOwn(t *testing.T) {
	for end := time.Now().Add(2 * Tick); time.Now().Before(end); {
	}
	own, err := Own()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Machine()
	if err != nil {
		t.Fatal(err)
	}
	if own <= 0 || m.Busy <= 0 || m.Steal < 0 || m.Steal > m.Busy {
		t.Errorf("Own = %v, Machine = %+v", own, m)
	}
}
