package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// defaultTOML is the configuration used when there is neither a config file
// nor a --pair or --loopback flag.
//
//go:embed default.toml
var defaultTOML []byte

// defaultLabel names the built-in default in error messages.
const defaultLabel = "config (built-in default.toml)"

// fileDoc is a config file as the TOML decoder fills it. Pointers tell a key
// that is absent from one that is set to its zero value; fields declared any
// take more than one TOML type and are checked by hand.
type fileDoc struct {
	Dir           *string         `toml:"dir"`
	Timing        *string         `toml:"timing"`
	LogLevel      *string         `toml:"log_level"`
	LogFormat     *string         `toml:"log_format"`
	FramingErrors *bool           `toml:"framing_errors"`
	Socket        *fileSocket     `toml:"socket"`
	Pair          []filePair      `toml:"pair"`
	Loopback      []fileLoopback  `toml:"loopback"`
	Connect       []fileConnect   `toml:"connect"`
	Serve         []fileServe     `toml:"serve"`
	Port          []filePortBlock `toml:"port"`
}

type fileSocket struct {
	Group *string `toml:"group"`
	Mode  any     `toml:"mode"`
}

type filePair struct {
	A *string `toml:"a"`
	B *string `toml:"b"`
}

type fileLoopback struct {
	Name *string `toml:"name"`
}

type fileConnect struct {
	Name       *string `toml:"name"`
	Address    *string `toml:"address"`
	Pace       *string `toml:"pace"`
	OnMismatch *string `toml:"on_mismatch"`
	Restart    *bool   `toml:"restart"`
}

type fileServe struct {
	Port     *string  `toml:"port"`
	Address  *string  `toml:"address"`
	Allow    []string `toml:"allow"`
	Handover *bool    `toml:"handover"`
}

type filePortBlock struct {
	Name      *string `toml:"name"`
	Link      *string `toml:"link"`
	Mode      any     `toml:"mode"`
	Owner     *string `toml:"owner"`
	Group     *string `toml:"group"`
	Timing    *string `toml:"timing"`
	FIFODepth *int64  `toml:"fifo_depth"`
	DataBits  *int64  `toml:"data_bits"`
	Parity    *string `toml:"parity"`
	StopBits  any     `toml:"stop_bits"`
}

// schema lists every key a config file may hold, by dotted path (array
// tables by their name), with the kind of value it wants.
var schema = map[string]string{
	"dir":             "a string",
	"timing":          "a string",
	"log_level":       "a string",
	"log_format":      "a string",
	"framing_errors":  "true or false",
	"socket":          "a table",
	"socket.group":    "a string",
	"socket.mode":     `a string of octal digits, like "0660"`,
	"pair":            "an array of tables ([[pair]])",
	"pair.a":          "a string",
	"pair.b":          "a string",
	"loopback":        "an array of tables ([[loopback]])",
	"loopback.name":   "a string",
	"connect":         "an array of tables ([[connect]])",
	"connect.name":    "a string",
	"connect.address": "a string",

	// A replay:FILE address's options (config/replay.go).
	"connect.pace":        `"recorded" or "instant"`,
	"connect.on_mismatch": `"stop" or "resync"`,

	// An exec:COMMAND address's option.
	"connect.restart": "true or false",

	"serve":           "an array of tables ([[serve]])",
	"serve.port":      "a string",
	"serve.address":   "a string",
	"serve.allow":     "an array of strings",
	"serve.handover":  "true or false",
	"port":            "an array of tables ([[port]])",
	"port.name":       "a string",
	"port.link":       "a string",
	"port.mode":       `a string of octal digits, like "0660"`,
	"port.owner":      "a string",
	"port.group":      "a string",
	"port.timing":     "a string",
	"port.fifo_depth": "an integer",
	"port.data_bits":  "an integer",
	"port.parity":     "a string",
	"port.stop_bits":  `"1", "1.5" or "2"`,
}

// fileConfig is a decoded file whose values have each been checked, ready to
// be merged with the flags. Nil pointers are settings the file leaves unset.
type fileConfig struct {
	label         string // "config PATH", for messages
	path          string // "" for the built-in default
	dir           *string
	timing        *Timing
	logLevel      *string
	logFormat     *string
	framingErrors *bool
	socketGroup   *string
	socketMode    *os.FileMode
	ports         []portDef
	serves        []Serve
	settings      []portSettings
}

