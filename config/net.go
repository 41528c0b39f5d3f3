package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// The URLs of the network: what a serve listens on and what a connect port
// reaches. Every scheme is read here, so that a new kind of target (issue
// 14: devices, exec:, replay:) is one more case in parseTarget.

// netSchemes maps each network scheme to whether it is raw TCP.
var netSchemes = map[string]bool{
	"rfc2217": false, // RFC 2217: data, line settings, modem lines, break
	"socket":  true,  // raw TCP, data only (pyserial's socket://)
}

// wantURL is said with every error about a URL's form.
const wantURL = "want rfc2217://HOST:PORT or socket://HOST:PORT"

// netURL is a network URL cut into its parts.
type netURL struct {
	raw      bool
	host     string // without brackets
	port     string // decimal digits
	query    string
	hasQuery bool // a '?', even with nothing after it
}

// hostport is host:port, with an IPv6 host in brackets.
func (u netURL) hostport() string { return net.JoinHostPort(u.host, u.port) }

// cutURL cuts "SCHEME://HOST:PORT[?QUERY]". The port may be 0..65535; the
// callers say what else they take. Errors give only the reason.
func cutURL(s string) (netURL, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return netURL{}, errors.New("no scheme: " + wantURL)
	}
	raw, known := netSchemes[scheme]
	if !known {
		return netURL{}, fmt.Errorf("unknown scheme %q: %s", scheme, wantURL)
	}
	u := netURL{raw: raw}
	rest, u.query, u.hasQuery = strings.Cut(rest, "?")
	if i := strings.IndexAny(rest, "/@#"); i >= 0 {
		return netURL{}, fmt.Errorf("has %q after the scheme: %s, with no path, user or fragment", rest[i], wantURL)
	}
	host, port, err := net.SplitHostPort(rest)
	switch {
	case err != nil && strings.Count(rest, ":") > 1 && !strings.HasPrefix(rest, "["):
		return netURL{}, fmt.Errorf("%q: put an IPv6 address in brackets, like [::1]:7000", rest)
	case err != nil:
		return netURL{}, fmt.Errorf("%q: %s", rest, wantURL)
	}
	if strings.HasPrefix(rest, "[") {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return netURL{}, fmt.Errorf("host [%s]: only an IPv6 address goes in brackets", host)
		}
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || strings.Trim(port, "0123456789") != "" {
		return netURL{}, fmt.Errorf("port %q: want a number 1..65535", port)
	}
	u.host, u.port = host, strconv.FormatUint(n, 10)
	return u, nil
}

// parseTarget reads the target of a connect port (see ParseTarget). Errors
// give only the reason.
func parseTarget(s string) (Target, error) {
	switch {
	case strings.HasPrefix(s, "/"):
		return deviceTarget(s)
	case strings.HasPrefix(s, "exec:"):
		return execTarget(strings.TrimPrefix(s, "exec:"))
	case strings.HasPrefix(s, "replay:"):
		return replayTarget(strings.TrimPrefix(s, "replay:"))
	case !strings.Contains(s, "://"):
		return Target{}, errors.New("no scheme: want rfc2217://HOST:PORT, socket://HOST:PORT, a device path like /dev/ttyUSB0, exec:COMMAND or replay:FILE")
	}
	u, err := cutURL(s)
	if err != nil {
		return Target{}, err
	}
	switch {
	case u.hasQuery:
		return Target{}, errors.New("a target takes no options (nothing after '?')")
	case u.host == "":
		return Target{}, errors.New("no host: " + wantURL)
	case u.port == "0":
		return Target{}, errors.New(`port "0": want a number 1..65535`)
	}
	if err := checkHostName(u.host); err != nil {
		return Target{}, err
	}
	t := Target{Kind: TargetRFC2217, Addr: u.hostport()}
	if u.raw {
		t.Kind = TargetSocket
	}
	return t, nil
}

// deviceTarget is a tty device's path. Whether it exists is for the wire
// to find, and to wait for: an adapter may be plugged in later.
func deviceTarget(path string) (Target, error) {
	if filepath.Clean(path) != path {
		return Target{}, fmt.Errorf("path %q: not clean: want %s", path, filepath.Clean(path))
	}
	return Target{Kind: TargetDevice, Path: path}, nil
}

// execTarget is a device program's command line.
func execTarget(cmd string) (Target, error) {
	if strings.TrimSpace(cmd) == "" {
		return Target{}, errors.New("exec: no command (want exec:COMMAND)")
	}
	return Target{Kind: TargetExec, Command: cmd}, nil
}

// replayTarget is a recording's path.
func replayTarget(path string) (Target, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return Target{}, fmt.Errorf("replay: %q: want an absolute, clean path to a recording", path)
	}
	return Target{Kind: TargetReplay, Path: path}, nil
}

// checkHostName checks that host is an IP address or has the form of a DNS
// name; whether it resolves is for the dialler to find.
func checkHostName(host string) error {
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if len(host) > 253 {
		return fmt.Errorf("host %q: longer than 253 characters", host)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q: not an IP address or a host name", host)
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("host %q: has %q: not an IP address or a host name", host, r)
			}
		}
	}
	return nil
}

// parseListen reads the address of a serve, with its query, into a Serve
// for port; allow and handover come from the query. Errors give only the
// reason.
func parseListen(port, s string) (Serve, error) {
	u, err := cutURL(s)
	if err != nil {
		return Serve{}, err
	}
	if err := checkListenHost(u.host); err != nil {
		return Serve{}, err
	}
	sv := Serve{Port: port, Address: strings.TrimSuffix(s, "?"+u.query), Raw: u.raw, Addr: u.hostport()}
	if !u.hasQuery {
		return sv, nil
	}
	sv.Allow, sv.Handover, err = parseServeQuery(u.query)
	return sv, err
}

