package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// envOf returns an env func reading from m.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var noEnv = envOf(nil)

// writeConfig writes a config file in a fresh directory and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vcomd.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustParse(t *testing.T, args []string, env func(string) string, isRoot bool) *Config {
	t.Helper()
	c, err := Parse(args, env, isRoot)
	if err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return c
}

func TestDefaultsRoot(t *testing.T) {
	c := mustParse(t, nil, noEnv, true)
	want := &Config{
		Dir:      "/run/vcom",
		Timing:   TimingRealistic,
		LogLevel: "info",
		Socket:   SocketConfig{Mode: 0o660},
		Ports: []Port{
			{Name: "ttyV0", Kind: KindPair, Peer: "ttyV1", Link: "/run/vcom/ttyV0", Mode: 0o660,
				Timing: TimingRealistic, FIFODepth: 16, DataBits: 8, Parity: ParityNone, StopBits: StopBits1},
			{Name: "ttyV1", Kind: KindPair, Peer: "ttyV0", Link: "/run/vcom/ttyV1", Mode: 0o660,
				Timing: TimingRealistic, FIFODepth: 16, DataBits: 8, Parity: ParityNone, StopBits: StopBits1},
		},
		Pairs: [][2]string{{"ttyV0", "ttyV1"}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", c, want)
	}
}

func TestDefaultDir(t *testing.T) {
	uid := strconv.Itoa(os.Getuid())
	cases := []struct {
		name   string
		env    map[string]string
		isRoot bool
		want   string
	}{
		{"root", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, true, "/run/vcom"},
		{"xdg", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, false, "/run/user/1000/vcom"},
		{"xdg relative is ignored", map[string]string{"XDG_RUNTIME_DIR": "run/user"}, false, "/tmp/vcom-" + uid},
		{"temp", nil, false, "/tmp/vcom-" + uid},
		{"TMPDIR", map[string]string{"TMPDIR": "/var/tmp"}, false, "/var/tmp/vcom-" + uid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultDir(envOf(tc.env), tc.isRoot); got != tc.want {
				t.Errorf("DefaultDir = %q, want %q", got, tc.want)
			}
			c := mustParse(t, nil, envOf(tc.env), tc.isRoot)
			if c.Dir != tc.want {
				t.Errorf("Dir = %q, want %q", c.Dir, tc.want)
			}
			if !reflect.DeepEqual(c.Pairs, [][2]string{{"ttyV0", "ttyV1"}}) || len(c.Ports) != 2 || len(c.Loopbacks) != 0 {
				t.Errorf("ports = %+v, want the pair ttyV0:ttyV1", c.Ports)
			}
			if p, _ := c.PortByName("ttyV1"); p.Link != filepath.Join(tc.want, "ttyV1") {
				t.Errorf("ttyV1 link = %q", p.Link)
			}
		})
	}
}

func TestEmbeddedDefault(t *testing.T) {
	fc, err := decodeFile(defaultLabel, defaultTOML)
	if err != nil {
		t.Fatal(err)
	}
	if want := []portDef{{kind: KindPair, a: "ttyV0", b: "ttyV1"}}; !reflect.DeepEqual(fc.ports, want) {
		t.Errorf("ports = %+v, want %+v", fc.ports, want)
	}
	// The globals' defaults live in the code (dir depends on the user), so
	// the default file must leave them unset.
	if fc.dir != nil || fc.timing != nil || fc.logLevel != nil || fc.logFormat != nil ||
		fc.framingErrors != nil || fc.socketGroup != nil || fc.socketMode != nil || len(fc.settings) != 0 {
		t.Errorf("default.toml sets more than the pair: %+v", fc)
	}
}

