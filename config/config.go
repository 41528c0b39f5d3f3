package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Timing says whether characters take their real time on the wire.
type Timing string

// The timings.
const (
	// TimingRealistic makes each character take the time its frame lasts at
	// the port's baud rate, as on a real line.
	TimingRealistic Timing = "realistic"
	// TimingOff makes characters arrive as soon as they are written.
	TimingOff Timing = "off"
)

// Kind says how a port is wired.
type Kind string

// The kinds of port.
const (
	// KindPair is one end of a null-modem pair: what it sends, the other end
	// receives, and its modem outputs are the other end's inputs.
	KindPair Kind = "pair"
	// KindLoopback is a port wired to itself, as with a loopback plug.
	KindLoopback Kind = "loopback"
	// KindConnect is a port whose wire is a remote server (RFC 2217 or raw
	// TCP), named by Port.Connect: what the port sends goes to the server,
	// and the server's data and modem lines are what it receives.
	KindConnect Kind = "connect"
)

// Parity is a port's initial parity setting.
type Parity string

// The parities, as the 16550 offers them.
const (
	ParityNone  Parity = "none"
	ParityOdd   Parity = "odd"
	ParityEven  Parity = "even"
	ParityMark  Parity = "mark"
	ParitySpace Parity = "space"
)

// StopBits is a port's initial number of stop bits: "1", "1.5" or "2".
type StopBits string

// The stop-bit settings. As on the 16550, 1.5 stop bits exist only with
// 5-bit characters, and 2 only with 6 to 8 bits.
const (
	StopBits1   StopBits = "1"
	StopBits1_5 StopBits = "1.5"
	StopBits2   StopBits = "2"
)

// SocketName is the control socket's file in Config.Dir. No port's link
// may be it.
const SocketName = "vcomd.sock"

const (
	maxNameLen   = 64   // longest port name
	maxFIFODepth = 4096 // deepest FIFO
)

// Defaults of a port's settings, and of the control socket's mode.
const (
	DefaultMode      os.FileMode = 0o660
	DefaultFIFODepth             = 16
	DefaultDataBits              = 8
	DefaultParity                = ParityNone
	DefaultStopBits              = StopBits1
	DefaultTiming                = TimingRealistic
	DefaultLogLevel              = "info"
)

// Port is one virtual serial port: a pty slave reached through a symlink.
type Port struct {
	// Name is the link's name, e.g. "ttyV0": 1 to 64 of the characters
	// A-Z a-z 0-9 . _ -, not starting with '-', neither "." nor "..", and
	// no name of a file the daemon makes in Config.Dir (see Validate).
	Name string
	// Kind says how the port is wired.
	Kind Kind
	// Peer is the name of the other end of the port's pair; "" for a
	// loopback or connect port.
	Peer string
	// Connect is, for a KindConnect port only, the server its wire
	// reaches: "rfc2217://HOST:PORT" or "socket://HOST:PORT" (see
	// ParseTarget); "" for the other kinds.
	Connect string
	// ExecRestart, for an exec: target only, starts the device program
	// again (with backoff) each time it exits; off, the port is left with
	// DSR and DCD down after the first exit. Default on: the file's
	// [[connect]] restart key, and nothing else, turns it off.
	ExecRestart bool
	// Replay is, for a connect port whose target is "replay:FILE", how
	// the recording plays; zero is the defaults.
	Replay ReplayOptions
	// Link is the absolute path of the symlink to the pty; default
	// Config.Dir/Name. It is "" for a served port, which has no pty: the
	// network is its front.
	Link string
	// Mode is the pty slave's permission bits (no bits outside 0777);
	// default 0660.
	Mode os.FileMode
	// Owner is the slave's owner, a user name or a numeric uid; "" leaves
	// it as the daemon's. Whether the user exists is for the caller to find.
	Owner string
	// Group is the slave's group, a group name or a numeric gid; "" is for
	// the caller to decide (the "dialout" group where it exists).
	Group string
	// Timing is the port's timing; default the global Config.Timing, but
	// off for a connect port: the far end has a real line that takes its
	// time already, and a second, simulated line in front of it would
	// only halve the throughput.
	Timing Timing
	// FIFODepth is the size of each of the UART's FIFOs, 1 to 4096; default
	// 16, the 16550A's. 1 behaves like a 16450 (one holding register);
	// larger values model deeper UARTs (64 for a 16750, 128 for a 16950).
	// Any value in range is accepted, power of two or not; the RX trigger
	// levels scale with it.
	FIFODepth int
	// DataBits is the initial character size, 5 to 8; default 8.
	DataBits uint8
	// Parity is the initial parity; default none.
	Parity Parity
	// StopBits is the initial number of stop bits; default "1".
	StopBits StopBits
}

