package benchrig

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/ioctl"
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
	// Serve are --serve flags, NAME=URL: port NAME (one of the pairs'
	// aN or bN) is served on the network instead of having a pty; its
	// Pair field is empty and Vcomd.Served has its bound URL.
	Serve []string
	// ConfigFile, when set, is where the pairs go instead of the command
	// line: a config file written before the start and passed with
	// --config, so that a reload (SIGHUP) reads them from there, as a
	// service's does. Reload rewrites it.
	ConfigFile string
}

// Vcomd is a running daemon.
type Vcomd struct {
	p   *process
	cfg VcomdConfig
	cl  *control.Client // on Socket, for Work
	// Pairs are the daemon's pairs, in the order of their numbers.
	Pairs []Pair
	// Ready is the time from starting the process to its last port
	// announced.
	Ready time.Duration
	// Served is the URL each served port is bound to, by name, as the
	// daemon announced it: rfc2217://127.0.0.1:40123 for a port 0 asked.
	Served map[string]string
	// Socket is the daemon's control socket.
	Socket string
}

// StartVcomd runs a daemon and waits until it has announced every port.
func StartVcomd(ctx context.Context, c VcomdConfig) (*Vcomd, error) {
	args := []string{"--dir", c.Dir, "--log-level", "warn"}
	if c.Timing != "" {
		args = append(args, "--timing", c.Timing)
	}
	if c.ConfigFile != "" {
		if err := writeConfig(c.ConfigFile, c.Pairs, nil); err != nil {
			return nil, err
		}
		args = append(args, "--config", c.ConfigFile)
	} else {
		for i := range c.Pairs {
			args = append(args, "--pair", pairName(i))
		}
	}
	for _, sv := range c.Serve {
		args = append(args, "--serve", sv)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("vcomd's stdout: %w", err)
	}
	t0 := time.Now()
	p, err := start(ctx, w, nil, c.Bin, args...)
	w.Close() // the child has its copy
	if err != nil {
		r.Close()
		return nil, err
	}
	v := &Vcomd{p: p, cfg: c, Socket: filepath.Join(c.Dir, control.SocketName)}
	v.cl = control.NewClient(v.Socket)
	links, served, err := readAnnouncements(ctx, p, r, 2*c.Pairs)
	if err != nil {
		_ = v.Stop()
		return nil, err
	}
	v.Ready, v.Served = time.Since(t0), served
	for i := range c.Pairs {
		v.Pairs = append(v.Pairs, Pair{A: links[fmt.Sprintf("a%d", i)], B: links[fmt.Sprintf("b%d", i)]})
	}
	return v, nil
}

func pairName(i int) string { return fmt.Sprintf("a%d:b%d", i, i) }

// configText is a config file of pairs pairs aN:bN and the loopback
// ports named.
func configText(pairs int, loopbacks []string) string {
	var b strings.Builder
	b.WriteString("# Written by the benchmark; rewritten before each reload.\n")
	for i := range pairs {
		fmt.Fprintf(&b, "\n[[pair]]\na = \"a%d\"\nb = \"b%d\"\n", i, i)
	}
	for _, l := range loopbacks {
		fmt.Fprintf(&b, "\n[[loopback]]\nname = %q\n", l)
	}
	return b.String()
}

// writeConfig replaces the config file in one rename, so that a reload
// never reads half of it.
func writeConfig(path string, pairs int, loopbacks []string) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(configText(pairs, loopbacks)), 0o600); err != nil {
		return fmt.Errorf("writing vcomd's config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing vcomd's config: %w", err)
	}
	return nil
}

