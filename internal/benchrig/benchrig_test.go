package benchrig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var vcomd string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "benchrig")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if vcomd, err = BuildVcomd(context.Background(), dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// gone reports whether no process has this pid any more (a child is
// reaped once its Wait returns).
func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

func isPTYLink(t *testing.T, link string) {
	t.Helper()
	target, err := os.Readlink(link)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(target, "/dev/pts/") {
		t.Errorf("%s -> %s, want a pty", link, target)
	}
}

func TestVcomd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "vcom")
	v, err := StartVcomd(ctx, VcomdConfig{Bin: vcomd, Dir: dir, Pairs: 3, Timing: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Pairs) != 3 || v.Ready <= 0 {
		t.Fatalf("pairs %v, ready %v", v.Pairs, v.Ready)
	}
	for _, p := range v.Pairs {
		isPTYLink(t, p.A)
		isPTYLink(t, p.B)
	}
	if err := v.Stop(); err != nil {
		t.Fatal(err)
	}
	if !gone(v.PID()) {
		t.Errorf("vcomd pid %d still exists after Stop", v.PID())
	}
	if _, err := os.Lstat(v.Pairs[0].A); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link %s after Stop: %v", v.Pairs[0].A, err)
	}
}

// A daemon that refuses to start is reported with what it said.
func TestVcomdFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := StartVcomd(ctx, VcomdConfig{Bin: vcomd, Dir: file, Pairs: 1})
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("StartVcomd with a file for --dir: %v", err)
	}
}

func TestSocat(t *testing.T) {
	bin, err := LookSocat()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if v, err := SocatVersion(ctx, bin); err != nil || v == "" {
		t.Errorf("SocatVersion = %q, %v", v, err)
	}
	s, err := StartSocat(ctx, SocatConfig{Bin: bin, Dir: t.TempDir(), Pairs: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pairs) != 4 || len(s.PIDs()) != 4 {
		t.Fatalf("pairs %v, pids %v", s.Pairs, s.PIDs())
	}
	for _, p := range s.Pairs {
		isPTYLink(t, p.A)
		isPTYLink(t, p.B)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range s.PIDs() {
		if !gone(pid) {
			t.Errorf("socat pid %d still exists after Stop", pid)
		}
	}
}

// A socat that exits before making its links ends the wait at once.
func TestSocatFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// "false" exits at once whatever its arguments, as a socat would
	// that cannot make its ptys.
	_, err := StartSocat(ctx, SocatConfig{Bin: "/bin/false", Dir: t.TempDir(), Pairs: 2})
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("StartSocat of a failing program: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the failure was noticed only at the deadline")
	}
}

func TestLookSocatMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := LookSocat(); !errors.Is(err, ErrNoSocat) {
		t.Fatalf("LookSocat with an empty PATH: %v", err)
	}
}

// A daemon started from a config file keeps its pair through reloads,
// and each reload applies the new file: its loopback appears, the last
// one goes.
func TestVcomdReload(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "vcom")
	v, err := StartVcomd(ctx, VcomdConfig{Bin: vcomd, Dir: dir, Pairs: 1, ConfigFile: filepath.Join(tmp, "vcomd.toml")})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop()
	target, err := os.Readlink(v.Pairs[0].A)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"l0", "l1"} {
		if err := v.Reload(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "l0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("l0 after a reload without it: %v", err)
	}
	if now, err := os.Readlink(v.Pairs[0].A); err != nil || now != target {
		t.Errorf("the pair's link went from %s to %s (%v)", target, now, err)
	}
	if !strings.Contains(configText(2, []string{"x"}), "a = \"a1\"\nb = \"b1\"") {
		t.Errorf("config of 2 pairs:\n%s", configText(2, []string{"x"}))
	}
}

