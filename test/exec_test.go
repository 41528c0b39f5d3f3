package test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vcomd/vcomd/control"
)

// guard is the example modem's escape pause in these tests: short, so
// that the test waits little, and still a pause a human typing would make.
const guard = 200 * time.Millisecond

// buildModem builds examples/atmodem into the test's directory.
func buildModem(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "atmodem")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/atmodem").CombinedOutput(); err != nil {
		t.Fatalf("building the example modem: %v\n%s", err, out)
	}
	return bin
}

// minicom against the example modem behind an exec: connect port: the
// AT commands answer on its screen, dialling raises DCD and the escape
// and ATH drop it, all seen with vcomctl status; SIGUSR1 makes it ring,
// with RI up while it does.
func TestExecModemMinicom(t *testing.T) {
	need(t, "minicom", "minicom")
	modem := buildModem(t)
	// exec, so that the child vcomd starts is the modem itself and its
	// pid (in vcomctl status) is the one to signal.
	ports := startPorts(t, 1, "--connect", "ttyM0=exec:exec "+modem+" -guard "+guard.String())
	socket := filepath.Join(filepath.Dir(ports["ttyM0"]), "vcomd.sock")
	// The port is announced once made; the modem starts on its own.
	var x *control.ExecState
	eventually(t, "the modem running", func() (bool, any) {
		x = status(t, socket, "ttyM0").Exec
		return x != nil && x.Running, x
	})
	if x.PID == 0 || !strings.HasSuffix(x.Command, "-guard 200ms") {
		t.Fatalf("exec state %+v", x)
	}

	tm := startTmux(t, "minicom -o -b 9600 -D "+ports["ttyM0"])
	tm.waitScreen("Welcome to minicom")
	tm.keys("AT\r")
	tm.waitScreen("OK")
	tm.keys("ATI\r")
	tm.waitScreen("vcomd example modem")
	if p := status(t, socket, "ttyM0"); p.State.DCD || !p.State.DSR || !p.State.CTS {
		t.Errorf("before dialling: DCD %v DSR %v CTS %v, want DSR and CTS only", p.State.DCD, p.State.DSR, p.State.CTS)
	}

	tm.keys("ATD123\r")
	tm.waitScreen("CONNECT")
	eventually(t, "DCD up after CONNECT", func() (bool, any) {
		s := status(t, socket, "ttyM0").State
		return s.DCD, s.DCD
	})
	// Online, the far end is a loopback.
	tm.keys("over-the-line")
	tm.waitScreen("over-the-line")
	// The escape is a pause, +++ and a pause: the pause is the protocol,
	// no wait for an event.
	time.Sleep(2 * guard)
	tm.keys("+++")
	eventually(t, "command mode after +++", func() (bool, any) {
		s := tm.screen()
		return strings.Count(s, "OK") >= 3, s
	})
	if !status(t, socket, "ttyM0").State.DCD {
		t.Error("the escape dropped the call; only ATH should")
	}
	tm.keys("ATH\r")
	tm.waitScreen("NO CARRIER")
	eventually(t, "DCD down after ATH", func() (bool, any) {
		s := status(t, socket, "ttyM0").State
		return !s.DCD, s.DCD
	})

	if err := syscall.Kill(x.PID, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	tm.waitScreen("RING")
	eventually(t, "RI up while it rings", func() (bool, any) {
		s := status(t, socket, "ttyM0").State
		return s.RI, s.RI
	})
	eventually(t, "RI down after the ring", func() (bool, any) {
		s := status(t, socket, "ttyM0").State
		return !s.RI, s.RI
	})
	if x := status(t, socket, "ttyM0").Exec; x.Restarts != 0 || !x.Running {
		t.Errorf("exec state %+v at the end, want the first run still running", x)
	}
}
