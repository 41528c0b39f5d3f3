// Command vcomctl controls a running vcomd through its control socket:
// it lists and inspects ports, drives their modem lines, sends breaks,
// injects line errors, waits on events, purges, traces every request,
// and adds and removes ports. Every command takes --json.
//
// The socket is --socket PATH, else $VCOM_SOCKET, else vcomd.sock in the
// directory vcomd uses by default.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/ioctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// command is one subcommand.
type command struct {
	args  string // the arguments, for usage
	help  string
	flags func(fs *flag.FlagSet, o *opts)
	run   func(ctx context.Context, e *env, args []string) error
	nargs func(n int) bool
}

// opts are the flags any subcommand may have.
type opts struct {
	socket   string
	json     bool
	timeout  time.Duration
	count    uint
	rate     uint
	seed     string
	watch    bool
	interval time.Duration
	timing   string
	pair     bool
	allow    stringList
	handover bool
	// add connect's options for exec: and replay: targets
	noRestart        bool
	pace, onMismatch string
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// env is what a subcommand runs with.
type env struct {
	c      *control.Client
	o      *opts
	stdout io.Writer
}

// usageError is a command line that cannot run: exit status 2.
type usageError struct{ msg string }

// Error is the complaint about the command line.
func (e usageError) Error() string { return e.msg }

func commands() map[string]command {
	exactly := func(k int) func(int) bool { return func(n int) bool { return n == k } }
	atLeast := func(k int) func(int) bool { return func(n int) bool { return n >= k } }
	none := func(*flag.FlagSet, *opts) {}
	return map[string]command{
		"list":   {"", "list the ports: link, pty, wiring, open by, speed and framing, counters", none, cmdList, exactly(0)},
		"status": {"PORT", "show a port's UART registers, modem lines both ways, queues, holds, errors, counters", none, cmdStatus, exactly(1)},
		"set": {"PORT PIN=on|off...", "drive the modem inputs cts, dsr, ri, dcd (as the far end would) and the port's own dtr, rts",
			none, cmdSet, atLeast(2)},
		"line":  {"PORT FRAMING", "set data bits, parity and stop bits, e.g. 7E1 (what a pty cannot carry)", none, cmdLine, exactly(2)},
		"break": {"PORT DURATION", "send a break from PORT, e.g. 250ms", none, cmdBreak, exactly(2)},
		"inject": {"PORT framing|parity|overrun|noise", "damage what PORT receives, reproducibly with --seed", func(fs *flag.FlagSet, o *opts) {
			fs.UintVar(&o.count, "count", 1, "how many characters")
			fs.UintVar(&o.rate, "rate", 0, "characters per second (0: back to back at the port's speed)")
			fs.StringVar(&o.seed, "seed", "", "seed of the characters and damage (default: random, printed)")
		}, cmdInject, exactly(2)},
		"wait": {"PORT EVENT...", "wait for one of the events (rxchar, rxflag, txempty, cts, dsr, rlsd, break, err, ring, ...) and print which fired", func(fs *flag.FlagSet, o *opts) {
			fs.DurationVar(&o.timeout, "timeout", 0, "give up after this long (exit status 1)")
		}, cmdWait, atLeast(2)},
		"purge":  {"PORT rx|tx|all", "drop what a port has received, or has still to send, or both", none, cmdPurge, exactly(2)},
		"trace":  {"[PORT]", "print every request on PORT (or every port) as it starts and completes", none, cmdTrace, func(n int) bool { return n <= 1 }},
		"record": {"PORT FILE", "write both directions of PORT's traffic, its settings and modem-line changes to FILE until interrupted (see vcomd --connect NAME=replay:FILE)", none, cmdRecord, exactly(2)},
		"add": {"pair A:B | loopback NAME | connect NAME=TARGET", "add ports at run time (TARGET: rfc2217://HOST:PORT, socket://HOST:PORT, a device path, exec:COMMAND, replay:FILE)", func(fs *flag.FlagSet, o *opts) {
			fs.StringVar(&o.timing, "timing", "", "realistic or off (default: the daemon's; off for connect)")
			fs.BoolVar(&o.noRestart, "no-restart", false, "exec: leave the program stopped once it exits")
			fs.StringVar(&o.pace, "pace", "", "replay: recorded (default) or instant")
			fs.StringVar(&o.onMismatch, "on-mismatch", "", "replay: stop (default) or resync")
		}, cmdAdd, exactly(2)},
		"serve": {"PORT URL", "serve PORT on the network instead of its pty (URL: rfc2217://HOST:PORT or socket://HOST:PORT)", func(fs *flag.FlagSet, o *opts) {
			fs.Var(&o.allow, "allow", "a client `network` let in, like 192.168.1.0/24 (repeatable; none: loopback clients only)")
			fs.BoolVar(&o.handover, "handover", false, "a new client replaces the connected one")
		}, cmdServe, exactly(2)},
		"unserve": {"PORT", "stop serving PORT on the network; it gets a pty again", none, cmdUnserve, exactly(1)},
		"remove": {"PORT", "remove a loopback or connect port; with --pair, the pair PORT is in", func(fs *flag.FlagSet, o *opts) {
			fs.BoolVar(&o.pair, "pair", false, "PORT is one end of a pair: remove both ends")
		}, cmdRemove, exactly(1)},
		"stats": {"PORT", "show a port's SERIALPERF_STATS", func(fs *flag.FlagSet, o *opts) {
			fs.BoolVar(&o.watch, "watch", false, "show them again every --interval until interrupted")
			fs.DurationVar(&o.interval, "interval", time.Second, "how often --watch shows them")
		}, cmdStats, exactly(1)},
	}
}

func commonFlags(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.socket, "socket", o.socket, "the daemon's control `socket`")
	fs.BoolVar(&o.json, "json", o.json, "print JSON instead of text")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: vcomctl [--socket PATH] [--json] COMMAND [flags] [ARGS]")
	fmt.Fprintln(w, "\nCommands:")
	cmds := commands()
	for _, name := range []string{"list", "status", "set", "line", "break", "inject", "wait", "purge", "trace", "record", "add", "serve", "unserve", "remove", "stats"} {
		c := cmds[name]
		fmt.Fprintf(w, "  %-8s %-34s %s\n", name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nThe socket is --socket, else $VCOM_SOCKET, else vcomd.sock in vcomd's default directory.")
	fmt.Fprintln(w, "`vcomctl COMMAND -h` shows a command's flags.")
}

// run is the whole command: exit status 0, 1 when the daemon refused or
// could not be reached, 2 for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	o := &opts{socket: getenv("VCOM_SOCKET")}
	if o.socket == "" {
		o.socket = filepath.Join(config.DefaultDir(getenv, os.Geteuid() == 0), control.SocketName)
	}
	global := flag.NewFlagSet("vcomctl", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	commonFlags(global, o)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "vcomctl: %v\n", err)
		usage(stderr)
		return 2
	}
	if global.NArg() == 0 {
		usage(stderr)
		return 2
	}
	name, rest := global.Arg(0), global.Args()[1:]
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(stderr, "vcomctl: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("vcomctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, o)
	cmd.flags(fs, o)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vcomctl %s [flags] %s\n  %s\n", name, cmd.args, cmd.help)
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if !cmd.nargs(fs.NArg()) {
		fmt.Fprintf(stderr, "vcomctl %s: want %s\n", name, orNone(cmd.args))
		return 2
	}
	c := control.NewClient(o.socket)
	defer c.Close()
	err := cmd.run(ctx, &env{c: c, o: o, stdout: stdout}, fs.Args())
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "vcomctl %s: %v\n", name, err)
		return 2
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return 0 // interrupted: trace and stats --watch end so
	}
	fmt.Fprintf(stderr, "vcomctl %s: %v\n", name, err)
	return 1
}

