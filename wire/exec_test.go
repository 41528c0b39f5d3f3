package wire_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/wire"
	"golang.org/x/sys/unix"
)

// newLog is a logger whose lines (JSON) the test can wait for.
func newLog() (zerolog.Logger, logLines) {
	l := make(logLines, 256)
	return zerolog.New(l), l
}

// waitLog waits for the first line for which match holds, bounded by the
// watchdog.
func waitLog(t *testing.T, l logLines, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := timeout()
	for {
		select {
		case line := <-l:
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if match(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no log line %s", what)
			return nil
		}
	}
}

// fastExec restarts quickly, so that the tests wait little.
func fastExec(log zerolog.Logger) wire.ExecOptions {
	return wire.ExecOptions{Logger: log, Socket: "/run/test/vcomd.sock", MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, KillAfter: time.Second}
}

// waitExec waits for cond on e's state, bounded by the watchdog.
func waitExec(t *testing.T, e *wire.Exec, what string, cond func(wire.ExecState) bool) wire.ExecState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	st, err := wire.WaitExec(ctx, e, cond)
	if err != nil {
		t.Fatalf("waiting until %s: state %+v: %v", what, st, err)
	}
	return st
}

// gone reports whether the process pid has ended: no such process, or a
// zombie left for a parent (or an init) that has not reaped it yet.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// "pid (comm) S ...": the state follows the last ')'.
	rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// cat as the device: its environment names the port and the socket,
// every byte goes both ways unchanged, DSR and CTS are up while it runs
// and DCD is left alone, and Close ends it.
func TestExecCat(t *testing.T) {
	log, _ := newLog()
	d := openDevice(t, "E")
	e := wire.StartExec(d, `printf '%s %s\n' "$VCOM_PORT" "$VCOM_SOCKET"; exec cat`, fastExec(log))
	defer e.Close()
	if got := e.String(); got != `exec:printf '%s %s\n' "$VCOM_PORT" "$VCOM_SOCKET"; exec cat` {
		t.Errorf("String() = %q", got)
	}
	waitModem(t, d, msrCTS|msrDSR, msrCTS|msrDSR)
	if got := modemStatus(t, d); got&msrDCD != 0 {
		t.Errorf("modem status %#x: DCD up before the child raised it", got)
	}
	want := "E /run/test/vcomd.sock\n"
	if got := readDevice(t, d, len(want)); string(got) != want {
		t.Errorf("the child's environment gave %q, want %q", got, want)
	}
	st := e.State()
	if !st.Running || st.PID == 0 || st.Restarts != 0 || st.Command != `printf '%s %s\n' "$VCOM_PORT" "$VCOM_SOCKET"; exec cat` {
		t.Errorf("state %+v while cat runs", st)
	}

	data := bytes.Repeat(allBytes(), 64) // 32 KiB, every byte value
	call(t, d, driver.NewWrite(data))
	if got := readDevice(t, d, len(data)); !bytes.Equal(got, data) {
		t.Errorf("cat gave back %d bytes differing from the %d sent", len(got), len(data))
	}

	e.Close()
	if !gone(st.PID) {
		t.Errorf("cat (pid %d) still runs after Close", st.PID)
	}
	if st := e.State(); st.Running || st.PID != 0 || st.LastExit == "" {
		t.Errorf("state %+v after Close", st)
	}
}

