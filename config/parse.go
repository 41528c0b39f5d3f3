package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// flagValues holds the flags as given, before they are checked.
type flagValues struct {
	config    string
	dir       string
	timing    string
	logLevel  string
	logFormat string
	ports     []flagPort // --pair, --loopback and --connect in command-line order
	serves    []flagPort // --serve in command-line order
}

// flagPort is one --pair, --loopback, --connect or --serve.
type flagPort struct {
	flag  string // "pair", "loopback", "connect" or "serve"
	value string
}

// portList is the flag.Value of --pair, --loopback and --connect: they
// append to one list so that the ports keep their command-line order.
// --serve has a list of its own.
type portList struct {
	name string
	list *[]flagPort
}

func (p portList) String() string { return "" }

func (p portList) Set(s string) error {
	*p.list = append(*p.list, flagPort{flag: p.name, value: s})
	return nil
}

// newFlagSet returns vcomd's flags, bound to v. It prints nothing: Parse
// returns the one error, and Usage prints the help.
func newFlagSet(v *flagValues) *flag.FlagSet {
	fs := flag.NewFlagSet("vcomd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&v.config, "config", "", "read the TOML config `file` (see the sample in the config package)")
	fs.StringVar(&v.dir, "dir", "", "`directory` of the port links (default /run/vcom as root, else $XDG_RUNTIME_DIR/vcom, else $TMPDIR/vcom-UID)")
	fs.Var(portList{"pair", &v.ports}, "pair", "create the null-modem pair `A:B` (repeatable)")
	fs.Var(portList{"loopback", &v.ports}, "loopback", "create the loopback port `NAME` (repeatable)")
	fs.Var(portList{"connect", &v.ports}, "connect", "`NAME=URL`: create the port NAME whose wire is the server at URL, rfc2217://HOST:PORT or socket://HOST:PORT (repeatable)")
	fs.Var(portList{"serve", &v.serves}, "serve", "`NAME=URL`: serve the port NAME at URL instead of a pty: rfc2217://HOST:PORT or socket://HOST:PORT, options ?allow=PREFIX,...&handover (repeatable; a non-loopback HOST needs allow)")
	fs.StringVar(&v.timing, "timing", string(DefaultTiming), "`realistic` (characters take their time on the wire) or off")
	fs.StringVar(&v.logLevel, "log-level", DefaultLogLevel, "log `level`: trace, debug, info, warn or error")
	fs.StringVar(&v.logFormat, "log-format", "auto", "log `format`: console, json, or auto (console on a terminal)")
	return fs
}

// Usage writes a usage line and the flags' help to w, for the caller to show
// on -h (when Parse returns flag.ErrHelp).
func Usage(w io.Writer) {
	fs := newFlagSet(&flagValues{})
	fs.SetOutput(w)
	fmt.Fprintln(w, "Usage: vcomd [flags]")
	fs.PrintDefaults()
}

// DefaultDir returns the directory of the port links when neither --dir nor
// the config file's dir is given: /run/vcom for root; else
// $XDG_RUNTIME_DIR/vcom when that variable holds an absolute path; else
// vcom-UID (UID being the real user id) in the system temp directory,
// $TMPDIR or /tmp as os.TempDir has it but read through env. The caller
// creates the directory, with mode 0700 in the last case.
func DefaultDir(env func(string) string, isRoot bool) string {
	if isRoot {
		return "/run/vcom"
	}
	if x := env("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		return filepath.Join(x, "vcom")
	}
	tmp := env("TMPDIR")
	if !filepath.IsAbs(tmp) {
		tmp = "/tmp"
	}
	return filepath.Join(tmp, "vcom-"+strconv.Itoa(os.Getuid()))
}

// Parse builds the daemon's Config from its command-line arguments (without
// the program name), reading environment variables through env and the
// config file named by --config. isRoot chooses the default directory (see
// DefaultDir). The result has passed Validate. With -h or -help it returns
// flag.ErrHelp; any other error is one line to print before exiting with
// status 2.
func Parse(args []string, env func(string) string, isRoot bool) (*Config, error) {
	var v flagValues
	fs := newFlagSet(&v)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: ports are given with --pair, --loopback and --connect", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	c := &Config{
		Timing:   DefaultTiming,
		LogLevel: DefaultLogLevel,
		Socket:   SocketConfig{Mode: DefaultMode},
	}
	b := newBuilder(c)

	// The file, or the built-in default when no ports are given at all.
	var fc *fileConfig
	var err error
	switch {
	case set["config"]:
		fc, err = readFile(v.config)
	case len(v.ports) == 0:
		fc, err = decodeFile(defaultLabel, defaultTOML)
	}
	if err != nil {
		return nil, err
	}
	if fc != nil {
		c.File = fc.path
		fc.applyGlobals(c)
		for _, d := range fc.ports {
			if err := b.add(d); err != nil {
				return nil, fmt.Errorf("%s: %s: %v", fc.label, d.what(), err)
			}
		}
	}

	// Flags over the file.
	if set["dir"] {
		if !filepath.IsAbs(v.dir) {
			return nil, fmt.Errorf("--dir %q: must be an absolute path", v.dir)
		}
		c.Dir = filepath.Clean(v.dir)
	}
	if set["timing"] {
		t, err := parseTiming(v.timing)
		if err != nil {
			return nil, fmt.Errorf("--timing %q: %v", v.timing, err)
		}
		c.Timing = t
	}
	if set["log-level"] {
		if err := checkLogLevel(v.logLevel); err != nil {
			return nil, fmt.Errorf("--log-level %q: %v", v.logLevel, err)
		}
		c.LogLevel = v.logLevel
	}
	if set["log-format"] {
		f, err := parseLogFormat(v.logFormat)
		if err != nil {
			return nil, fmt.Errorf("--log-format %q: %v", v.logFormat, err)
		}
		c.LogFormat = f
	}
	for _, fp := range v.ports {
		d := portDef{kind: KindLoopback, a: fp.value}
		switch fp.flag {
		case "pair":
			a, bn, ok := strings.Cut(fp.value, ":")
			if !ok || a == "" || bn == "" || strings.Contains(bn, ":") {
				return nil, fmt.Errorf("--pair %q: want A:B", fp.value)
			}
			d = portDef{kind: KindPair, a: a, b: bn}
		case "connect":
			name, target, err := cutFlag(fp)
			if err != nil {
				return nil, err
			}
			if _, err := parseTarget(target); err != nil {
				return nil, fmt.Errorf("--connect %q: %v", fp.value, err)
			}
			d = portDef{kind: KindConnect, a: name, target: target}
		}
		if err := b.add(d); err != nil {
			return nil, fmt.Errorf("--%s %q: %v", fp.flag, fp.value, err)
		}
	}

	// The file's [[port]] blocks apply to its ports and to the flags'.
	if fc != nil {
		for _, s := range fc.settings {
			p := b.port(s.name)
			if p == nil {
				return nil, fmt.Errorf("%s: port %q is not in any pair, loopback or connect", fc.label, s.name)
			}
			s.apply(p)
			if err := checkFraming(int(p.DataBits), p.StopBits); err != nil {
				return nil, fmt.Errorf("%s: port %q: %v", fc.label, s.name, err)
			}
		}
	}

	// The serves, of the file then of the flags, name ports of either;
	// Validate checks them against the ports.
	if fc != nil {
		c.Serves = append(c.Serves, fc.serves...)
	}
	for _, fp := range v.serves {
		name, addr, err := cutFlag(fp)
		if err != nil {
			return nil, err
		}
		s, err := parseListen(name, addr)
		if err != nil {
			return nil, fmt.Errorf("--serve %q: %v", fp.value, err)
		}
		c.Serves = append(c.Serves, s)
	}

	// What depends on the final globals.
	if c.Dir == "" {
		c.Dir = DefaultDir(env, isRoot)
	}
	for i := range c.Ports {
		p := &c.Ports[i]
		if _, served := c.ServeOf(p.Name); p.Link == "" && !served {
			p.Link = filepath.Join(c.Dir, p.Name)
		}
		if p.Timing == "" {
			p.Timing = defaultTiming(p.Kind, c.Timing)
		}
	}
	if err := c.Validate(); err != nil {
		if c.File != "" {
			return nil, fmt.Errorf("config %s: %v", c.File, err)
		}
		return nil, err
	}
	return c, nil
}

