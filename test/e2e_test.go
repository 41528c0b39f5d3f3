// Package test runs the built vcomd against the programs people use on
// serial ports: minicom, screen and picocom driven in tmux, pyserial, and
// go.bug.st/serial. A missing program skips its test with what to
// install, except in CI (CI=true), where it fails.
package test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/internal/leakcheck"
	"github.com/vcomd/vcomd/vcomtest"
)

// The built binaries.
var vcomd, vcomctl string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vcomd-e2e")
	if err != nil {
		panic(err)
	}
	vcomd, vcomctl = filepath.Join(dir, "vcomd"), filepath.Join(dir, "vcomctl")
	for bin, pkg := range map[string]string{vcomd: "../cmd/vcomd", vcomctl: "../cmd/vcomctl"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			panic(string(out))
		}
	}
	// Other users run vcomctl in the access test.
	if err := os.Chmod(dir, 0o755); err != nil {
		panic(err)
	}
	// No goroutine a test started (output readers, writers) outlives it.
	code := leakcheck.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// need finds a program, or skips (fails in CI) saying what to install.
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: CI must install the %s package", prog, pkg)
		}
		t.Skipf("%s not found: install the %s package", prog, pkg)
	}
	return p
}

// startDaemon runs vcomd and returns the links it printed, by name.
func startDaemon(t *testing.T, args ...string) map[string]string {
	t.Helper()
	want := strings.Count(strings.Join(args, " "), ":") * 2
	want += strings.Count(strings.Join(args, " "), "--loopback")
	if want == 0 {
		want = 2
	}
	return startPorts(t, want, args...)
}

// startPorts runs vcomd with args, waits for it to announce want ports,
// and returns what a program opens to reach each, by name: its link, or
// the address it is served at.
func startPorts(t *testing.T, want int, args ...string) map[string]string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vcom")
	cmd := exec.Command(vcomd, append([]string{"--dir", dir}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ended, _ := stopProcess(cmd, os.Interrupt); !ended {
			t.Errorf("vcomd did not exit within %v of SIGINT", watchdog)
		}
		if t.Failed() {
			t.Logf("vcomd stderr:\n%s", stderr.String())
		}
	})
	links := map[string]string{}
	// A daemon that has not announced its ports within the watchdog is
	// killed, which ends the scan.
	announced := killAfter(cmd)
	sc := bufio.NewScanner(out)
	for len(links) < want && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[1] == "served" {
			links[f[0]] = f[3] // NAME served at URL (...)
		} else {
			links[f[0]] = f[1] // NAME LINK -> PTY (...)
		}
	}
	if !announced() || len(links) < want {
		t.Fatalf("vcomd printed %v within %v; stderr:\n%s", links, watchdog, stderr.String())
	}
	go io.Copy(io.Discard, out)
	return links
}

// lockedBuffer is a bytes.Buffer a process writes while a test may read
// it (a daemon that failed to start may still be writing).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tmux is a terminal program running in its own tmux server.
type tmux struct {
	t      *testing.T
	socket string
}

func startTmux(t *testing.T, command string) *tmux {
	t.Helper()
	need(t, "tmux", "tmux")
	// A server socket of this test's own: kill-server returns before the
	// server is gone, and a run of the same test after it (-count) that
	// reused a name could meet the dying server.
	tm := &tmux{t: t, socket: filepath.Join(t.TempDir(), "tmux")}
	if out, err := exec.Command("tmux", "-S", tm.socket, "new-session", "-d", "-x", "120", "-y", "30", command).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", tm.socket, "kill-server").Run() })
	return tm
}

func (tm *tmux) screen() string {
	out, _ := exec.Command("tmux", "-S", tm.socket, "capture-pane", "-p").Output()
	return string(out)
}