// checkListenHost takes only a host that needs no look-up: a name could
// resolve to an address beyond this machine, or to none.
func checkListenHost(host string) error {
	if host == "" || host == "localhost" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf(`listen host %q: want an IP address, "localhost", or nothing for every address (a name is not looked up to listen on)`, host)
	}
	return nil
}

// parseServeQuery reads a serve's options: "allow=PREFIX,PREFIX" and
// "handover", joined by '&'.
func parseServeQuery(q string) (allow []netip.Prefix, handover bool, err error) {
	seen := map[string]bool{}
	for _, opt := range strings.Split(q, "&") {
		key, value, hasValue := strings.Cut(opt, "=")
		if seen[key] {
			return nil, false, fmt.Errorf("option %q given twice", key)
		}
		seen[key] = true
		switch key {
		case "allow":
			if !hasValue || value == "" {
				return nil, false, errors.New("allow: empty: want allow=PREFIX,..., like allow=192.168.1.0/24")
			}
			if allow, err = ParseAllow(strings.Split(value, ",")); err != nil {
				return nil, false, err
			}
		case "handover":
			if hasValue {
				return nil, false, fmt.Errorf("handover=%s: handover takes no value (give it, or leave it out)", value)
			}
			handover = true
		default:
			return nil, false, fmt.Errorf("unknown option %q: want allow=PREFIX,... or handover", key)
		}
	}
	return allow, handover, nil
}

// ParseAllow reads client networks: prefixes, or single addresses (a /32
// or /128). A prefix with bits set beyond its length is refused, since
// which network was meant is a guess.
func ParseAllow(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		p, err := parseAllowEntry(e)
		if err != nil {
			return nil, fmt.Errorf("allow %q: %v", e, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseAllowEntry(e string) (netip.Prefix, error) {
	if !strings.Contains(e, "/") {
		a, err := netip.ParseAddr(e)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, errors.New("not an IP address or a prefix like 192.168.1.0/24")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(e)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or a prefix like 192.168.1.0/24")
	}
	if err := checkPrefix(p); err != nil {
		return netip.Prefix{}, err
	}
	return p, nil
}

func checkPrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return errors.New("not a valid prefix")
	}
	if m := p.Masked(); m != p {
		return fmt.Errorf("has bits set beyond the /%d: want %s", p.Bits(), m)
	}
	return nil
}

// listensBeyond reports whether a serve on host can be reached from other
// machines: every host but a loopback address and "localhost".
func listensBeyond(host string) bool {
	if host == "localhost" {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err != nil || !a.Unmap().IsLoopback()
}

// listenClash reports whether two serves' addresses (host:port, checked)
// would take the same socket: the same port, and the same host or one of
// them listening on every address. "localhost" is 127.0.0.1 and ::1. Port
// 0 (any free port) clashes with nothing.
func listenClash(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	hosts := func(h string) []string {
		switch h {
		case "", "0.0.0.0", "::":
			return nil // every address
		case "localhost":
			return []string{"127.0.0.1", "::1"}
		}
		if x, err := netip.ParseAddr(h); err == nil {
			return []string{x.Unmap().String()}
		}
		return []string{h}
	}
	xa, xb := hosts(ha), hosts(hb)
	if xa == nil || xb == nil {
		return true
	}
	for _, x := range xa {
		for _, y := range xb {
			if x == y {
				return true
			}
		}
	}
	return false
}

// checkServes checks c.Serves against the ports in byName: each names a
// port, once; its address reads back to its Raw and Addr; no two listen on
// the same socket; and one that listens beyond this machine says which
// clients it lets in.
func (c *Config) checkServes(byName map[string]Port) error {
	for i, sv := range c.Serves {
		what := fmt.Sprintf("serve %q at %s", sv.Port, sv.Address)
		got, err := parseListen(sv.Port, sv.Address)
		if err != nil {
			return fmt.Errorf("serve %q: address %q: %v", sv.Port, sv.Address, err)
		}
		if got.Address != sv.Address {
			return fmt.Errorf("%s: the options go in allow and handover, not in the address", what)
		}
		if got.Raw != sv.Raw || got.Addr != sv.Addr {
			return fmt.Errorf("%s: raw %v and addr %q are not those of the address", what, sv.Raw, sv.Addr)
		}
		if _, ok := byName[sv.Port]; !ok {
			return fmt.Errorf("%s: port %q is not defined", what, sv.Port)
		}
		for _, o := range c.Serves[:i] {
			if o.Port == sv.Port {
				return fmt.Errorf("%s: port %q is already served at %s", what, sv.Port, o.Address)
			}
			if listenClash(o.Addr, sv.Addr) {
				return fmt.Errorf("%s: the port %s is taken by serve %q at %s", what, portOf(sv.Addr), o.Port, o.Address)
			}
		}
		for _, p := range sv.Allow {
			if err := checkPrefix(p); err != nil {
				return fmt.Errorf("%s: allow %s: %v", what, p, err)
			}
		}
		if host, _, _ := net.SplitHostPort(sv.Addr); listensBeyond(host) && len(sv.Allow) == 0 {
			return fmt.Errorf("%s: listens beyond this machine; give allow the client networks to let in "+
				"(e.g. ?allow=192.168.1.0/24, or allow = [\"192.168.1.0/24\"] in [[serve]])", what)
		}
	}
	return nil
}

func portOf(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}
