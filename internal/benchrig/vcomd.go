package benchrig

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Pair is the two ends of a null-modem pair, by the paths a program opens.
type Pair struct{ A, B string }

// BuildVcomd builds cmd/vcomd of the module the working directory is in
// into dir and returns the binary's path.
func BuildVcomd(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "vcomd")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/vcomd/vcomd/cmd/vcomd").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build vcomd (run from inside the vcomd module): %w\n%s", err, out)
	}
	return bin, nil
}

// VcomdConfig says which daemon to start.
type VcomdConfig struct {
	Bin string // the vcomd binary
	Dir string // its --dir; created by vcomd
	// Pairs is how many null-modem pairs to create, named aN:bN.
	Pairs int
	// Timing is "realistic" or "off"; empty leaves vcomd's default
	// (realistic).
	Timing string
}

// Vcomd is a running daemon.
type Vcomd struct {
	p *process
	// Pairs are the daemon's pairs, in the order of their numbers.
	Pairs []Pair
	// Ready is the time from starting the process to its last port
	// announced.
	Ready time.Duration
}

// StartVcomd runs a daemon and waits until it has announced every port.
func StartVcomd(ctx context.Context, c VcomdConfig) (*Vcomd, error) {
	args := []string{"--dir", c.Dir, "--log-level", "warn"}
	if c.Timing != "" {
		args = append(args, "--timing", c.Timing)
	}
	for i := range c.Pairs {
		args = append(args, "--pair", fmt.Sprintf("a%d:b%d", i, i))
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("vcomd's stdout: %w", err)
	}
	t0 := time.Now()
	p, err := start(ctx, w, c.Bin, args...)
	w.Close() // the child has its copy
	if err != nil {
		r.Close()
		return nil, err
	}
	v := &Vcomd{p: p}
	links, err := readAnnouncements(ctx, p, r, 2*c.Pairs)
	if err != nil {
		_ = p.stop()
		return nil, err
	}
	v.Ready = time.Since(t0)
	for i := range c.Pairs {
		v.Pairs = append(v.Pairs, Pair{A: links[fmt.Sprintf("a%d", i)], B: links[fmt.Sprintf("b%d", i)]})
	}
	return v, nil
}

// readAnnouncements reads the daemon's port lines, NAME\tLINK -> PTY\t(...),
// until n have come, and returns the links by name. r then stays with a
// goroutine that reads and drops what the daemon prints later, so that it
// never blocks on a full pipe, and closes r when the daemon exits.
func readAnnouncements(ctx context.Context, p *process, r *os.File, n int) (map[string]string, error) {
	lines := make(chan string)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				_, _ = io.Copy(io.Discard, r)
				return
			}
		}
		close(lines)
	}()
	links := make(map[string]string, n)
	for len(links) < n {
		select {
		case l, ok := <-lines:
			if !ok {
				<-p.done
				return nil, p.exitError()
			}
			f := strings.Fields(l)
			if len(f) < 2 {
				return nil, fmt.Errorf("vcomd printed %q, want NAME LINK -> PTY (...)", l)
			}
			links[f[0]] = f[1]
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for vcomd's %d ports (%d announced): %w", n, len(links), ctx.Err())
		}
	}
	return links, nil
}

// PID is the daemon's process id.
func (v *Vcomd) PID() int { return v.p.pid() }

// Stop ends the daemon with SIGTERM, as an operator would, and waits for
// it.
func (v *Vcomd) Stop() error { return v.p.stop() }