// The child's stderr is logged line by line with the port named; a line
// too long for one log line comes in pieces marked cut.
func TestExecStderr(t *testing.T) {
	log, lines := newLog()
	d := openDevice(t, "S")
	e := wire.StartExec(d, `echo 'first line' >&2; head -c 3000 /dev/zero | tr '\0' x >&2; echo >&2; echo 'last line' >&2; exec cat`, fastExec(log))
	defer e.Close()
	stderr := func(m map[string]any) bool { _, ok := m["stderr"]; return ok }
	m := waitLog(t, lines, "of stderr", stderr)
	if m["stderr"] != "first line" || m["port"] != "S" || m["level"] != "info" {
		t.Errorf("first stderr log line %v", m)
	}
	var long strings.Builder
	for {
		m = waitLog(t, lines, "of stderr", stderr)
		long.WriteString(m["stderr"].(string))
		if m["cut"] != true {
			break
		}
		if n := len(m["stderr"].(string)); n > 1024 {
			t.Errorf("a log line carries %d bytes of stderr", n)
		}
	}
	if long.String() != strings.Repeat("x", 3000) {
		t.Errorf("the long line came back as %d bytes", long.Len())
	}
	if m = waitLog(t, lines, "of stderr", stderr); m["stderr"] != "last line" {
		t.Errorf("after the long line: %v", m)
	}
}

// A child that exits is logged with its status and started again, each
// run's output reaching the port.
func TestExecRestart(t *testing.T) {
	log, lines := newLog()
	d := openDevice(t, "R")
	e := wire.StartExec(d, "echo run; exit 3", fastExec(log))
	defer e.Close()
	if got := readDevice(t, d, 12); string(got) != "run\nrun\nrun\n" {
		t.Errorf("three runs gave %q", got)
	}
	st := waitExec(t, e, "two restarts", func(s wire.ExecState) bool { return s.Restarts >= 2 })
	if st.LastExit != "exit status 3" {
		t.Errorf("LastExit %q, want exit status 3", st.LastExit)
	}
	m := waitLog(t, lines, "of the exit", func(m map[string]any) bool { return m["message"] == "device program exited" })
	if m["status"] != "exit status 3" || m["port"] != "R" || m["restart_in"] == nil {
		t.Errorf("exit log line %v", m)
	}
}

