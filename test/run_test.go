package test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// exitCode is how a finished vcomd run ended, failing the test when it
// did not run at all.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("vcomd run: %v", err)
	return -1
}

// vcomd run exits as its command did, 128+N for a signal N.
func TestRunExitStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{{"exit 0", 0}, {"exit 1", 1}, {"kill -TERM $$", 128 + 15}} {
		err := bounded(t, watchdog, vcomd, "run", "--", "sh", "-c", tc.script).Run()
		if got := exitCode(t, err); got != tc.want {
			t.Errorf("%q: vcomd run exited %d, want %d", tc.script, got, tc.want)
		}
	}
}

// Bad flags and a missing command are refused with status 2 and a line
// saying what is wrong.
func TestRunBadArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus", "--", "true"}, "bogus"},
		{[]string{"--pair", "A:B"}, "no command"},
		{[]string{"--pair", "A:B", "--"}, "no command"},
		{[]string{"--pair", "A", "--", "true"}, "want A:B"},
		{[]string{"--trace", "--", "true"}, "needs a file"},
	} {
		out, err := bounded(t, watchdog, vcomd, append([]string{"run"}, tc.args...)...).CombinedOutput()
		if got := exitCode(t, err); got != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("vcomd run %q: status %d, %q; want 2 and %q", tc.args, got, out, tc.want)
		}
	}
}

// runWaiting starts vcomd run on a command that prints its pid, the
// socket and both links of the default pair, then waits on its stdin.
func runWaiting(t *testing.T) (cmd *exec.Cmd, stdin io.WriteCloser, pid int, files []string) {
	t.Helper()
	cmd = exec.Command(vcomd, "run", "--", "sh", "-c", `echo $$ $VCOM_SOCKET $VCOM_TTYV0 $VCOM_TTYV1; exec cat`)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	announced := killAfter(cmd)
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !announced() {
		t.Fatalf("vcomd run printed %q within %v", line, watchdog)
	}
	f := strings.Fields(line)
	if len(f) != 4 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("command printed %q, want its pid, the socket and two links", line)
	}
	pid, _ = strconv.Atoi(f[0])
	for _, p := range f[1:] {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("while the command runs: %v", err)
		}
	}
	return cmd, stdin, pid, f[1:]
}

// checkGone fails unless the files and their private directory are gone.
func checkGone(t *testing.T, files []string) {
	t.Helper()
	for _, p := range append(files, filepath.Dir(files[0])) {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after the run, %s: %v, want it gone", p, err)
		}
	}
}

// The links, the socket and the private directory go when the command is
// killed and when vcomd run itself is told to stop.
func TestRunCleanup(t *testing.T) {
	t.Run("command-sigkill", func(t *testing.T) {
		cmd, stdin, pid, files := runWaiting(t)
		defer stdin.Close()
		syscall.Kill(pid, syscall.SIGKILL)
		_, err := stopProcess(cmd, syscall.Signal(0))
		if got := exitCode(t, err); got != 128+9 {
			t.Errorf("exit status %d, want %d", got, 128+9)
		}
		checkGone(t, files)
	})
	t.Run("vcomd-sigterm", func(t *testing.T) {
		cmd, stdin, _, files := runWaiting(t)
		defer stdin.Close()
		ended, err := stopProcess(cmd, syscall.SIGTERM)
		if got := exitCode(t, err); !ended || got != 128+15 {
			t.Errorf("ended %v with status %d; want the forwarded SIGTERM's %d", ended, got, 128+15)
		}
		checkGone(t, files)
	})
}

// Two runs at once get directories of their own.
func TestRunParallel(t *testing.T) {
	a, ain, _, afiles := runWaiting(t)
	b, bin, _, bfiles := runWaiting(t)
	if filepath.Dir(afiles[0]) == filepath.Dir(bfiles[0]) {
		t.Errorf("both runs use %s", filepath.Dir(afiles[0]))
	}
	ain.Close()
	bin.Close()
	for _, c := range []*exec.Cmd{a, b} {
		stop := killAfter(c)
		if got := exitCode(t, c.Wait()); !stop() || got != 0 {
			t.Errorf("a run ended with %d after its command's input closed, want 0", got)
		}
	}
	checkGone(t, append(afiles, bfiles...))
}

// The trace of a failing run has the failing program's requests, and the
// summary on stderr names them; a passing run leaves no trace file.
func TestRunTraceOnFailure(t *testing.T) {
	python := "/usr/bin/python3"
	if exec.Command(python, "-c", "import serial").Run() != nil {
		need(t, "no-python3-with-serial", "python3-serial")
	}
	script := `
import os, serial, sys
a = serial.Serial(os.environ["VCOM_A"], timeout=5)
b = serial.Serial(os.environ["VCOM_B"], timeout=5)
a.write(b"hello")
got = b.read(5)
sys.exit(7 if got == b"hello" else 1)
`
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.json")
	var stderr bytes.Buffer
	cmd := bounded(t, watchdog, vcomd, "run", "--pair", "A:B", "--trace-on-failure", trace, "--", python, "-c", script)
	cmd.Stderr = &stderr
	if got := exitCode(t, cmd.Run()); got != 7 {
		t.Fatalf("status %d, want the script's 7; stderr:\n%s", got, stderr.String())
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"port":"A","id":`)) || !bytes.Contains(data, []byte(`"request":"IRP_MJ_WRITE","length":5,"data":"68656c6c6f"`)) {
		t.Errorf("trace lacks A's write of hello:\n%s", data)
	}
	if s := stderr.String(); !strings.Contains(s, "status 7") || !strings.Contains(s, "  A:") || !strings.Contains(s, "hello") {
		t.Errorf("stderr summary:\n%s\nwant the status and A's write of hello", s)
	}

	passing := filepath.Join(dir, "pass.json")
	if got := exitCode(t, bounded(t, watchdog, vcomd, "run", "--trace-on-failure", passing, "--", "true").Run()); got != 0 {
		t.Fatalf("status %d, want 0", got)
	}
	if _, err := os.Stat(passing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a passing run left %s: %v", passing, err)
	}
}