func TestSample(t *testing.T) {
	c := mustParse(t, []string{"--config", "sample.toml"}, noEnv, false)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.File != "sample.toml" || c.Dir != "/run/vcom" || c.Timing != TimingRealistic || c.LogLevel != "info" ||
		c.LogFormat != "" || c.FramingErrors || c.Socket != (SocketConfig{Group: "dialout", Mode: 0o660}) {
		t.Errorf("globals: %+v", c)
	}
	if !reflect.DeepEqual(c.Pairs, [][2]string{{"ttyV0", "ttyV1"}}) || !reflect.DeepEqual(c.Loopbacks, []string{"ttyL0"}) {
		t.Errorf("pairs %v, loopbacks %v", c.Pairs, c.Loopbacks)
	}
	v0, _ := c.PortByName("ttyV0")
	want := Port{Name: "ttyV0", Kind: KindPair, Peer: "ttyV1", Link: "/dev/ttyV0", Mode: 0o660, Owner: "root",
		Group: "dialout", Timing: TimingOff, FIFODepth: 16, DataBits: 8, Parity: ParityNone, StopBits: StopBits1}
	if v0 != want {
		t.Errorf("ttyV0 = %+v, want %+v", v0, want)
	}
	l0, ok := c.PortByName("ttyL0")
	if !ok || l0.Kind != KindLoopback || l0.Peer != "" || l0.Link != "/run/vcom/ttyL0" || l0.Timing != TimingRealistic {
		t.Errorf("ttyL0 = %+v", l0)
	}
	r0, _ := c.PortByName("ttyR0")
	if r0.Kind != KindConnect || r0.Connect != "rfc2217://ser2net.example.net:2217" || r0.Link != "/run/vcom/ttyR0" ||
		r0.Timing != TimingOff || r0.ExecRestart || !reflect.DeepEqual(c.Connects, []string{"ttyR0", "ttyM0", "ttyP0"}) {
		t.Errorf("ttyR0 = %+v, connects %v", r0, c.Connects)
	}
	if m0, _ := c.PortByName("ttyM0"); m0.Connect != "exec:/usr/local/bin/atmodem" || m0.ExecRestart {
		t.Errorf("ttyM0 = %+v, want exec with restart off", m0)
	}
	if p0, _ := c.PortByName("ttyP0"); p0.Connect != "replay:/var/lib/vcom/modem.jsonl" || p0.Replay != (ReplayOptions{Pace: "recorded", OnMismatch: "stop"}) {
		t.Errorf("ttyP0 = %+v", p0)
	}
	wantServes := []Serve{{Port: "ttyV1", Address: "rfc2217://0.0.0.0:7000", Addr: "0.0.0.0:7000",
		Allow: prefixes("192.168.1.0/24", "10.1.2.3/32")}}
	if v1, _ := c.PortByName("ttyV1"); v1.Link != "" || !reflect.DeepEqual(c.Serves, wantServes) {
		t.Errorf("ttyV1 link %q, serves %+v", v1.Link, c.Serves)
	}
	if _, ok := c.PortByName("nope"); ok {
		t.Error("PortByName found a port that is not there")
	}
}

// TestSampleHasEveryKey keeps sample.toml complete: it must show every key
// the decoder knows, and nothing else.
func TestSampleHasEveryKey(t *testing.T) {
	data, err := os.ReadFile("sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := strings.TrimPrefix(prefix+"."+k, ".")
			if !slices.Contains(got, path) {
				got = append(got, path)
			}
			switch v := v.(type) {
			case map[string]any:
				walk(path, v)
			case []any:
				for _, e := range v {
					if m, ok := e.(map[string]any); ok {
						walk(path, m)
					}
				}
			}
		}
	}
	walk("", raw)
	var want []string
	for k := range schema {
		want = append(want, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sample.toml keys\n%v\nschema keys\n%v", got, want)
	}
}

