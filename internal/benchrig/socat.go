package benchrig

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoSocat is returned by LookSocat when socat is not installed.
var ErrNoSocat = errors.New("socat not found in $PATH: install the socat package (apt-get install socat)")

// LookSocat finds the socat binary.
func LookSocat() (string, error) {
	p, err := exec.LookPath("socat")
	if err != nil {
		return "", ErrNoSocat
	}
	return p, nil
}

// SocatVersion returns the version that socat -V reports, "1.7.4.4" say.
func SocatVersion(ctx context.Context, bin string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "-V").Output()
	if err != nil {
		return "", fmt.Errorf("%s -V: %w", bin, err)
	}
	var v string
	for l := range strings.Lines(string(out)) {
		if _, err := fmt.Sscanf(l, "socat version %s", &v); err == nil {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s -V printed no version line", bin)
}

// SocatConfig says which socat pairs to start.
type SocatConfig struct {
	Bin string // the socat binary
	Dir string // where the links go; must exist
	// Pairs is how many socat processes to start, each one pair of ptys
	// linked as DIR/aN and DIR/bN.
	Pairs int
}

// Socat is a set of running socat processes, one per pair.
type Socat struct {
	procs []*process
	// Pairs are the pairs' links, in the order of their numbers.
	Pairs []Pair
	// Ready is the time from starting the first process to the last
	// link existing.
	Ready time.Duration
}

// StartSocat starts c.Pairs socat processes, the way people make a
// null-modem pair with socat:
//
//	socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B
//
// and waits until every link exists. On error every process it started
// is stopped.
func StartSocat(ctx context.Context, c SocatConfig) (*Socat, error) {
	s := &Socat{}
	var want []string
	for i := range c.Pairs {
		p := Pair{A: filepath.Join(c.Dir, fmt.Sprintf("a%d", i)), B: filepath.Join(c.Dir, fmt.Sprintf("b%d", i))}
		s.Pairs = append(s.Pairs, p)
		want = append(want, p.A, p.B)
	}
	// The watch is set before the first process starts, so that no link
	// can appear unseen.
	w, err := watchLinks(c.Dir)
	if err != nil {
		return nil, err
	}
	defer w.close()
	exited := make(chan *process, c.Pairs)
	t0 := time.Now()
	for _, pr := range s.Pairs {
		p, err := start(ctx, nil, nil, c.Bin, "-d", "-d", "pty,raw,echo=0,link="+pr.A, "pty,raw,echo=0,link="+pr.B)
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.procs = append(s.procs, p)
		go func() {
			<-p.done
			exited <- p
		}()
	}
	if err := w.wait(ctx, want, exited); err != nil {
		s.Stop()
		return nil, fmt.Errorf("socat pairs: %w", err)
	}
	s.Ready = time.Since(t0)
	return s, nil
}

// PIDs are the processes' ids.
func (s *Socat) PIDs() []int {
	pids := make([]int, len(s.procs))
	for i, p := range s.procs {
		pids[i] = p.pid()
	}
	return pids
}

// Stop ends every process with SIGTERM and waits for them all.
func (s *Socat) Stop() error {
	errs := make([]error, len(s.procs))
	done := make(chan struct{})
	for i, p := range s.procs {
		go func() {
			errs[i] = p.stop()
			done <- struct{}{}
		}()
	}
	for range s.procs {
		<-done
	}
	return errors.Join(errs...)
}
