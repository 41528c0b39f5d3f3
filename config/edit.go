package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
)

// NewPorts says how ports added at run time differ from the defaults.
type NewPorts struct {
	// Timing is the ports' timing; "" means the global Config.Timing, or
	// off for a connect port (see Port.Timing).
	Timing Timing
	// NoRestart leaves an exec: connect port's program stopped once it
	// exits (the [[connect]] key restart = false).
	NoRestart bool
	// Replay are a replay: connect port's options (pace, on_mismatch).
	Replay ReplayOptions
}

// WithPair returns a copy of c with the null-modem pair a:b added, each
// end with the defaults of a port given by --pair. The copy has passed
// Validate; c is not changed.
func (c *Config) WithPair(a, b string, opts NewPorts) (*Config, error) {
	return c.with(portDef{kind: KindPair, a: a, b: b}, opts)
}

// WithLoopback returns a copy of c with the loopback port name added, as
// WithPair does for a pair.
func (c *Config) WithLoopback(name string, opts NewPorts) (*Config, error) {
	return c.with(portDef{kind: KindLoopback, a: name}, opts)
}

// WithConnect returns a copy of c with the connect port name added, whose
// wire is the server at target (see ParseTarget), as WithPair does for a
// pair.
func (c *Config) WithConnect(name, target string, opts NewPorts) (*Config, error) {
	d := portDef{kind: KindConnect, a: name, target: target, noRestart: opts.NoRestart, replay: opts.Replay}
	t, err := parseTarget(target)
	if err != nil {
		return nil, fmt.Errorf("%s: address %q: %v", d.what(), target, err)
	}
	if opts.NoRestart && t.Kind != TargetExec {
		return nil, fmt.Errorf("%s: restart is for an exec:COMMAND address, not %q", d.what(), target)
	}
	return c.with(d, opts)
}

func (c *Config) with(d portDef, opts NewPorts) (*Config, error) {
	n := c.clone()
	b := newBuilder(n)
	for i, p := range n.Ports {
		b.index[p.Name] = i
	}
	for _, pr := range n.Pairs {
		w := portDef{kind: KindPair, a: pr[0], b: pr[1]}.what()
		b.where[pr[0]], b.where[pr[1]] = w, w
	}
	for _, name := range n.Loopbacks {
		b.where[name] = portDef{kind: KindLoopback, a: name}.what()
	}
	for _, name := range n.Connects {
		b.where[name] = portDef{kind: KindConnect, a: name}.what()
	}
	first := len(n.Ports)
	if err := b.add(d); err != nil {
		return nil, fmt.Errorf("%s: %v", d.what(), err)
	}
	timing := opts.Timing
	if timing == "" {
		timing = defaultTiming(d.kind, c.Timing)
	}
	if _, err := parseTiming(string(timing)); err != nil {
		return nil, fmt.Errorf("%s: timing %q: %v", d.what(), timing, err)
	}
	for i := first; i < len(n.Ports); i++ {
		n.Ports[i].Link = filepath.Join(n.Dir, n.Ports[i].Name)
		n.Ports[i].Timing = timing
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", d.what(), err)
	}
	return n, nil
}

// WithServe returns a copy of c in which the port s.Port is served at
// s.Address, with s.Allow and s.Handover; Raw and Addr are read from the
// address. The options may instead be given in the address's query, as
// with --serve (then s.Allow and s.Handover must be unset). The port loses
// its link, the network being its front. The copy has passed Validate; c
// is not changed.
func (c *Config) WithServe(s Serve) (*Config, error) {
	got, err := parseListen(s.Port, s.Address)
	if err != nil {
		return nil, fmt.Errorf("serve %q: address %q: %v", s.Port, s.Address, err)
	}
	if got.Address != s.Address {
		if len(s.Allow) > 0 || s.Handover {
			return nil, fmt.Errorf("serve %q: address %q: give the options in the query or apart, not both", s.Port, s.Address)
		}
	} else {
		got.Allow, got.Handover = slices.Clone(s.Allow), s.Handover
	}
	n := c.clone()
	for i := range n.Ports {
		if n.Ports[i].Name == s.Port {
			n.Ports[i].Link = ""
		}
	}
	n.Serves = append(n.Serves, got)
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return n, nil
}

// WithoutServe returns a copy of c in which the port name is no longer
// served: it is a pty again, with the default link Config.Dir/name. The
// copy has passed Validate; c is not changed.
func (c *Config) WithoutServe(name string) (*Config, error) {
	i := slices.IndexFunc(c.Serves, func(s Serve) bool { return s.Port == name })
	if i < 0 {
		return nil, fmt.Errorf("port %q is not served", name)
	}
	n := c.clone()
	n.Serves = slices.Delete(n.Serves, i, i+1)
	for j := range n.Ports {
		if n.Ports[j].Name == name {
			n.Ports[j].Link = filepath.Join(n.Dir, name)
		}
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("port %q unserved: %v", name, err)
	}
	return n, nil
}

// ErrInPair is wrapped by Without's error when the port is one end of a
// pair and the pair was not asked for.
var ErrInPair = errors.New("is one end of the pair")

// ErrServed is wrapped by Without's error when a port that would go is
// served: the serve is to be removed first (WithoutServe), so that a
// network client is never cut off as a side effect.
var ErrServed = errors.New("is served")

// Without returns a copy of c without the loopback or connect port name;
// with pair true, name may also be either end of a pair, and the pair goes
// as a whole (an end cannot exist alone). A port that is served is not
// removed. c is not changed.
func (c *Config) Without(name string, pair bool) (*Config, error) {
	n := c.clone()
	var gone []string
	if i := slices.Index(n.Loopbacks, name); i >= 0 {
		n.Loopbacks = slices.Delete(n.Loopbacks, i, i+1)
		gone = []string{name}
	}
	if i := slices.Index(n.Connects, name); i >= 0 {
		n.Connects = slices.Delete(n.Connects, i, i+1)
		gone = []string{name}
	}
	for i, pr := range n.Pairs {
		if pr[0] != name && pr[1] != name {
			continue
		}
		if !pair {
			return nil, fmt.Errorf("port %q %w %s:%s, which goes as a whole", name, ErrInPair, pr[0], pr[1])
		}
		n.Pairs = slices.Delete(n.Pairs, i, i+1)
		gone = pr[:]
		break
	}
	if gone == nil {
		return nil, fmt.Errorf("port %q: no such port", name)
	}
	for _, g := range gone {
		if s, ok := c.ServeOf(g); ok {
			return nil, fmt.Errorf("port %q %w at %s: remove the serve first", g, ErrServed, s.Address)
		}
	}
	n.Ports = slices.DeleteFunc(n.Ports, func(p Port) bool { return slices.Contains(gone, p.Name) })
	return n, nil
}

// clone is a deep copy of c.
func (c *Config) clone() *Config {
	n := *c
	n.Ports = slices.Clone(c.Ports)
	n.Pairs = slices.Clone(c.Pairs)
	n.Loopbacks = slices.Clone(c.Loopbacks)
	n.Connects = slices.Clone(c.Connects)
	n.Serves = slices.Clone(c.Serves)
	for i := range n.Serves {
		n.Serves[i].Allow = slices.Clone(n.Serves[i].Allow)
	}
	return &n
}
