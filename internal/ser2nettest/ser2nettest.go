// Package ser2nettest runs the real programs that interop tests put at the
// far end of a network serial port: ser2net (4.x) serving a pty pair that
// socat makes. Tests skip when the programs are missing, and fail instead
// under CI=true, where .ci/run installs them.
package ser2nettest

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vcomd/vcomd/internal/procstat"
)

// watchdog bounds the waits for the programs to come up; it is no timing
// assertion.
const watchdog = 20 * time.Second

// need finds bin or skips (fails when CI=true) saying what to install.
func need(t testing.TB, bin, pkg string, check func(path string) error) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err == nil && check != nil {
		err = check(path)
	}
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v: CI must install the %s package", err, pkg)
	}
	t.Skipf("%v: install the %s package", err, pkg)
	return ""
}

// NeedSer2net returns the path of ser2net 4.x, or skips the test.
func NeedSer2net(t testing.TB) string {
	t.Helper()
	return need(t, "ser2net", "ser2net", func(path string) error {
		out, err := exec.Command(path, "-v").CombinedOutput()
		if err == nil && strings.Contains(string(out), "version 4.") {
			return nil
		}
		return fmt.Errorf("ser2net -v said %q (%v), want 4.x", bytes.TrimSpace(out), err)
	})
}

// PtyPair starts socat joining two ptys and returns their paths (links in
// a test directory) once both exist: what one end's program writes, the
// other end reads. socat ends with the test.
func PtyPair(t testing.TB) (a, b string) {
	t.Helper()
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	StartPtyPair(t, a, b)
	return a, b
}

// Pair is a running socat joining two ptys: a stand-in for a serial
// adapter (one link is the adapter's device, a program on the other plays
// what is plugged into it).
type Pair struct {
	A, B   string // the links
	cmd    *exec.Cmd
	exited chan error
	once   sync.Once
}

// StartPtyPair starts socat with its ptys linked at a and b, and returns
// once both links exist. It is stopped at the end of the test if not
// before. Starting it again with the same links after Unplug plugs the
// "adapter" back in.
func StartPtyPair(t testing.TB, a, b string) *Pair {
	t.Helper()
	bin := need(t, "socat", "socat", nil)
	p := &Pair{A: a, B: b, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, "-d", "-d", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// socat says "starting data transfer loop" once both ptys and their
	// links exist; the rest of its log is kept for a failure.
	var mu sync.Mutex
	var log bytes.Buffer
	up := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		var once sync.Once
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), "starting data transfer loop") {
				once.Do(func() { close(up) })
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.once.Do(func() {
			p.cmd.Process.Kill() //nolint:errcheck // it may have exited already
			<-p.exited
		})
	})
	select {
	case <-up:
		return p
	case err := <-p.exited:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("socat exited: %v\n%s", err, log.String())
	case <-time.After(watchdog):
		t.Fatal("socat made no ptys")
	}
	return nil
}

// Unplug stops socat with SIGTERM and waits for it: its ptys close (the
// ends read end of file, as a hung-up tty does) and it removes the links,
// as an adapter's device node goes when it is unplugged.
func (p *Pair) Unplug() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited already
		<-p.exited
	})
}

// FreePort returns a loopback TCP port nobody listens on now; ser2net
// takes its port from its configuration, so it cannot be handed a socket.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Server is a running ser2net.
type Server struct {
	Addr   string // 127.0.0.1:port
	cmd    *exec.Cmd
	exited chan error
	log    *bytes.Buffer
	once   sync.Once
}

// Serve starts ser2net serving device on 127.0.0.1:port with the given
// accepter ("telnet(rfc2217)" or "tcp" for raw), and returns once it
// accepts connections. It is stopped at the end of the test if not before.
func Serve(t testing.TB, bin, accepter, device string, port int) *Server {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ser2net.yaml")
	yaml := fmt.Sprintf("connection: &test\n  accepter: %s,tcp,127.0.0.1,%d\n  connector: serialdev,%s,9600n81,local\n", accepter, port, device)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), exited: make(chan error, 1), log: &bytes.Buffer{}}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("ser2net output:\n%s", s.log.String())
		}
	})
	end := time.Now().Add(watchdog)
	for s.start(t, cfg, bin, port) {
		if time.Now().After(end) {
			t.Fatalf("ser2net: port %d still in use after %v\n%s", port, watchdog, s.log.String())
		}
		// The port of a ser2net this test stopped a moment ago is not
		// free until the kernel has let go of its socket: start again.
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// start runs ser2net and waits until it accepts connections; it reports
// true, with the process gone, when ser2net found its port in use.
func (s *Server) start(t testing.TB, cfg, bin string, port int) (inUse bool) {
	t.Helper()
	s.log.Reset()
	s.cmd = exec.Command(bin, "-c", cfg, "-n", "-d")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.exited = make(chan error, 1)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(s.cmd, s.exited)
	// ser2net says nothing when it listens, so the wait is for its socket
	// to listen, looked at again every 20 ms, bounded by the watchdog. Not
	// by connecting: a connection opens the device, and the test's own
	// connection that follows would be told "Port already in use" (as
	// data) while ser2net lets go of it.
	for end := time.Now().Add(watchdog); ; {
		// An error may be ser2net exiting, which the select tells.
		ok, err := procstat.ListensTCP(s.cmd.Process.Pid, port)
		if ok {
			return false
		}
		select {
		case err := <-s.exited:
			s.exited <- err // for Stop
			if strings.Contains(s.log.String(), "already in use") {
				return true
			}
			t.Fatalf("ser2net exited: %v\n%s", err, s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(end) {
			t.Fatalf("ser2net not listening on %s after %v: %v", s.Addr, watchdog, cmp.Or(err, errors.New("no listening socket of its own")))
		}
	}
}

// Stop kills ser2net and waits for it: its connections drop at once, as
// when a server goes away.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.cmd.Process.Kill() //nolint:errcheck // it may have exited already
		<-s.exited
	})
}

// ReadFile reads n bytes from a pty (or any file the poller serves),
// bounded by the watchdog.
func ReadFile(t testing.TB, f *os.File, n int) []byte {
	t.Helper()
	if err := f.SetReadDeadline(time.Now().Add(watchdog)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, n)
	buf := make([]byte, 512)
	for len(got) < n {
		k, err := f.Read(buf)
		got = append(got, buf[:k]...)
		if err != nil {
			t.Fatalf("%s: read %d of %d bytes: %v (%q)", f.Name(), len(got), n, err, got)
		}
	}
	return got
}