// Reload needs a config file.
func TestVcomdReloadNoConfig(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := StartVcomd(ctx, VcomdConfig{Bin: vcomd, Dir: filepath.Join(t.TempDir(), "vcom"), Pairs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop()
	if err := v.Reload(ctx, "l0"); err == nil || !strings.Contains(err.Error(), "config file") {
		t.Errorf("Reload without a config file: %v", err)
	}
}

// socat's tcp-listen bridge is up once started: its link is a pty and a
// client connects; Stop ends it.
func TestSocatTCP(t *testing.T) {
	bin, err := LookSocat()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := StartSocatTCP(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	isPTYLink(t, s.Link)
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !gone(s.PID()) {
		t.Errorf("socat pid %d still exists after Stop", s.PID())
	}
}

// ser2net serving a vcomd pair's end listens once started; its version
// is read; a device it cannot open still lets it listen (it opens at a
// client's connect), and a binary that is no ser2net fails the start
// with what it said.
func TestSer2net(t *testing.T) {
	bin, err := LookSer2net()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if v, err := Ser2netVersion(ctx, bin); err != nil || !strings.HasPrefix(v, "4.") {
		t.Errorf("Ser2netVersion = %q, %v", v, err)
	}
	if _, err := Ser2netVersion(ctx, "/bin/true"); err == nil {
		t.Error("/bin/true passed for ser2net 4")
	}
	v, err := StartVcomd(ctx, VcomdConfig{Bin: vcomd, Dir: filepath.Join(t.TempDir(), "vcom"), Pairs: 1, Timing: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop()
	s, err := StartSer2net(ctx, Ser2netConfig{Bin: bin, Dir: t.TempDir(), Device: v.Pairs[0].A})
	if err != nil {
		t.Fatal(err)
	}
	// The first client is served, its telnet negotiation starting with
	// IAC: the wait for ser2net took no connection of its own.
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	first := make([]byte, 1)
	if _, err := c.Read(first); err != nil || first[0] != 0xFF {
		t.Errorf("ser2net's first client read %x, %v; want IAC", first, err)
	}
	c.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !gone(s.PID()) {
		t.Errorf("ser2net pid %d still exists after Stop", s.PID())
	}
	if _, err := StartSer2net(ctx, Ser2netConfig{Bin: "/bin/false", Dir: t.TempDir(), Device: "/dev/null"}); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("StartSer2net of a failing program: %v", err)
	}
}

func TestHostPort(t *testing.T) {
	if a, err := HostPort("rfc2217://127.0.0.1:4000"); err != nil || a != "127.0.0.1:4000" {
		t.Errorf("HostPort(rfc2217://127.0.0.1:4000) = %q, %v", a, err)
	}
	for _, bad := range []string{"127.0.0.1:4000", "telnet://h:1", "socket://"} {
		if _, err := HostPort(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("HostPort(%q): %v", bad, err)
		}
	}
}

// The daemon's port lines give the links of ports with a pty and the URL
// of served ones; a line of neither kind is an error naming it.
func TestReadAnnouncements(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	announce := func(text string) (map[string]string, map[string]string, error) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		p, err := start(ctx, w, nil, "/bin/sh", "-c", "printf '"+text+"'")
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		defer p.stop()
		return readAnnouncements(ctx, p, r, 2)
	}
	links, served, err := announce(`a0\tserved at socket://127.0.0.1:40123\t(pair with b0)\nb0\t/d/b0 -> /dev/pts/9\t(pair with a0)\n`)
	if err != nil || links["b0"] != "/d/b0" || served["a0"] != "socket://127.0.0.1:40123" || len(links)+len(served) != 2 {
		t.Errorf("links %v, served %v, %v", links, served, err)
	}
	if _, _, err := announce(`oops\n`); err == nil || !strings.Contains(err.Error(), `"oops"`) {
		t.Errorf("a line of one word: %v", err)
	}
}

// A served port is announced with the address it bound, which takes a
// client; its pair's other end has its link as usual.
func TestVcomdServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := StartVcomd(ctx, VcomdConfig{Bin: vcomd, Dir: filepath.Join(t.TempDir(), "vcom"), Pairs: 1, Timing: "off", Serve: []string{"a0=socket://127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop()
	addr, err := HostPort(v.Served["a0"])
	if err != nil || strings.HasSuffix(addr, ":0") {
		t.Fatalf("a0 served at %q (%v), want the bound port", v.Served["a0"], err)
	}
	if v.Pairs[0].A != "" {
		t.Errorf("served a0 has a link %q", v.Pairs[0].A)
	}
	isPTYLink(t, v.Pairs[0].B)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// The driver's counters come through the control socket, summed over
// the pair's two ports; each read is a request on each.
func TestVcomdWork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := StartVcomd(ctx, VcomdConfig{Bin: vcomd, Dir: filepath.Join(t.TempDir(), "vcom"), Pairs: 2, Timing: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop()
	w1, err := v.Work(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := v.Work(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := SubWork(w2, w1)
	if d.Requests < 2 || w2.ISRPasses < w1.ISRPasses || w2.DPCRuns < w1.DPCRuns {
		t.Errorf("work %+v, then %+v: want at least one more request on each port, and no counter going back", w1, w2)
	}
	if AddWork(w1, d) != w2 {
		t.Errorf("AddWork(%+v, %+v) = %+v, want %+v", w1, d, AddWork(w1, d), w2)
	}
	if _, err := v.Work(ctx, 2); err == nil {
		t.Error("the counters of a pair the daemon lacks were read")
	}
}