// portDef is a port as a pair, loopback or connect entry defines it.
type portDef struct {
	kind   Kind
	a, b   string // b is "" but for a pair
	target string // a connect port's, checked; "" for the other kinds
	// noRestart leaves an exec: target's program stopped once it exits.
	noRestart bool
	// replay is a replay target's options ("" for the defaults), checked.
	replay ReplayOptions
}

// what names the entry in messages: pair "a:b", loopback "a" or
// connect "a".
func (d portDef) what() string {
	switch d.kind {
	case KindLoopback:
		return fmt.Sprintf("loopback %q", d.a)
	case KindConnect:
		return fmt.Sprintf("connect %q", d.a)
	}
	return fmt.Sprintf("pair %q", d.a+":"+d.b)
}

// portSettings is a [[port]] block, checked; nil fields are unset.
type portSettings struct {
	name      string
	link      *string
	mode      *os.FileMode
	owner     *string
	group     *string
	timing    *Timing
	fifoDepth *int
	dataBits  *uint8
	parity    *Parity
	stopBits  *StopBits
}

// apply sets on p what the block sets.
func (s *portSettings) apply(p *Port) {
	setIf(&p.Link, s.link)
	setIf(&p.Mode, s.mode)
	setIf(&p.Owner, s.owner)
	setIf(&p.Group, s.group)
	setIf(&p.Timing, s.timing)
	setIf(&p.FIFODepth, s.fifoDepth)
	setIf(&p.DataBits, s.dataBits)
	setIf(&p.Parity, s.parity)
	setIf(&p.StopBits, s.stopBits)
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func ptr[T any](v T) *T { return &v }

// readFile reads and decodes the config file at path.
func readFile(path string) (*fileConfig, error) {
	label := "config " + path
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the label already
		}
		return nil, fmt.Errorf("%s: %v", label, err)
	}
	fc, err := decodeFile(label, data)
	if err != nil {
		return nil, err
	}
	fc.path = path
	return fc, nil
}

// decodeFile decodes a config file strictly and checks each value. Errors
// start with label.
func decodeFile(label string, data []byte) (*fileConfig, error) {
	var doc fileDoc
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %s", label, describeDecodeError(err))
	}
	// go-toml matches keys to fields without regard to case; TOML keys are
	// case-sensitive, so look at the keys as written.
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %s", label, describeDecodeError(err))
	}
	if err := checkKeys("", raw); err != nil {
		return nil, fmt.Errorf("%s: %v", label, err)
	}
	fc, err := doc.check()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", label, err)
	}
	fc.label = label
	return fc, nil
}

// describeDecodeError makes one line, with the line number, of an error
// from the TOML decoder.
func describeDecodeError(err error) string {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		e := strict.Errors[0]
		line, _ := e.Position()
		return fmt.Sprintf("line %d: %s", line, unknownKey(e.Key()))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		key := de.Key()
		if rest, ok := strings.CutPrefix(msg, "cannot decode TOML "); ok && len(key) > 0 {
			got, _, _ := strings.Cut(rest, " ")
			if want, known := schema[strings.Join(key, ".")]; known {
				msg = fmt.Sprintf("%s: want %s, not %s", key[len(key)-1], want, article(got))
			}
		}
		return fmt.Sprintf("line %d: %s", line, msg)
	}
	return strings.TrimPrefix(err.Error(), "toml: ")
}

// unknownKey says which key is unknown and in which table.
func unknownKey(key []string) string {
	if len(key) == 0 {
		return "unknown key"
	}
	name := key[len(key)-1]
	parent := strings.Join(key[:len(key)-1], ".")
	switch want := schema[parent]; {
	case parent == "":
		return fmt.Sprintf("unknown key %q", name)
	case strings.HasPrefix(want, "an array of tables"):
		return fmt.Sprintf("unknown key %q in [[%s]]", name, parent)
	default:
		return fmt.Sprintf("unknown key %q in [%s]", name, parent)
	}
}

func article(tomlType string) string {
	switch tomlType {
	case "":
		return "that"
	case "integer", "array", "inline", "inline-table":
		return "an " + tomlType
	}
	return "a " + tomlType
}