// Serve is a port served on the network: the network is its front instead
// of a pty, and the connected client is the program on the port.
type Serve struct {
	// Port is the served port's name (made by a pair, a loopback or a
	// connect).
	Port string
	// Address is the URL as given, without its query:
	// "rfc2217://127.0.0.1:7000" or "socket://[::1]:7000".
	Address string
	// Raw is true for socket:// (data only), false for rfc2217://.
	Raw bool
	// Addr is the host:port to listen on, from Address. The host is an IP
	// address, "localhost", or empty for every address; the port 0 asks
	// for any free one.
	Addr string
	// Allow is the client networks let in, each a prefix (a single
	// address is a /32 or /128) with no bits set beyond its length. Empty
	// means loopback clients only, and is refused for an Addr that
	// listens beyond this machine.
	Allow []netip.Prefix
	// Handover makes a new client replace the connected one; without it,
	// a second client is told the port is busy and closed.
	Handover bool
}

// SocketConfig is the control socket's permissions.
type SocketConfig struct {
	// Group is the socket's group, a name or numeric gid; "" is for the
	// caller to decide (the "dialout" group where it exists).
	Group string
	// Mode is the socket's permission bits; default 0660.
	Mode os.FileMode
}

// Config is the checked description of everything the daemon creates.
type Config struct {
	// File is the config file that was read; "" when there was none (the
	// built-in default or flags alone).
	File string
	// Dir is the absolute path of the directory that holds the port links
	// (by default) and the control socket.
	Dir string
	// Timing is the global timing, the default of every port's.
	Timing Timing
	// LogLevel is a zerolog level name: trace, debug, info, warn or error.
	LogLevel string
	// LogFormat is "console", "json", or "" for console on a terminal and
	// JSON otherwise.
	LogFormat string
	// FramingErrors makes a mismatch of baud rate or framing between the
	// two ends of a pair show as framing and parity errors at the receiver,
	// as on a real line; when false (the default) characters arrive intact
	// whatever the two ends are set to.
	FramingErrors bool
	// Socket is the control socket's permissions.
	Socket SocketConfig
	// Ports is every port, in the order they were given.
	Ports []Port
	// Pairs holds the names of the two ends of each null-modem pair.
	Pairs [][2]string
	// Loopbacks holds the names of the loopback ports.
	Loopbacks []string
	// Connects holds the names of the connect ports, in order.
	Connects []string
	// Serves is every served port, in the order they were given.
	Serves []Serve
}

// PortByName returns the port called name, and whether there is one.
func (c *Config) PortByName(name string) (Port, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p, true
		}
	}
	return Port{}, false
}

// ServeOf returns the serve of the port called name, and whether it is
// served.
func (c *Config) ServeOf(name string) (Serve, bool) {
	for _, s := range c.Serves {
		if s.Port == name {
			return s, true
		}
	}
	return Serve{}, false
}

// TargetKind says what kind of thing a connect port's wire reaches.
type TargetKind string

// The kinds of target.
const (
	TargetRFC2217 TargetKind = "rfc2217" // an RFC 2217 server: data, line settings, modem lines, break
	TargetSocket  TargetKind = "socket"  // a raw TCP server: data only
	TargetDevice  TargetKind = "device"  // a tty device: a real serial adapter
	TargetExec    TargetKind = "exec"    // a child process playing the device
	TargetReplay  TargetKind = "replay"  // a recording of a device, played back
)

// Target is what a connect port's wire reaches, as ParseTarget reads it.
type Target struct {
	Kind TargetKind
	// Addr is HOST:PORT of a network server, for net.Dial.
	Addr string
	// Path is the absolute path of a device or of a recording.
	Path string
	// Command is a device program's shell command line (for /bin/sh -c).
	Command string
}

// ParseTarget reads what a connect port reaches: "rfc2217://HOST:PORT"
// (RFC 2217) or "socket://HOST:PORT" (raw TCP), where HOST is a name, an
// IP address, or an IPv6 address in brackets and PORT is 1 to 65535; an
// absolute tty path such as /dev/ttyUSB0; "exec:COMMAND"; or
// "replay:FILE". The error names s and what is wrong with it.
func ParseTarget(s string) (Target, error) {
	t, err := parseTarget(s)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %v", s, err)
	}
	return t, nil
}