func orNone(s string) string {
	if s == "" {
		return "no arguments"
	}
	return s
}

// parseInterspersed parses flags wherever they are among the arguments,
// so that `vcomctl wait ttyV0 cts --timeout 1s` works as people type it.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// emit prints v as one line of JSON with --json, or text otherwise.
func (e *env) emit(v any, text func(w io.Writer)) error {
	if e.o.json {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	text(e.stdout)
	return nil
}

func cmdList(ctx context.Context, e *env, _ []string) error {
	ports, err := e.c.Ports(ctx)
	if err != nil {
		return err
	}
	return e.emit(ports, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tLINK\tPTY\tLINE\tOPEN\tBAUD\tFRAMING\tTIMING\tRX\tTX\tERRORS")
		for _, p := range ports {
			c := p.State.Counters
			errs := uint64(c.FrameErrorCount) + uint64(c.ParityErrorCount) + uint64(c.SerialOverrunErrorCount) + uint64(c.BufferOverrunErrorCount)
			link, pty := p.Link, p.PTY
			if p.Serve != nil {
				link, pty = p.Serve.Address, "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\n", p.Name, link, pty, wiring(p), openBy(p),
				p.State.Baud, p.Framing, p.Timing, c.ReceivedCount, c.TransmittedCount, errs)
		}
		tw.Flush()
	})
}

