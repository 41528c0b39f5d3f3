package control_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/vcomtest"
)

// stream sends n pseudo-random bytes from one end of a pair to the other
// at full speed and reports, on done, whether every byte arrived intact.
func stream(t *testing.T, from, to serial.Port, n int, seed uint64) <-chan error {
	t.Helper()
	data := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	done := make(chan error, 2)
	go func() {
		for off := 0; off < n; off += 4096 {
			if err := vcomtest.WriteAll(from, data[off:min(n, off+4096)]); err != nil {
				done <- err
				return
			}
		}
	}()
	go func() {
		got := make([]byte, n)
		for off := 0; off < n; {
			m, err := to.Read(got[off:])
			if err != nil || m == 0 {
				done <- fmt.Errorf("read after %d of %d bytes: %v (0 bytes: timed out)", off, n, err)
				return
			}
			off += m
		}
		if !bytes.Equal(got, data) {
			i := 0
			for got[i] == data[i] {
				i++
			}
			done <- fmt.Errorf("byte %d differs: got %#x, want %#x", i, got[i], data[i])
			return
		}
		done <- nil
	}()
	return done
}

// Bad requests get a clear error and a fitting status, change nothing,
// and never disturb data flowing on the ports.
func TestBadRequests(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1", "--timing", "off")
	a := r.open(t, "ttyV0", 115200)
	b := r.open(t, "ttyV1", 115200)
	flow := stream(t, a, b, 1<<20, 1)
	before := status(t, r, "ttyV1")

	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"PUT", "/v1/ports/ttyV1/line", `{"framing":`, 400, "malformed JSON body"},
		{"PUT", "/v1/ports/ttyV1/line", `{"framing":"7E1"} {"framing":"8N1"}`, 400, "unexpected data after the JSON value"},
		{"PUT", "/v1/ports/ttyV1/line", `{"framing":"7E1","speed":9}`, 400, `unknown field "speed"`},
		{"PUT", "/v1/ports/ttyV1/line", ``, 400, "needs a JSON body"},
		{"PUT", "/v1/ports/ttyV1/line", `["7E1"]`, 400, "malformed JSON body"},
		{"PUT", "/v1/ports/ttyV1/modem", `{"cts":"yes"}`, 400, "malformed JSON body"},
		{"PUT", "/v1/ports/ttyV9/line", `{"framing":"7E1"}`, 404, `unknown port "ttyV9" (ports: ttyV0, ttyV1)`},
		{"GET", "/v1/ports/ttyV9/stats", ``, 404, `unknown port "ttyV9"`},
		{"GET", "/v1/trace?port=ttyV9", ``, 404, `unknown port "ttyV9"`},
		{"GET", "/v1/frobnicate", ``, 404, "unknown request GET /v1/frobnicate"},
		{"GET", "/v2/ports", ``, 404, "unknown request GET /v2/ports"},
		{"POST", "/v1/ports/ttyV1/stats", `{}`, 405, "method not allowed (allowed: GET)"},
		{"DELETE", "/v1/ports/ttyV1/line", ``, 405, "allowed: PUT"},
		{"PUT", "/v1/ports/ttyV1/line", `{"framing":"` + strings.Repeat("8", 70<<10) + `"}`, 413, "request body larger than 65536 bytes"},
		{"POST", "/v1/ports", strings.Repeat(" ", 65<<10) + `{"loopback":"x"}`, 413, "larger than"},
	} {
		got, err := rawRequest(r, tc.method, tc.path, tc.body)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		if got.status != tc.status || !strings.Contains(got.message, tc.want) {
			t.Errorf("%s %s %.40q: %d %q, want %d with %q", tc.method, tc.path, tc.body, got.status, got.message, tc.status, tc.want)
		}
		if ct := got.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
	}
	if got, _ := rawRequest(r, "PATCH", "/v1/ports/ttyV1", ""); got.header.Get("Allow") != "DELETE, GET" {
		t.Errorf("405 Allow header %q", got.header.Get("Allow"))
	}
	after := status(t, r, "ttyV1")
	if after.Framing != before.Framing || after.State.Registers.LCR != before.State.Registers.LCR {
		t.Errorf("bad requests changed ttyV1: %s -> %s", before.Framing, after.Framing)
	}
	ports, err := r.c.Ports(context.Background())
	if err != nil || len(ports) != 2 {
		t.Errorf("bad requests changed the ports: %d, %v", len(ports), err)
	}
	if err := <-flow; err != nil {
		t.Errorf("data on the pair: %v", err)
	}
}

