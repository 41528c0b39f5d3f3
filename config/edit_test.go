package config

import (
	"errors"
	"testing"
)

func TestWithAndWithout(t *testing.T) {
	c, err := Parse([]string{"--dir", "/run/x", "--pair", "a:b", "--timing", "off"}, func(string) string { return "" }, false)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.WithPair("c", "d", NewPorts{})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := n.PortByName("d")
	if !ok || p.Link != "/run/x/d" || p.Timing != TimingOff || p.Peer != "c" || len(n.Pairs) != 2 {
		t.Errorf("added %+v (pairs %v)", p, n.Pairs)
	}
	if len(c.Ports) != 2 || len(c.Pairs) != 1 {
		t.Errorf("WithPair changed the original: %+v", c)
	}
	if n, err = n.WithLoopback("l", NewPorts{Timing: TimingRealistic}); err != nil {
		t.Fatal(err)
	}
	if p, _ := n.PortByName("l"); p.Timing != TimingRealistic || p.Kind != KindLoopback {
		t.Errorf("loopback %+v", p)
	}
	for _, bad := range []func() (*Config, error){
		func() (*Config, error) { return n.WithLoopback("a", NewPorts{}) },
		func() (*Config, error) { return n.WithPair("e", "e", NewPorts{}) },
		func() (*Config, error) { return n.WithLoopback("x/y", NewPorts{}) },
		func() (*Config, error) { return n.WithLoopback("z", NewPorts{Timing: "fast"}) },
	} {
		if got, err := bad(); err == nil {
			t.Errorf("accepted %+v", got.Ports)
		}
	}
	if _, err := n.Without("c", false); !errors.Is(err, ErrInPair) {
		t.Errorf("Without(c) = %v, want ErrInPair", err)
	}
	m, err := n.Without("d", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.PortByName("c"); ok || len(m.Pairs) != 1 || m.Validate() != nil {
		t.Errorf("without the pair c:d: %+v", m)
	}
	if m, err = m.Without("l", false); err != nil || len(m.Loopbacks) != 0 {
		t.Errorf("without l: %+v, %v", m, err)
	}
	if _, err := m.Without("nope", true); err == nil {
		t.Error("removed a port that is not there")
	}
}
