package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// Restart backoff and the stop bound when ExecOptions leave them zero.
const (
	DefaultExecMinBackoff = 100 * time.Millisecond
	DefaultExecMaxBackoff = 10 * time.Second
	DefaultExecKillAfter  = 2 * time.Second
)

// The environment a device program finds.
const (
	EnvSocket = "VCOM_SOCKET" // the control socket's path, for vcomctl -s or control.NewClient
	EnvPort   = "VCOM_PORT"   // the port's name, for vcomctl set $VCOM_PORT dcd=on
)

// execReadSize is what one read of the child's stdout takes; the next read
// waits until the device has applied it, so a port whose program does not
// read holds the child back through the pipe, with no buffer here.
const execReadSize = 4096

// maxStderrLine bounds one log line of the child's stderr: a longer line
// is logged in pieces, each marked cut, so a child that writes a
// megabyte without a newline cannot make the daemon hold it.
const maxStderrLine = 1024

var _ driver.InputDriver = (*Exec)(nil)

// ExecOptions configure an Exec.
type ExecOptions struct {
	Logger zerolog.Logger
	// Socket is the control socket's path, given to the child as
	// VCOM_SOCKET.
	Socket string
	// NoRestart leaves the port with DSR, CTS and DCD down once the child
	// exits; otherwise it is started again after a backoff.
	NoRestart bool
	// MinBackoff and MaxBackoff bound the wait before a restart: it
	// starts at MinBackoff, doubles after each run shorter than the wait
	// before it, up to MaxBackoff, and starts again after a run that
	// lasted. Zero means DefaultExecMinBackoff and DefaultExecMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// KillAfter is how long Close waits after SIGTERM before SIGKILL, and
	// how long the wire waits for the child's pipes to close once it has
	// exited (a descendant that left its process group may hold them).
	// Zero means DefaultExecKillAfter.
	KillAfter time.Duration
}

// ExecState is a snapshot of an Exec.
type ExecState struct {
	Command  string    // as given, run by /bin/sh -c
	PID      int       // the child's, while it runs; 0 otherwise
	Running  bool      // a child is running
	Since    time.Time // when Running last changed; zero before the first start
	Restarts uint64    // starts after the first
	// LastExit is how the last child ended ("exit status 1", "signal:
	// killed", or why it could not start); "" before the first exit.
	LastExit string
	// LostTx counts bytes the UART sent that no child took: sent while
	// none ran, or queued for one that exited before reading them.
	LostTx uint64
}

// Exec is a wire whose far end is a device program: a child process run
// by /bin/sh -c. What the port sends is the child's stdin and the child's
// stdout is what the port receives; its stderr goes to the log, line by
// line. While a child runs, DSR and CTS are up; DCD and RI are the
// child's to set through the control API (VCOM_SOCKET, VCOM_PORT), as a
// modem raises its carrier. Break and DTR/RTS do not reach the child: it
// can read them with vcomctl status. The child runs in a process group of
// its own, and what it leaves running there when it exits is killed: the
// device is the group.
type Exec struct {
	dev     *driver.Device
	command string
	opts    ExecOptions
	log     zerolog.Logger
	// ctx ends at Close; it stops the child and cuts every wait.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	changed notifier   // closed and replaced when the writer has work
	child   *execChild // the running child's pipes; nil between runs
	out     []execItem // what Transmit handed over, not yet written
	state   ExecState
	// stateChanged is closed and replaced when a child starts or exits,
	// for tests to wait on.
	stateChanged notifier
}

// execItem is one Transmit's worth of bytes for the child.
type execItem struct {
	data  []byte
	taken func()
}

// execChild is one run's pipes, our ends.
type execChild struct {
	stdin  *os.File
	stdout *os.File
	stderr *os.File
}