// newPort returns a port with every default but Link and Timing, which
// depend on the global settings and are filled last.
func newPort(name string, kind Kind, peer string) Port {
	return Port{
		Name:      name,
		Kind:      kind,
		Peer:      peer,
		Mode:      DefaultMode,
		FIFODepth: DefaultFIFODepth,
		DataBits:  DefaultDataBits,
		Parity:    DefaultParity,
		StopBits:  DefaultStopBits,
	}
}

// Validate checks the whole description: global settings, every port's
// settings, that names and links are unique, and that each port is in
// exactly one pair or is a loopback, consistently with its Kind and Peer.
// The error is one line naming the problem and the port.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("dir: not set")
	}
	if !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("dir %q: must be an absolute path", c.Dir)
	}
	if !utf8.ValidString(c.Dir) {
		// Neither the config file nor the control API's JSON can say it.
		return fmt.Errorf("dir %q: not valid UTF-8", c.Dir)
	}
	if _, err := parseTiming(string(c.Timing)); err != nil {
		return fmt.Errorf("timing %q: %v", c.Timing, err)
	}
	if err := checkLogLevel(c.LogLevel); err != nil {
		return fmt.Errorf("log_level %q: %v", c.LogLevel, err)
	}
	if c.LogFormat != "" {
		if f, err := parseLogFormat(c.LogFormat); err != nil || f == "" {
			return fmt.Errorf("log_format %q: want console or json (or empty for auto)", c.LogFormat)
		}
	}
	if err := checkMode(c.Socket.Mode); err != nil {
		return fmt.Errorf("socket: mode %04o: %v", uint32(c.Socket.Mode), err)
	}
	if err := checkID(c.Socket.Group); err != nil {
		return fmt.Errorf("socket: group %q: %v", c.Socket.Group, err)
	}

	served := make(map[string]string, len(c.Serves)) // port name → its serve's address
	for _, sv := range c.Serves {
		if _, dup := served[sv.Port]; !dup {
			served[sv.Port] = sv.Address
		}
	}
	byName := make(map[string]Port, len(c.Ports))
	byLink := make(map[string]string, len(c.Ports))
	for _, p := range c.Ports {
		if err := checkName(p.Name); err != nil {
			return fmt.Errorf("port name %q: %v", p.Name, err)
		}
		if _, dup := byName[p.Name]; dup {
			return fmt.Errorf("port %q is defined twice", p.Name)
		}
		byName[p.Name] = p
		if addr, ok := served[p.Name]; ok {
			if p.Link != "" {
				return fmt.Errorf("port %q: link %q: a served port has no link (the network is its front, at %s)", p.Name, p.Link, addr)
			}
			if err := p.checkSettings(); err != nil {
				return fmt.Errorf("port %q: %v", p.Name, err)
			}
			continue
		}
		if err := p.check(); err != nil {
			return fmt.Errorf("port %q: %v", p.Name, err)
		}
		if err := c.checkOwnFiles(p); err != nil {
			return err
		}
		if other, dup := byLink[p.Link]; dup {
			return fmt.Errorf("port %q: link %q is also the link of port %q", p.Name, p.Link, other)
		}
		byLink[p.Link] = p.Name
	}

	placed := make(map[string]string, len(c.Ports)) // port name → `pair "a:b"`, `loopback "a"` or `connect "a"`
	for _, pr := range c.Pairs {
		what := fmt.Sprintf("pair %q", pr[0]+":"+pr[1])
		if pr[0] == pr[1] {
			return fmt.Errorf("%s: a port cannot be paired with itself", what)
		}
		for _, name := range pr {
			if _, ok := byName[name]; !ok {
				return fmt.Errorf("%s: port %q is not defined", what, name)
			}
		}
		for i, name := range pr {
			p := byName[name]
			if prev, dup := placed[name]; dup {
				return fmt.Errorf("%s: port %q is already in %s", what, name, prev)
			}
			if p.Kind != KindPair || p.Peer != pr[1-i] {
				return fmt.Errorf("%s: port %q has kind %q and peer %q", what, name, p.Kind, p.Peer)
			}
			placed[name] = what
		}
	}
	for _, list := range []struct {
		kind  Kind
		names []string
	}{{KindLoopback, c.Loopbacks}, {KindConnect, c.Connects}} {
		for _, name := range list.names {
			what := portDef{kind: list.kind, a: name}.what()
			p, ok := byName[name]
			if !ok {
				return fmt.Errorf("%s: port %q is not defined", what, name)
			}
			if prev, dup := placed[name]; dup {
				return fmt.Errorf("%s: port %q is already %s", what, name, prevPhrase(prev))
			}
			if p.Kind != list.kind || p.Peer != "" {
				return fmt.Errorf("%s: port %q has kind %q and peer %q", what, name, p.Kind, p.Peer)
			}
			placed[name] = what
		}
	}
	for _, p := range c.Ports {
		if _, ok := placed[p.Name]; !ok {
			return fmt.Errorf("port %q is not in any pair, loopback or connect", p.Name)
		}
	}
	return c.checkServes(byName)
}

