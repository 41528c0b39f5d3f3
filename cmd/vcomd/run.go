package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/control"
)

// runUsage is the first line of `vcomd run -h`; the port flags follow.
const runUsage = `Usage: vcomd run [port flags] [--trace FILE | --trace-on-failure FILE] -- COMMAND [ARGS...]

Makes the ports, runs COMMAND with VCOM_SOCKET and one VCOM_<NAME> per port
naming its link, and removes them all when COMMAND exits; exits with
COMMAND's status (128+N when a signal N killed it). Without --dir the links
go in a private directory of their own. See docs/CI.md.

  --trace FILE             write every request on every port to FILE (vcomctl trace --json lines)
  --trace-on-failure FILE  the same, kept only when COMMAND fails
`

// runTraceDepth is the trace subscription's room: the recorder only
// appends to memory, so it keeps up unless a port at --timing off floods
// it, and then the file marks the gap.
const runTraceDepth = 1 << 16

// runOptions are run's own flags, which config.Parse does not know.
type runOptions struct {
	trace     string // file to write
	onFailure bool   // write it only when COMMAND fails
}

// splitRunArgs separates run's flags, the port flags for config.Parse and
// COMMAND with its arguments, which follow the first "--".
func splitRunArgs(args []string) (runOptions, []string, []string, error) {
	var opts runOptions
	i := 0
	for i < len(args) && args[i] != "--" {
		i++
	}
	if i == len(args) {
		if hasHelp(args) {
			return opts, nil, nil, flag.ErrHelp
		}
		return opts, nil, nil, errors.New(`no command: want vcomd run [flags] -- COMMAND [ARGS...]`)
	}
	command := args[i+1:]
	var portArgs []string
	for j := 0; j < i; j++ {
		name, value, inline := strings.Cut(strings.TrimLeft(args[j], "-"), "=")
		if !strings.HasPrefix(args[j], "-") || (name != "trace" && name != "trace-on-failure") {
			portArgs = append(portArgs, args[j])
			continue
		}
		if !inline {
			if j+1 == i {
				return opts, nil, nil, fmt.Errorf("--%s: needs a file", name)
			}
			j++
			value = args[j]
		}
		if value == "" {
			return opts, nil, nil, fmt.Errorf("--%s: needs a file", name)
		}
		if opts.trace != "" {
			return opts, nil, nil, errors.New("--trace and --trace-on-failure: give one, once")
		}
		opts.trace, opts.onFailure = value, name == "trace-on-failure"
	}
	if len(command) == 0 {
		if hasHelp(portArgs) {
			return opts, nil, nil, flag.ErrHelp
		}
		return opts, nil, nil, errors.New(`no command after "--"`)
	}
	return opts, portArgs, command, nil
}

// hasHelp reports whether args ask for the help.
func hasHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}

// hasFlag reports whether args set the flag name, as -name, --name or
// either with =value.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && n == name {
			return true
		}
	}
	return false
}

// envName is the variable that names port's link for COMMAND: VCOM_ and
// the port's name in upper case with '.' and '-' as '_'. Port names hold
// only letters, digits, '.', '_' and '-', so the result is always a valid
// variable name; two names can map to one (ttyV-0 and ttyV.0), which
// portEnv refuses.
func envName(port string) string {
	return "VCOM_" + strings.Map(func(r rune) rune {
		if r == '.' || r == '-' {
			return '_'
		}
		return r
	}, strings.ToUpper(port))
}

// socketEnv is the variable naming the control socket, which vcomctl reads.
const socketEnv = "VCOM_SOCKET"

// portEnv gives the variables for COMMAND, one per port in order, then
// VCOM_SOCKET; an error names two ports (or a port and the socket) that
// would share a variable.
func portEnv(ports []string, links map[string]string, socket string) ([]string, error) {
	owner := map[string]string{socketEnv: "the control socket"}
	env := make([]string, 0, len(ports)+1)
	for _, p := range ports {
		v := envName(p)
		if o, ok := owner[v]; ok {
			return nil, fmt.Errorf("port %q: its variable %s is already %s's; rename one", p, v, o)
		}
		owner[v] = fmt.Sprintf("port %q", p)
		env = append(env, v+"="+links[p])
	}
	return append(env, socketEnv+"="+socket), nil
}