// checkKeys reports a key that is not in the schema as written (a key that
// differs only in case from a known one).
func checkKeys(prefix string, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		want, ok := schema[path]
		if !ok {
			return fmt.Errorf("%s (keys are case-sensitive)", unknownKey(strings.Split(path, ".")))
		}
		switch v := m[k].(type) {
		case map[string]any:
			if want == "a table" {
				if err := checkKeys(path, v); err != nil {
					return err
				}
			}
		case []any:
			if strings.HasPrefix(want, "an array of tables") {
				for _, e := range v {
					if t, ok := e.(map[string]any); ok {
						if err := checkKeys(path, t); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// check turns the decoded document into checked settings. Errors name the
// entry: `pair "a:b": ...`, `port "x": fifo_depth 0: ...`.
func (doc *fileDoc) check() (*fileConfig, error) {
	fc := &fileConfig{}
	if doc.Dir != nil {
		if !filepath.IsAbs(*doc.Dir) {
			return nil, fmt.Errorf("dir %q: must be an absolute path", *doc.Dir)
		}
		fc.dir = ptr(filepath.Clean(*doc.Dir))
	}
	if doc.Timing != nil {
		t, err := parseTiming(*doc.Timing)
		if err != nil {
			return nil, fmt.Errorf("timing %q: %v", *doc.Timing, err)
		}
		fc.timing = &t
	}
	if doc.LogLevel != nil {
		if err := checkLogLevel(*doc.LogLevel); err != nil {
			return nil, fmt.Errorf("log_level %q: %v", *doc.LogLevel, err)
		}
		fc.logLevel = doc.LogLevel
	}
	if doc.LogFormat != nil {
		f, err := parseLogFormat(*doc.LogFormat)
		if err != nil {
			return nil, fmt.Errorf("log_format %q: %v", *doc.LogFormat, err)
		}
		fc.logFormat = &f
	}
	fc.framingErrors = doc.FramingErrors
	if s := doc.Socket; s != nil {
		if s.Group != nil {
			if err := checkID(*s.Group); err != nil {
				return nil, fmt.Errorf("socket: group %q: %v", *s.Group, err)
			}
			fc.socketGroup = s.Group
		}
		if s.Mode != nil {
			m, err := modeValue(s.Mode)
			if err != nil {
				return nil, fmt.Errorf("socket: %v", err)
			}
			fc.socketMode = &m
		}
	}
	for i, p := range doc.Pair {
		switch {
		case p.A == nil:
			return nil, fmt.Errorf("[[pair]] #%d: missing a", i+1)
		case p.B == nil:
			return nil, fmt.Errorf("[[pair]] #%d: missing b", i+1)
		}
		fc.ports = append(fc.ports, portDef{kind: KindPair, a: *p.A, b: *p.B})
	}
	for i, l := range doc.Loopback {
		if l.Name == nil {
			return nil, fmt.Errorf("[[loopback]] #%d: missing name", i+1)
		}
		fc.ports = append(fc.ports, portDef{kind: KindLoopback, a: *l.Name})
	}
	for i, cn := range doc.Connect {
		switch {
		case cn.Name == nil:
			return nil, fmt.Errorf("[[connect]] #%d: missing name", i+1)
		case cn.Address == nil:
			return nil, fmt.Errorf("[[connect]] #%d: missing address", i+1)
		}
		t, err := parseTarget(*cn.Address)
		if err != nil {
			return nil, fmt.Errorf("connect %q: address %q: %v", *cn.Name, *cn.Address, err)
		}
		ro := ReplayOptions{Pace: deref(cn.Pace), OnMismatch: deref(cn.OnMismatch)}
		if err := ro.check(*cn.Address); err != nil {
			return nil, fmt.Errorf("connect %q: %v", *cn.Name, err)
		}
		d := portDef{kind: KindConnect, a: *cn.Name, target: *cn.Address, replay: ro}
		if cn.Restart != nil {
			if t.Kind != TargetExec {
				return nil, fmt.Errorf("connect %q: restart: only an exec: target has a program to restart (address %q is a %s)", *cn.Name, *cn.Address, t.Kind)
			}
			d.noRestart = !*cn.Restart
		}
		fc.ports = append(fc.ports, d)
	}
	for i, sv := range doc.Serve {
		s, err := sv.check(i)
		if err != nil {
			return nil, err
		}
		fc.serves = append(fc.serves, s)
	}
	seen := make(map[string]bool, len(doc.Port))
	for i, b := range doc.Port {
		if b.Name == nil {
			return nil, fmt.Errorf("[[port]] #%d: missing name", i+1)
		}
		name := *b.Name
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("[[port]] #%d: name %q: %v", i+1, name, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("port %q is defined twice", name)
		}
		seen[name] = true
		s, err := b.check()
		if err != nil {
			return nil, fmt.Errorf("port %q: %v", name, err)
		}
		fc.settings = append(fc.settings, s)
	}
	return fc, nil
}

// check reads the i'th [[serve]] block. Its options are keys of their own,
// so its address takes no query.
func (b *fileServe) check(i int) (Serve, error) {
	switch {
	case b.Port == nil:
		return Serve{}, fmt.Errorf("[[serve]] #%d: missing port", i+1)
	case b.Address == nil:
		return Serve{}, fmt.Errorf("[[serve]] #%d: missing address", i+1)
	}
	s, err := parseListen(*b.Port, *b.Address)
	if err != nil {
		return Serve{}, fmt.Errorf("serve %q: address %q: %v", *b.Port, *b.Address, err)
	}
	if s.Address != *b.Address {
		return Serve{}, fmt.Errorf("serve %q: address %q: give the options as the keys allow and handover of [[serve]], not in a query", *b.Port, *b.Address)
	}
	if len(b.Allow) > 0 {
		if s.Allow, err = ParseAllow(b.Allow); err != nil {
			return Serve{}, fmt.Errorf("serve %q: %v", *b.Port, err)
		}
	}
	setIf(&s.Handover, b.Handover)
	return s, nil
}

// check checks each value of a [[port]] block on its own.
func (b *filePortBlock) check() (portSettings, error) {
	s := portSettings{name: *b.Name}
	if b.Link != nil {
		if !filepath.IsAbs(*b.Link) {
			return s, fmt.Errorf("link %q: must be an absolute path", *b.Link)
		}
		s.link = ptr(filepath.Clean(*b.Link))
	}
	if b.Mode != nil {
		m, err := modeValue(b.Mode)
		if err != nil {
			return s, err
		}
		s.mode = &m
	}
	if b.Owner != nil {
		if err := checkID(*b.Owner); err != nil {
			return s, fmt.Errorf("owner %q: %v", *b.Owner, err)
		}
		s.owner = b.Owner
	}
	if b.Group != nil {
		if err := checkID(*b.Group); err != nil {
			return s, fmt.Errorf("group %q: %v", *b.Group, err)
		}
		s.group = b.Group
	}
	if b.Timing != nil {
		t, err := parseTiming(*b.Timing)
		if err != nil {
			return s, fmt.Errorf("timing %q: %v", *b.Timing, err)
		}
		s.timing = &t
	}
	if b.FIFODepth != nil {
		n := *b.FIFODepth
		if n < 1 || n > maxFIFODepth {
			return s, fmt.Errorf("fifo_depth %d: %v", n, checkFIFODepth(0))
		}
		s.fifoDepth = ptr(int(n))
	}
	if b.DataBits != nil {
		n := *b.DataBits
		if n < 5 || n > 8 {
			return s, fmt.Errorf("data_bits %d: %v", n, checkDataBits(0))
		}
		s.dataBits = ptr(uint8(n))
	}
	if b.Parity != nil {
		p, err := parseParity(*b.Parity)
		if err != nil {
			return s, fmt.Errorf("parity %q: %v", *b.Parity, err)
		}
		s.parity = &p
	}
	if b.StopBits != nil {
		sb, err := stopBitsValue(b.StopBits)
		if err != nil {
			return s, err
		}
		s.stopBits = &sb
	}
	return s, nil
}

// modeValue reads a mode written as a string of octal digits. An integer is
// refused with a hint, since mode = 660 would be decimal.
func modeValue(v any) (os.FileMode, error) {
	switch v := v.(type) {
	case string:
		m, err := parseMode(v)
		if err != nil {
			return 0, fmt.Errorf("mode %q: %v", v, err)
		}
		return m, nil
	case int64:
		return 0, fmt.Errorf(`mode %d: write modes as strings of octal digits, like "0660"`, v)
	}
	return 0, fmt.Errorf(`mode: want a string of octal digits, like "0660", not %s`, tomlType(v))
}

// stopBitsValue reads stop_bits written as "1", "1.5" or "2", or as the
// numbers 1, 1.5 or 2.
func stopBitsValue(v any) (StopBits, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case int64:
		s = strconv.FormatInt(v, 10)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return "", fmt.Errorf(`stop_bits: want "1", "1.5" or "2", not %s`, tomlType(v))
	}
	sb, err := parseStopBits(s)
	if err != nil {
		return "", fmt.Errorf("stop_bits %q: %v", s, err)
	}
	return sb, nil
}

// tomlType names the TOML type of a decoded value, for messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any:
		return "an array"
	}
	return "a date or time"
}