// checkOwnFiles refuses a port whose link would be one of the files the
// daemon makes beside its links: the control socket, or the temporary
// name a link is made under (LINK.PID.tmp, renamed over LINK), which
// another port's link could be. Either would be replaced or removed under
// the other's feet.
func (c *Config) checkOwnFiles(p Port) error {
	why := ""
	base := filepath.Base(p.Link)
	switch {
	case p.Link == filepath.Join(c.Dir, SocketName):
		why = fmt.Sprintf("is the control socket's file in %s", c.Dir)
	case p.Link == c.Dir:
		why = "is the directory of the links itself"
	case isTempLinkName(base):
		why = fmt.Sprintf("has the form NAME.PID.tmp of the temporary links vcomd makes in %s", filepath.Dir(p.Link))
	default:
		return nil
	}
	if p.Link == filepath.Join(c.Dir, p.Name) {
		return fmt.Errorf("port name %q %s", p.Name, why)
	}
	return fmt.Errorf("port %q: link %q %s", p.Name, p.Link, why)
}

// isTempLinkName reports whether name has the form STEM.DIGITS.tmp, that of
// the name a link is first made under.
func isTempLinkName(name string) bool {
	rest, ok := strings.CutSuffix(name, ".tmp")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return false
	}
	return strings.Trim(rest[i+1:], "0123456789") == ""
}

// prevPhrase turns `pair "a:b"` into `in pair "a:b"`, `loopback "a"` into
// `a loopback` and `connect "a"` into `a connect port`, for "port x is
// already ...".
func prevPhrase(prev string) string {
	switch {
	case strings.HasPrefix(prev, "loopback"):
		return "a loopback"
	case strings.HasPrefix(prev, "connect"):
		return "a connect port"
	}
	return "in " + prev
}

// check checks a port's own settings (not its name, kind or peer),
// including its link, which every port but a served one has. The error
// names the setting by its TOML key.
func (p *Port) check() error {
	if p.Link == "" {
		return errors.New("link: not set")
	}
	if !filepath.IsAbs(p.Link) {
		return fmt.Errorf("link %q: must be an absolute path", p.Link)
	}
	if !utf8.ValidString(p.Link) {
		return fmt.Errorf("link %q: not valid UTF-8", p.Link)
	}
	return p.checkSettings()
}

// checkSettings checks what check does but the link.
func (p *Port) checkSettings() error {
	switch {
	case p.Kind == KindConnect:
		if _, err := parseTarget(p.Connect); err != nil {
			return fmt.Errorf("address %q: %v", p.Connect, err)
		}
		if err := p.Replay.check(p.Connect); err != nil {
			return err
		}
	case p.Connect != "":
		return fmt.Errorf("connect %q: only a connect port has a server to reach", p.Connect)
	}
	if err := checkMode(p.Mode); err != nil {
		return fmt.Errorf("mode %04o: %v", uint32(p.Mode), err)
	}
	if err := checkID(p.Owner); err != nil {
		return fmt.Errorf("owner %q: %v", p.Owner, err)
	}
	if err := checkID(p.Group); err != nil {
		return fmt.Errorf("group %q: %v", p.Group, err)
	}
	if _, err := parseTiming(string(p.Timing)); err != nil {
		return fmt.Errorf("timing %q: %v", p.Timing, err)
	}
	if err := checkFIFODepth(p.FIFODepth); err != nil {
		return fmt.Errorf("fifo_depth %d: %v", p.FIFODepth, err)
	}
	if err := checkDataBits(int(p.DataBits)); err != nil {
		return fmt.Errorf("data_bits %d: %v", p.DataBits, err)
	}
	if _, err := parseParity(string(p.Parity)); err != nil {
		return fmt.Errorf("parity %q: %v", p.Parity, err)
	}
	if _, err := parseStopBits(string(p.StopBits)); err != nil {
		return fmt.Errorf("stop_bits %q: %v", p.StopBits, err)
	}
	return checkFraming(int(p.DataBits), p.StopBits)
}