// A client that never finishes its request headers, or its body, is cut
// off by the server's timeouts, and the other clients and ports go on.
func TestSlowClientsAreCutOff(t *testing.T) {
	r := newRigWith(t, fastTimeouts, "--pair", "ttyV0:ttyV1", "--timing", "off")
	a := r.open(t, "ttyV0", 115200)
	b := r.open(t, "ttyV1", 115200)
	flow := stream(t, a, b, 1<<20, 2)

	for _, partial := range []string{
		"GET /v1/ports HTTP/1.1\r\nHost: vcomd\r\n",                                              // headers never end
		"PUT /v1/ports/ttyV1/line HTTP/1.1\r\nHost: vcomd\r\nContent-Length: 100\r\n\r\n{\"fram", // body never ends
	} {
		c, err := net.Dial("unix", r.socket)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, partial); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// The server must end the connection; this read returns when it
		// does (the deadline only bounds a broken server).
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := io.ReadAll(bufio.NewReader(c))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%q: still connected after 10 s", partial)
		}
		t.Logf("%q: cut off after %s with %q", partial, time.Since(start).Round(time.Millisecond), firstLine(resp))
		// Meanwhile the API answers others.
		if _, err := r.c.Ports(context.Background()); err != nil {
			t.Errorf("while a slow client hangs: %v", err)
		}
	}
	if st := status(t, r, "ttyV1"); st.Framing != "8N1" {
		t.Errorf("a body that never ended changed the framing to %s", st.Framing)
	}
	if err := <-flow; err != nil {
		t.Errorf("data on the pair: %v", err)
	}
}

// The read timeout bounds how long a client takes to send its request,
// not how long the answer takes: a wait and a break that outlast it are
// answered (net/http would otherwise cancel them when its read of the
// idle connection hits the deadline).
func TestLongAnswersOutlastReadTimeout(t *testing.T) {
	r := newRigWith(t, fastTimeouts, "--pair", "ttyV0:ttyV1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	long := 2 * fastTimeouts.ReadTimeout
	start := time.Now()
	res, err := r.c.Wait(ctx, "ttyV1", "ring", long)
	if took := time.Since(start); err != nil || !res.TimedOut || took < long {
		t.Errorf("a wait of %v: %+v, %v after %v; want it timed out after %[1]v", long, res, err, took)
	}
	start = time.Now()
	if _, err := r.c.Break(ctx, "ttyV0", long); err != nil || time.Since(start) < long {
		t.Errorf("a break of %v: %v after %v", long, err, time.Since(start))
	}
}

func firstLine(b []byte) string {
	l, _, _ := strings.Cut(string(b), "\r\n")
	return l
}

// 100 clients at once, reading and changing things and tracing, for as
// long as two pairs stream at full speed both ways: no byte is lost or
// damaged, and every request is answered.
func TestManyClientsWhilePairsStream(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1", "--pair", "ttyV2:ttyV3", "--loopback", "ttyL0", "--timing", "off")
	v0, v1 := r.open(t, "ttyV0", 115200), r.open(t, "ttyV1", 115200)
	v2, v3 := r.open(t, "ttyV2", 115200), r.open(t, "ttyV3", 115200)
	const n = 128 << 10
	flows := []<-chan error{stream(t, v0, v1, n, 10), stream(t, v1, v0, n, 11), stream(t, v2, v3, n, 12), stream(t, v3, v2, n, 13)}
	streaming := make(chan struct{})
	flowErrs := make(chan error, len(flows))
	go func() {
		defer close(streaming)
		for _, f := range flows {
			flowErrs <- <-f
		}
	}()

	var wg sync.WaitGroup
	var requests atomic.Int64
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			c := control.NewClient(r.socket)
			defer c.Close()
			port := []string{"ttyV0", "ttyV1", "ttyV2", "ttyV3"}[i%4]
			// Until the streams end, and at least once.
			for {
				// Each request has 20 s, not the whole run: on a loaded
				// machine the streams take as long as they take.
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := oneRequest(ctx, c, i%5, port, streaming)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					return
				}
				requests.Add(1)
				select {
				case <-streaming:
					return
				default:
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	<-streaming
	close(flowErrs)
	for err := range flowErrs {
		if err != nil {
			t.Errorf("data on a pair: %v", err)
		}
	}
	t.Logf("%d requests answered while 4 streams of %d KiB went through", requests.Load(), n>>10)
}

// oneRequest is one of the kinds of request the clients make. A trace
// reads 50 lines, or what comes until the streams end.
func oneRequest(ctx context.Context, c *control.Client, kind int, port string, streaming <-chan struct{}) error {
	var err error
	switch kind {
	case 0:
		_, err = c.Ports(ctx)
	case 1:
		_, err = c.Port(ctx, port)
	case 2:
		_, err = c.Stats(ctx, port)
	case 3:
		// Changes that leave the data alone: RI on the ports, and the
		// loopback's framing.
		if _, err = c.SetModem(ctx, port, control.ModemRequest{RI: on()}); err == nil {
			_, err = c.SetLine(ctx, "ttyL0", "7O1")
		}
	case 4:
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var st *control.TraceStream
		if st, err = c.OpenTrace(tctx, port); err != nil {
			return err
		}
		defer st.Close()
		go func() {
			select {
			case <-streaming:
				cancel()
			case <-tctx.Done():
			}
		}()
		for range 50 {
			if _, _, err = st.Next(); err != nil {
				break
			}
		}
		if tctx.Err() != nil && ctx.Err() == nil {
			err = nil // the streams ended first
		}
	}
	return err
}
