package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// encodeFile writes c as a config file that says everything about it:
// every global, every pair and loopback, and a [[port]] block with every
// setting of every port. Reading it back must give c.
func encodeFile(c *Config) ([]byte, error) {
	doc := fileDoc{
		Dir:           &c.Dir,
		Timing:        ptr(string(c.Timing)),
		LogLevel:      &c.LogLevel,
		FramingErrors: &c.FramingErrors,
		Socket:        &fileSocket{Mode: modeString(c.Socket.Mode)},
	}
	if c.LogFormat != "" {
		doc.LogFormat = &c.LogFormat
	}
	if c.Socket.Group != "" {
		doc.Socket.Group = &c.Socket.Group
	}
	for _, pr := range c.Pairs {
		doc.Pair = append(doc.Pair, filePair{A: ptr(pr[0]), B: ptr(pr[1])})
	}
	for _, name := range c.Loopbacks {
		doc.Loopback = append(doc.Loopback, fileLoopback{Name: ptr(name)})
	}
	for _, name := range c.Connects {
		p, _ := c.PortByName(name)
		fc := fileConnect{Name: ptr(name), Address: ptr(p.Connect)}
		if t, _ := parseTarget(p.Connect); t.Kind == TargetExec {
			fc.Restart = ptr(p.ExecRestart)
		}
		if p.Replay.Pace != "" {
			fc.Pace = ptr(p.Replay.Pace)
		}
		if p.Replay.OnMismatch != "" {
			fc.OnMismatch = ptr(p.Replay.OnMismatch)
		}
		doc.Connect = append(doc.Connect, fc)
	}
	for _, s := range c.Serves {
		fs := fileServe{Port: ptr(s.Port), Address: ptr(s.Address), Handover: ptr(s.Handover)}
		for _, a := range s.Allow {
			fs.Allow = append(fs.Allow, a.String())
		}
		doc.Serve = append(doc.Serve, fs)
	}
	for _, p := range c.Ports {
		b := filePortBlock{
			Name: ptr(p.Name), Mode: modeString(p.Mode), Timing: ptr(string(p.Timing)),
			FIFODepth: ptr(int64(p.FIFODepth)), DataBits: ptr(int64(p.DataBits)),
			Parity: ptr(string(p.Parity)), StopBits: string(p.StopBits),
		}
		if p.Link != "" { // a served port has none
			b.Link = &p.Link
		}
		if p.Owner != "" {
			b.Owner = &p.Owner
		}
		if p.Group != "" {
			b.Group = &p.Group
		}
		doc.Port = append(doc.Port, b)
	}
	return toml.Marshal(doc)
}

func modeString(m os.FileMode) string { return "0" + strconv.FormatUint(uint64(m), 8) }

// addParseSeeds seeds f with TestErrors' table, the sample and a few
// valid command lines.
func addParseSeeds(f *testing.F) {
	for _, tc := range errorCases() {
		f.Add(tc.file, strings.Join(tc.args, "\n"))
	}
	sample, err := os.ReadFile("sample.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(sample), "")
	f.Add(string(defaultTOML), "--timing\noff\n--pair\nttyF0:ttyF1")
	f.Add("", "--dir\n/tmp/v/../w\n--loopback\nttyL0\n--log-format\njson")
	f.Add(pairFile("data_bits = 5\nstop_bits = 1.5\nparity = \"mark\"\nmode = \"0600\"\nowner = \"1000\"\n"), "")
	f.Add(netFile(serveBlock("ttyV1", "rfc2217://[::]:7000", "allow = [\"fd00::/8\", \"10.1.2.3\"]\nhandover = true\n")+
		"[[connect]]\nname = \"ttyR0\"\naddress = \"socket://h:1\"\n[[port]]\nname = \"ttyR0\"\ntiming = \"realistic\"\n"),
		"--connect\nttyR1=rfc2217://10.0.0.1:2217\n--serve\nttyR1=socket://127.0.0.1:0")
	f.Add("", "--pair\na:b\n--serve\na=rfc2217://0.0.0.0:7000?allow=192.168.1.0/24,10.0.0.1&handover\n--connect\nr=socket://[::1]:7\n--serve\nr=socket://localhost:7001")
}

// FuzzParse reads any config file with any flags. A result is an error of
// one line, or a config that passes Validate and that, written out as a
// file and read back, is the same config.
func FuzzParse(f *testing.F) {
	addParseSeeds(f)
	f.Fuzz(func(t *testing.T, file, argLines string) {
		var args []string
		if argLines != "" {
			args = strings.Split(argLines, "\n")
		}
		for _, a := range args {
			if strings.Contains(a, "config") {
				return // the file is the fuzzed one, not one named by chance
			}
		}
		dir := t.TempDir()
		if file != "" {
			path := filepath.Join(dir, "vcomd.toml")
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
			args = append([]string{"--config", path}, args...)
		}
		c, err := Parse(args, noEnv, true)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("Parse(%q): error of other than one line: %q", args, msg)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse(%q) gave a config that fails Validate: %v", args, err)
		}
		b, err := encodeFile(c)
		if err != nil {
			t.Fatalf("encoding %+v: %v", c, err)
		}
		path := filepath.Join(dir, "again.toml")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := Parse([]string{"--config", path}, noEnv, true)
		if err != nil {
			t.Fatalf("Parse(%q) gave %+v, which written out does not parse: %v\n%s", args, c, err, b)
		}
		// A file lists its pairs before its loopbacks, whatever the
		// flags' order was.
		for _, x := range []*Config{c, again} {
			x.File = ""
			slices.SortFunc(x.Ports, func(a, b Port) int { return strings.Compare(a.Name, b.Name) })
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("Parse(%q):\n%+v\nwritten out and read back:\n%+v\n%s", args, c, again, b)
		}
	})
}