func wiring(p control.Port) string {
	switch {
	case p.Peer != "":
		return "pair with " + p.Peer
	case p.Remote != nil:
		state := "connected"
		if !p.Remote.Connected {
			state = "not connected"
		}
		return "connect " + p.Remote.Address + ", " + state
	case p.Exec != nil:
		if p.Exec.Running {
			return fmt.Sprintf("connect exec:%s, pid %d", p.Exec.Command, p.Exec.PID)
		}
		return "connect exec:" + p.Exec.Command + ", not running"
	case p.Replay != nil:
		return "replay " + p.Replay.File + ", " + p.Replay.State
	case p.Device != nil:
		state := "device open"
		if !p.Device.Open {
			state = "device not open"
		}
		return "connect " + p.Device.Path + ", " + state
	}
	return p.Wiring
}

func openBy(p control.Port) string {
	switch {
	case p.Serve != nil && p.Serve.Client != "":
		return "client " + p.Serve.Client
	case !p.Open:
		return "closed"
	case len(p.PIDs) == 0:
		return "open"
	}
	pids := make([]string, len(p.PIDs))
	for i, pid := range p.PIDs {
		pids[i] = strconv.Itoa(pid)
	}
	return "open by pid " + strings.Join(pids, ",")
}

func cmdStatus(ctx context.Context, e *env, args []string) error {
	p, err := e.c.Port(ctx, args[0])
	if err != nil {
		return err
	}
	return e.emit(p, func(w io.Writer) { printStatus(w, p) })
}

