package daemon_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/daemon"
	"github.com/vcomd/vcomd/internal/leakcheck"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/vcomtest"
	"github.com/vcomd/vcomd/wire"
)

// An exec: connect port: its pty reaches the child's stdin and stdout,
// the child finds the daemon's control socket and its port's name in its
// environment, and removing the port from the config ends the child. A
// port whose command does not exist is made all the same, and keeps
// trying, beside the others.
func TestConnectExec(t *testing.T) {
	defer leakcheck.Verify(t)
	dir := filepath.Join(t.TempDir(), "vcom")
	args := []string{"--dir", dir, "--loopback", "l", "--connect", `m=exec:read hello; echo "$VCOM_PORT $VCOM_SOCKET"; exec cat`,
		"--connect", "bad=exec:no-such-device-program"}
	d, err := daemon.New(parse(t, args...), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), watchdog)
		defer cancel()
		d.Close(ctx)
	}()
	m, _ := d.Port("m")
	x, ok := m.Connection().(*wire.Exec)
	if !ok || m.PTY() == nil {
		t.Fatalf("m: wire %v, pty %v; want an exec wire behind a pty", m.Connection(), m.PTY())
	}
	if !m.Spec.ExecRestart {
		t.Error("a --connect exec: port does not restart its program")
	}
	// What the child says before the port is open is lost, as on a
	// line nobody listens to: it speaks when spoken to.
	// Until the child runs, what the port sends is lost (counted), as
	// with no device on the line: wait for the DSR it raises then.
	waitInput(t, m.Device(), ioctl.EvDSR, ioctl.MSRDSR)
	sp := open(t, d, "m")
	if _, err := sp.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	want := "m " + filepath.Join(dir, config.SocketName) + "\n"
	if got := vcomtest.ReadN(t, sp, len(want), watchdog); string(got) != want {
		t.Errorf("the child's environment gave %q, want %q", got, want)
	}
	if _, err := sp.Write([]byte("through cat")); err != nil {
		t.Fatal(err)
	}
	if got := vcomtest.ReadN(t, sp, 11, watchdog); string(got) != "through cat" {
		t.Errorf("read back %q through cat", got)
	}
	if bad, ok := d.Port("bad"); !ok || bad.Connection() == nil {
		t.Errorf("no port for the command that does not exist")
	}
	if err := d.Apply(parse(t, args[:4]...)); err != nil {
		t.Fatal(err)
	}
	if st := x.State(); st.Running || st.LastExit == "" {
		t.Errorf("state %+v after the port was removed, want the child ended", st)
	}
}
