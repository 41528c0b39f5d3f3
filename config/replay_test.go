package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A replay port's pace and on_mismatch: read from [[connect]], checked,
// and refused on a target that is no recording.
func TestReplayOptions(t *testing.T) {
	parse := func(body string) (*Config, error) {
		path := filepath.Join(t.TempDir(), "vcomd.toml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return Parse([]string{"--config", path}, noEnv, false)
	}
	c, err := parse("[[connect]]\nname = \"M\"\naddress = \"replay:/r.jsonl\"\npace = \"instant\"\non_mismatch = \"resync\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c.PortByName("M"); !p.Replay.Instant() || !p.Replay.Resync() {
		t.Errorf("M = %+v, want instant and resync", p)
	}
	c, err = parse("[[connect]]\nname = \"M\"\naddress = \"replay:/r.jsonl\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c.PortByName("M"); p.Replay.Instant() || p.Replay.Resync() {
		t.Errorf("M = %+v, want the defaults: recorded, stop", p)
	}
	for body, want := range map[string]string{
		"address = \"replay:/r.jsonl\"\npace = \"fast\"":          `connect "M": pace "fast": want "recorded" or "instant"`,
		"address = \"replay:/r.jsonl\"\non_mismatch = \"ignore\"": `connect "M": on_mismatch "ignore": want "stop" or "resync"`,
		"address = \"rfc2217://h:1\"\npace = \"instant\"":         `connect "M": pace and on_mismatch are for a replay:FILE address, not "rfc2217://h:1"`,
		"address = \"replay:/r.jsonl\"\npace = 1":                 "pace",
	} {
		_, err := parse("[[connect]]\nname = \"M\"\n" + body + "\n")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
}