// Reload rewrites the daemon's config file with its pairs and the
// loopback ports named, sends it SIGHUP, and waits until the link of each
// of these loopbacks exists, which shows the reload was applied: those
// ports must be new ones. Ports the old file had and the new one lacks go.
func (v *Vcomd) Reload(ctx context.Context, loopbacks ...string) error {
	if v.cfg.ConfigFile == "" {
		return errors.New("reload: the daemon was started without a config file")
	}
	w, err := watchLinks(v.cfg.Dir)
	if err != nil {
		return err
	}
	defer w.close()
	if err := writeConfig(v.cfg.ConfigFile, v.cfg.Pairs, loopbacks); err != nil {
		return err
	}
	if err := v.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("SIGHUP to vcomd (pid %d): %w", v.PID(), err)
	}
	links := make([]string, len(loopbacks))
	for i, l := range loopbacks {
		links[i] = filepath.Join(v.cfg.Dir, l)
	}
	exited := make(chan *process, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-v.p.done:
			exited <- v.p
		case <-stop:
		}
	}()
	if err := w.wait(ctx, links, exited); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	return nil
}

// readAnnouncements reads the daemon's port lines until n have come:
// NAME\tLINK -> PTY\t(...) for a port with a pty, whose link it returns
// by name, and NAME\tserved at URL\t(...) for a served one, whose URL it
// returns by name.
func readAnnouncements(ctx context.Context, p *process, r *os.File, n int) (links, served map[string]string, err error) {
	links, served = make(map[string]string, n), map[string]string{}
	err = readLines(ctx, p, r, fmt.Sprintf("vcomd's %d ports", n), func(l string) (bool, error) {
		f := strings.Fields(l)
		switch {
		case len(f) >= 4 && f[1] == "served" && f[2] == "at":
			served[f[0]] = f[3]
		case len(f) >= 2:
			links[f[0]] = f[1]
		default:
			return false, fmt.Errorf("vcomd printed %q, want NAME LINK -> PTY (...) or NAME served at URL (...)", l)
		}
		return len(links)+len(served) == n, nil
	})
	return links, served, err
}

// readLines hands take each line the process prints on r, until take has
// what it waits for (what, for the error when ctx ends first) or fails.
// r then stays with a goroutine that reads and drops what the process
// prints later, so that it never blocks on a full pipe, and closes r when
// the process exits.
func readLines(ctx context.Context, p *process, r *os.File, what string, take func(line string) (done bool, err error)) error {
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
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				<-p.done
				return p.exitError()
			}
			done, err := take(l)
			if done || err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// PID is the daemon's process id.
func (v *Vcomd) PID() int { return v.p.pid() }

// Stop ends the daemon with SIGTERM, as an operator would, and waits for
// it.
func (v *Vcomd) Stop() error {
	v.cl.Close()
	return v.p.stop()
}

// workTimeout bounds one read of the driver's counters.
const workTimeout = 10 * time.Second

// Work reads the driver's work counters of both ports of pair i (aI and
// bI, VCOM_GET_PORT_STATE through the control socket) and returns their
// sums: what the daemon did for the pair since its ports were made.
// Each read is itself one request on each port.
func (v *Vcomd) Work(ctx context.Context, i int) (ioctl.Work, error) {
	ctx, cancel := context.WithTimeout(ctx, workTimeout)
	defer cancel()
	var w ioctl.Work
	for _, name := range []string{fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)} {
		p, err := v.cl.Port(ctx, name)
		if err != nil {
			return ioctl.Work{}, fmt.Errorf("work counters of %s: %w", name, err)
		}
		w = AddWork(w, p.State.Work)
	}
	return w, nil
}

// AddWork is the sum of two ports' (or two windows') work counters.
func AddWork(a, b ioctl.Work) ioctl.Work {
	return ioctl.Work{ISRPasses: a.ISRPasses + b.ISRPasses, DPCRuns: a.DPCRuns + b.DPCRuns, Requests: a.Requests + b.Requests}
}

// SubWork is what the counters counted from a to b, a the earlier.
func SubWork(b, a ioctl.Work) ioctl.Work {
	return ioctl.Work{ISRPasses: b.ISRPasses - a.ISRPasses, DPCRuns: b.DPCRuns - a.DPCRuns, Requests: b.Requests - a.Requests}
}
