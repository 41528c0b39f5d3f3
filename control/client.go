package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/vcomd/vcomd/ioctl"
)

// Client talks to a daemon's control socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the socket at path. It connects on each
// request's demand and keeps idle connections for reuse.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr}}
}

// Close drops the client's idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// APIError is a request the daemon refused: its HTTP status and message.
type APIError struct {
	Status  int
	Message string
}

// Error is the daemon's message.
func (e *APIError) Error() string { return e.Message }

// do sends a request with in as its JSON body (nil for none) and decodes
// the answer into out (nil to drop it).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://vcomd"+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control socket %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return answerError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

func answerError(status int, body []byte) error {
	var e Error
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		e.Message = fmt.Sprintf("%s: %s", http.StatusText(status), bytes.TrimSpace(body))
	}
	return &APIError{Status: status, Message: e.Message}
}

func portPath(name, what string) string {
	p := "/v1/ports/" + url.PathEscape(name)
	if what != "" {
		p += "/" + what
	}
	return p
}

// Ports lists every port.
func (c *Client) Ports(ctx context.Context) ([]Port, error) {
	var out []Port
	return out, c.do(ctx, "GET", "/v1/ports", nil, &out)
}

// Port shows one port.
func (c *Client) Port(ctx context.Context, name string) (Port, error) {
	var out Port
	return out, c.do(ctx, "GET", portPath(name, ""), nil, &out)
}

// Stats reads a port's SERIALPERF_STATS.
func (c *Client) Stats(ctx context.Context, name string) (ioctl.PerfStats, error) {
	var out ioctl.PerfStats
	return out, c.do(ctx, "GET", portPath(name, "stats"), nil, &out)
}

// SetModem changes a port's modem inputs and outputs.
func (c *Client) SetModem(ctx context.Context, name string, req ModemRequest) (Done, error) {
	var out Done
	return out, c.do(ctx, "PUT", portPath(name, "modem"), req, &out)
}

// SetLine sets a port's framing: "7E1".
func (c *Client) SetLine(ctx context.Context, name, framing string) (Done, error) {
	var out Done
	return out, c.do(ctx, "PUT", portPath(name, "line"), LineRequest{Framing: framing}, &out)
}

// Break sends a break from a port for d, and returns when it has ended.
func (c *Client) Break(ctx context.Context, name string, d time.Duration) (Done, error) {
	var out Done
	return out, c.do(ctx, "POST", portPath(name, "break"), BreakRequest{Duration: d.String()}, &out)
}

// Inject damages what a port receives.
func (c *Client) Inject(ctx context.Context, name string, inj ioctl.Injection) (ioctl.Injection, error) {
	var out ioctl.Injection
	return out, c.do(ctx, "POST", portPath(name, "inject"), inj, &out)
}

// Wait waits for one of events ("RXCHAR|CTS") on a port, for at most
// timeout (0 for no limit).
func (c *Client) Wait(ctx context.Context, name, events string, timeout time.Duration) (WaitResult, error) {
	req := WaitRequest{Events: events}
	if timeout > 0 {
		req.Timeout = timeout.String()
	}
	var out WaitResult
	return out, c.do(ctx, "POST", portPath(name, "wait"), req, &out)
}

// Purge empties a port's receive side ("rx"), transmit side ("tx") or
// both ("all").
func (c *Client) Purge(ctx context.Context, name, what string) (Done, error) {
	var out Done
	return out, c.do(ctx, "POST", portPath(name, "purge"), PurgeRequest{What: what}, &out)
}

// Add adds a pair or a loopback port.
func (c *Client) Add(ctx context.Context, req AddRequest) ([]Port, error) {
	var out []Port
	return out, c.do(ctx, "POST", "/v1/ports", req, &out)
}

// Remove removes a loopback port, or with pair the pair name is in.
func (c *Client) Remove(ctx context.Context, name string, pair bool) (Done, error) {
	p := portPath(name, "")
	if pair {
		p += "?pair=1"
	}
	var out Done
	return out, c.do(ctx, "DELETE", p, nil, &out)
}

// Serve puts port name on the network at req.Address instead of its pty.
func (c *Client) Serve(ctx context.Context, name string, req ServeRequest) (Port, error) {
	var out Port
	return out, c.do(ctx, "PUT", portPath(name, "serve"), req, &out)
}

// Unserve ends port name's network server; the port gets a pty again.
func (c *Client) Unserve(ctx context.Context, name string) (Port, error) {
	var out Port
	return out, c.do(ctx, "DELETE", portPath(name, "serve"), nil, &out)
}

// TraceStream is an open trace: lines as the daemon sends them.
type TraceStream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
}

// OpenTrace subscribes to the trace of port ("" for every port). Once it
// returns, every request the daemon's ports see is in the stream (until
// the reader falls so far behind that the daemon drops lines, which it
// then says). Close the stream when done.
func (c *Client) OpenTrace(ctx context.Context, port string) (*TraceStream, error) {
	path := "/v1/trace"
	if port != "" {
		path += "?port=" + url.QueryEscape(port)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://vcomd"+path, nil)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", c.socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
		return nil, answerError(resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &TraceStream{body: resp.Body, sc: sc}, nil
}

// Next returns the next line, decoded and as the daemon sent it. It
// returns io.EOF when the daemon ends the stream.
func (s *TraceStream) Next() (TraceLine, []byte, error) {
	if !s.sc.Scan() {
		if err := s.sc.Err(); err != nil {
			return TraceLine{}, nil, fmt.Errorf("trace: %w", err)
		}
		return TraceLine{}, nil, io.EOF
	}
	var l TraceLine
	dec := json.NewDecoder(bytes.NewReader(s.sc.Bytes()))
	dec.UseNumber() // a seed is a uint64, which a float64 would round
	if err := dec.Decode(&l); err != nil {
		return TraceLine{}, nil, fmt.Errorf("trace: bad line %q: %w", s.sc.Bytes(), err)
	}
	return l, s.sc.Bytes(), nil
}

// Close ends the subscription.
func (s *TraceStream) Close() error { return s.body.Close() }

// Trace streams the trace of port ("" for every port) to fn until ctx
// ends, the daemon goes, or fn returns an error.
func (c *Client) Trace(ctx context.Context, port string, fn func(l TraceLine, raw []byte) error) error {
	st, err := c.OpenTrace(ctx, port)
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		l, raw, err := st.Next()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return err
		}
		if err := fn(l, raw); err != nil {
			return err
		}
	}
}
