package procstat

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with a space and a parenthesis, utime 250, stime 50.
	line := "1234 (a b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * time.Second; got != want {
		t.Errorf("parseStat = %v, want %v", got, want)
	}
	if _, err := parseStat([]byte("1234 (x) S 1 2")); err == nil {
		t.Error("a short stat line parsed")
	}
}

func TestParseRollup(t *testing.T) {
	m, err := parseRollup(strings.NewReader("00-ff ---p 0 00:00 0 [rollup]\nRss:  1688 kB\nPss:   312 kB\nPss_Anon: 116 kB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m != (Memory{RSS: 1688, PSS: 312}) {
		t.Errorf("parseRollup = %+v", m)
	}
	if _, err := parseRollup(strings.NewReader("Rss: 1 kB\n")); err == nil {
		t.Error("a rollup without Pss parsed")
	}
}

// The figures of this very process are plausible: spinning brings CPU
// time. On a loaded machine a few ticks of wall time may bring less than
// a tick of CPU, so it spins a tick at a time until one is counted, for
// at most 10 s.
func TestSelf(t *testing.T) {
	for deadline := time.Now().Add(10 * time.Second); ; {
		cpu, err := CPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if cpu > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU = %v after spinning for 10 s", cpu)
		}
		for end := time.Now().Add(Tick); time.Now().Before(end); {
		}
	}
	m, err := Mem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.PSS <= 0 || m.PSS > m.RSS {
		t.Errorf("Mem = %+v", m)
	}
}

// Opening a file shows as one more descriptor, closing it as one fewer.
func TestFDs(t *testing.T) {
	before, err := FDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	during, err := FDs(os.Getpid())
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if during != before+1 {
		t.Errorf("%d descriptors with /dev/null open, %d before; want one more", during, before)
	}
	if _, err := FDs(-1); err == nil {
		t.Error("FDs(-1) did not fail")
	}
}