func printStatus(w io.Writer, p control.Port) {
	s := p.State
	r := s.Registers
	fmt.Fprintf(w, "%s  %s  (%s, timing %s, %s)\n", p.Name, front(p), wiring(p), p.Timing, openBy(p))
	if sv := p.Serve; sv != nil {
		allow := "loopback clients only"
		if len(sv.Allow) > 0 {
			allow = "allow " + strings.Join(sv.Allow, ",")
		}
		fmt.Fprintf(w, "serve      %s  %s  handover %s  accepted %d  refused %d  dropped %d", sv.Address, allow, onOffText(sv.Handover), sv.Accepted, sv.Refused, sv.Dropped)
		if sv.LastRefusal != "" {
			fmt.Fprintf(w, "  last refusal: %s", sv.LastRefusal)
		}
		fmt.Fprintln(w)
	}
	if r := p.Remote; r != nil {
		fmt.Fprintf(w, "remote     %s  connected %s  connects %d  lost tx %d", r.Address, onOffText(r.Connected), r.Connects, r.LostTx)
		if r.Peer != "" {
			fmt.Fprintf(w, "  server %q", r.Peer)
		}
		if r.LastError != "" {
			fmt.Fprintf(w, "  last error: %s", r.LastError)
		}
		fmt.Fprintln(w)
	}
	if x := p.Exec; x != nil {
		fmt.Fprintf(w, "exec       %s  running %s", x.Command, onOffText(x.Running))
		if x.Running {
			fmt.Fprintf(w, "  pid %d", x.PID)
		}
		fmt.Fprintf(w, "  restarts %d  lost tx %d", x.Restarts, x.LostTx)
		if x.LastExit != "" {
			fmt.Fprintf(w, "  last exit: %s", x.LastExit)
		}
		fmt.Fprintln(w)
	}
	if r := p.Replay; r != nil {
		fmt.Fprintf(w, "replay     %s  %s", r.File, r.State)
		if r.Line > 0 {
			fmt.Fprintf(w, " at line %d of %d", r.Line, r.Lines)
		}
		fmt.Fprintf(w, "  played %d  mismatches %d  extra %d\n", r.Played, r.Mismatches, r.Extra)
		if m := r.Mismatch; m != nil {
			fmt.Fprintf(w, "mismatch   %s\n", m.Message)
		}
	}
	if dv := p.Device; dv != nil {
		lines := "reported"
		if !dv.ModemLines {
			lines = "not reported (CTS, DSR, DCD held up while open)"
		}
		fmt.Fprintf(w, "device     %s  open %s  opens %d  lost tx %d  modem lines %s", dv.Path, onOffText(dv.Open), dv.Opens, dv.LostTx, lines)
		if dv.LastError != "" {
			fmt.Fprintf(w, "  last error: %s", dv.LastError)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "line       %d %s\n", s.Baud, p.Framing)
	fmt.Fprintf(w, "registers  IER %02X  IIR %02X  FCR %02X  LCR %02X  MCR %02X  LSR %02X  MSR %02X  SCR %02X  DLL %02X  DLM %02X\n",
		r.IER, r.IIR, r.FCR, r.LCR, r.MCR, r.LSR, r.MSR, r.SCR, r.DLL, r.DLM)
	pin := func(name string, on bool, bit uint8) string {
		s := name + "=" + onOffText(on)
		if s != "" && p.State.WireDriven&bit != 0 {
			s += "(wire)"
		}
		return s
	}
	fmt.Fprintf(w, "inputs     %s %s %s %s  break %s\n", pin("CTS", s.CTS, ioctl.MSRCTS), pin("DSR", s.DSR, ioctl.MSRDSR),
		pin("RI", s.RI, ioctl.MSRRI), pin("DCD", s.DCD, ioctl.MSRDCD), onOffText(s.BreakIn))
	fmt.Fprintf(w, "outputs    DTR=%s RTS=%s OUT1=%s OUT2=%s  break %s\n", onOffText(s.DTR), onOffText(s.RTS), onOffText(s.OUT1), onOffText(s.OUT2), onOffText(s.BreakOut))
	fmt.Fprintf(w, "fifos      rx %d/%d  tx %d/%d\n", s.RxFIFO, s.FIFODepth, s.TxFIFO, s.FIFODepth)
	fmt.Fprintf(w, "queues     in %d/%d  out %d  reads %d  writes %d  opens %d  wait mask %s\n",
		s.InQueue, s.InQueueSize, s.OutQueue, s.Reads, s.Writes, s.Opens, ioctl.WaitMask(s.WaitMask))
	fmt.Fprintf(w, "holds      %s\n", ioctl.HoldString(s.HoldReasons))
	fmt.Fprintf(w, "errors     %s\n", ioctl.ErrorString(s.Errors))
	c := s.Counters
	fmt.Fprintf(w, "counters   rx %d  tx %d  framing %d  parity %d  overrun %d  buffer overrun %d  break %d  cts %d  dsr %d  ring %d  dcd %d  tx holds %d\n",
		c.ReceivedCount, c.TransmittedCount, c.FrameErrorCount, c.ParityErrorCount, c.SerialOverrunErrorCount, c.BufferOverrunErrorCount,
		c.BreakCount, c.CTSCount, c.DSRCount, c.RingCount, c.DCDCount, c.TxHolds)
}

func onOffText(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func cmdSet(ctx context.Context, e *env, args []string) error {
	var req control.ModemRequest
	pins := map[string]**bool{"cts": &req.CTS, "dsr": &req.DSR, "ri": &req.RI, "dcd": &req.DCD, "dtr": &req.DTR, "rts": &req.RTS}
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(strings.ToLower(a), "=")
		var on bool
		switch v {
		case "on", "1", "true", "high":
			on = true
		case "off", "0", "false", "low":
		default:
			ok = false
		}
		if !ok {
			return usageError{fmt.Sprintf("%q: want PIN=on or PIN=off", a)}
		}
		dst, known := pins[k]
		if !known {
			return usageError{fmt.Sprintf("%q: unknown pin %q (pins: cts, dsr, ri, dcd, dtr, rts)", a, k)}
		}
		*dst = &on
	}
	return e.done(e.c.SetModem(ctx, args[0], req))
}

// done prints the answer of a request that only says what it did.
func (e *env) done(d control.Done, err error) error {
	if err != nil {
		return err
	}
	return e.emit(d, func(w io.Writer) { fmt.Fprintf(w, "%s: %s\n", d.Port, d.Message) })
}

func cmdLine(ctx context.Context, e *env, args []string) error {
	return e.done(e.c.SetLine(ctx, args[0], args[1]))
}

func cmdBreak(ctx context.Context, e *env, args []string) error {
	dur, err := time.ParseDuration(args[1])
	if err != nil {
		return usageError{fmt.Sprintf("duration %q: want a duration like 250ms", args[1])}
	}
	return e.done(e.c.Break(ctx, args[0], dur))
}

func cmdInject(ctx context.Context, e *env, args []string) error {
	inj := ioctl.Injection{Kind: ioctl.InjectKind(args[1]), Count: uint32(e.o.count), Rate: uint32(e.o.rate)}
	if e.o.count > ioctl.MaxInjectCount {
		return usageError{fmt.Sprintf("--count %d: at most %d", e.o.count, ioctl.MaxInjectCount)}
	}
	if e.o.seed == "" {
		inj.Seed = rand.Uint64() // printed, so the run can be repeated
	} else {
		s, err := strconv.ParseUint(e.o.seed, 0, 64)
		if err != nil {
			return usageError{fmt.Sprintf("--seed %q: want an unsigned integer", e.o.seed)}
		}
		inj.Seed = s
	}
	out, err := e.c.Inject(ctx, args[0], inj)
	if err != nil {
		return err
	}
	return e.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "%s: injected %d %s (repeat with --seed %d)\n", args[0], out.Count, injected(out.Kind), out.Seed)
	})
}