// StartExec makes the program command dev's far end and returns at once:
// a goroutine starts it, and starts it again after it exits unless
// opts.NoRestart, until Close.
func StartExec(dev *driver.Device, command string, opts ExecOptions) *Exec {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultExecMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultExecMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.KillAfter <= 0 {
		opts.KillAfter = DefaultExecKillAfter
	}
	e := &Exec{
		dev:     dev,
		command: command,
		opts:    opts,
		state:   ExecState{Command: command},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.log = opts.Logger.With().Str("port", dev.Name()).Str("exec", command).Logger()
	dev.SetWire(e)
	dev.Input(execLines(false))
	e.wg.Add(1)
	go e.run()
	return e
}

// String is the target: "exec:COMMAND".
func (e *Exec) String() string { return "exec:" + e.command }

// State returns a snapshot of the child's state.
func (e *Exec) State() ExecState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// Close stops the child (SIGTERM to its process group, SIGKILL after
// KillAfter) and waits for it and every goroutine. What was queued and
// unwritten is counted lost. The device keeps e as its wire (sending into
// nothing) until the caller sets another.
func (e *Exec) Close() {
	e.cancel() // a second Close cancels nothing more, and waits for nothing
	e.wg.Wait()
}

// DrivenInputs implements driver.InputDriver: DSR and CTS say a child
// runs; DCD and RI are left for the child to set.
func (e *Exec) DrivenInputs(*driver.Device) uart16550.ModemInputs {
	return uart16550.ModemInputs{CTS: true, DSR: true}
}

// Transmit implements driver.Wire. With a child running, the data is
// queued for the writer, which calls taken once the pipe write carrying
// it returned; with none, it is lost and counted, and taken is called at
// once. Break and modem lines have nowhere to go.
func (e *Exec) Transmit(_ *driver.Device, signals []uart16550.Signal, taken func()) {
	var data []byte
	for _, s := range signals {
		switch s.Kind {
		case uart16550.SignalChar:
			data = append(data, s.Char)
		case uart16550.SignalChars:
			data = append(data, s.Data...)
		}
	}
	it := execItem{data: data, taken: taken}
	e.mu.Lock()
	if e.child == nil || e.ctx.Err() != nil {
		e.mu.Unlock()
		e.lose(it)
		return
	}
	e.out = append(e.out, it)
	e.changed.notify()
	e.mu.Unlock()
}

// setLines puts DSR and CTS up or down and waits until the device has
// applied it, which it does at once, or at its Close.
func (e *Exec) setLines(up bool) {
	applied := make(chan struct{})
	e.dev.InputThen(func() { close(applied) }, execLines(up))
	<-applied
}

// execLines is the port's DSR and CTS with a child running or not. DCD
// and RI are off in the same input; the control API's forced values,
// which the child sets, override them.
func execLines(up bool) driver.Input {
	return driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: up, DSR: up}}
}

// run starts the child, waits for it, and starts it again after the
// backoff, until Close or, with NoRestart, its first exit.
func (e *Exec) run() {
	defer e.wg.Done()
	backoff := e.opts.MinBackoff
	for {
		began := time.Now()
		status, err := e.runChild()
		if time.Since(began) >= backoff {
			backoff = e.opts.MinBackoff // it lasted: a fresh exit gets a quick restart
		}
		if e.ctx.Err() != nil {
			return
		}
		ev := e.log.Warn().Str("status", status)
		if hint := exitHint(err); hint != "" {
			ev = ev.Str("hint", hint)
		}
		if e.opts.NoRestart {
			ev.Msg("device program exited; not restarting")
			return
		}
		ev.Dur("restart_in", backoff).Msg("device program exited")
		wait := time.NewTimer(backoff)
		select {
		case <-e.ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
		backoff = min(2*backoff, e.opts.MaxBackoff)
		e.mu.Lock()
		e.state.Restarts++
		e.mu.Unlock()
	}
}

// exitHint explains the exit statuses /bin/sh gives a command it could not
// run.
func exitHint(err error) string {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return ""
	}
	switch ee.ExitCode() {
	case 127:
		return "the shell found no such command (see its stderr above)"
	case 126:
		return "the shell could not execute the command (not executable?)"
	}
	return ""
}

// runChild runs the program once and reports how it ended: the status
// ("exit status 0") and, unless it exited 0, the error. Once the
// process has exited, the rest of its process group is killed and its
// stdout read to the end, then DSR and CTS drop and DCD and RI are
// forced off: the device, carrier and all, is gone.
func (e *Exec) runChild() (string, error) {
	c, cmd, err := e.start()
	if err != nil {
		e.ended(err.Error())
		return err.Error(), err
	}
	pid := cmd.Process.Pid
	e.mu.Lock()
	e.child = c // from now on what the port sends is queued for it
	e.mu.Unlock()
	e.log.Info().Int("pid", pid).Msg("device program started")
	e.setLines(true)
	e.mu.Lock()
	e.state.PID, e.state.Running, e.state.Since = pid, true, time.Now()
	e.stateChanged.notify() // after the lines, as at the exit
	e.mu.Unlock()

	var g sync.WaitGroup
	writerStop := make(chan struct{})
	g.Add(3)
	go func() { defer g.Done(); e.write(c, writerStop) }()
	readDone := make(chan struct{})
	go func() { defer g.Done(); defer close(readDone); e.read(c.stdout) }()
	stderrDone := make(chan struct{})
	go func() { defer g.Done(); defer close(stderrDone); e.logStderr(c.stderr) }()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err = <-exited:
	case <-e.ctx.Done():
		err = e.stop(pid, exited)
	}
	// What the child started and left behind is part of the device.
	syscall.Kill(-pid, syscall.SIGKILL) //nolint:errcheck // ESRCH: none left
	close(writerStop)
	c.stdin.SetWriteDeadline(time.Now()) //nolint:errcheck // cuts a write the child never read
	// Its stdout is read to the end, unless something outside its group
	// holds the pipes.
	bound := time.NewTimer(e.opts.KillAfter)
	for _, done := range []chan struct{}{readDone, stderrDone} {
		select {
		case <-done:
		case <-bound.C:
			e.log.Warn().Msg("a process outside the device program's group holds its output; stopped reading it")
			c.stdout.SetReadDeadline(time.Now()) //nolint:errcheck // ends the readers
			c.stderr.SetReadDeadline(time.Now()) //nolint:errcheck
			<-done
		}
	}
	bound.Stop()
	g.Wait()
	c.stdin.Close()
	c.stdout.Close()
	c.stderr.Close()
	status := cmd.ProcessState.String()
	e.ended(status)
	return status, err
}

