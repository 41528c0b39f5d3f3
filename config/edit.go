package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
)

// NewPorts says how ports added at run time differ from the defaults.
type NewPorts struct {
	// Timing is the ports' timing; "" means the global Config.Timing.
	Timing Timing
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
	first := len(n.Ports)
	if err := b.add(d); err != nil {
		return nil, fmt.Errorf("%s: %v", d.what(), err)
	}
	timing := opts.Timing
	if timing == "" {
		timing = c.Timing
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

// ErrInPair is wrapped by Without's error when the port is one end of a
// pair and the pair was not asked for.
var ErrInPair = errors.New("is one end of the pair")

// Without returns a copy of c without the loopback port name; with pair
// true, name may also be either end of a pair, and the pair goes as a
// whole (an end cannot exist alone). c is not changed.
func (c *Config) Without(name string, pair bool) (*Config, error) {
	n := c.clone()
	var gone []string
	if i := slices.Index(n.Loopbacks, name); i >= 0 {
		n.Loopbacks = slices.Delete(n.Loopbacks, i, i+1)
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
	n.Ports = slices.DeleteFunc(n.Ports, func(p Port) bool { return slices.Contains(gone, p.Name) })
	return n, nil
}

// clone is a deep copy of c.
func (c *Config) clone() *Config {
	n := *c
	n.Ports = slices.Clone(c.Ports)
	n.Pairs = slices.Clone(c.Pairs)
	n.Loopbacks = slices.Clone(c.Loopbacks)
	return &n
}
