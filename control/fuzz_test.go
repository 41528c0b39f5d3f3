package control_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/control"
)

// keep is a testing.TB whose cleanups wait for release, so that what a
// helper opens for one fuzz input can outlive it.
type keep struct {
	testing.TB
	fns []func()
}

// Cleanup defers fn to release.
func (k *keep) Cleanup(fn func()) { k.fns = append(k.fns, fn) }

func (k *keep) release() {
	for i := len(k.fns) - 1; i >= 0; i-- {
		k.fns[i]()
	}
	k.fns = nil
}

// apiFuzz is a daemon with a pair whose ends are open, and an HTTP client
// of its socket that keeps its connections.
type apiFuzz struct {
	r       *rig
	initial *config.Config
	hc      *http.Client
	a, b    serial.Port
	ptys    string // the pair's ptys when a and b were opened
	opened  *keep
}

func newAPIFuzz(f *testing.F) *apiFuzz {
	r := newRig(f, "--pair", "ttyV0:ttyV1", "--loopback", "ttyL0", "--timing", "off")
	z := &apiFuzz{r: r, initial: r.d.Config(), opened: &keep{}}
	z.hc = &http.Client{
		Timeout: 500 * time.Millisecond, // a wait, a break or a trace runs on; its answer is not needed
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", r.socket)
		}},
	}
	f.Cleanup(func() {
		z.hc.CloseIdleConnections()
		z.opened.release()
	})
	return z
}

// pairPTYs names the pair's ptys as the daemon has them.
func (z *apiFuzz) pairPTYs() string {
	var s []string
	for _, n := range []string{"ttyV0", "ttyV1"} {
		if p, ok := z.r.d.Port(n); ok {
			s = append(s, p.Path())
		}
	}
	return strings.Join(s, " ")
}

// ready puts back the ports a request added or removed, and opens the
// pair's ends anew if they are new.
func (z *apiFuzz) ready(t *testing.T) {
	if err := z.r.d.Apply(z.initial); err != nil {
		t.Fatalf("restoring the ports: %v", err)
	}
	if ptys := z.pairPTYs(); ptys != z.ptys || z.a == nil {
		z.opened.release()
		z.opened.TB = t
		z.a, z.b = z.r.open(z.opened, "ttyV0", 115200), z.r.open(z.opened, "ttyV1", 115200)
		z.ptys = ptys
	}
	z.opened.TB = t
}

// view is what a refused request must leave as it was: each port's
// wiring, settings and the pins it drives.
func (z *apiFuzz) view(t *testing.T) string {
	t.Helper()
	ports, err := z.r.c.Ports(context.Background())
	if err != nil {
		t.Fatalf("listing the ports: %v", err)
	}
	var b strings.Builder
	for _, p := range ports {
		st := p.State
		fmt.Fprintf(&b, "%s %s %s %s %s %s %s baud=%d dtr=%v rts=%v out1=%v cts=%v dsr=%v ri=%v dcd=%v\n",
			p.Name, p.Link, p.PTY, p.Wiring, p.Peer, p.Timing, p.Framing, st.Baud, st.DTR, st.RTS, st.OUT1, st.CTS, st.DSR, st.RI, st.DCD)
	}
	return b.String()
}

// passes checks that a byte written to one end of the pair reaches the
// other, past whatever requests put in its way (injected characters,
// breaks), within 10 s.
func (z *apiFuzz) passes(t *testing.T) {
	t.Helper()
	const mark = 0x15 // five bits: it survives every framing
	if _, err := z.a.Write([]byte{mark}); err != nil {
		t.Fatalf("write to ttyV0: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 256)
	for time.Now().Before(deadline) {
		n, err := z.b.Read(buf)
		if err != nil {
			t.Fatalf("read from ttyV1: %v", err)
		}
		if bytes.IndexByte(buf[:n], mark) >= 0 {
			return
		}
	}
	t.Fatal("a byte written to ttyV0 did not reach ttyV1 within 10 s")
}

// do sends one request; ok is false when the client gave up waiting (a
// request that runs on).
func (z *apiFuzz) do(method, path, body string) (status int, answer []byte, ok bool, err error) {
	req, err := http.NewRequest(method, "http://vcomd"+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, false, nil // not a request a client could send
	}
	resp, err := z.hc.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, nil, false, nil
		}
		return 0, nil, false, err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, false, nil // a stream the timeout cut
	}
	return resp.StatusCode, answer, true, nil
}