func TestFlagsWithFile(t *testing.T) {
	path := writeConfig(t, `
dir = "/srv/ports/"
timing = "off"
log_level = "debug"
log_format = "json"
framing_errors = true

[[pair]]
a = "ttyV0"
b = "ttyV1"

[[port]]
name = "ttyV1"
timing = "off"
fifo_depth = 64

[[port]]          # settings for a port that only a flag creates
name = "ttyF0"
data_bits = 5
stop_bits = 1.5
parity = "mark"
mode = "0600"
owner = "1000"
group = "uucp"
`)
	c := mustParse(t, []string{
		"--config", path, "--timing", "realistic", "--dir", "/tmp/v/../w",
		"--pair", "ttyF0:ttyF1", "--loopback", "ttyL0", "--pair", "ttyF2:ttyF3",
	}, noEnv, true)

	if c.File != path || c.Dir != "/tmp/w" || c.Timing != TimingRealistic || c.LogLevel != "debug" ||
		c.LogFormat != "json" || !c.FramingErrors {
		t.Errorf("globals: %+v", c)
	}
	if want := [][2]string{{"ttyV0", "ttyV1"}, {"ttyF0", "ttyF1"}, {"ttyF2", "ttyF3"}}; !reflect.DeepEqual(c.Pairs, want) {
		t.Errorf("Pairs = %v, want %v", c.Pairs, want)
	}
	if want := []string{"ttyL0"}; !reflect.DeepEqual(c.Loopbacks, want) {
		t.Errorf("Loopbacks = %v, want %v", c.Loopbacks, want)
	}
	var names []string
	for _, p := range c.Ports {
		names = append(names, p.Name)
	}
	if want := []string{"ttyV0", "ttyV1", "ttyF0", "ttyF1", "ttyL0", "ttyF2", "ttyF3"}; !reflect.DeepEqual(names, want) {
		t.Errorf("port order = %v, want %v", names, want)
	}
	v0, _ := c.PortByName("ttyV0")
	if v0.Timing != TimingRealistic || v0.Link != "/tmp/w/ttyV0" {
		t.Errorf("ttyV0 should follow the global timing of the flag and the --dir: %+v", v0)
	}
	v1, _ := c.PortByName("ttyV1")
	if v1.Timing != TimingOff || v1.FIFODepth != 64 {
		t.Errorf("ttyV1 keeps its own settings: %+v", v1)
	}
	f0, _ := c.PortByName("ttyF0")
	want := Port{Name: "ttyF0", Kind: KindPair, Peer: "ttyF1", Link: "/tmp/w/ttyF0", Mode: 0o600, Owner: "1000",
		Group: "uucp", Timing: TimingRealistic, FIFODepth: 16, DataBits: 5, Parity: ParityMark, StopBits: StopBits1_5}
	if f0 != want {
		t.Errorf("ttyF0 = %+v, want %+v", f0, want)
	}
}

func TestFileGlobalsWithoutFlags(t *testing.T) {
	path := writeConfig(t, "timing = \"off\"\n[[loopback]]\nname = \"ttyL0\"\n")
	c := mustParse(t, []string{"--config", path}, noEnv, true)
	if c.Timing != TimingOff || c.LogLevel != "info" || c.Dir != "/run/vcom" {
		t.Errorf("globals: %+v", c)
	}
	if p, _ := c.PortByName("ttyL0"); p.Timing != TimingOff {
		t.Errorf("ttyL0 timing = %q, want the file's global off", p.Timing)
	}
	if len(c.Pairs) != 0 {
		t.Errorf("the built-in pair was added to a file's ports: %v", c.Pairs)
	}
}

func TestPortFlagsReplaceDefault(t *testing.T) {
	c := mustParse(t, []string{"--loopback", "ttyL0", "--timing", "off", "--log-format", "console"}, noEnv, true)
	if len(c.Pairs) != 0 || !reflect.DeepEqual(c.Loopbacks, []string{"ttyL0"}) || len(c.Ports) != 1 {
		t.Errorf("ports: %+v", c.Ports)
	}
	if c.Timing != TimingOff || c.Ports[0].Timing != TimingOff || c.LogFormat != "console" || c.File != "" {
		t.Errorf("globals: %+v", c)
	}
}

func TestFileWithoutPorts(t *testing.T) {
	path := writeConfig(t, "# nothing\n")
	c := mustParse(t, []string{"--config", path}, noEnv, true)
	if len(c.Ports) != 0 {
		t.Errorf("ports = %+v, want none", c.Ports)
	}
}

func TestLogFormatAuto(t *testing.T) {
	path := writeConfig(t, "log_format = \"json\"\n")
	c := mustParse(t, []string{"--config", path, "--log-format", "auto"}, noEnv, true)
	if c.LogFormat != "" {
		t.Errorf("LogFormat = %q, want \"\" (auto)", c.LogFormat)
	}
}

func TestLoad(t *testing.T) {
	path := writeConfig(t, "dir = \"/x\"\n[[pair]]\na = \"a\"\nb = \"b\"\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != "/x" || !reflect.DeepEqual(c.Pairs, [][2]string{{"a", "b"}}) {
		t.Errorf("Load = %+v", c)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		if _, err := Parse([]string{arg}, noEnv, true); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("Parse(%s) = %v, want flag.ErrHelp", arg, err)
		}
	}
	var b bytes.Buffer
	Usage(&b)
	for _, f := range []string{"-config", "-dir", "-pair", "-loopback", "-connect", "-serve", "-timing", "-log-level", "-log-format"} {
		if !strings.Contains(b.String(), f) {
			t.Errorf("usage lacks %s:\n%s", f, b.String())
		}
	}
}

