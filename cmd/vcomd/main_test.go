package main_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// vcomd is the binary under test, built once.
var vcomd string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vcomd-test")
	if err != nil {
		panic(err)
	}
	vcomd = filepath.Join(dir, "vcomd")
	if out, err := exec.Command("go", "build", "-race", "-o", vcomd, ".").CombinedOutput(); err != nil {
		// Without cgo there is no race detector; build plainly.
		if out2, err2 := exec.Command("go", "build", "-o", vcomd, ".").CombinedOutput(); err2 != nil {
			panic(string(out) + string(out2))
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running vcomd and the lines it printed.
type daemon struct {
	cmd   *exec.Cmd
	lines []string
	dir   string
}

// start runs vcomd with args and waits for its port lines.
func start(t *testing.T, nports int, args ...string) *daemon {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vcom")
	cmd := exec.Command(vcomd, append([]string{"--dir", dir}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, dir: dir}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("vcomd stderr:\n%s", stderr.String())
		}
	})
	sc := bufio.NewScanner(stdout)
	for len(d.lines) < nports && sc.Scan() {
		d.lines = append(d.lines, sc.Text())
	}
	if len(d.lines) < nports {
		t.Fatalf("vcomd printed %q, want %d port lines; stderr:\n%s", d.lines, nports, stderr.String())
	}
	return d
}

// stop sends sig and returns the exit status.
func (d *daemon) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	d.cmd.Process.Signal(sig)
	err := d.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// With no port flags and no config, vcomd makes the pair ttyV0:ttyV1 and
// prints a line per port with its link and pts path; the links point at
// the ptys; SIGTERM removes them and exits 0.
func TestDefaultPairAndSigterm(t *testing.T) {
	d := start(t, 2)
	for i, name := range []string{"ttyV0", "ttyV1"} {
		link := filepath.Join(d.dir, name)
		if !strings.HasPrefix(d.lines[i], name+"\t"+link+" -> /dev/pts/") {
			t.Errorf("line %q, want %s, its link and its pts", d.lines[i], name)
		}
		target, err := os.Readlink(link)
		if err != nil || !strings.HasSuffix(d.lines[i], target+"\t(pair with "+map[string]string{"ttyV0": "ttyV1", "ttyV1": "ttyV0"}[name]+")") {
			t.Errorf("link %s -> %q (%v); line %q", link, target, err, d.lines[i])
		}
		fi, err := os.Stat(link)
		if err != nil || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeCharDevice == 0 {
			t.Errorf("%s: %v %v, want a character device with mode 0660", link, fi.Mode(), err)
		}
	}
	if code := d.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
	for _, name := range []string{"ttyV0", "ttyV1"} {
		if _, err := os.Lstat(filepath.Join(d.dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("link %s left behind (%v)", name, err)
		}
	}
}

// Bad flags and bad configs: exit status 2, one line naming the problem,
// nothing created.
func TestBadInputExitsTwo(t *testing.T) {
	cfgDir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(cfgDir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pair", "ttyA"}, `--pair "ttyA"`},
		{[]string{"--timing", "fast"}, `"fast"`},
		{[]string{"--pair", "a:a"}, `"a:a"`},
		{[]string{"--loopback", "x/y"}, `"x/y"`},
		{[]string{"--bogus"}, "bogus"},
		{[]string{"--config", "/nonexistent/vcomd.toml"}, "/nonexistent/vcomd.toml"},
		{[]string{"--config", write("syntax.toml", "[[pair]\na = 1\n")}, "syntax.toml"},
		{[]string{"--config", write("key.toml", "[[pair]]\na = \"x\"\nb = \"y\"\nspeed = 9600\n")}, "speed"},
		{[]string{"--config", write("fifo.toml", "[[pair]]\na = \"x\"\nb = \"y\"\n[[port]]\nname = \"x\"\nfifo_depth = 0\n")}, "fifo_depth"},
		{[]string{"--log-level", "loud"}, "loud"},
		// A port over the daemon's own files.
		{[]string{"--loopback", "vcomd.sock"}, `port name "vcomd.sock" is the control socket's file in `},
		{[]string{"--pair", "a:a.99.tmp"}, `port name "a.99.tmp" has the form NAME.PID.tmp`},
		{[]string{"--config", write("sock.toml", "[[loopback]]\nname = \"vcomd.sock\"\n")}, `port name "vcomd.sock" is the control socket's file in `},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vcom")
			cmd := exec.Command(vcomd, append([]string{"--dir", dir}, tc.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want status 2", err)
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q, want one line naming %q", msg, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was created", dir)
			}
		})
	}
}

// SIGHUP reloads the config: a port added to the file appears, one taken
// out goes, and the others are not disturbed (same pts).
func TestSighupReload(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "vcomd.toml")
	write := func(body string) {
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[[pair]]\na = \"p0\"\nb = \"p1\"\n[[loopback]]\nname = \"lb\"\n")
	d := start(t, 3, "--config", cfg)
	before, _ := os.Readlink(filepath.Join(d.dir, "p0"))
	write("[[pair]]\na = \"p0\"\nb = \"p1\"\n[[pair]]\na = \"q0\"\nb = \"q1\"\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool {
		_, err := os.Lstat(filepath.Join(d.dir, "q1"))
		_, gone := os.Lstat(filepath.Join(d.dir, "lb"))
		return err == nil && errors.Is(gone, os.ErrNotExist)
	})
	if after, _ := os.Readlink(filepath.Join(d.dir, "p0")); after != before {
		t.Errorf("p0 moved from %s to %s across the reload", before, after)
	}
	// A bad config on reload changes nothing and the daemon stays up.
	write("[[pair]]\na = \"p0\"\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	// Signals are handled in order: once a good reload that follows has
	// taken effect, the bad one has been refused.
	write("[[pair]]\na = \"p0\"\nb = \"p1\"\n[[pair]]\na = \"q0\"\nb = \"q1\"\n[[loopback]]\nname = \"lb2\"\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { _, err := os.Lstat(filepath.Join(d.dir, "lb2")); return err == nil })
	if _, err := os.Lstat(filepath.Join(d.dir, "q0")); err != nil {
		t.Errorf("q0 gone after a refused reload: %v", err)
	}
	if code := d.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
}

// waitFor waits for a change a signal causes in the file system; the
// daemon gives no other sign of having reloaded, so this looks every
// 10 ms for at most 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
	}
}

// The control socket is there while vcomd runs, with its mode, and goes
// at stop; a second vcomd on the same directory is refused before it
// touches the first one's links.
func TestControlSocket(t *testing.T) {
	d := start(t, 2)
	socket := filepath.Join(d.dir, "vcomd.sock")
	fi, err := os.Lstat(socket)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Fatalf("control socket: %v, %v", fi, err)
	}
	links := map[string]string{}
	for _, name := range []string{"ttyV0", "ttyV1"} {
		links[name], _ = os.Readlink(filepath.Join(d.dir, name))
	}
	second := exec.Command(vcomd, "--dir", d.dir)
	out, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "another vcomd is serving this directory") {
		t.Errorf("second vcomd: %v: %s", err, out)
	}
	for name, target := range links {
		if got, _ := os.Readlink(filepath.Join(d.dir, name)); got != target {
			t.Errorf("%s now points at %q, was %q", name, got, target)
		}
	}
	if code := d.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if _, err := os.Lstat(socket); !os.IsNotExist(err) {
		t.Errorf("socket left after stop: %v", err)
	}
}