// privateDir makes the directory of one run's links: in
// $XDG_RUNTIME_DIR when set, else in the temp directory, mode 0700.
func privateDir() (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if !filepath.IsAbs(base) {
		base = ""
	}
	dir, err := os.MkdirTemp(base, "vcomd-run-")
	if err != nil {
		return "", fmt.Errorf("private directory: %w", err)
	}
	return dir, nil
}

// runCommand is `vcomd run`: exit status 2 for bad flags or config, 1 when
// the ports cannot be made, 127 when COMMAND cannot be started, else
// COMMAND's.
func runCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, portArgs, command, err := splitRunArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, runUsage)
		config.Usage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "vcomd run: %v\n", err)
		return 2
	}
	if !hasFlag(portArgs, "log-level") {
		// The daemon's info lines would mix with COMMAND's output.
		portArgs = append([]string{"--log-level", "warn"}, portArgs...)
	}
	var private string
	if !hasFlag(portArgs, "dir") {
		if private, err = privateDir(); err != nil {
			fmt.Fprintf(stderr, "vcomd run: %v\n", err)
			return 1
		}
		defer os.Remove(private)
		portArgs = append([]string{"--dir", private}, portArgs...)
	}
	cfg, log, code := setup("vcomd run", runUsage, portArgs, stdout, stderr)
	if cfg == nil {
		return code
	}
	names := make([]string, len(cfg.Ports))
	links := map[string]string{}
	for i, p := range cfg.Ports {
		names[i], links[p.Name] = p.Name, p.Link
		if s, ok := cfg.ServeOf(p.Name); ok {
			links[p.Name] = s.Address // a served port has no link
		}
	}
	env, err := portEnv(names, links, filepath.Join(cfg.Dir, control.SocketName))
	if err != nil {
		fmt.Fprintf(stderr, "vcomd run: %v\n", err)
		return 2
	}
	// Caught before COMMAND starts, so that none is lost in between.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sig)

	var hub control.Hub
	rec := newRecorder(opts.trace != "", traceLimit, summaryDepth)
	sub := hub.Subscribe("", runTraceDepth)
	defer sub.Close()
	stopRec := rec.follow(sub)
	st, err := start(cfg, log, &hub)
	if err != nil {
		stopRec()
		fmt.Fprintf(stderr, "vcomd run: %v\n", err)
		return 1
	}
	status, ran := runChild(command, env, stdin, stdout, stderr, sig)
	stopRec()
	st.stop()
	if status != 0 && ran {
		fmt.Fprintf(stderr, "vcomd run: %s exited with status %d; the last requests on each port:\n", command[0], status)
		rec.summary(stderr)
	}
	if opts.trace != "" && (!opts.onFailure || status != 0) {
		if err := rec.writeFile(opts.trace); err != nil {
			fmt.Fprintf(stderr, "vcomd run: %v\n", err)
		}
	}
	return status
}

// runChild runs command with env added, forwarding sig's signals to it,
// and returns its exit status: 128+N when signal N killed it, 127 when it
// could not start (and ran false).
func runChild(command, env []string, stdin io.Reader, stdout, stderr io.Writer, sig <-chan os.Signal) (status int, ran bool) {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "vcomd run: %v\n", err)
		return 127, false
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sig:
			_ = cmd.Process.Signal(s)
		case <-done:
			return exitStatus(cmd.ProcessState), true
		}
	}
}

// exitStatus is a shell's view of how a process ended.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// follow records sub's lines until the returned function is called,
// which drains what was published before it and returns once the
// recorder has it all.
func (r *recorder) follow(sub *control.Subscription) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var lines []control.TraceLine
		for {
			var err error
			lines, err = sub.Next(ctx, lines[:0])
			for _, l := range lines {
				r.add(l)
			}
			if err != nil {
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}