// cutFlag cuts the value NAME=URL of --connect or --serve.
func cutFlag(fp flagPort) (name, url string, err error) {
	name, url, ok := strings.Cut(fp.value, "=")
	if !ok || name == "" || url == "" {
		return "", "", fmt.Errorf("--%s %q: want NAME=URL, like ttyV0=rfc2217://127.0.0.1:7000", fp.flag, fp.value)
	}
	return name, url, nil
}

// defaultTiming is the timing of a port of kind whose own is not set: the
// global one, but off for a connect port, whose far end has a real line
// that takes its time already.
func defaultTiming(kind Kind, global Timing) Timing {
	if kind == KindConnect {
		return TimingOff
	}
	return global
}

// Load reads the config file at path as the daemon would with --config path
// and no other flag, taking the environment and the effective user from the
// process, and returns the checked Config.
func Load(path string) (*Config, error) {
	return Parse([]string{"--config", path}, os.Getenv, os.Geteuid() == 0)
}

// applyGlobals sets on c the global settings the file sets.
func (fc *fileConfig) applyGlobals(c *Config) {
	setIf(&c.Dir, fc.dir)
	setIf(&c.Timing, fc.timing)
	setIf(&c.LogLevel, fc.logLevel)
	setIf(&c.LogFormat, fc.logFormat)
	setIf(&c.FramingErrors, fc.framingErrors)
	setIf(&c.Socket.Group, fc.socketGroup)
	setIf(&c.Socket.Mode, fc.socketMode)
}