// The checkers below return only the reason; callers say what and where.

func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case name == "." || name == "..":
		return errors.New(`"." and ".." are not port names`)
	case name[0] == '-':
		return errors.New("starts with '-': vcomctl would read it as a flag")
	case len(name) > maxNameLen:
		return fmt.Errorf("longer than %d characters", maxNameLen)
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("has %q: may hold only letters, digits, '.', '_' and '-'", r)
		}
	}
	return nil
}

func parseTiming(s string) (Timing, error) {
	switch t := Timing(s); t {
	case TimingRealistic, TimingOff:
		return t, nil
	}
	return "", errors.New("want realistic or off")
}

func checkLogLevel(s string) error {
	switch s {
	case "trace", "debug", "info", "warn", "error":
		return nil
	}
	return errors.New("want trace, debug, info, warn or error")
}

// parseLogFormat maps "auto" to "".
func parseLogFormat(s string) (string, error) {
	switch s {
	case "console", "json":
		return s, nil
	case "auto":
		return "", nil
	}
	return "", errors.New("want console, json or auto")
}

// parseMode reads a string of octal digits such as "0660".
func parseMode(s string) (os.FileMode, error) {
	if s == "" || len(s) > 4 || strings.Trim(s, "01234567") != "" {
		return 0, errors.New(`want up to 4 octal digits, like "0660"`)
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, errors.New(`want up to 4 octal digits, like "0660"`)
	}
	m := os.FileMode(v)
	if err := checkMode(m); err != nil {
		return 0, err
	}
	return m, nil
}

func checkMode(m os.FileMode) error {
	if m&^0o777 != 0 {
		return errors.New("has bits outside 0777")
	}
	return nil
}

// checkID checks the form of an owner or group: "" (unset), a numeric id,
// or a name of the form useradd accepts (letters, digits, '_', '.', '-',
// not starting with '-' or a digit-only string, an optional final '$').
// Whether it exists is not looked up here.
func checkID(s string) error {
	if s == "" {
		return nil
	}
	if strings.Trim(s, "0123456789") == "" {
		if _, err := strconv.ParseUint(s, 10, 32); err != nil {
			return errors.New("numeric id out of range")
		}
		return nil
	}
	if len(s) > 32 {
		return errors.New("longer than 32 characters")
	}
	body := strings.TrimSuffix(s, "$")
	if body == "" || body[0] == '-' {
		return errors.New("want a user or group name, or a numeric id")
	}
	for _, r := range body {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("has %q: want a user or group name, or a numeric id", r)
		}
	}
	return nil
}

func checkFIFODepth(n int) error {
	if n < 1 || n > maxFIFODepth {
		return fmt.Errorf("must be 1..%d", maxFIFODepth)
	}
	return nil
}

func checkDataBits(n int) error {
	if n < 5 || n > 8 {
		return errors.New("must be 5..8")
	}
	return nil
}

func parseParity(s string) (Parity, error) {
	switch p := Parity(s); p {
	case ParityNone, ParityOdd, ParityEven, ParityMark, ParitySpace:
		return p, nil
	}
	return "", errors.New("want none, odd, even, mark or space")
}

func parseStopBits(s string) (StopBits, error) {
	switch b := StopBits(s); b {
	case StopBits1, StopBits1_5, StopBits2:
		return b, nil
	}
	return "", errors.New(`want "1", "1.5" or "2"`)
}

// checkFraming applies the 16550's rule: LCR bit 2 means 1.5 stop bits with
// 5-bit characters and 2 stop bits with 6 to 8.
func checkFraming(dataBits int, stop StopBits) error {
	switch {
	case stop == StopBits1_5 && dataBits != 5:
		return fmt.Errorf(`stop_bits "1.5" with data_bits %d: the 16550 gives 1.5 stop bits only with 5 data bits`, dataBits)
	case stop == StopBits2 && dataBits == 5:
		return errors.New(`stop_bits "2" with data_bits 5: the 16550 gives 1.5 stop bits, not 2, with 5 data bits`)
	}
	return nil
}