// injected names what an injection put on the line.
func injected(k ioctl.InjectKind) string {
	switch k {
	case ioctl.InjectFraming:
		return "characters with framing errors"
	case ioctl.InjectParity:
		return "characters with parity errors"
	case ioctl.InjectOverrun:
		return "overruns"
	case ioctl.InjectNoise:
		return "noise characters"
	}
	return string(k)
}

func cmdWait(ctx context.Context, e *env, args []string) error {
	events := strings.Join(args[1:], "|")
	res, err := e.c.Wait(ctx, args[0], events, e.o.timeout)
	if err != nil {
		return err
	}
	if err := e.emit(res, func(w io.Writer) {
		if !res.TimedOut {
			fmt.Fprintln(w, res.Events)
		}
	}); err != nil {
		return err
	}
	if res.TimedOut {
		return fmt.Errorf("%s: none of %s within %s", args[0], strings.ToUpper(events), e.o.timeout)
	}
	return nil
}

func cmdPurge(ctx context.Context, e *env, args []string) error {
	return e.done(e.c.Purge(ctx, args[0], args[1]))
}

func cmdTrace(ctx context.Context, e *env, args []string) error {
	port := ""
	if len(args) > 0 {
		port = args[0]
	}
	return e.c.Trace(ctx, port, func(l control.TraceLine, raw []byte) error {
		var err error
		if e.o.json {
			_, err = fmt.Fprintf(e.stdout, "%s\n", raw)
		} else {
			_, err = fmt.Fprintln(e.stdout, l)
		}
		return err
	})
}