// addAPISeeds seeds f with the requests of the package's tests: the
// routes with good and bad bodies.
func addAPISeeds(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "/v1/ports", ""},
		{"POST", "/v1/ports", `{"pair":["ttyV2","ttyV3"]}`},
		{"POST", "/v1/ports", `{"loopback":"ttyL9","timing":"realistic"}`},
		{"POST", "/v1/ports", `{"loopback":"ttyV0"}`},
		{"POST", "/v1/ports", `{"loopback":"vcomd.sock"}`},
		{"POST", "/v1/ports", `{"pair":["a","a"]}`},
		{"POST", "/v1/ports", `{"pair":["a"],"loopback":"b"}`},
		{"POST", "/v1/ports", `{"loopback":"x","timing":"warp"}`},
		{"POST", "/v1/ports", `{"loopback":"x"} {}`},
		{"POST", "/v1/ports", `{"speed":9600}`},
		{"DELETE", "/v1/ports/ttyV0", ""},
		{"DELETE", "/v1/ports/ttyV0?pair=1", ""},
		{"DELETE", "/v1/ports/ttyL0", ""},
		{"GET", "/v1/ports/ttyV1", ""},
		{"GET", "/v1/ports/ttyV1/stats", ""},
		{"PUT", "/v1/ports/ttyV1/modem", `{"dtr":false,"rts":true}`},
		{"PUT", "/v1/ports/ttyL0/modem", `{"cts":true,"ri":true}`},
		{"PUT", "/v1/ports/ttyV1/modem", `{"cts":false,"dtr":false}`},
		{"PUT", "/v1/ports/ttyV1/modem", `{}`},
		{"PUT", "/v1/ports/ttyV0/line", `{"framing":"7E1"}`},
		{"PUT", "/v1/ports/ttyV0/line", `{"framing":"8N1"}`},
		{"PUT", "/v1/ports/ttyV0/line", `{"framing":"5N1.5"}`},
		{"PUT", "/v1/ports/ttyV0/line", `{"framing":"9X3"}`},
		{"POST", "/v1/ports/ttyV0/break", `{"duration":"20ms"}`},
		{"POST", "/v1/ports/ttyV0/break", `{"duration":"2h"}`},
		{"POST", "/v1/ports/ttyV1/inject", `{"kind":"noise","count":3}`},
		{"POST", "/v1/ports/ttyV1/inject", `{"kind":"parity","count":1}`},
		{"POST", "/v1/ports/ttyL0/inject", `{"kind":"framing","count":0}`},
		{"POST", "/v1/ports/ttyV1/wait", `{"events":"rxchar","timeout":"10ms"}`},
		{"POST", "/v1/ports/ttyV1/wait", `{"events":"sunrise"}`},
		{"POST", "/v1/ports/ttyV0/purge", `{"what":"all"}`},
		{"POST", "/v1/ports/ttyV0/purge", `{"what":"sideways"}`},
		{"GET", "/v1/trace?port=ttyV9", ""},
		{"PATCH", "/v1/ports", ""},
		{"GET", "/v2/nothing", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
}

// FuzzAPI sends the control socket any method, path and body. The answer
// is never a 5xx; a refusal changes nothing; and whatever happened, a
// byte still passes the pair.
func FuzzAPI(f *testing.F) {
	addAPISeeds(f)
	z := newAPIFuzz(f)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		z.ready(t)
		before := z.view(t)
		status, answer, ok, err := z.do(method, path, body)
		if err != nil {
			t.Fatalf("%s %s %q: %v", method, path, body, err)
		}
		if ok {
			if status >= 500 {
				t.Fatalf("%s %s %q: %d %s", method, path, body, status, answer)
			}
			if status >= 400 {
				var e control.Error
				if json.Unmarshal(answer, &e) != nil || e.Message == "" {
					t.Fatalf("%s %s %q: %d without a message: %q", method, path, body, status, answer)
				}
				if after := z.view(t); after != before {
					t.Fatalf("%s %s %q was refused (%d %s) but changed the ports:\n%s\nwere\n%s", method, path, body, status, e.Message, after, before)
				}
			}
		}
		z.ready(t)
		z.passes(t)
	})
}