func (tm *tmux) keys(s string) {
	if out, err := exec.Command("tmux", "-S", tm.socket, "send-keys", "-l", s).CombinedOutput(); err != nil {
		tm.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// waitScreen waits for text on the terminal. A terminal program gives no
// other sign of what it has drawn, so this looks every 20 ms, for at most
// 10 s.
func (tm *tmux) waitScreen(text string) {
	tm.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s := tm.screen()
		if strings.Contains(s, text) {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%q never appeared; the screen:\n%s", text, s)
		}
	}
}

// Keys typed in a terminal program arrive on the other end of the pair,
// and bytes written on the other end appear on its screen.
func TestTerminalPrograms(t *testing.T) {
	for _, tc := range []struct {
		prog, pkg, command, ready string
	}{
		{"minicom", "minicom", "minicom -o -b 9600 -D %s", "Welcome to minicom"},
		{"screen", "screen", "screen %s 9600", ""},
		{"picocom", "picocom", "picocom -b 9600 %s", "Terminal ready"},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			need(t, tc.prog, tc.pkg)
			links := startDaemon(t)
			tm := startTmux(t, fmt.Sprintf(tc.command, links["ttyV0"]))
			if tc.ready != "" {
				tm.waitScreen(tc.ready)
			}
			other, err := serial.Open(links["ttyV1"], &serial.Mode{BaudRate: 9600})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			// Until the program shows what it receives, it may not have the
			// port open yet: send until it does.
			msg := "hello-from-the-other-end"
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(tm.screen(), msg); time.Sleep(200 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%q never appeared in %s:\n%s", msg, tc.prog, tm.screen())
				}
				other.Write([]byte(msg + "\r\n"))
			}
			other.ResetInputBuffer()
			tm.keys("typed-in-" + tc.prog)
			want := "typed-in-" + tc.prog
			other.SetReadTimeout(10 * time.Second)
			var got []byte
			buf := make([]byte, 256)
			for !bytes.Contains(got, []byte(want)) {
				n, err := other.Read(buf)
				if err != nil || n == 0 {
					t.Fatalf("read %q then %v, want %q", got, err, want)
				}
				got = append(got, buf[:n]...)
			}
		})
	}
}

// pyserial, as a Python program uses it: read timeouts, in_waiting,
// reset_input_buffer, a baud change while open, and 1 MB through a
// loopback port checked byte for byte.
func TestPyserial(t *testing.T) {
	python := pyserial(t)
	links := startDaemon(t, "--pair", "pa:pb")
	// The megabyte goes at timing off: at 115200 baud it would take 91 s.
	fast := startDaemon(t, "--loopback", "lo", "--timing", "off")
	// The script bounds each of its reads; this bounds the whole of it.
	out, err := bounded(t, 2*time.Minute, python, "pyserial_check.py", links["pa"], links["pb"], fast["lo"]).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("pyserial_check.py: %v", err)
	}
}

// pyserial finds a python3 that has pyserial, or skips (fails in CI).
func pyserial(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import serial").Run() == nil {
			return p
		}
	}
	need(t, "no-python3-with-serial", "python3-serial")
	return ""
}

// go.bug.st/serial moves 1 MB each way at once through a pair at timing
// off, every byte checked.
func TestGoSerialMegabyte(t *testing.T) {
	links := startDaemon(t, "--pair", "ga:gb", "--timing", "off")
	a, err := serial.Open(links["ga"], &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := serial.Open(links["gb"], &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Wait until both ends are open in the daemon: a byte each way.
	// Nothing outside the daemon tells when it has seen an open, so this
	// sends until a byte comes, for at most the watchdog.
	sync := func(from, to serial.Port) {
		to.SetReadTimeout(100 * time.Millisecond)
		buf := make([]byte, 1)
		for deadline := time.Now().Add(watchdog); ; {
			from.Write([]byte{'!'})
			if n, _ := to.Read(buf); n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the ports never passed a byte")
			}
		}
		to.ResetInputBuffer()
	}
	sync(a, b)
	sync(b, a)
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7 % 253)
	}
	errs := make(chan error, 2)
	for _, w := range []serial.Port{a, b} {
		go func() { _, err := w.Write(data); errs <- err }()
	}
	for _, r := range []serial.Port{b, a} {
		if got := vcomtest.ReadN(t, r, len(data), watchdog); !bytes.Equal(got, data) {
			t.Fatal("1 MB arrived with differences")
		}
	}
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(watchdog):
			t.Fatalf("a write of 1 MB has not returned %v after the data arrived", watchdog)
		}
	}
}