func cmdAdd(ctx context.Context, e *env, args []string) error {
	req := control.AddRequest{Timing: e.o.timing}
	switch args[0] {
	case "pair":
		a, b, ok := strings.Cut(args[1], ":")
		if !ok {
			return usageError{fmt.Sprintf("pair %q: want A:B", args[1])}
		}
		req.Pair = []string{a, b}
	case "loopback":
		req.Loopback = args[1]
	case "connect":
		name, addr, ok := strings.Cut(args[1], "=")
		if !ok {
			return usageError{fmt.Sprintf("connect %q: want NAME=TARGET", args[1])}
		}
		req.Connect = &control.ConnectRequest{Name: name, Address: addr, Pace: e.o.pace, OnMismatch: e.o.onMismatch}
		if e.o.noRestart {
			restart := false
			req.Connect.Restart = &restart
		}
	default:
		return usageError{fmt.Sprintf("%q: want pair A:B, loopback NAME or connect NAME=TARGET", args[0])}
	}
	ports, err := e.c.Add(ctx, req)
	if err != nil {
		return err
	}
	return e.emit(ports, func(w io.Writer) {
		for _, p := range ports {
			// As vcomd prints its ports at start.
			fmt.Fprintf(w, "%s\t%s\t(%s)\n", p.Name, front(p), wiring(p))
		}
	})
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	p, err := e.c.Serve(ctx, args[0], control.ServeRequest{Address: args[1], Allow: e.o.allow, Handover: e.o.handover})
	if err != nil {
		return err
	}
	return e.emit(p, func(w io.Writer) { fmt.Fprintf(w, "%s\t%s\t(%s)\n", p.Name, front(p), wiring(p)) })
}

func cmdUnserve(ctx context.Context, e *env, args []string) error {
	p, err := e.c.Unserve(ctx, args[0])
	if err != nil {
		return err
	}
	return e.emit(p, func(w io.Writer) { fmt.Fprintf(w, "%s\t%s\t(%s)\n", p.Name, front(p), wiring(p)) })
}

// front is what a program opens: "LINK -> PTY", or the address served.
func front(p control.Port) string {
	if p.Serve != nil {
		return "served at " + p.Serve.Address
	}
	return p.Link + " -> " + p.PTY
}

func cmdRemove(ctx context.Context, e *env, args []string) error {
	return e.done(e.c.Remove(ctx, args[0], e.o.pair))
}

func cmdStats(ctx context.Context, e *env, args []string) error {
	var t *time.Ticker
	if e.o.watch {
		if e.o.interval <= 0 {
			return usageError{"--interval must be positive"}
		}
		t = time.NewTicker(e.o.interval)
		defer t.Stop()
	}
	for {
		s, err := e.c.Stats(ctx, args[0])
		if err != nil {
			return err
		}
		if err := e.emit(s, func(w io.Writer) {
			fmt.Fprintf(w, "%s  %s: rx %d  tx %d  framing %d  parity %d  overrun %d  buffer overrun %d\n",
				time.Now().Format("15:04:05"), args[0], s.ReceivedCount, s.TransmittedCount, s.FrameErrorCount,
				s.ParityErrorCount, s.SerialOverrunErrorCount, s.BufferOverrunErrorCount)
		}); err != nil {
			return err
		}
		if t == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
