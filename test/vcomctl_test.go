package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/vcomtest"
)

// ctl runs vcomctl against the daemon whose socket is socket (through
// $VCOM_SOCKET) and returns what it printed and its exit status.
func ctl(t *testing.T, socket string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := bounded(t, watchdog, vcomctl, args...)
	cmd.Env = append(os.Environ(), "VCOM_SOCKET="+socket)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vcomctl %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ok runs vcomctl and fails unless it succeeds.
func ok(t *testing.T, socket string, args ...string) string {
	t.Helper()
	out, errs, code := ctl(t, socket, args...)
	if code != 0 {
		t.Fatalf("vcomctl %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// refused runs vcomctl and fails unless it exits 1 saying want.
func refused(t *testing.T, socket, want string, args ...string) {
	t.Helper()
	_, errs, code := ctl(t, socket, args...)
	if code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("vcomctl %s: exit %d %q; want exit 1 with %q", strings.Join(args, " "), code, errs, want)
	}
}

// traceProc is `vcomctl trace --json` running, its lines on a channel.
type traceProc struct {
	lines chan control.TraceLine
}

// startTrace runs vcomctl trace --json and returns once it is subscribed.
func startTrace(t *testing.T, socket string) *traceProc {
	t.Helper()
	raw := startLines(t, socket, "trace", "--json")
	probe(t, socket, raw, "ttyV0")
	tp := &traceProc{lines: make(chan control.TraceLine, 1<<14)}
	go func() {
		defer close(tp.lines)
		for l := range raw {
			var tl control.TraceLine
			if json.Unmarshal([]byte(l), &tl) == nil {
				tp.lines <- tl
			}
		}
	}()
	return tp
}

// await returns the first trace line match accepts.
func (tp *traceProc) await(t *testing.T, what string, match func(control.TraceLine) bool) control.TraceLine {
	t.Helper()
	timeout := time.After(watchdog)
	for {
		select {
		case l, open := <-tp.lines:
			if !open {
				t.Fatalf("vcomctl trace ended before %s", what)
			}
			if match(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %s in the trace within 10 s", what)
		}
	}
}

func request(req, phase string) func(control.TraceLine) bool {
	return func(l control.TraceLine) bool { return l.Request == req && l.Phase == phase }
}

// openPort opens a link with go.bug.st/serial and waits, through the
// trace, for the daemon's IRP_MJ_CREATE.
func openPort(t *testing.T, tp *traceProc, link, name string) serial.Port {
	t.Helper()
	p, err := serial.Open(link, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	tp.await(t, name+" open", func(l control.TraceLine) bool { return l.Port == name && request("IRP_MJ_CREATE", "complete")(l) })
	return p
}

func read(t *testing.T, p serial.Port, n int) []byte {
	t.Helper()
	return vcomtest.ReadN(t, p, n, watchdog)
}

// Every vcomctl command against the built daemon, as a new user types
// them, with a program on each end of the pair seeing their effects.
func TestVcomctl(t *testing.T) {
	links := startDaemon(t, "--pair", "ttyV0:ttyV1")
	socket := filepath.Join(filepath.Dir(links["ttyV0"]), "vcomd.sock")

	out := ok(t, socket, "list")
	for _, want := range []string{"ttyV0", "ttyV1", "pair with ttyV1", "closed", "9600", "8N1"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	tp := startTrace(t, socket)
	v0 := openPort(t, tp, links["ttyV0"], "ttyV0")
	v1 := openPort(t, tp, links["ttyV1"], "ttyV1")

	var ports []control.Port
	if err := json.Unmarshal([]byte(ok(t, socket, "list", "--json")), &ports); err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if !p.Open || !slices.Contains(p.PIDs, os.Getpid()) || p.State.Baud != 115200 {
			t.Errorf("%s: open %v by %v at %d; want open by %d at 115200", p.Name, p.Open, p.PIDs, p.State.Baud, os.Getpid())
		}
	}
	// Other pids may stand beside ours: a child another test forks holds
	// copies of our descriptors until it execs.
	opener := regexp.MustCompile(fmt.Sprintf(`open by pid ([0-9]+,)*%d\b`, os.Getpid()))
	if out := ok(t, socket, "list"); !opener.MatchString(out) {
		t.Errorf("list does not name the opener:\n%s", out)
	}
	out = ok(t, socket, "status", "ttyV1")
	for _, want := range []string{"registers  IER 0F", "CTS=on(wire)", "RI=off", "DTR=on", "in 0/65536"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	// set: the peer sees a port's outputs; RI is the cable's free pin.
	if out := ok(t, socket, "set", "ttyV0", "dtr=off"); out != "ttyV0: DTR=off\n" {
		t.Errorf("set printed %q", out)
	}
	if out := ok(t, socket, "set", "ttyV1", "ri=on"); out != "ttyV1: RI=on\n" {
		t.Errorf("set printed %q", out)
	}
	var st control.Port
	if err := json.Unmarshal([]byte(ok(t, socket, "--json", "status", "ttyV1")), &st); err != nil {
		t.Fatal(err)
	}
	if st.State.DSR || st.State.DCD || !st.State.RI || !st.State.CTS {
		t.Errorf("ttyV1 after set: DSR %v DCD %v RI %v CTS %v; want off off on on", st.State.DSR, st.State.DCD, st.State.RI, st.State.CTS)
	}
	refused(t, socket, "CTS is driven by the wire (null-modem cable ttyV0 <-> ttyV1); inputs free to set: RI", "set", "ttyV1", "cts=off")
	if _, errs, code := ctl(t, socket, "set", "ttyV1", "cts=maybe"); code != 2 || !strings.Contains(errs, "want PIN=on or PIN=off") {
		t.Errorf("set cts=maybe: exit %d %q", code, errs)
	}

	// wait, armed before the event comes (the trace shows when).
	wait := bounded(t, 2*watchdog, vcomctl, "wait", "ttyV1", "dsr", "ring", "--timeout", "10s")
	wait.Env = append(os.Environ(), "VCOM_SOCKET="+socket)
	var waitOut bytes.Buffer
	wait.Stdout = &waitOut
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	tp.await(t, "the wait", func(l control.TraceLine) bool {
		return l.Port == "ttyV1" && request("IOCTL_SERIAL_WAIT_ON_MASK", "start")(l)
	})
	ok(t, socket, "set", "ttyV0", "dtr=on")
	if err := wait.Wait(); err != nil || waitOut.String() != "DSR\n" {
		t.Errorf("wait: %v, printed %q; want DSR", err, waitOut.String())
	}
	refused(t, socket, "none of RLSD within 50ms", "wait", "ttyV1", "rlsd", "--timeout", "50ms")

	// line, then data at 7 bits.
	if out := ok(t, socket, "line", "ttyV1", "7E1"); out != "ttyV1: 7E1\n" {
		t.Errorf("line printed %q", out)
	}
	v0.Write([]byte{0xC8, 0xE9})
	if got := read(t, v1, 2); string(got) != "Hi" {
		t.Errorf("ttyV1 at 7E1 read %q, want Hi", got)
	}

	// break: the program on the other end reads the break's NUL.
	if out := ok(t, socket, "break", "ttyV0", "100ms"); out != "ttyV0: sent a break of 100ms\n" {
		t.Errorf("break printed %q", out)
	}
	if got := read(t, v1, 1); got[0] != 0 {
		t.Errorf("after the break ttyV1 read %#x", got[0])
	}

	// inject, twice with one seed: the same characters.
	out = ok(t, socket, "inject", "ttyV1", "framing", "--count", "4", "--seed", "77")
	if !strings.Contains(out, "injected 4 characters with framing errors (repeat with --seed 77)") {
		t.Errorf("inject printed %q", out)
	}
	first := read(t, v1, 4)
	ok(t, socket, "inject", "ttyV1", "framing", "--count", "4", "--seed", "77")
	if again := read(t, v1, 4); !bytes.Equal(first, again) {
		t.Errorf("seed 77 gave %x then %x", first, again)
	}
	out = ok(t, socket, "status", "ttyV1")
	if !strings.Contains(out, "framing 8") || !strings.Contains(out, "break 1") {
		t.Errorf("status after 8 framing errors and a break:\n%s", out)
	}

	// purge, stats.
	if out := ok(t, socket, "purge", "ttyV1", "rx"); out != "ttyV1: purged RXABORT|RXCLEAR\n" {
		t.Errorf("purge printed %q", out)
	}
	if out := ok(t, socket, "stats", "ttyV1"); !strings.Contains(out, "ttyV1: rx 11") || !strings.Contains(out, "framing 8") {
		t.Errorf("stats printed %q", out)
	}
	watch := exec.Command(vcomctl, "stats", "ttyV1", "--watch", "--interval", "20ms", "--json")
	watch.Env = append(os.Environ(), "VCOM_SOCKET="+socket)
	wout, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	printed := killAfter(watch) // a watch that prints nothing ends the scan
	sc := bufio.NewScanner(wout)
	for i := range 3 {
		if !sc.Scan() || !strings.Contains(sc.Text(), `"received_count":11`) {
			t.Fatalf("stats --watch line %d: %q", i, sc.Text())
		}
	}
	printed()
	if ended, err := stopProcess(watch, os.Interrupt); err != nil || !ended {
		t.Errorf("stats --watch after ^C: %v (ended within %v: %v)", err, watchdog, ended)
	}

	// The program's write shows in the text trace, in hex and ASCII.
	lines := startLines(t, socket, "trace", "ttyV0")
	probe(t, socket, lines, "ttyV0")
	v0.Write([]byte("hi"))
	awaitText(t, lines, "IRP_MJ_WRITE", "len 2", "68 69  hi")

	// add and remove, while the first pair carries on.
	out = ok(t, socket, "add", "pair", "ttyV2:ttyV3", "--timing", "off")
	if !strings.Contains(out, "ttyV2\t") || !strings.Contains(out, "(pair with ttyV3)") || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("add printed %q", out)
	}
	dir := filepath.Dir(links["ttyV0"])
	v2 := openPort(t, tp, filepath.Join(dir, "ttyV2"), "ttyV2")
	v3 := openPort(t, tp, filepath.Join(dir, "ttyV3"), "ttyV3")
	v2.Write([]byte("new pair"))
	if got := read(t, v3, 8); string(got) != "new pair" {
		t.Errorf("the added pair carried %q", got)
	}
	refused(t, socket, "vcomctl remove --pair ttyV2", "remove", "ttyV2")
	if out := ok(t, socket, "remove", "--pair", "ttyV2"); out != "ttyV2: removed ttyV2, ttyV3\n" {
		t.Errorf("remove printed %q", out)
	}
	if out := ok(t, socket, "list"); strings.Contains(out, "ttyV2") {
		t.Errorf("list after remove:\n%s", out)
	}
	v1.Write([]byte("still"))
	if got := read(t, v0, 5); string(got) != "still" {
		t.Errorf("ttyV0 read %q after the other pair came and went", got)
	}

	// Bad command lines and unknown things.
	refused(t, socket, `unknown port "ttyV7" (ports: ttyV0, ttyV1)`, "status", "ttyV7")
	for _, args := range [][]string{{"frobnicate"}, {"status"}, {"break", "ttyV0", "soon"}, {"add", "triple", "a:b"}} {
		if _, errs, code := ctl(t, socket, args...); code != 2 || errs == "" {
			t.Errorf("vcomctl %v: exit %d %q, want 2 with a message", args, code, errs)
		}
	}
	if _, errs, code := ctl(t, filepath.Join(dir, "nothing.sock"), "list"); code != 1 || !strings.Contains(errs, "nothing.sock") {
		t.Errorf("list with no daemon: exit %d %q", code, errs)
	}
}

// startLines runs vcomctl and returns its output lines as they come.
func startLines(t *testing.T, socket string, args ...string) <-chan string {
	t.Helper()
	cmd := exec.Command(vcomctl, args...)
	cmd.Env = append(os.Environ(), "VCOM_SOCKET="+socket)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1<<14)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if ended, _ := stopProcess(cmd, os.Interrupt); !ended {
			t.Errorf("vcomctl %v did not exit within %v of SIGINT", args, watchdog)
		}
	})
	return lines
}

// probe asks for port's stats until a trace (text or JSON) shows the
// request: its subscription is live then.
func probe(t *testing.T, socket string, lines <-chan string, port string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		ok(t, socket, "stats", port)
		select {
		case l := <-lines:
			if strings.Contains(l, "IOCTL_SERIAL_GET_STATS") {
				return
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("the trace never showed a request")
		}
	}
}

// awaitText waits for a line holding every one of want.
func awaitText(t *testing.T, lines <-chan string, want ...string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, open := <-lines:
			if !open {
				t.Fatalf("output ended before a line with %q", want)
			}
			all := true
			for _, w := range want {
				all = all && strings.Contains(l, w)
			}
			if all {
				return l
			}
		case <-timeout:
			t.Fatalf("no line with %q within 10 s", want)
		}
	}
}

