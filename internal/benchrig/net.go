package benchrig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vcomd/vcomd/internal/procstat"
)

// HostPort is the host:port of a URL that vcomd announced for a served
// port (rfc2217://127.0.0.1:40123, socket://...).
func HostPort(url string) (string, error) {
	scheme, addr, ok := strings.Cut(url, "://")
	if !ok || (scheme != "rfc2217" && scheme != "socket") || addr == "" {
		return "", fmt.Errorf("%q is not rfc2217://HOST:PORT or socket://HOST:PORT", url)
	}
	return addr, nil
}

// SocatTCP is a socat that bridges a pty to one TCP client, the way
// people put a serial program on the network with socat:
//
//	socat -d -d pty,raw,echo=0,link=X tcp-listen:PORT,bind=127.0.0.1,reuseaddr
type SocatTCP struct {
	p *process
	// Link is the pty's link, which the program opens.
	Link string
	// Addr is where it listens, 127.0.0.1:PORT. It takes one client and
	// exits when that client goes.
	Addr string
}

// StartSocatTCP starts a socat as above, its link DIR/x and its port one
// the kernel picks, and waits until it listens: socat says so on stderr
// ("listening on AF=2 127.0.0.1:PORT"), after it has made the pty.
func StartSocatTCP(ctx context.Context, bin, dir string) (*SocatTCP, error) {
	s := &SocatTCP{Link: filepath.Join(dir, "x")}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("socat's stderr: %w", err)
	}
	p, err := start(ctx, nil, w, bin, "-d", "-d", "pty,raw,echo=0,link="+s.Link, "tcp-listen:0,bind=127.0.0.1,reuseaddr")
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	s.p = p
	// stderr is copied into w by a goroutine of exec's, which is done
	// once the process has been waited for.
	go func() {
		<-p.done
		w.Close()
	}()
	err = readLines(ctx, p, r, "socat to listen", func(l string) (bool, error) {
		_, after, ok := strings.Cut(l, " listening on AF=2 ")
		if ok {
			s.Addr = strings.TrimSpace(after)
		}
		return ok, nil
	})
	if err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("socat tcp-listen: %w", err)
	}
	return s, nil
}

// PID is socat's process id.
func (s *SocatTCP) PID() int { return s.p.pid() }

// Stop ends socat with SIGTERM and waits for it.
func (s *SocatTCP) Stop() error { return s.p.stop() }

// ErrNoSer2net is returned by LookSer2net when ser2net 4.x is not
// installed.
var ErrNoSer2net = errors.New("ser2net not found in $PATH or /usr/sbin: install the ser2net package (apt-get install ser2net), version 4")

// LookSer2net finds the ser2net binary, which Debian puts in /usr/sbin,
// often outside a user's $PATH.
func LookSer2net() (string, error) {
	if p, err := exec.LookPath("ser2net"); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("/usr/sbin/ser2net"); err == nil {
		return p, nil
	}
	return "", ErrNoSer2net
}

// Ser2netVersion returns the version that ser2net -v reports, "4.3.11"
// say; it fails for a version other than 4.x, whose configuration is
// another language.
func Ser2netVersion(ctx context.Context, bin string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "-v").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s -v: %w", bin, err)
	}
	// "PATH version 4.3.11": ser2net names itself by its argv[0].
	f := strings.Fields(string(out))
	if len(f) != 3 || !strings.HasSuffix(f[0], "ser2net") || f[1] != "version" {
		return "", fmt.Errorf("%s -v printed %q, want ser2net version 4.x", bin, bytes.TrimSpace(out))
	}
	v := f[2]
	if !strings.HasPrefix(v, "4.") {
		return "", fmt.Errorf("%s is ser2net %s, want 4.x", bin, v)
	}
	return v, nil
}

// Ser2netConfig says which ser2net to start.
type Ser2netConfig struct {
	Bin string // the ser2net binary
	Dir string // where its configuration goes; must exist
	// Device is the tty it serves over RFC 2217, opened at each client's
	// connect.
	Device string
}

// Ser2net is a running ser2net serving one tty over RFC 2217.
type Ser2net struct {
	p    *process
	port int
	// Addr is where it listens, 127.0.0.1:PORT.
	Addr string
}

// ser2netWait bounds the wait for ser2net to listen.
const ser2netWait = 10 * time.Second

// StartSer2net starts ser2net in the foreground with one connection,
//
//	accepter: telnet(rfc2217),tcp,127.0.0.1,PORT
//	connector: serialdev,DEVICE,115200n81,local
//
// without UUCP locks (-u: the bench's ptys are nobody else's), and waits
// until it listens.
func StartSer2net(ctx context.Context, c Ser2netConfig) (*Ser2net, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(c.Dir, "ser2net.yaml")
	yaml := fmt.Sprintf("connection: &bench\n  accepter: telnet(rfc2217),tcp,127.0.0.1,%d\n  connector: serialdev,%s,115200n81,local\n", port, c.Device)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return nil, fmt.Errorf("writing ser2net's configuration: %w", err)
	}
	p, err := start(ctx, nil, nil, c.Bin, "-n", "-u", "-c", cfg)
	if err != nil {
		return nil, err
	}
	s := &Ser2net{p: p, port: port, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	if err := s.waitListening(ctx); err != nil {
		_ = p.stop()
		return nil, err
	}
	return s, nil
}

// freePort returns a loopback TCP port nobody listens on now: ser2net
// takes its port from its configuration and cannot say which one it got
// for 0.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until ser2net itself holds a listening socket on
// its port, looking every 20 ms (ser2net says nothing when it listens)
// until ser2net exits, ctx ends or ser2netWait passes. It looks in /proc
// rather than connecting: ser2net takes one client, and a probe would be
// that client until ser2net noticed it gone; the real client arriving
// meanwhile was turned away, and its first write failed with a broken
// pipe (seen in CI about one run in fifteen).
func (s *Ser2net) waitListening(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ser2netWait)
	defer cancel()
	for {
		// An error may be ser2net exiting, which the select tells.
		ok, err := procstat.ListensTCP(s.p.pid(), s.port)
		if ok {
			return nil
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-t.C:
		case <-s.p.done:
			t.Stop()
			return fmt.Errorf("ser2net: %w", s.p.exitError())
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("ser2net not listening on %s: %w", s.Addr, errors.Join(ctx.Err(), err))
		}
	}
}

// PID is ser2net's process id.
func (s *Ser2net) PID() int { return s.p.pid() }

// Stop ends ser2net with SIGTERM and waits for it.
func (s *Ser2net) Stop() error { return s.p.stop() }
