package control_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/daemon"
	"github.com/vcomd/vcomd/vcomtest"
)

// rig is a daemon with its control server on a real Unix socket, as
// cmd/vcomd wires them, and a client of it.
type rig struct {
	d      *daemon.Daemon
	c      *control.Client
	socket string
}

// fastTimeouts cut off a client that never finishes its request quickly.
// Only the test of such clients uses them: under the race detector, with
// ports streaming, a server goroutine may start reading a request later
// than this.
var fastTimeouts = control.Options{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 500 * time.Millisecond}

// newRig starts a daemon with the given vcomd flags (ports and timing)
// and a server with the default timeouts.
func newRig(t testing.TB, args ...string) *rig {
	t.Helper()
	return newRigWith(t, control.Options{}, args...)
}

// newRigWith is newRig with the server's options (but its hub and socket).
func newRigWith(t testing.TB, opts control.Options, args ...string) *rig {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vcom")
	cfg, err := config.Parse(append([]string{"--dir", dir}, args...), func(string) string { return "" }, false)
	if err != nil {
		t.Fatal(err)
	}
	hub := &control.Hub{}
	d, err := daemon.New(cfg, daemon.Options{Trace: hub.Publish, TraceEnabled: hub.Enabled})
	if err != nil {
		t.Fatal(err)
	}
	opts.Hub = hub
	opts.Socket = cfg.Socket
	srv, err := control.NewServer(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, control.SocketName)
	if err := srv.Listen(socket); err != nil {
		t.Fatal(err)
	}
	c := control.NewClient(socket)
	t.Cleanup(func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
		d.Close(ctx)
	})
	return &rig{d: d, c: c, socket: socket}
}

// open opens a port with go.bug.st/serial, as a program would, and waits
// until the daemon has seen the open (the driver has its create request).
func (r *rig) open(t testing.TB, name string, baud int) serial.Port {
	t.Helper()
	p, ok := r.d.Port(name)
	if !ok {
		t.Fatalf("no port %s", name)
	}
	_, changed := p.PTY().State()
	sp, err := serial.Open(p.Link, &serial.Mode{BaudRate: baud})
	if err != nil {
		t.Fatalf("go.bug.st/serial: open %s: %v", p.Link, err)
	}
	t.Cleanup(func() { sp.Close() })
	for {
		open, next := p.PTY().State()
		if open {
			break
		}
		select {
		case <-changed:
			changed = next
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the daemon never saw the open", name)
		}
	}
	if err := sp.SetReadTimeout(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return sp
}

// readN reads exactly n bytes, failing if 10 s pass without any.
func readN(t testing.TB, p serial.Port, n int) []byte {
	t.Helper()
	return vcomtest.ReadN(t, p, n, 10*time.Second)
}

func write(t testing.TB, w io.Writer, b []byte) {
	t.Helper()
	if _, err := w.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// apiError asserts err is the daemon refusing with status and a message
// containing want.
func apiError(t testing.TB, err error, status int, want string) {
	t.Helper()
	ae, ok := err.(*control.APIError)
	if !ok {
		t.Fatalf("got error %v (%T), want an API error %d", err, err, status)
	}
	if ae.Status != status || !strings.Contains(ae.Message, want) {
		t.Fatalf("got %d %q, want %d with %q", ae.Status, ae.Message, status, want)
	}
}

func status(t testing.TB, r *rig, name string) control.Port {
	t.Helper()
	p, err := r.c.Port(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// trace subscribes to port's trace ("" for all) and returns its lines.
// The subscription is live when it returns; it ends with the test.
func (r *rig) trace(t testing.TB, port string) <-chan control.TraceLine {
	t.Helper()
	st, err := r.c.OpenTrace(context.Background(), port)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan control.TraceLine, 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for {
			l, _, err := st.Next()
			if err != nil {
				return
			}
			ch <- l
		}
	}()
	t.Cleanup(func() { st.Close(); <-done })
	return ch
}

// waitLine returns the first line that match accepts, failing after 10 s.
func waitLine(t testing.TB, ch <-chan control.TraceLine, what string, match func(control.TraceLine) bool) control.TraceLine {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("trace ended before %s", what)
			}
			if match(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %s in the trace within 10 s", what)
		}
	}
}

// rawAnswer is an answer read off the socket without the client.
type rawAnswer struct {
	status  int
	body    string
	message string // the JSON error's message
	header  http.Header
}

// rawRequest sends a request with any body, as curl would.
func rawRequest(r *rig, method, path, body string) (rawAnswer, error) {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", r.socket)
		},
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(method, "http://vcomd"+path, strings.NewReader(body))
	if err != nil {
		return rawAnswer{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return rawAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawAnswer{}, err
	}
	a := rawAnswer{status: resp.StatusCode, body: string(b), header: resp.Header}
	var e control.Error
	if json.Unmarshal(b, &e) == nil {
		a.message = e.Message
	}
	return a, nil
}
