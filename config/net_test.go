package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

// netFile is a file with the pair ttyV0:ttyV1 and extra after it.
func netFile(extra string) string {
	return "[[pair]]\na = \"ttyV0\"\nb = \"ttyV1\"\n" + extra
}

// serveBlock is a [[serve]] block for port at address, with extra keys.
func serveBlock(port, address, extra string) string {
	return "[[serve]]\nport = \"" + port + "\"\naddress = \"" + address + "\"\n" + extra
}

// netErrorCases are the bad serves and connects, of the flags and of the
// file; errorCases holds them, so TestErrors runs them and FuzzParse is
// seeded from them.
func netErrorCases() []errorCase {
	const want = "want rfc2217://HOST:PORT or socket://HOST:PORT"
	lo := []string{"--loopback", "l", "--loopback", "m"}
	serve := func(args ...string) []string { return append(append([]string{}, lo...), args...) }
	return []errorCase{
		// --connect
		{name: "connect without =", args: []string{"--connect", "r"}, want: `--connect "r": want NAME=URL, like ttyV0=rfc2217://127.0.0.1:7000`},
		{name: "connect without name", args: []string{"--connect", "=socket://h:1"}, want: `--connect "=socket://h:1": want NAME=URL`},
		{name: "connect without URL", args: []string{"--connect", "r="}, want: `--connect "r=": want NAME=URL`},
		{name: "connect scheme", args: []string{"--connect", "r=ftp://h:1"}, want: `--connect "r=ftp://h:1": unknown scheme "ftp": ` + want},
		{name: "connect no scheme", args: []string{"--connect", "r=h:1"}, want: `--connect "r=h:1": no scheme: want rfc2217://HOST:PORT, socket://HOST:PORT, a device path like /dev/ttyUSB0, exec:COMMAND or replay:FILE`},
		{name: "connect no port", args: []string{"--connect", "r=socket://h"}, want: `--connect "r=socket://h": "h": ` + want},
		{name: "connect port 0", args: []string{"--connect", "r=socket://h:0"}, want: `--connect "r=socket://h:0": port "0": want a number 1..65535`},
		{name: "connect port too big", args: []string{"--connect", "r=socket://h:65536"}, want: `port "65536": want a number 1..65535`},
		{name: "connect port by name", args: []string{"--connect", "r=socket://h:telnet"}, want: `port "telnet": want a number 1..65535`},
		{name: "connect port signed", args: []string{"--connect", "r=socket://h:+23"}, want: `port "+23": want a number 1..65535`},
		{name: "connect no host", args: []string{"--connect", "r=rfc2217://:2217"}, want: `--connect "r=rfc2217://:2217": no host: ` + want},
		{name: "connect query", args: []string{"--connect", "r=socket://h:1?handover"}, want: `a target takes no options`},
		{name: "connect path", args: []string{"--connect", "r=socket://h:1/x"}, want: `has '/' after the scheme`},
		{name: "connect user", args: []string{"--connect", "r=rfc2217://me@h:1"}, want: `has '@' after the scheme`},
		{name: "connect IPv6 unbracketed", args: []string{"--connect", "r=socket://::1:7000"}, want: `"::1:7000": put an IPv6 address in brackets, like [::1]:7000`},
		{name: "connect name in brackets", args: []string{"--connect", "r=socket://[h]:7000"}, want: `host [h]: only an IPv6 address goes in brackets`},
		{name: "connect bad host", args: []string{"--connect", "r=socket://ho!st:1"}, want: `host "ho!st": has '!': not an IP address or a host name`},
		{name: "connect host with empty label", args: []string{"--connect", "r=socket://a..b:1"}, want: `host "a..b": not an IP address or a host name`},
		{name: "connect bad name", args: []string{"--connect", "a/b=socket://h:1"}, want: `--connect "a/b=socket://h:1": port name "a/b": has '/'`},
		{name: "connect in a pair", args: []string{"--pair", "a:b", "--connect", "b=socket://h:1"},
			want: `--connect "b=socket://h:1": port "b" is already in pair "a:b"`},
		{name: "loopback of a connect", args: []string{"--connect", "a=socket://h:1", "--loopback", "a"},
			want: `--loopback "a": port "a" is already a connect port`},
		{name: "connect twice", args: []string{"--connect", "a=socket://h:1", "--connect", "a=socket://h:2"},
			want: `--connect "a=socket://h:2": port "a" is already a connect port`},

		// [[connect]]
		{name: "[[connect]] missing name", file: "[[connect]]\naddress = \"socket://h:1\"\n", want: `config {file}: [[connect]] #1: missing name`},
		{name: "[[connect]] missing address", file: "[[connect]]\nname = \"r\"\n", want: `config {file}: [[connect]] #1: missing address`},
		{name: "[[connect]] bad address", file: "[[connect]]\nname = \"r\"\naddress = \"tcp://h:1\"\n",
			want: `config {file}: connect "r": address "tcp://h:1": unknown scheme "tcp"`},
		{name: "[[connect]] bad name", file: "[[connect]]\nname = \"r r\"\naddress = \"socket://h:1\"\n",
			want: `config {file}: connect "r r": port name "r r": has ' '`},
		{name: "[[connect]] unknown key", file: "[[connect]]\nname = \"r\"\naddress = \"socket://h:1\"\nbaud = 9600\n",
			want: `config {file}: line 4: unknown key "baud" in [[connect]]`},
		{name: "[[connect]] restart of a server", file: "[[connect]]\nname = \"r\"\naddress = \"socket://h:1\"\nrestart = false\n",
			want: `config {file}: connect "r": restart: only an exec: target has a program to restart (address "socket://h:1" is a socket)`},
		{name: "[[connect]] restart not a bool", file: "[[connect]]\nname = \"m\"\naddress = \"exec:cat\"\nrestart = \"no\"\n",
			want: `config {file}: line 4: restart: want true or false, not a string`},
		{name: "[[connect]] in a pair", file: netFile("[[connect]]\nname = \"ttyV1\"\naddress = \"socket://h:1\"\n"),
			want: `config {file}: connect "ttyV1": port "ttyV1" is already in pair "ttyV0:ttyV1"`},

		// --serve
		{name: "serve without =", args: serve("--serve", "l"), want: `--serve "l": want NAME=URL`},
		{name: "serve of no port", args: serve("--serve", "x=rfc2217://127.0.0.1:7000"),
			want: `serve "x" at rfc2217://127.0.0.1:7000: port "x" is not defined`},
		{name: "serve twice", args: serve("--serve", "l=rfc2217://127.0.0.1:7000", "--serve", "l=socket://127.0.0.1:7001"),
			want: `serve "l" at socket://127.0.0.1:7001: port "l" is already served at rfc2217://127.0.0.1:7000`},
		{name: "serves on one address", args: serve("--serve", "l=rfc2217://127.0.0.1:7000", "--serve", "m=socket://127.0.0.1:7000"),
			want: `serve "m" at socket://127.0.0.1:7000: the port 7000 is taken by serve "l" at rfc2217://127.0.0.1:7000`},
		{name: "serve on every address and on one", args: serve("--serve", "l=rfc2217://:7000?allow=10.0.0.0/8", "--serve", "m=socket://127.0.0.1:7000"),
			want: `serve "m" at socket://127.0.0.1:7000: the port 7000 is taken by serve "l" at rfc2217://:7000`},
		{name: "serve on localhost and 127.0.0.1", args: serve("--serve", "l=rfc2217://localhost:7000", "--serve", "m=socket://127.0.0.1:07000"),
			want: `serve "m" at socket://127.0.0.1:07000: the port 7000 is taken by serve "l" at rfc2217://localhost:7000`},
		{name: "serve on 0.0.0.0 without allow", args: serve("--serve", "l=rfc2217://0.0.0.0:7000"),
			want: `serve "l" at rfc2217://0.0.0.0:7000: listens beyond this machine; give allow the client networks to let in (e.g. ?allow=192.168.1.0/24`},
		{name: "serve on every address without allow", args: serve("--serve", "l=socket://:7000"), want: `serve "l" at socket://:7000: listens beyond this machine`},
		{name: "serve on :: without allow", args: serve("--serve", "l=socket://[::]:7000"), want: `serve "l" at socket://[::]:7000: listens beyond this machine`},
		{name: "serve on a LAN address without allow", args: serve("--serve", "l=socket://192.168.1.5:7000"), want: `listens beyond this machine`},
		{name: "serve with an empty query", args: serve("--serve", "l=socket://0.0.0.0:7000?"), want: `unknown option "": want allow=PREFIX,... or handover`},
		{name: "serve on a host name", args: serve("--serve", "l=rfc2217://myhost:7000"),
			want: `--serve "l=rfc2217://myhost:7000": listen host "myhost": want an IP address, "localhost", or nothing for every address`},
		{name: "serve port too big", args: serve("--serve", "l=rfc2217://127.0.0.1:70000"), want: `--serve "l=rfc2217://127.0.0.1:70000": port "70000": want a number 1..65535`},
		{name: "serve scheme", args: serve("--serve", "l=telnet://127.0.0.1:23"), want: `--serve "l=telnet://127.0.0.1:23": unknown scheme "telnet"`},
		{name: "serve prefix too long", args: serve("--serve", "l=rfc2217://0.0.0.0:7000?allow=10.0.0.0/33"),
			want: `allow "10.0.0.0/33": not an IP address or a prefix like 192.168.1.0/24`},
		{name: "serve prefix with host bits", args: serve("--serve", "l=rfc2217://0.0.0.0:7000?allow=10.1.2.3/8"),
			want: `--serve "l=rfc2217://0.0.0.0:7000?allow=10.1.2.3/8": allow "10.1.2.3/8": has bits set beyond the /8: want 10.0.0.0/8`},
		{name: "serve allow a name", args: serve("--serve", "l=rfc2217://0.0.0.0:7000?allow=lan"), want: `allow "lan": not an IP address or a prefix`},
		{name: "serve allow with a zone", args: serve("--serve", "l=rfc2217://[::]:7000?allow=fe80::1%eth0"), want: `allow "fe80::1%eth0": not an IP address`},
		{name: "serve allow empty", args: serve("--serve", "l=rfc2217://0.0.0.0:7000?allow="), want: `allow: empty: want allow=PREFIX,...`},
		{name: "serve allow empty entry", args: serve("--serve", "l=rfc2217://0.0.0.0:7000?allow=10.0.0.0/8,,10.1.0.0/16"), want: `allow "": not an IP address`},
		{name: "serve allow twice", args: serve("--serve", "l=rfc2217://0.0.0.0:7000?allow=10.0.0.0/8&allow=10.1.0.0/16"), want: `option "allow" given twice`},
		{name: "serve unknown option", args: serve("--serve", "l=rfc2217://127.0.0.1:7000?baud=9600"), want: `unknown option "baud": want allow=PREFIX,... or handover`},
		{name: "serve handover with a value", args: serve("--serve", "l=rfc2217://127.0.0.1:7000?handover=false"),
			want: `handover=false: handover takes no value`},

		// [[serve]]
		{name: "[[serve]] missing port", file: netFile("[[serve]]\naddress = \"socket://127.0.0.1:1\"\n"), want: `config {file}: [[serve]] #1: missing port`},
		{name: "[[serve]] missing address", file: netFile("[[serve]]\nport = \"ttyV1\"\n"), want: `config {file}: [[serve]] #1: missing address`},
		{name: "[[serve]] of no port", file: netFile(serveBlock("x", "socket://127.0.0.1:1", "")),
			want: `config {file}: serve "x" at socket://127.0.0.1:1: port "x" is not defined`},
		{name: "[[serve]] with a query", file: netFile(serveBlock("ttyV1", "socket://0.0.0.0:1?allow=10.0.0.0/8", "")),
			want: `config {file}: serve "ttyV1": address "socket://0.0.0.0:1?allow=10.0.0.0/8": give the options as the keys allow and handover of [[serve]], not in a query`},
		{name: "[[serve]] bad address", file: netFile(serveBlock("ttyV1", "socket://127.0.0.1", "")),
			want: `config {file}: serve "ttyV1": address "socket://127.0.0.1": "127.0.0.1": ` + want},
		{name: "[[serve]] bad allow", file: netFile(serveBlock("ttyV1", "socket://0.0.0.0:1", "allow = [\"10.0.0.0/8\", \"10.0.0.300\"]\n")),
			want: `config {file}: serve "ttyV1": allow "10.0.0.300": not an IP address or a prefix`},
		{name: "[[serve]] without allow", file: netFile(serveBlock("ttyV1", "socket://0.0.0.0:1", "allow = []\n")),
			want: `serve "ttyV1" at socket://0.0.0.0:1: listens beyond this machine; give allow the client networks to let in (e.g. ?allow=192.168.1.0/24, or allow = ["192.168.1.0/24"] in [[serve]])`},
		{name: "[[serve]] allow of wrong type", file: netFile(serveBlock("ttyV1", "socket://0.0.0.0:1", "allow = \"10.0.0.0/8\"\n")),
			want: `config {file}: line 7: allow: want an array of strings, not a string`},
		{name: "[[serve]] allow entry of wrong type", file: netFile(serveBlock("ttyV1", "socket://0.0.0.0:1", "allow = [10]\n")),
			want: `config {file}: line 7: allow: want an array of strings, not an integer`},
		{name: "[[serve]] handover of wrong type", file: netFile(serveBlock("ttyV1", "socket://127.0.0.1:1", "handover = \"yes\"\n")),
			want: `config {file}: line 7: handover: want true or false, not a string`},
		{name: "[[serve]] unknown key", file: netFile(serveBlock("ttyV1", "socket://127.0.0.1:1", "allowed = []\n")),
			want: `config {file}: line 7: unknown key "allowed" in [[serve]]`},
		{name: "[[serve]] twice", file: netFile(serveBlock("ttyV1", "socket://127.0.0.1:1", "") + serveBlock("ttyV1", "socket://127.0.0.1:2", "")),
			want: `config {file}: serve "ttyV1" at socket://127.0.0.1:2: port "ttyV1" is already served at socket://127.0.0.1:1`},
		{name: "[[serve]] and --serve of one port", file: netFile(serveBlock("ttyV1", "socket://127.0.0.1:1", "")),
			args: []string{"--serve", "ttyV1=rfc2217://127.0.0.1:2"},
			want: `serve "ttyV1" at rfc2217://127.0.0.1:2: port "ttyV1" is already served at socket://127.0.0.1:1`},
		{name: "link of a served port", file: netFile(serveBlock("ttyV1", "socket://127.0.0.1:1", "") + "[[port]]\nname = \"ttyV1\"\nlink = \"/dev/ttyV1\"\n"),
			want: `config {file}: port "ttyV1": link "/dev/ttyV1": a served port has no link (the network is its front, at socket://127.0.0.1:1)`},
	}
}

