// Package benchrig runs the programs a benchmark compares, vcomd and
// socat, as child processes on this machine: it starts them, waits until
// their ports exist, tells their process ids for /proc to be read, and
// stops every one of them.
package benchrig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a process has to exit after SIGTERM before it is
// killed. vcomd gives data in flight a second.
const stopGrace = 5 * time.Second

// process is one child.
type process struct {
	cmd    *exec.Cmd
	stderr *tail
	done   chan struct{} // closed when the process has exited
	err    error         // from Wait, once done is closed
}

// start runs bin with args. It gets SIGTERM when ctx ends, and SIGKILL if
// the benchmark dies without stopping it (Pdeathsig, which fires when the
// thread that started the child exits: the Go runtime keeps its threads
// for the life of the process unless a goroutine locks one).
//
// stdout, when not nil, gets what the process prints there; stderr, when
// not nil, a copy of what it prints on stderr, which the error of an exit
// nobody asked for also shows.
func start(ctx context.Context, stdout, stderr io.Writer, bin string, args ...string) (*process, error) {
	return startEnv(ctx, nil, stdout, stderr, bin, args...)
}

// startEnv is start with env added to the benchmark's environment.
func startEnv(ctx context.Context, env []string, stdout, stderr io.Writer, bin string, args ...string) (*process, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &process{cmd: cmd, stderr: &tail{max: 16 << 10}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = stdout, p.stderr
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(p.stderr, stderr)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exitError describes an exit that nobody asked for.
func (p *process) exitError() error {
	return fmt.Errorf("%s exited: %v; its stderr ends:\n%s", p.cmd.Path, p.err, p.stderr)
}

// stop sends SIGTERM, and SIGKILL if the process has not exited within
// stopGrace. A process that exited on its own is not an error here: the
// caller already saw it go, or does not care.
func (p *process) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping %s (pid %d): %w", p.cmd.Path, p.pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s (pid %d) ignored SIGTERM for %v and was killed", p.cmd.Path, p.pid(), stopGrace)
}

// tail keeps the last max bytes written to it: a child's stderr, for the
// error that reports its death.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