// pairFile is a file with one pair ttyV0:ttyV1 and a [[port]] block for
// ttyV0 holding extra.
func pairFile(extra string) string {
	return "[[pair]]\na = \"ttyV0\"\nb = \"ttyV1\"\n\n[[port]]\nname = \"ttyV0\"\n" + extra
}

// errorCase is bad input and the error it must give.
type errorCase struct {
	name string
	file string // written to a file and passed with --config, unless ""
	args []string
	want string // "{file}" is replaced by the file's path
}

// errorCases are TestErrors' table, which FuzzParse is seeded from too.
func errorCases() []errorCase {
	long := strings.Repeat("x", 65)
	cases := []errorCase{
		// flags
		{name: "pair without colon", args: []string{"--pair", "ttyV0"}, want: `--pair "ttyV0": want A:B`},
		{name: "pair with two colons", args: []string{"--pair", "a:b:c"}, want: `--pair "a:b:c": want A:B`},
		{name: "pair with empty side", args: []string{"--pair", ":b"}, want: `--pair ":b": want A:B`},
		{name: "timing", args: []string{"--timing", "fast"}, want: `--timing "fast": want realistic or off`},
		{name: "log level", args: []string{"--log-level", "loud"}, want: `--log-level "loud": want trace, debug, info, warn or error`},
		{name: "log format", args: []string{"--log-format", "xml"}, want: `--log-format "xml": want console, json or auto`},
		{name: "relative dir flag", args: []string{"--dir", "ports"}, want: `--dir "ports": must be an absolute path`},
		{name: "unknown flag", args: []string{"--speed", "9600"}, want: "flag provided but not defined: -speed"},
		{name: "missing flag value", args: []string{"--dir"}, want: "flag needs an argument: -dir"},
		{name: "positional argument", args: []string{"ttyV0"}, want: `unexpected argument "ttyV0"`},
		{name: "missing file", args: []string{"--config", "/nonexistent/vcomd.toml"}, want: "config /nonexistent/vcomd.toml: no such file or directory"},

		// names
		{name: "name with slash", args: []string{"--loopback", "a/b"}, want: `--loopback "a/b": port name "a/b": has '/'`},
		{name: "name dotdot", args: []string{"--pair", "..:x"}, want: `--pair "..:x": port name "..": "." and ".." are not port names`},
		{name: "name too long", args: []string{"--loopback", long}, want: `port name "` + long + `": longer than 64 characters`},
		{name: "empty name in file", file: "[[loopback]]\nname = \"\"\n", want: `config {file}: loopback "": port name "": empty`},
		{name: "bad name in [[port]]", file: "[[port]]\nname = \"a b\"\n", want: `config {file}: [[port]] #1: name "a b": has ' '`},

		// pairs and loopbacks
		{name: "pair with itself", args: []string{"--pair", "a:a"}, want: `--pair "a:a": a port cannot be paired with itself`},
		{name: "port in two pairs (flags)", args: []string{"--pair", "ttyV0:ttyV1", "--pair", "ttyV0:ttyV2"},
			want: `--pair "ttyV0:ttyV2": port "ttyV0" is already in pair "ttyV0:ttyV1"`},
		{name: "port in two pairs (file)", file: "[[pair]]\na = \"a\"\nb = \"b\"\n[[pair]]\na = \"c\"\nb = \"b\"\n",
			want: `config {file}: pair "c:b": port "b" is already in pair "a:b"`},
		{name: "port in a file pair and a flag pair", file: pairFile(""), args: []string{"--pair", "ttyV1:ttyV2"},
			want: `--pair "ttyV1:ttyV2": port "ttyV1" is already in pair "ttyV0:ttyV1"`},
		{name: "loopback in a pair", args: []string{"--pair", "a:b", "--loopback", "b"},
			want: `--loopback "b": port "b" is already in pair "a:b"`},
		{name: "pair of a loopback", args: []string{"--loopback", "a", "--pair", "a:b"},
			want: `--pair "a:b": port "a" is already a loopback`},
		// A file's pairs come before its loopbacks, wherever they stand.
		{name: "loopback in a pair (file)", file: "[[loopback]]\nname = \"a\"\n[[pair]]\na = \"a\"\nb = \"b\"\n",
			want: `config {file}: loopback "a": port "a" is already in pair "a:b"`},
		{name: "loopback twice", args: []string{"--loopback", "a", "--loopback", "a"},
			want: `--loopback "a": port "a" is already a loopback`},
		{name: "pair missing b", file: "[[pair]]\na = \"a\"\n", want: `config {file}: [[pair]] #1: missing b`},
		{name: "loopback missing name", file: "[[loopback]]\n", want: `config {file}: [[loopback]] #1: missing name`},

		// [[port]] blocks
		{name: "port defined twice", file: pairFile("[[port]]\nname = \"ttyV0\"\n"), want: `config {file}: port "ttyV0" is defined twice`},
		{name: "port in no pair", file: pairFile("[[port]]\nname = \"x\"\n"), want: `config {file}: port "x" is not in any pair, loopback or connect`},
		{name: "port block without name", file: "[[port]]\nmode = \"0600\"\n", want: `config {file}: [[port]] #1: missing name`},
		{name: "fifo depth 0", file: pairFile("fifo_depth = 0\n"), want: `config {file}: port "ttyV0": fifo_depth 0: must be 1..4096`},
		{name: "fifo depth too big", file: pairFile("fifo_depth = 4097\n"), want: `port "ttyV0": fifo_depth 4097: must be 1..4096`},
		{name: "data bits 9", file: pairFile("data_bits = 9\n"), want: `config {file}: port "ttyV0": data_bits 9: must be 5..8`},
		{name: "data bits 4", file: pairFile("data_bits = 4\n"), want: `port "ttyV0": data_bits 4: must be 5..8`},
		{name: "parity", file: pairFile("parity = \"sometimes\"\n"), want: `port "ttyV0": parity "sometimes": want none, odd, even, mark or space`},
		{name: "stop bits 3", file: pairFile("stop_bits = \"3\"\n"), want: `port "ttyV0": stop_bits "3": want "1", "1.5" or "2"`},
		{name: "stop bits 1.5 with 8 data bits", file: pairFile("stop_bits = \"1.5\"\n"),
			want: `config {file}: port "ttyV0": stop_bits "1.5" with data_bits 8: the 16550 gives 1.5 stop bits only with 5 data bits`},
		{name: "stop bits 2 with 5 data bits", file: pairFile("data_bits = 5\nstop_bits = 2\n"),
			want: `port "ttyV0": stop_bits "2" with data_bits 5: the 16550 gives 1.5 stop bits, not 2, with 5 data bits`},
		{name: "stop bits of wrong type", file: pairFile("stop_bits = true\n"), want: `port "ttyV0": stop_bits: want "1", "1.5" or "2", not a boolean`},
		{name: "mode not octal", file: pairFile("mode = \"0869\"\n"), want: `config {file}: port "ttyV0": mode "0869": want up to 4 octal digits`},
		{name: "mode bits outside 0777", file: pairFile("mode = \"4755\"\n"), want: `port "ttyV0": mode "4755": has bits outside 0777`},
		{name: "mode as integer", file: pairFile("mode = 660\n"), want: `port "ttyV0": mode 660: write modes as strings of octal digits`},
		{name: "mode empty", file: pairFile("mode = \"\"\n"), want: `port "ttyV0": mode "": want up to 4 octal digits`},
		{name: "socket mode", file: "[socket]\nmode = \"1777\"\n", want: `config {file}: socket: mode "1777": has bits outside 0777`},
		{name: "socket group", file: "[socket]\ngroup = \"a:b\"\n", want: `config {file}: socket: group "a:b": has ':'`},
		{name: "owner", file: pairFile("owner = \"-x\"\n"), want: `port "ttyV0": owner "-x": want a user or group name`},
		{name: "uid out of range", file: pairFile("owner = \"99999999999\"\n"), want: `port "ttyV0": owner "99999999999": numeric id out of range`},
		{name: "relative link", file: pairFile("link = \"ttyV0\"\n"), want: `port "ttyV0": link "ttyV0": must be an absolute path`},
		{name: "port timing", file: pairFile("timing = \"fast\"\n"), want: `port "ttyV0": timing "fast": want realistic or off`},
		{name: "same link twice", file: pairFile("link = \"/run/vcom/ttyV1\"\n"), args: []string{"--dir", "/run/vcom"},
			want: `config {file}: port "ttyV1": link "/run/vcom/ttyV1" is also the link of port "ttyV0"`},

		// globals in the file
		{name: "file timing", file: "timing = \"fast\"\n", want: `config {file}: timing "fast": want realistic or off`},
		{name: "file log level", file: "log_level = \"warning\"\n", want: `config {file}: log_level "warning": want trace`},
		{name: "file log format", file: "log_format = \"xml\"\n", want: `config {file}: log_format "xml": want console, json or auto`},
		{name: "file relative dir", file: "dir = \"vcom\"\n", want: `config {file}: dir "vcom": must be an absolute path`},

		// TOML itself
		{name: "syntax", file: "dir = \"/x\"\n\n[[pair]\n", want: `config {file}: line 3: `},
		{name: "duplicate key", file: "dir = \"/x\"\ndir = \"/y\"\n", want: `config {file}: line 2: `},
		{name: "unknown top-level key", file: "dir = \"/x\"\nspeed = 9600\n", want: `config {file}: line 2: unknown key "speed"`},
		{name: "unknown key in [[port]]", file: pairFile("speed = 9600\n"), want: `config {file}: line 7: unknown key "speed" in [[port]]`},
		{name: "unknown key in [socket]", file: "[socket]\npath = \"/x\"\n", want: `config {file}: line 2: unknown key "path" in [socket]`},
		{name: "unknown table", file: "[serial]\nbaud = 1\n", want: `config {file}: line 1: unknown key "serial"`},
		{name: "key in the wrong case", file: "Dir = \"/x\"\n", want: `config {file}: unknown key "Dir" (keys are case-sensitive)`},
		{name: "key in the wrong case in [[port]]", file: pairFile("FIFO_depth = 8\n"), want: `unknown key "FIFO_depth" in [[port]] (keys are case-sensitive)`},
		{name: "wrong type", file: pairFile("fifo_depth = \"16\"\n"), want: `config {file}: line 7: fifo_depth: want an integer, not a string`},
		{name: "wrong type of table", file: "socket = 5\n", want: `config {file}: line 1: socket: want a table, not an integer`},
		{name: "wrong type of bool", file: "framing_errors = \"yes\"\n", want: `line 1: framing_errors: want true or false, not a string`},
	}
	return append(cases, netErrorCases()...)
}