func TestNetParse(t *testing.T) {
	path := writeConfig(t, `timing = "realistic"
[[pair]]
a = "ttyV0"
b = "ttyV1"

[[connect]]
name = "ttyR0"
address = "rfc2217://ser2net.example.net:2217"

[[connect]]
name = "ttyR1"
address = "socket://[2001:db8::1]:7000"

[[serve]]
port = "ttyV1"
address = "rfc2217://0.0.0.0:7000"
allow = ["192.168.1.0/24", "10.1.2.3", "2001:db8::/32"]
handover = true

[[port]]
name = "ttyR1"
timing = "realistic"
`)
	c := mustParse(t, []string{
		"--config", path, "--dir", "/run/v",
		"--connect", "ttyR2=socket://127.0.0.1:4000", "--loopback", "ttyL0", "--connect", "ttyR3=rfc2217://h-1.lan:4001",
		"--serve", "ttyR2=socket://[::1]:0", "--serve", "ttyL0=rfc2217://localhost:7001?handover&allow=127.0.0.2",
		"--serve", "ttyR3=socket://:7002?allow=10.0.0.0/8,192.168.0.0/16",
	}, noEnv, true)

	var names []string
	for _, p := range c.Ports {
		names = append(names, p.Name)
	}
	if want := []string{"ttyV0", "ttyV1", "ttyR0", "ttyR1", "ttyR2", "ttyL0", "ttyR3"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ports %v, want %v", names, want)
	}
	if want := []string{"ttyR0", "ttyR1", "ttyR2", "ttyR3"}; !reflect.DeepEqual(c.Connects, want) {
		t.Errorf("Connects %v, want %v", c.Connects, want)
	}
	wantServes := []Serve{
		{Port: "ttyV1", Address: "rfc2217://0.0.0.0:7000", Addr: "0.0.0.0:7000",
			Allow: prefixes("192.168.1.0/24", "10.1.2.3/32", "2001:db8::/32"), Handover: true},
		{Port: "ttyR2", Address: "socket://[::1]:0", Raw: true, Addr: "[::1]:0"},
		{Port: "ttyL0", Address: "rfc2217://localhost:7001", Addr: "localhost:7001", Allow: prefixes("127.0.0.2/32"), Handover: true},
		{Port: "ttyR3", Address: "socket://:7002", Raw: true, Addr: ":7002", Allow: prefixes("10.0.0.0/8", "192.168.0.0/16")},
	}
	if !reflect.DeepEqual(c.Serves, wantServes) {
		t.Errorf("Serves\n%+v\nwant\n%+v", c.Serves, wantServes)
	}
	if s, ok := c.ServeOf("ttyL0"); !ok || !reflect.DeepEqual(s, wantServes[2]) {
		t.Errorf("ServeOf(ttyL0) = %+v, %v", s, ok)
	}
	if _, ok := c.ServeOf("ttyV0"); ok {
		t.Error("ServeOf(ttyV0): served, and it is not")
	}

	port := func(name string) Port {
		p, ok := c.PortByName(name)
		if !ok {
			t.Fatalf("no port %q", name)
		}
		return p
	}
	for name, link := range map[string]string{"ttyV0": "/run/v/ttyV0", "ttyV1": "", "ttyR0": "/run/v/ttyR0", "ttyR1": "/run/v/ttyR1",
		"ttyR2": "", "ttyL0": "", "ttyR3": ""} {
		if got := port(name).Link; got != link {
			t.Errorf("%s: link %q, want %q", name, got, link)
		}
	}
	r0 := port("ttyR0")
	if r0.Kind != KindConnect || r0.Connect != "rfc2217://ser2net.example.net:2217" || r0.Peer != "" {
		t.Errorf("ttyR0 = %+v", r0)
	}
	// A connect port's timing is off whatever the global one, unless its
	// [[port]] block sets one.
	for name, timing := range map[string]Timing{"ttyV0": TimingRealistic, "ttyV1": TimingRealistic, "ttyR0": TimingOff,
		"ttyR1": TimingRealistic, "ttyR2": TimingOff, "ttyL0": TimingRealistic, "ttyR3": TimingOff} {
		if got := port(name).Timing; got != timing {
			t.Errorf("%s: timing %q, want %q", name, got, timing)
		}
	}
	if p := port("ttyR3"); p.Connect != "rfc2217://h-1.lan:4001" {
		t.Errorf("ttyR3 connects to %q", p.Connect)
	}
}

