package daemon_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/daemon"
	"github.com/vcomd/vcomd/internal/leakcheck"
	"github.com/vcomd/vcomd/vcomtest"
)

// No goroutine of a daemon, its ports or a test outlives the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// watchdog bounds every wait: a lost byte or a missed open fails the test
// in seconds.
const watchdog = 10 * time.Second

func parse(t *testing.T, args ...string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(args, func(string) string { return "" }, false)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// open opens a port as a program would and waits until the daemon has
// seen the open.
func open(t *testing.T, d *daemon.Daemon, name string) serial.Port {
	t.Helper()
	p, ok := d.Port(name)
	if !ok {
		t.Fatalf("no port %s", name)
	}
	sp, err := serial.Open(p.Link, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("go.bug.st/serial: open %s: %v", p.Link, err)
	}
	t.Cleanup(func() { sp.Close() })
	timeout := time.After(watchdog)
	for {
		open, changed := p.PTY().State()
		if open {
			return sp
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s: the daemon never saw the open", name)
		}
	}
}

// A pair carries data; a reload takes out a port that a program still
// has open; closing the daemon removes every link and ends every
// goroutine of its ports, open or not.
func TestCloseEndsEverything(t *testing.T) {
	defer leakcheck.Verify(t)
	dir := filepath.Join(t.TempDir(), "vcom")
	d, err := daemon.New(parse(t, "--dir", dir, "--pair", "a:b", "--loopback", "l", "--timing", "off"), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			d.Close(context.Background())
		}
	}()
	a, b, l := open(t, d, "a"), open(t, d, "b"), open(t, d, "l")
	if _, err := a.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if got := vcomtest.ReadN(t, b, 4, watchdog); string(got) != "ping" {
		t.Fatalf("b read %q, want ping", got)
	}
	if err := d.Apply(parse(t, "--dir", dir, "--pair", "a:b", "--timing", "off")); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Port("l"); ok {
		t.Fatal("the reload left l")
	}
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	d.Close(ctx)
	closed = true
	a.Close()
	b.Close()
	for _, name := range []string{"a", "b", "l"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("link %s left behind (%v)", name, err)
		}
	}
}
