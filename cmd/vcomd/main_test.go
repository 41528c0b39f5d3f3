package main_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vcomd/vcomd/internal/leakcheck"
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
	// No goroutine a test started (output readers, writers) outlives it.
	code := leakcheck.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// watchdog bounds every wait on the daemon: one that hangs fails its test
// in seconds, not at the suite's timeout.
const watchdog = 10 * time.Second

// daemon is a running vcomd and the lines it printed.
type daemon struct {
	cmd    *exec.Cmd
	lines  []string
	dir    string
	stderr *output
}

// output collects what a process writes and tells waiters when more came.
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	grew chan struct{} // closed and replaced at each write
}

func newOutput() *output { return &output{grew: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.grew)
	o.grew = make(chan struct{})
	return o.buf.Write(p)
}

// String is what was written so far.
func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// wait waits until what was written holds text n times.
func (o *output) wait(t *testing.T, text string, n int) {
	t.Helper()
	timeout := time.After(watchdog)
	for {
		o.mu.Lock()
		has, grew := strings.Count(o.buf.String(), text) >= n, o.grew
		o.mu.Unlock()
		if has {
			return
		}
		select {
		case <-grew:
		case <-timeout:
			t.Fatalf("%q not %d times on vcomd's stderr within %v:\n%s", text, n, watchdog, o.String())
		}
	}
}

// command is vcomd with args, killed if it runs past the watchdog.
func command(t *testing.T, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	t.Cleanup(cancel)
	return exec.CommandContext(ctx, vcomd, args...)
}

// start runs vcomd with args and waits for its port lines; a daemon that
// has not printed them within the watchdog is killed.
func start(t *testing.T, nports int, args ...string) *daemon {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vcom")
	cmd := exec.Command(vcomd, append([]string{"--dir", dir}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, dir: dir, stderr: newOutput()}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("vcomd stderr:\n%s", d.stderr.String())
		}
	})
	hung := time.AfterFunc(watchdog, func() { cmd.Process.Kill() })
	defer hung.Stop()
	sc := bufio.NewScanner(stdout)
	for len(d.lines) < nports && sc.Scan() {
		d.lines = append(d.lines, sc.Text())
	}
	if len(d.lines) < nports {
		t.Fatalf("vcomd printed %q, want %d port lines (killed after %v without them); stderr:\n%s", d.lines, nports, watchdog, d.stderr.String())
	}
	return d
}

// stop sends sig and returns the exit status; a daemon that has not
// exited within the watchdog is killed and fails the test.
func (d *daemon) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	d.cmd.Process.Signal(sig)
	hung := time.AfterFunc(watchdog, func() { d.cmd.Process.Kill() })
	err := d.cmd.Wait()
	if !hung.Stop() {
		t.Fatalf("vcomd still running %v after %v", watchdog, sig)
	}
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
			cmd := command(t, append([]string{"--dir", dir}, tc.args...)...)
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
	d.stderr.wait(t, `"message":"reloaded"`, 1)
	exists(t, d, "q1", true)
	exists(t, d, "lb", false)
	if after, _ := os.Readlink(filepath.Join(d.dir, "p0")); after != before {
		t.Errorf("p0 moved from %s to %s across the reload", before, after)
	}
	// A bad config on reload changes nothing and the daemon stays up.
	// The file is rewritten only once the refusal is logged, or the
	// daemon could read the good file for both signals.
	write("[[pair]]\na = \"p0\"\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.stderr.wait(t, "reload refused", 1)
	exists(t, d, "q0", true)
	write("[[pair]]\na = \"p0\"\nb = \"p1\"\n[[pair]]\na = \"q0\"\nb = \"q1\"\n[[loopback]]\nname = \"lb2\"\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.stderr.wait(t, `"message":"reloaded"`, 2)
	exists(t, d, "lb2", true)
	if code := d.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
}

// exists checks whether the daemon's directory has a link name.
func exists(t *testing.T, d *daemon, name string, want bool) {
	t.Helper()
	_, err := os.Lstat(filepath.Join(d.dir, name))
	if got := err == nil; got != want {
		t.Errorf("link %s exists: %v, want %v (%v)", name, got, want, err)
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
	second := command(t, "--dir", d.dir)
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