// start runs the command with pipes for stdin, stdout and stderr, in a
// process group of its own so that stopping it stops what it started.
func (e *Exec) start() (*execChild, *exec.Cmd, error) {
	var files [6]*os.File // in r/w, out r/w, err r/w
	for i := 0; i < 6; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(files[:i])
			return nil, nil, fmt.Errorf("pipe: %w", err)
		}
		files[i], files[i+1] = r, w
	}
	cmd := exec.Command("/bin/sh", "-c", e.command)
	cmd.Env = append(os.Environ(), EnvSocket+"="+e.opts.Socket, EnvPort+"="+e.dev.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = files[0], files[3], files[5]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := cmd.Start()
	// The child's ends are the child's: ours closed, its exit is EOF.
	closeAll([]*os.File{files[0], files[3], files[5]})
	if err != nil {
		closeAll([]*os.File{files[1], files[2], files[4]})
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	return &execChild{stdin: files[1], stdout: files[2], stderr: files[4]}, cmd, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// stop ends a child at Close: SIGTERM to its group, SIGKILL if it is still
// there after KillAfter.
func (e *Exec) stop(pid int, exited <-chan error) error {
	syscall.Kill(-pid, syscall.SIGTERM) //nolint:errcheck // gone already: Wait says so
	kill := time.NewTimer(e.opts.KillAfter)
	defer kill.Stop()
	select {
	case err := <-exited:
		return err
	case <-kill.C:
		e.log.Warn().Int("pid", pid).Dur("after", e.opts.KillAfter).Msg("device program ignored SIGTERM; killing it")
		syscall.Kill(-pid, syscall.SIGKILL) //nolint:errcheck
		return <-exited
	}
}

// ended records the end of a run: what was queued is lost, the lines go
// down, and DCD and RI, which the child may have raised, are forced off.
func (e *Exec) ended(status string) {
	e.mu.Lock()
	lost := e.out
	e.out, e.child = nil, nil
	e.mu.Unlock()
	e.lose(lost...)
	e.setLines(false)
	mi := ioctl.ModemInputs{Mask: ioctl.MSRDCD | ioctl.MSRRI}
	if st, err := e.dev.Call(context.Background(), driver.NewIoctl(ioctl.SetModemInputs, mi)); err != nil && st != driver.StatusDeviceRemoved {
		e.log.Warn().Err(err).Msg("could not drop DCD and RI after the device program exited")
	}
	// The state changes after the lines, so that whoever sees the child
	// gone sees the port's lines down too.
	e.mu.Lock()
	if e.state.Running {
		e.state.Since = time.Now()
	}
	e.state.PID, e.state.Running = 0, false
	e.state.LastExit = status
	e.stateChanged.notify()
	e.mu.Unlock()
}

// write copies what Transmit queued into the child's stdin, calling each
// item's taken once its write returned, until stop. After a failed write
// (the child closed its stdin or exited) the rest is lost, and counted.
func (e *Exec) write(c *execChild, stop <-chan struct{}) {
	var err error
	for {
		e.mu.Lock()
		wake := e.changed.C()
		batch := e.out
		e.out = nil
		e.mu.Unlock()
		for _, it := range batch {
			if err == nil && len(it.data) > 0 {
				_, err = c.stdin.Write(it.data)
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					e.log.Debug().Err(err).Msg("device program's stdin closed")
				}
			}
			if err != nil {
				e.lose(it)
			} else if it.taken != nil {
				it.taken()
			}
		}
		select {
		case <-wake:
		case <-stop:
			return
		}
	}
}

// lose counts items lost and acknowledges them, as an unplugged cable
// takes whatever is sent into it.
func (e *Exec) lose(items ...execItem) {
	e.mu.Lock()
	for _, it := range items {
		e.state.LostTx += uint64(len(it.data))
	}
	e.mu.Unlock()
	for _, it := range items {
		if it.taken != nil {
			it.taken()
		}
	}
}

// read gives the port what the child writes to stdout, waiting after each
// read until the device has applied it, until EOF or Close.
func (e *Exec) read(r io.Reader) {
	buf := make([]byte, execReadSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			applied := make(chan struct{})
			e.dev.InputThen(func() { close(applied) }, driver.Input{Kind: driver.InputChars, Data: append([]byte(nil), buf[:n]...)})
			select {
			case <-applied:
			case <-e.ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// logStderr logs the child's stderr a line at a time, a long line in
// pieces of maxStderrLine bytes.
func (e *Exec) logStderr(r io.Reader) {
	br := bufio.NewReaderSize(r, maxStderrLine)
	for {
		line, cut, err := br.ReadLine()
		if len(line) > 0 || (err == nil && !cut) {
			ev := e.log.Info().Str("stderr", string(line))
			if cut {
				ev = ev.Bool("cut", true)
			}
			ev.Msg("device program")
		}
		if err != nil {
			return
		}
	}
}
