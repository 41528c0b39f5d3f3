package config

import (
	"strings"
	"testing"
)

// TestOwnFileNames checks that a port whose link would be a file the daemon
// makes beside its links is refused, from the flags, from a file and when
// added at run time, with an error naming the collision.
func TestOwnFileNames(t *testing.T) {
	cases := []struct {
		name string
		file string // a config file, written and passed with --config
		args []string
		want string
	}{
		{name: "socket by flag", args: []string{"--dir", "/run/v", "--loopback", "vcomd.sock"},
			want: `port name "vcomd.sock" is the control socket's file in /run/v`},
		{name: "socket in a pair", args: []string{"--dir", "/run/v", "--pair", "a:vcomd.sock"},
			want: `port name "vcomd.sock" is the control socket's file in /run/v`},
		{name: "socket by file", file: "dir = \"/run/w\"\n[[loopback]]\nname = \"vcomd.sock\"\n",
			want: `port name "vcomd.sock" is the control socket's file in /run/w`},
		{name: "socket as a link", file: "dir = \"/run/w\"\n[[loopback]]\nname = \"l\"\n[[port]]\nname = \"l\"\nlink = \"/run/w/vcomd.sock\"\n",
			want: `port "l": link "/run/w/vcomd.sock" is the control socket's file in /run/w`},
		{name: "dir as a link", file: "dir = \"/run/w\"\n[[loopback]]\nname = \"l\"\n[[port]]\nname = \"l\"\nlink = \"/run/w/\"\n",
			want: `port "l": link "/run/w" is the directory of the links itself`},
		{name: "temporary link name", args: []string{"--dir", "/run/v", "--loopback", "ttyV0.4242.tmp"},
			want: `port name "ttyV0.4242.tmp" has the form NAME.PID.tmp of the temporary links vcomd makes in /run/v`},
		{name: "temporary name as a link", file: "[[loopback]]\nname = \"l\"\n[[port]]\nname = \"l\"\nlink = \"/dev/x.1.tmp\"\n",
			want: `port "l": link "/dev/x.1.tmp" has the form NAME.PID.tmp of the temporary links vcomd makes in /dev`},
		{name: "leading dash", args: []string{"--loopback", "-l"}, want: `port name "-l": starts with '-'`},
		{name: "empty", args: []string{"--loopback", ""}, want: `port name "": empty`},
		{name: "dot dot", args: []string{"--pair", "a:.."}, want: `port name "..": "." and ".." are not port names`},
		{name: "slash", args: []string{"--loopback", "../x"}, want: `has '/'`},
		{name: "long", args: []string{"--loopback", strings.Repeat("n", 65)}, want: "longer than 64 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeConfig(t, tc.file)}, args...)
			}
			_, err := Parse(args, noEnv, true)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", args, err, tc.want)
			}
		})
	}
}

// TestOwnFileNamesAtRunTime checks that WithPair and WithLoopback, which the
// control API's add uses, refuse them too and leave the config unchanged.
func TestOwnFileNamesAtRunTime(t *testing.T) {
	c := validConfig()
	before := len(c.Ports)
	if _, err := c.WithLoopback(SocketName, NewPorts{}); err == nil || !strings.Contains(err.Error(), `port name "vcomd.sock" is the control socket's file in /run/vcom`) {
		t.Errorf("WithLoopback(%q) = %v", SocketName, err)
	}
	if _, err := c.WithPair("x", "a.7.tmp", NewPorts{}); err == nil || !strings.Contains(err.Error(), `port name "a.7.tmp" has the form NAME.PID.tmp`) {
		t.Errorf("WithPair(x, a.7.tmp) = %v", err)
	}
	if len(c.Ports) != before {
		t.Errorf("the config changed: %d ports, had %d", len(c.Ports), before)
	}
	// Names close to those are ports like any other.
	for _, name := range []string{"vcomd.sock0", "vcomd", "a.tmp", "a.x1.tmp", "a.7.tmp0", "x-"} {
		if _, err := c.WithLoopback(name, NewPorts{}); err != nil {
			t.Errorf("WithLoopback(%q): %v", name, err)
		}
	}
}