// TestServeWithDefault checks that --serve alone serves a port of the
// built-in pair, --serve making no port.
func TestServeWithDefault(t *testing.T) {
	c := mustParse(t, []string{"--serve", "ttyV1=socket://127.0.0.1:7000"}, noEnv, true)
	if !reflect.DeepEqual(c.Pairs, [][2]string{{"ttyV0", "ttyV1"}}) || len(c.Serves) != 1 {
		t.Fatalf("pairs %v, serves %+v", c.Pairs, c.Serves)
	}
	if p, _ := c.PortByName("ttyV1"); p.Link != "" {
		t.Errorf("ttyV1 served with the link %q", p.Link)
	}
}

func TestParseTarget(t *testing.T) {
	good := []struct {
		in       string
		raw      bool
		hostport string
	}{
		{"rfc2217://host:2217", false, "host:2217"},
		{"socket://host:7000", true, "host:7000"},
		{"socket://10.0.0.1:1", true, "10.0.0.1:1"},
		{"rfc2217://[::1]:65535", false, "[::1]:65535"},
		{"rfc2217://ser2net.example.net:02217", false, "ser2net.example.net:2217"},
		{"socket://my_host-1:7", true, "my_host-1:7"},
	}
	for _, g := range good {
		tg, err := ParseTarget(g.in)
		if err != nil || (tg.Kind == TargetSocket) != g.raw || tg.Addr != g.hostport {
			t.Errorf("ParseTarget(%q) = %+v, %v; want raw %v, %q", g.in, tg, err, g.raw, g.hostport)
		}
	}
	bad := map[string]string{
		"":                       `target "": no scheme`,
		"host:2217":              `target "host:2217": no scheme`,
		"RFC2217://host:1":       `unknown scheme "RFC2217"`,
		"socket://host":          `"host": want rfc2217://HOST:PORT or socket://HOST:PORT`,
		"socket://host:":         `port "": want a number 1..65535`,
		"socket://host:-1":       `port "-1": want a number 1..65535`,
		"socket://:1":            "no host",
		"socket://h:1?":          "a target takes no options",
		"socket://h:1#x":         `has '#' after the scheme`,
		"socket://-h:1":          `host "-h": not an IP address or a host name`,
		"socket://h.:1":          `host "h.": not an IP address or a host name`,
		"socket://[10.0.0.1]:1":  "only an IPv6 address goes in brackets",
		"socket://2001:db8::1:1": "put an IPv6 address in brackets",
	}
	for in, want := range bad {
		if _, err := ParseTarget(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTarget(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

// TestValidateNet checks Validate on connects and serves built by hand, as
// a caller could.
func TestValidateNet(t *testing.T) {
	withNet := func() *Config {
		c := validConfig()
		r := newPort("r", KindConnect, "")
		r.Connect, r.Link, r.Timing = "socket://h:1", "/run/vcom/r", TimingOff
		c.Ports = append(c.Ports, r)
		c.Connects = []string{"r"}
		c.Ports[2].Link = ""
		c.Serves = []Serve{{Port: "l", Address: "rfc2217://0.0.0.0:7000", Addr: "0.0.0.0:7000", Allow: prefixes("10.0.0.0/8")}}
		return c
	}
	if err := withNet().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []validateCase{
		{"connect of no port", func(c *Config) { c.Connects = append(c.Connects, "z") }, `connect "z": port "z" is not defined`},
		{"connect of a loopback", func(c *Config) { c.Connects = append(c.Connects, "l") }, `connect "l": port "l" is already a loopback`},
		{"connect twice", func(c *Config) { c.Connects = append(c.Connects, "r") }, `connect "r": port "r" is already a connect port`},
		{"connect port in nothing", func(c *Config) { c.Connects = nil }, `port "r" is not in any pair, loopback or connect`},
		{"connect kind", func(c *Config) { c.Ports[3].Kind, c.Ports[3].Connect = KindLoopback, "" }, `connect "r": port "r" has kind "loopback"`},
		{"connect target", func(c *Config) { c.Ports[3].Connect = "socket://h" }, `port "r": address "socket://h": "h": want`},
		{"connect target of a pair", func(c *Config) { c.Ports[0].Connect = "socket://h:1" },
			`port "a": connect "socket://h:1": only a connect port has a server to reach`},
		{"served port with a link", func(c *Config) { c.Ports[2].Link = "/run/vcom/l" },
			`port "l": link "/run/vcom/l": a served port has no link (the network is its front, at rfc2217://0.0.0.0:7000)`},
		{"unserved port without a link", func(c *Config) { c.Serves = nil }, `port "l": link: not set`},
		{"serve of no port", func(c *Config) { c.Serves[0].Port, c.Ports[2].Link = "z", "/run/vcom/l" },
			`serve "z" at rfc2217://0.0.0.0:7000: port "z" is not defined`},
		{"serve addr", func(c *Config) { c.Serves[0].Addr = "0.0.0.0:7001" },
			`serve "l" at rfc2217://0.0.0.0:7000: raw false and addr "0.0.0.0:7001" are not those of the address`},
		{"serve raw", func(c *Config) { c.Serves[0].Raw = true }, `raw true and addr "0.0.0.0:7000" are not those of the address`},
		{"serve address with a query", func(c *Config) { c.Serves[0].Address += "?handover" },
			`serve "l" at rfc2217://0.0.0.0:7000?handover: the options go in allow and handover, not in the address`},
		{"serve bad address", func(c *Config) { c.Serves[0].Address = "udp://x" }, `serve "l": address "udp://x": unknown scheme "udp"`},
		{"serve allow with host bits", func(c *Config) {
			c.Serves[0].Allow = []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 8)}
		},
			`serve "l" at rfc2217://0.0.0.0:7000: allow 10.0.0.1/8: has bits set beyond the /8: want 10.0.0.0/8`},
		{"serve allow invalid", func(c *Config) { c.Serves[0].Allow = []netip.Prefix{{}} }, `allow invalid Prefix: not a valid prefix`},
		{"serve without allow", func(c *Config) { c.Serves[0].Allow = nil }, `serve "l" at rfc2217://0.0.0.0:7000: listens beyond this machine`},
		{"served twice", func(c *Config) {
			c.Serves = append(c.Serves, Serve{Port: "l", Address: "socket://127.0.0.1:1", Raw: true, Addr: "127.0.0.1:1"})
		}, `serve "l" at socket://127.0.0.1:1: port "l" is already served at rfc2217://0.0.0.0:7000`},
	}
	runValidateCases(t, withNet, cases)
}

func TestListenClash(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:7000", "127.0.0.1:7000", true},
		{"127.0.0.1:7000", "127.0.0.1:7001", false},
		{"127.0.0.1:7000", "127.0.0.2:7000", false},
		{":7000", "10.0.0.1:7000", true},
		{"[::]:7000", "127.0.0.1:7000", true},
		{"0.0.0.0:7000", "[::1]:7000", true},
		{"localhost:7000", "[::1]:7000", true},
		{"localhost:7000", "127.0.0.2:7000", false},
		{"[::ffff:127.0.0.1]:7000", "127.0.0.1:7000", true},
		{"127.0.0.1:0", "127.0.0.1:0", false},
	}
	for _, tc := range cases {
		if got := listenClash(tc.a, tc.b); got != tc.want {
			t.Errorf("listenClash(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestWithConnect(t *testing.T) {
	c := validConfig()
	n, err := c.WithConnect("r", "rfc2217://h:2217", NewPorts{})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := n.PortByName("r")
	want := Port{Name: "r", Kind: KindConnect, Connect: "rfc2217://h:2217", Link: "/run/vcom/r", Mode: DefaultMode, Timing: TimingOff,
		FIFODepth: DefaultFIFODepth, DataBits: DefaultDataBits, Parity: DefaultParity, StopBits: DefaultStopBits}
	if !ok || p != want || len(n.Connects) != 1 || n.Connects[0] != "r" {
		t.Errorf("added %+v (connects %v), want %+v", p, n.Connects, want)
	}
	if c.Timing != TimingRealistic {
		t.Fatal("the test wants a realistic global timing")
	}
	if len(c.Ports) != 3 || len(c.Connects) != 0 {
		t.Errorf("WithConnect changed the original: %+v", c)
	}
	if n, err = n.WithConnect("r2", "socket://h:1", NewPorts{Timing: TimingRealistic}); err != nil {
		t.Fatal(err)
	}
	if p, _ := n.PortByName("r2"); p.Timing != TimingRealistic {
		t.Errorf("r2 timing %q, want the realistic asked for", p.Timing)
	}
	for _, tc := range []struct{ name, target, want string }{
		{"z", "socket://h", `connect "z": address "socket://h": "h": want rfc2217://HOST:PORT or socket://HOST:PORT`},
		{"z", "", `connect "z": address "": no scheme`},
		{"l", "socket://h:1", `connect "l": port "l" is already a loopback`},
		{"r", "socket://h:1", `connect "r": port "r" is already a connect port`},
		{"a/b", "socket://h:1", `connect "a/b": port name "a/b": has '/'`},
		{SocketName, "socket://h:1", `port name "vcomd.sock" is the control socket's file`},
	} {
		if _, err := n.WithConnect(tc.name, tc.target, NewPorts{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WithConnect(%q, %q) = %v, want an error containing %q", tc.name, tc.target, err, tc.want)
		}
	}
	if _, err := n.WithConnect("z", "socket://h:1", NewPorts{Timing: "fast"}); err == nil || !strings.Contains(err.Error(), `connect "z": timing "fast"`) {
		t.Errorf("WithConnect with timing fast: %v", err)
	}
}

func TestWithServe(t *testing.T) {
	c := validConfig()
	n, err := c.WithServe(Serve{Port: "a", Address: "socket://0.0.0.0:7000", Allow: prefixes("10.0.0.0/8"), Handover: true})
	if err != nil {
		t.Fatal(err)
	}
	want := Serve{Port: "a", Address: "socket://0.0.0.0:7000", Raw: true, Addr: "0.0.0.0:7000", Allow: prefixes("10.0.0.0/8"), Handover: true}
	if s, ok := n.ServeOf("a"); !ok || !reflect.DeepEqual(s, want) {
		t.Errorf("ServeOf(a) = %+v, %v, want %+v", s, ok, want)
	}
	if p, _ := n.PortByName("a"); p.Link != "" {
		t.Errorf("served a has the link %q", p.Link)
	}
	if p, _ := c.PortByName("a"); p.Link != "/run/vcom/a" || len(c.Serves) != 0 {
		t.Errorf("WithServe changed the original: %+v", c)
	}
	// The options may come in the query, as with --serve.
	n, err = n.WithServe(Serve{Port: "l", Address: "rfc2217://[::]:7001?allow=::1,fd00::/8&handover"})
	if err != nil {
		t.Fatal(err)
	}
	want = Serve{Port: "l", Address: "rfc2217://[::]:7001", Addr: "[::]:7001", Allow: prefixes("::1/128", "fd00::/8"), Handover: true}
	if s, _ := n.ServeOf("l"); !reflect.DeepEqual(s, want) {
		t.Errorf("ServeOf(l) = %+v, want %+v", s, want)
	}

	for _, tc := range []struct {
		s    Serve
		want string
	}{
		{Serve{Port: "b", Address: "socket://0.0.0.0:7002"}, `serve "b" at socket://0.0.0.0:7002: listens beyond this machine`},
		{Serve{Port: "b", Address: "socket://127.0.0.1:7000"}, `serve "b" at socket://127.0.0.1:7000: the port 7000 is taken by serve "a" at socket://0.0.0.0:7000`},
		{Serve{Port: "a", Address: "socket://127.0.0.1:7003"}, `serve "a" at socket://127.0.0.1:7003: port "a" is already served at socket://0.0.0.0:7000`},
		{Serve{Port: "z", Address: "socket://127.0.0.1:7003"}, `serve "z" at socket://127.0.0.1:7003: port "z" is not defined`},
		{Serve{Port: "b", Address: "socket://127.0.0.1:7003?handover", Handover: true}, `serve "b": address "socket://127.0.0.1:7003?handover": give the options in the query or apart, not both`},
		{Serve{Port: "b", Address: "socket://127.0.0.1:7003?kick"}, `serve "b": address "socket://127.0.0.1:7003?kick": unknown option "kick"`},
		{Serve{Port: "b", Address: "socket://127.0.0.1"}, `serve "b": address "socket://127.0.0.1": "127.0.0.1": want`},
		{Serve{Port: "b", Address: "socket://127.0.0.1:1", Allow: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 8)}},
			`allow 10.0.0.1/8: has bits set beyond the /8: want 10.0.0.0/8`},
	} {
		before := len(n.Serves)
		if got, err := n.WithServe(tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WithServe(%+v) = %+v, %v, want an error containing %q", tc.s, got, err, tc.want)
		}
		if len(n.Serves) != before {
			t.Errorf("a failed WithServe changed the config")
		}
	}

	// WithoutServe makes the port a pty again, at its default link.
	m, err := n.WithoutServe("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.ServeOf("a"); ok || len(m.Serves) != 1 {
		t.Errorf("a still served: %+v", m.Serves)
	}
	if p, _ := m.PortByName("a"); p.Link != "/run/vcom/a" {
		t.Errorf("unserved a has the link %q", p.Link)
	}
	if _, ok := n.ServeOf("a"); !ok {
		t.Error("WithoutServe changed the original")
	}
	if _, err := m.WithoutServe("a"); err == nil || err.Error() != `port "a" is not served` {
		t.Errorf("WithoutServe of an unserved port: %v", err)
	}
	// Its default link may have been taken meanwhile by another port's.
	n.Ports[1].Link = "/run/vcom/a"
	if _, err := n.WithoutServe("a"); err == nil || !strings.Contains(err.Error(), `port "a" unserved: port "b": link "/run/vcom/a" is also the link of port "a"`) {
		t.Errorf("WithoutServe onto a taken link: %v", err)
	}
}

func TestWithoutNet(t *testing.T) {
	c := validConfig()
	c, err := c.WithConnect("r", "socket://h:1", NewPorts{})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = c.WithServe(Serve{Port: "b", Address: "rfc2217://127.0.0.1:7000"}); err != nil {
		t.Fatal(err)
	}
	if c, err = c.WithServe(Serve{Port: "r", Address: "rfc2217://127.0.0.1:7001"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pair bool
		want string
	}{
		{"r", false, `port "r" is served at rfc2217://127.0.0.1:7001: remove the serve first`},
		{"a", true, `port "b" is served at rfc2217://127.0.0.1:7000: remove the serve first`},
		{"b", true, `port "b" is served at rfc2217://127.0.0.1:7000: remove the serve first`},
	} {
		_, err := c.Without(tc.name, tc.pair)
		if !errors.Is(err, ErrServed) || err.Error() != tc.want {
			t.Errorf("Without(%q, %v) = %v, want ErrServed and %q", tc.name, tc.pair, err, tc.want)
		}
	}
	if _, err := c.Without("b", false); !errors.Is(err, ErrInPair) {
		t.Errorf("Without(b, false) = %v, want ErrInPair first", err)
	}
	n, err := c.WithoutServe("r")
	if err != nil {
		t.Fatal(err)
	}
	if n, err = n.Without("r", false); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.PortByName("r"); ok || len(n.Connects) != 0 || n.Validate() != nil {
		t.Errorf("without r: ports %+v, connects %v", n.Ports, n.Connects)
	}
	if n, err = n.WithoutServe("b"); err != nil {
		t.Fatal(err)
	}
	if n, err = n.Without("a", true); err != nil || len(n.Pairs) != 0 || len(n.Ports) != 1 {
		t.Errorf("without a:b: %+v, %v", n, err)
	}
	if len(c.Connects) != 1 || len(c.Serves) != 2 || len(c.Ports) != 4 {
		t.Errorf("the original changed: %+v", c)
	}
}

// TestNetRoundTrip writes a config with connects and serves as a file and
// reads it back.
func TestNetRoundTrip(t *testing.T) {
	c := mustParse(t, []string{"--dir", "/run/v", "--timing", "off", "--pair", "a:b", "--connect", "r=rfc2217://h:2217",
		"--serve", "r=socket://[::]:7000?allow=::1,10.0.0.0/8&handover", "--serve", "b=rfc2217://127.0.0.1:0"}, noEnv, true)
	data, err := encodeFile(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "again.toml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	again := mustParse(t, []string{"--config", path}, noEnv, true)
	again.File = ""
	if !reflect.DeepEqual(again, c) {
		t.Errorf("read back\n%+v\nwant\n%+v\n%s", again, c, data)
	}
}

// The kinds of target beyond the network: a device, a program, a recording.
func TestParseTargetKinds(t *testing.T) {
	good := map[string]Target{
		"/dev/ttyUSB0":              {Kind: TargetDevice, Path: "/dev/ttyUSB0"},
		"exec:python3 modem.py -v":  {Kind: TargetExec, Command: "python3 modem.py -v"},
		"replay:/tmp/session.jsonl": {Kind: TargetReplay, Path: "/tmp/session.jsonl"},
	}
	for in, want := range good {
		if got, err := ParseTarget(in); err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"/dev/../dev/ttyS0":    "not clean: want /dev/ttyS0",
		"exec:":                "exec: no command",
		"exec:   ":             "exec: no command",
		"replay:session.jsonl": "want an absolute, clean path",
		"ttyUSB0":              "no scheme: want rfc2217://HOST:PORT, socket://HOST:PORT, a device path",
	}
	for in, want := range bad {
		if _, err := ParseTarget(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTarget(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

// An exec: target's program is restarted unless its [[connect]] block says
// restart = false; flags and WithConnect take the default.
func TestExecRestartKey(t *testing.T) {
	path := writeConfig(t, `[[connect]]
name = "m0"
address = "exec:cat"

[[connect]]
name = "m1"
address = "exec:cat"
restart = false

[[connect]]
name = "m2"
address = "exec:cat"
restart = true
`)
	c := mustParse(t, []string{"--config", path, "--connect", "m3=exec:sh -c 'exit 1'", "--connect", "r=socket://h:1"}, noEnv, true)
	for name, want := range map[string]bool{"m0": true, "m1": false, "m2": true, "m3": true, "r": false} {
		if p, ok := c.PortByName(name); !ok || p.ExecRestart != want {
			t.Errorf("%s: ExecRestart %v, want %v", name, p.ExecRestart, want)
		}
	}
	n, err := c.WithConnect("m4", "exec:cat", NewPorts{})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := n.PortByName("m4"); !p.ExecRestart {
		t.Errorf("WithConnect exec: ExecRestart off, want the default on")
	}
	data, err := encodeFile(n)
	if err != nil {
		t.Fatal(err)
	}
	again := mustParse(t, []string{"--config", writeConfig(t, string(data))}, noEnv, true)
	for _, name := range []string{"m0", "m1", "m2", "m3", "m4", "r"} {
		a, _ := again.PortByName(name)
		b, _ := n.PortByName(name)
		if a != b {
			t.Errorf("%s read back as %+v, want %+v", name, a, b)
		}
	}
}

// A connect port added at run time takes its kind's options: restart for
// exec:, pace and on_mismatch for replay:, each refused elsewhere.
func TestWithConnectOptions(t *testing.T) {
	c := validConfig()
	n, err := c.WithConnect("m", "exec:cat", NewPorts{NoRestart: true})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := n.PortByName("m"); p.ExecRestart {
		t.Error("NoRestart: the exec port restarts")
	}
	n, err = c.WithConnect("m", "exec:cat", NewPorts{})
	if p, _ := n.PortByName("m"); err != nil || !p.ExecRestart {
		t.Errorf("default: restart %v (%v), want on", p.ExecRestart, err)
	}
	n, err = c.WithConnect("p", "replay:/tmp/r.jsonl", NewPorts{Replay: ReplayOptions{Pace: "instant", OnMismatch: "resync"}})
	if p, _ := n.PortByName("p"); err != nil || !p.Replay.Instant() || !p.Replay.Resync() {
		t.Errorf("replay options %+v (%v), want instant and resync", p.Replay, err)
	}
	for _, bad := range []struct {
		target string
		opts   NewPorts
		want   string
	}{
		{"socket://h:1", NewPorts{NoRestart: true}, "restart is for an exec:COMMAND address"},
		{"exec:cat", NewPorts{Replay: ReplayOptions{Pace: "instant"}}, "pace and on_mismatch are for a replay:FILE address"},
		{"replay:/tmp/r.jsonl", NewPorts{Replay: ReplayOptions{Pace: "fast"}}, `pace "fast"`},
	} {
		if _, err := c.WithConnect("x", bad.target, bad.opts); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("WithConnect(%q, %+v) = %v, want an error containing %q", bad.target, bad.opts, err, bad.want)
		}
	}
}

// A path the config file and the control API's JSON cannot say (not
// UTF-8) is refused by name, found by FuzzParse.
func TestPathsMustBeUTF8(t *testing.T) {
	if _, err := Parse([]string{"--dir", "/\x98"}, func(string) string { return "" }, false); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("--dir with a byte that is not UTF-8: %v, want refused as not valid UTF-8", err)
	}
}