// Reading is open to anyone who can connect; changing ports needs root,
// the daemon's user or the socket's group, as the kernel tells the
// daemon who connected (SO_PEERCRED, SO_PEERGROUPS).
func TestVcomctlAccess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("connecting as another user needs root")
	}
	base := t.TempDir()
	// Let the other user reach the socket.
	for d := base; d != filepath.Dir(os.TempDir()) && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const group = 4242
	file := filepath.Join(base, "vcomd.toml")
	toml := fmt.Sprintf("dir = %q\n[socket]\nmode = \"0666\"\ngroup = \"%d\"\n[[pair]]\na = \"ttyA\"\nb = \"ttyB\"\n", filepath.Join(base, "vcom"), group)
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	links := startDaemon(t, "--config", file)
	socket := filepath.Join(filepath.Dir(links["ttyA"]), "vcomd.sock")
	fi, err := os.Stat(socket)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o666 || st.Gid != group {
		t.Errorf("socket mode %04o group %d, want 0666 and %d", fi.Mode().Perm(), st.Gid, group)
	}
	as := func(groups []uint32, args ...string) (string, int) {
		cmd := bounded(t, watchdog, vcomctl, append([]string{"--socket", socket}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: groups}}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	if out, code := as(nil, "list"); code != 0 || !strings.Contains(out, "ttyA") {
		t.Errorf("list as nobody: exit %d %q", code, out)
	}
	for _, args := range [][]string{{"add", "loopback", "ttyL"}, {"line", "ttyA", "7E1"}, {"set", "ttyA", "ri=on"}, {"remove", "--pair", "ttyA"}} {
		if out, code := as(nil, args...); code != 1 || !strings.Contains(out, "uid 65534 may only read; changing ports needs root, uid 0 or group 4242") {
			t.Errorf("%v as nobody: exit %d %q", args, code, out)
		}
	}
	if out := ok(t, socket, "list"); strings.Contains(out, "ttyL") || !strings.Contains(out, "8N1") {
		t.Errorf("refused requests changed something:\n%s", out)
	}
	if out, code := as([]uint32{group}, "add", "loopback", "ttyL"); code != 0 || !strings.Contains(out, "ttyL") {
		t.Errorf("add as nobody in group %d: exit %d %q", group, code, out)
	}
}