func TestErrors(t *testing.T) {
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			want := tc.want
			if tc.file != "" {
				path := writeConfig(t, tc.file)
				args = append([]string{"--config", path}, args...)
				want = strings.ReplaceAll(want, "{file}", path)
			}
			c, err := Parse(args, noEnv, true)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error containing %q", args, c, want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\ndoes not contain %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}

// validConfig returns a complete Config with a pair a:b and a loopback l.
func validConfig() *Config {
	port := func(name string, kind Kind, peer string) Port {
		p := newPort(name, kind, peer)
		p.Link = "/run/vcom/" + name
		p.Timing = TimingOff
		return p
	}
	return &Config{
		Dir:       "/run/vcom",
		Timing:    TimingRealistic,
		LogLevel:  "info",
		Socket:    SocketConfig{Mode: 0o660},
		Ports:     []Port{port("a", KindPair, "b"), port("b", KindPair, "a"), port("l", KindLoopback, "")},
		Pairs:     [][2]string{{"a", "b"}},
		Loopbacks: []string{"l"},
	}
}

func TestValidate(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []validateCase{
		{"no dir", func(c *Config) { c.Dir = "" }, "dir: not set"},
		{"relative dir", func(c *Config) { c.Dir = "x" }, `dir "x": must be an absolute path`},
		{"timing", func(c *Config) { c.Timing = "fast" }, `timing "fast": want realistic or off`},
		{"log level", func(c *Config) { c.LogLevel = "" }, `log_level "": want trace`},
		{"log format", func(c *Config) { c.LogFormat = "auto" }, `log_format "auto": want console or json`},
		{"socket mode", func(c *Config) { c.Socket.Mode = os.ModeSetuid | 0o660 }, "socket: mode"},
		{"port defined twice", func(c *Config) { c.Ports = append(c.Ports, c.Ports[2]) }, `port "l" is defined twice`},
		{"bad name", func(c *Config) { c.Ports[2].Name = "a/b" }, `port name "a/b": has '/'`},
		{"no link", func(c *Config) { c.Ports[0].Link = "" }, `port "a": link: not set`},
		{"same link", func(c *Config) { c.Ports[1].Link = c.Ports[0].Link }, `port "b": link "/run/vcom/a" is also the link of port "a"`},
		{"no timing", func(c *Config) { c.Ports[0].Timing = "" }, `port "a": timing "": want realistic or off`},
		{"fifo depth", func(c *Config) { c.Ports[0].FIFODepth = 0 }, `port "a": fifo_depth 0: must be 1..4096`},
		{"data bits", func(c *Config) { c.Ports[0].DataBits = 9 }, `port "a": data_bits 9: must be 5..8`},
		{"parity", func(c *Config) { c.Ports[0].Parity = "" }, `port "a": parity "": want none`},
		{"stop bits", func(c *Config) { c.Ports[0].StopBits = "" }, `port "a": stop_bits "": want`},
		{"stop bits 1.5", func(c *Config) { c.Ports[0].StopBits = StopBits1_5 }, `port "a": stop_bits "1.5" with data_bits 8`},
		{"mode", func(c *Config) { c.Ports[0].Mode = 0o1777 }, `port "a": mode`},
		{"owner", func(c *Config) { c.Ports[0].Owner = "a b" }, `port "a": owner "a b"`},
		{"port in two pairs", func(c *Config) {
			p := newPort("c", KindPair, "a")
			p.Link, p.Timing = "/run/vcom/c", TimingOff
			c.Ports = append(c.Ports, p)
			c.Pairs = append(c.Pairs, [2]string{"c", "a"})
		}, `pair "c:a": port "a" is already in pair "a:b"`},
		{"pair references no port", func(c *Config) { c.Pairs[0][1] = "z" }, `pair "a:z": port "z" is not defined`},
		{"pair with itself", func(c *Config) { c.Pairs[0][1] = "a" }, `pair "a:a": a port cannot be paired with itself`},
		{"loopback in a pair", func(c *Config) { c.Loopbacks = append(c.Loopbacks, "a") }, `loopback "a": port "a" is already in pair "a:b"`},
		{"loopback twice", func(c *Config) { c.Loopbacks = append(c.Loopbacks, "l") }, `loopback "l": port "l" is already a loopback`},
		{"loopback of no port", func(c *Config) { c.Loopbacks[0] = "z" }, `loopback "z": port "z" is not defined`},
		{"port in nothing", func(c *Config) { c.Loopbacks = nil }, `port "l" is not in any pair, loopback or connect`},
		{"kind disagrees", func(c *Config) { c.Ports[2].Kind = KindPair }, `loopback "l": port "l" has kind "pair"`},
		{"peer disagrees", func(c *Config) { c.Ports[1].Peer = "l" }, `pair "a:b": port "b" has kind "pair" and peer "l"`},
	}
	runValidateCases(t, validConfig, cases)
}

// validateCase is a change to a valid Config and the error Validate must
// then give.
type validateCase struct {
	name   string
	change func(c *Config)
	want   string
}

// runValidateCases applies each case to a fresh config from base.
func runValidateCases(t *testing.T, base func() *Config, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.change(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestInlineTables(t *testing.T) {
	path := writeConfig(t, `pair = [{a = "p0", b = "p1"}]
loopback = [{name = "l0"}]
socket = {mode = "0600"}
port = [{name = "p1", fifo_depth = 1}]
`)
	c := mustParse(t, []string{"--config", path}, noEnv, true)
	if !reflect.DeepEqual(c.Pairs, [][2]string{{"p0", "p1"}}) || !reflect.DeepEqual(c.Loopbacks, []string{"l0"}) ||
		c.Socket.Mode != 0o600 {
		t.Errorf("got %+v", c)
	}
	if p, _ := c.PortByName("p1"); p.FIFODepth != 1 {
		t.Errorf("p1 = %+v", p)
	}
	path = writeConfig(t, "pair = [{a = \"p0\", b = \"p1\", c = \"p2\"}]\n")
	if _, err := Parse([]string{"--config", path}, noEnv, true); err == nil || !strings.Contains(err.Error(), `line 1: unknown key "c"`) {
		t.Errorf("unknown key in an inline table: %v", err)
	}
}