// With restart off, the child that exits leaves the port with DSR, CTS and
// the DCD it raised down, and is not started again.
func TestExecNoRestart(t *testing.T) {
	log, lines := newLog()
	d := openDevice(t, "N")
	opts := fastExec(log)
	opts.NoRestart = true
	e := wire.StartExec(d, "echo ready; read line; echo bye", opts)
	defer e.Close()
	if got := readDevice(t, d, 6); string(got) != "ready\n" {
		t.Fatalf("child said %q", got)
	}
	// The child raises its carrier as vcomctl set N dcd=on would.
	call(t, d, driver.NewIoctl(ioctl.SetModemInputs, ioctl.ModemInputs{Mask: ioctl.MSRDCD, Value: ioctl.MSRDCD}))
	waitModem(t, d, msrCTS|msrDSR|msrDCD, msrCTS|msrDSR|msrDCD)
	// DSR and CTS are the wire's, not the control API's.
	dsr := driver.NewIoctl(ioctl.SetModemInputs, ioctl.ModemInputs{Mask: ioctl.MSRDSR})
	d.Call(context.Background(), dsr) //nolint:errcheck // the reason is the output
	if err, _ := dsr.Output().(error); !errors.Is(err, driver.ErrWireDriven) {
		t.Errorf("setting DSR on an exec port: %v, want ErrWireDriven", err)
	}

	call(t, d, driver.NewWrite([]byte("go\n")))
	if got := readDevice(t, d, 4); string(got) != "bye\n" {
		t.Errorf("child said %q at its end", got)
	}
	st := waitExec(t, e, "the child exited", func(s wire.ExecState) bool { return !s.Running && s.LastExit != "" })
	if st.LastExit != "exit status 0" || st.Restarts != 0 {
		t.Errorf("state %+v after the exit", st)
	}
	if got := modemStatus(t, d); got&(msrCTS|msrDSR|msrDCD) != 0 {
		t.Errorf("modem status %#x after the child exited, want DSR, CTS and DCD down", got)
	}
	m := waitLog(t, lines, "of the exit", func(m map[string]any) bool {
		return strings.HasPrefix(fmt.Sprint(m["message"]), "device program exited")
	})
	if m["message"] != "device program exited; not restarting" {
		t.Errorf("exit log line %v", m)
	}
	// What the port sends now is lost, and counted.
	call(t, d, driver.NewWrite([]byte("anyone?")))
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if err := d.Delivered(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.State().LostTx; got != 7 {
		t.Errorf("LostTx %d after 7 bytes sent with no child", got)
	}
}

// A command that does not exist: the shell says so on stderr and exits
// 127, the log says what that means, and the wire tries again with a
// growing backoff without giving up or taking anything down.
func TestExecNoSuchCommand(t *testing.T) {
	log, lines := newLog()
	d := openDevice(t, "X")
	e := wire.StartExec(d, "no-such-device-program --port 1", fastExec(log))
	defer e.Close()
	m := waitLog(t, lines, "of stderr", func(m map[string]any) bool { _, ok := m["stderr"]; return ok })
	if s := fmt.Sprint(m["stderr"]); !strings.Contains(s, "no-such-device-program") {
		t.Errorf("stderr %q does not name the command", s)
	}
	m = waitLog(t, lines, "of the exit", func(m map[string]any) bool { return m["message"] == "device program exited" })
	if m["status"] != "exit status 127" || !strings.Contains(fmt.Sprint(m["hint"]), "no such command") {
		t.Errorf("exit log line %v", m)
	}
	st := waitExec(t, e, "three restarts", func(s wire.ExecState) bool { return s.Restarts >= 3 && !s.Running })
	if st.LastExit != "exit status 127" {
		t.Errorf("state %+v", st)
	}
	if got := modemStatus(t, d); got&(msrCTS|msrDSR) != 0 {
		t.Errorf("modem status %#x between failed runs", got)
	}
}

// Close stops a child that ignores SIGTERM (SIGKILL after KillAfter) and
// what it started in the background, and waits for every goroutine
// (leakcheck), with a write of the port blocked on a child that never
// reads.
func TestExecCloseStubborn(t *testing.T) {
	log, _ := newLog()
	d := openDevice(t, "K")
	opts := fastExec(log)
	opts.KillAfter = 50 * time.Millisecond
	e := wire.StartExec(d, `trap '' TERM; sleep 1000 & echo $!; wait`, opts)
	line := readDevice(t, d, 1)
	for line[len(line)-1] != '\n' {
		line = append(line, readDevice(t, d, 1)...)
	}
	bg, err := strconv.Atoi(strings.TrimSpace(string(line)))
	if err != nil {
		t.Fatalf("child said %q", line)
	}
	pid := e.State().PID
	// The sleep is no child of the test's: its end is seen on a pidfd.
	pidfd, err := unix.PidfdOpen(bg, 0)
	if err != nil {
		t.Fatalf("pidfd of the background sleep: %v", err)
	}
	defer unix.Close(pidfd)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB, beyond a pipe's buffer
	w := driver.NewWrite(big)
	d.Submit(w)
	e.Close()
	if !gone(pid) {
		t.Errorf("after Close: the shell (pid %d) still runs", pid)
	}
	// SIGKILL takes effect a moment after it is sent: wait for the
	// sleep's exit, bounded by the watchdog.
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(watchdog/time.Millisecond))
	for errors.Is(err, unix.EINTR) { // the runtime's preemption signals
		n, err = unix.Poll(fds, int(watchdog/time.Millisecond))
	}
	if n != 1 || err != nil {
		t.Errorf("the background sleep (pid %d) did not end after Close: %d %v", bg, n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if st, err := w.Wait(ctx); err != nil || !st.OK() {
		t.Fatalf("the write after Close: %v %v", st, err)
	}
	if st := e.State(); st.Running || st.LostTx == 0 || !strings.Contains(st.LastExit, "killed") {
		t.Errorf("state %+v after Close", st)
	}
}