// builder adds ports to a Config, refusing bad names and ports defined
// twice, and remembers which entry defined each port.
type builder struct {
	c     *Config
	index map[string]int    // port name → index in c.Ports
	where map[string]string // port name → `pair "a:b"` or `loopback "a"`
}

func newBuilder(c *Config) *builder {
	return &builder{c: c, index: map[string]int{}, where: map[string]string{}}
}

// port returns the port called name, or nil.
func (b *builder) port(name string) *Port {
	i, ok := b.index[name]
	if !ok {
		return nil
	}
	return &b.c.Ports[i]
}

// add adds the ports of a pair, loopback or connect entry (whose target is
// checked already). The error does not name the entry; the caller does.
func (b *builder) add(d portDef) error {
	names := []string{d.a}
	if d.kind == KindPair {
		names = append(names, d.b)
	}
	for _, n := range names {
		if err := checkName(n); err != nil {
			return fmt.Errorf("port name %q: %v", n, err)
		}
		if prev, dup := b.where[n]; dup {
			return fmt.Errorf("port %q is already %s", n, prevPhrase(prev))
		}
	}
	if d.kind == KindPair && d.a == d.b {
		return fmt.Errorf("a port cannot be paired with itself")
	}
	what := d.what()
	switch d.kind {
	case KindPair:
		b.append(newPort(d.a, KindPair, d.b), what)
		b.append(newPort(d.b, KindPair, d.a), what)
		b.c.Pairs = append(b.c.Pairs, [2]string{d.a, d.b})
	case KindConnect:
		p := newPort(d.a, KindConnect, "")
		p.Connect = d.target
		if t, err := parseTarget(d.target); err == nil && t.Kind == TargetExec {
			p.ExecRestart = !d.noRestart
		}
		p.Replay = d.replay
		b.append(p, what)
		b.c.Connects = append(b.c.Connects, d.a)
	default:
		b.append(newPort(d.a, KindLoopback, ""), what)
		b.c.Loopbacks = append(b.c.Loopbacks, d.a)
	}
	return nil
}

func (b *builder) append(p Port, what string) {
	b.index[p.Name] = len(b.c.Ports)
	b.where[p.Name] = what
	b.c.Ports = append(b.c.Ports, p)
}
