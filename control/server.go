package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/daemon"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// Limits of requests. A client that sends its headers or body slower than
// these allow is cut off, so that one cannot hold connections open for
// ever (slowloris); a body larger than MaxBody is refused unread.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	MaxBody                  = 64 << 10
	// MaxBreak is the longest break a request may send: longer ones hold
	// a connection and a port for no purpose a test could have.
	MaxBreak = time.Minute
)

// Options configure a server. The zero value serves without a trace, with
// the default timeouts, on a socket of mode 0660 whose group is chosen as
// a port's pty's is (see daemon.GroupID).
type Options struct {
	// Socket gives the socket's mode and group, and so who may change
	// ports (see the package doc).
	Socket config.SocketConfig
	// Hub is where the trace comes from: the one the daemon's devices
	// publish to. Nil means GET /v1/trace is refused.
	Hub    *Hub
	Logger zerolog.Logger
	// Timeouts of a request's headers, of the whole request, and of an
	// idle connection; zero means the defaults above.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
}

// Server serves the control API for a daemon.
type Server struct {
	d      *daemon.Daemon
	hub    *Hub
	log    zerolog.Logger
	opts   Options
	policy policy
	http   *http.Server
	ctx    context.Context // ends long requests (trace, wait, break) at Close
	cancel context.CancelFunc

	// serving is Listen's goroutine. Close waits for it: when Close comes
	// before it has handed its listener to http.Server, Shutdown cannot
	// close that listener, and only the goroutine's own return does,
	// which is what removes the socket.
	serving sync.WaitGroup

	mu      sync.Mutex
	waiting map[*driver.Device]bool // a wait is pending: one per port, as the driver allows
}

// NewServer returns a server for d. It serves nothing until Listen or
// Serve.
func NewServer(d *daemon.Daemon, opts Options) (*Server, error) {
	gid, err := daemon.GroupID(opts.Socket.Group)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if opts.Socket.Mode == 0 {
		opts.Socket.Mode = config.DefaultMode
	}
	s := &Server{
		d:       d,
		hub:     opts.Hub,
		log:     opts.Logger,
		opts:    opts,
		policy:  newPolicy(gid),
		waiting: make(map[*driver.Device]bool),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: orDefault(opts.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(opts.ReadTimeout, DefaultReadTimeout),
		IdleTimeout:       orDefault(opts.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    MaxBody,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			p, err := connPeer(c)
			if err != nil {
				s.log.Warn().Err(err).Msg("control: unknown peer")
				return ctx
			}
			return context.WithValue(ctx, peerKey{}, p)
		},
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Listen creates the socket at path with the configured mode and group
// and serves it until Close. A stale socket left by a daemon that died is
// replaced; one a running daemon answers on is not.
func (s *Server) Listen(path string) error {
	if err := CheckSocket(path); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control socket %s: removing the stale socket: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, s.opts.Socket.Mode); err != nil {
		l.Close()
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if s.policy.gid >= 0 {
		if err := os.Chown(path, -1, s.policy.gid); err != nil {
			l.Close()
			return fmt.Errorf("control socket %s: %w", path, err)
		}
	}
	s.serving.Go(func() {
		if err := s.Serve(l); err != nil {
			s.log.Error().Err(err).Str("socket", path).Msg("control socket")
		}
	})
	return nil
}

// CheckSocket reports an error if a daemon answers on the socket at path
// or something other than a socket is there: a second daemon on the same
// directory would take over the first one's links. A socket nobody
// answers on is a dead daemon's, and no error.
func CheckSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("control socket %s: exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another vcomd is serving this directory", path)
	}
	return nil
}

// Serve serves l until Close; it returns nil after Close.
func (s *Server) Serve(l net.Listener) error {
	if err := s.http.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving %s: %w", l.Addr(), err)
	}
	return nil
}

// Close ends long requests (traces, waits), stops serving, waits until
// ctx ends for other requests in flight, and removes the socket.
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = fmt.Errorf("closing the control socket: %w", errors.Join(err, s.http.Close()))
	}
	s.serving.Wait()
	return err
}

// apiError is a failed request: the status and the message.
type apiError struct {
	status int
	msg    string
}

// Error is the message the caller gets.
func (e *apiError) Error() string { return e.msg }

func fail(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// handler is one request's work: the answer, or an error.
type handler func(w http.ResponseWriter, r *http.Request) (any, error)

// route is one path's methods.
type route struct {
	pattern string
	methods map[string]handler
	change  map[string]bool // methods that change something: need mayChange
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	rs := []route{
		{"/v1/ports", map[string]handler{"GET": s.list, "POST": s.add}, map[string]bool{"POST": true}},
		{"/v1/ports/{name}", map[string]handler{"GET": s.status, "DELETE": s.remove}, map[string]bool{"DELETE": true}},
		{"/v1/ports/{name}/stats", map[string]handler{"GET": s.stats}, nil},
		{"/v1/ports/{name}/modem", map[string]handler{"PUT": s.modem}, map[string]bool{"PUT": true}},
		{"/v1/ports/{name}/line", map[string]handler{"PUT": s.line}, map[string]bool{"PUT": true}},
		{"/v1/ports/{name}/break", map[string]handler{"POST": s.sendBreak}, map[string]bool{"POST": true}},
		{"/v1/ports/{name}/inject", map[string]handler{"POST": s.inject}, map[string]bool{"POST": true}},
		{"/v1/ports/{name}/wait", map[string]handler{"POST": s.wait}, map[string]bool{"POST": true}},
		{"/v1/ports/{name}/purge", map[string]handler{"POST": s.purge}, map[string]bool{"POST": true}},
		{"/v1/ports/{name}/serve", map[string]handler{"PUT": s.serve, "DELETE": s.unserve}, map[string]bool{"PUT": true, "DELETE": true}},
	}
	for _, rt := range rs {
		mux.Handle(rt.pattern, s.serveRoute(rt))
	}
	mux.HandleFunc("/v1/trace", s.trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fail(http.StatusNotFound, "unknown request %s %s; see GET /v1/ports", r.Method, r.URL.Path))
	})
	return mux
}

// serveRoute dispatches on the method, checks the peer may do what the
// method does, and writes the answer or the error as JSON.
func (s *Server) serveRoute(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := rt.methods[r.Method]
		if !ok {
			allowed := make([]string, 0, len(rt.methods))
			for m := range rt.methods {
				allowed = append(allowed, m)
			}
			slices.Sort(allowed)
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, fail(http.StatusMethodNotAllowed, "%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
			return
		}
		if rt.change[r.Method] {
			if err := s.mayChange(r); err != nil {
				writeError(w, err)
				return
			}
		}
		out, err := h(w, r)
		if err != nil {
			if ae := (*apiError)(nil); !errors.As(err, &ae) || ae.status >= 500 {
				s.log.Error().Err(err).Str("request", r.Method+" "+r.URL.Path).Msg("control request failed")
			}
			writeError(w, err)
			return
		}
		status := http.StatusOK
		if r.Method == "POST" && rt.pattern == "/v1/ports" {
			status = http.StatusCreated
		}
		writeJSON(w, status, out)
	})
}

func (s *Server) mayChange(r *http.Request) error {
	p, ok := peerOf(r.Context())
	if !ok {
		return fail(http.StatusForbidden, "%s %s: the caller's credentials are unknown", r.Method, r.URL.Path)
	}
	if !s.policy.mayChange(p) {
		return fail(http.StatusForbidden, "%s %s: uid %d may only read; changing ports needs %s", r.Method, r.URL.Path, p.UID, s.policy.who())
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(Error{Message: "encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ae *apiError
	if errors.As(err, &ae) {
		status = ae.status
	}
	writeJSON(w, status, Error{Message: err.Error()})
}

// decode reads a request's JSON body into v: one value, no unknown
// fields, at most MaxBody bytes.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return fail(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", mbe.Limit)
	case err != nil:
		return fail(http.StatusBadRequest, "reading the request body: %v", err)
	case len(bytes.TrimSpace(body)) == 0:
		return fail(http.StatusBadRequest, "%s %s needs a JSON body", r.Method, r.URL.Path)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fail(http.StatusBadRequest, "malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(http.StatusBadRequest, "malformed JSON body: unexpected data after the JSON value")
	}
	return nil
}

// longRequest lifts the request's read deadline once its body is read:
// a wait, a break or a trace outlasts ReadTimeout, and the deadline
// would otherwise end it.
func longRequest(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
}

// port finds the port a request names.
func (s *Server) port(r *http.Request) (*daemon.Port, error) {
	name := r.PathValue("name")
	if p, ok := s.d.Port(name); ok {
		return p, nil
	}
	names := make([]string, 0)
	for _, p := range s.d.Ports() {
		names = append(names, p.Name)
	}
	known := strings.Join(names, ", ")
	if known == "" {
		known = "none"
	}
	return nil, fail(http.StatusNotFound, "unknown port %q (ports: %s)", name, known)
}

// portBody finds the port a request names and decodes its body into v.
func (s *Server) portBody(w http.ResponseWriter, r *http.Request, v any) (*daemon.Port, error) {
	p, err := s.port(r)
	if err != nil {
		return nil, err
	}
	return p, decode(w, r, v)
}

// call sends an IOCTL to a port's device and returns its output. A
// failure says what the driver said, with the status that fits it: a
// request the removal of its port cancelled is 410, as after it.
func (s *Server) call(ctx context.Context, p *daemon.Port, code ioctl.Code, input any) (any, error) {
	irp := driver.NewIoctl(code, input)
	st, err := p.Device().Call(ctx, irp)
	if err == nil {
		return irp.Output(), nil
	}
	msg := err.Error()
	if out, ok := irp.Output().(error); ok {
		msg = fmt.Sprintf("%s: %s: %v", p.Name, code, out)
		err = out
	}
	switch {
	case errors.Is(err, driver.ErrWireDriven):
		return nil, fail(http.StatusConflict, "%s", msg)
	case st == driver.StatusInvalidParameter:
		return nil, fail(http.StatusBadRequest, "%s", msg)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, fail(http.StatusServiceUnavailable, "%s: %s: %v", p.Name, code, err)
	case st == driver.StatusDeviceRemoved, st == driver.StatusCancelled && s.removed(p):
		return nil, fail(http.StatusGone, "port %s was removed", p.Name)
	case st == driver.StatusCancelled:
		// The driver's error gate (SERIAL_ERROR_ABORT) or a purge: the
		// port's state refuses the request until its program acts.
		return nil, fail(http.StatusConflict, "%s: cancelled by the driver", msg)
	case st == driver.StatusInvalidDeviceRequest:
		return nil, fail(http.StatusBadRequest, "%s", msg)
	}
	return nil, fmt.Errorf("%s: %s: %w", p.Name, code, err)
}

// removed reports whether p is no longer the daemon's port of its name.
func (s *Server) removed(p *daemon.Port) bool {
	q, ok := s.d.Port(p.Name)
	return !ok || q != p
}

// describe builds a port's Port from its state.
func (s *Server) describe(ctx context.Context, p *daemon.Port) (Port, error) {
	out, err := s.call(ctx, p, ioctl.GetPortState, nil)
	if err != nil {
		return Port{}, err
	}
	st := out.(ioctl.PortState)
	d := Port{
		Name:    p.Name,
		Link:    p.Link,
		PTY:     p.Path(),
		Wiring:  string(p.Spec.Kind),
		Peer:    p.Peer,
		Timing:  string(p.Spec.Timing),
		Framing: st.Line.String(),
		State:   st,
	}
	if pty := p.PTY(); pty != nil {
		d.Open, _ = pty.State()
		if d.Open {
			d.PIDs = openers(p.Path())
		}
	}
	describeNetwork(&d, p, s.d.Config())
	return d, nil
}

// openers lists the processes other than this one that have path open,
// from /proc: those whose files it may read (all, for root).
func openers(path string) []int {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		fdDir := filepath.Join("/proc", e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if t, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && t == path {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) (any, error) {
	ports := s.d.Ports()
	out := make([]Port, 0, len(ports))
	for _, p := range ports {
		d, err := s.describe(r.Context(), p)
		if gone(err) {
			continue // removed while we listed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := s.port(r)
	if err != nil {
		return nil, err
	}
	return s.describe(r.Context(), p)
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := s.port(r)
	if err != nil {
		return nil, err
	}
	return s.call(r.Context(), p, ioctl.GetStats, nil)
}

func (s *Server) add(w http.ResponseWriter, r *http.Request) (any, error) {
	var req AddRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	opts := config.NewPorts{Timing: config.Timing(req.Timing)}
	var names []string
	var edit func(*config.Config) (*config.Config, error)
	kinds := 0
	for _, given := range []bool{len(req.Pair) > 0, req.Loopback != "", req.Connect != nil} {
		if given {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return nil, fail(http.StatusBadRequest, `give one of "pair", "loopback" and "connect"`)
	case req.Connect != nil:
		names = []string{req.Connect.Name}
		opts.NoRestart = req.Connect.Restart != nil && !*req.Connect.Restart
		opts.Replay = config.ReplayOptions{Pace: req.Connect.Pace, OnMismatch: req.Connect.OnMismatch}
		edit = func(c *config.Config) (*config.Config, error) {
			return c.WithConnect(req.Connect.Name, req.Connect.Address, opts)
		}
	case len(req.Pair) == 2:
		names = req.Pair
		edit = func(c *config.Config) (*config.Config, error) { return c.WithPair(req.Pair[0], req.Pair[1], opts) }
	case len(req.Pair) > 0:
		return nil, fail(http.StatusBadRequest, `"pair" needs two names, got %d`, len(req.Pair))
	case req.Loopback != "":
		names = []string{req.Loopback}
		edit = func(c *config.Config) (*config.Config, error) { return c.WithLoopback(req.Loopback, opts) }
	default:
		return nil, fail(http.StatusBadRequest, `give "pair": ["A", "B"], "loopback": "NAME" or "connect": {"name": "NAME", "address": "rfc2217://HOST:PORT"}`)
	}
	// The checks are made on the running config under the daemon's lock:
	// of two adds of one name at once, the second is told it exists.
	err := s.d.Edit(func(c *config.Config) (*config.Config, error) {
		for _, n := range names {
			if _, ok := c.PortByName(n); ok {
				return nil, fail(http.StatusConflict, "port %q exists already", n)
			}
		}
		n, err := edit(c)
		if err != nil {
			return nil, fail(http.StatusBadRequest, "%v", err)
		}
		return n, nil
	})
	if err != nil {
		return nil, s.addFailed(err, names)
	}
	out := make([]Port, 0, len(names))
	for _, n := range names {
		p, ok := s.d.Port(n)
		if !ok {
			continue // removed already
		}
		d, err := s.describe(r.Context(), p)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	s.log.Info().Strs("ports", names).Msg("added through the control socket")
	return out, nil
}

// addFailed is the answer to an add the daemon could not carry out though
// the config allowed it: something in the link's place that vcomd did not
// make, or no pty to be had. The host's state refuses it, so the client
// hears why, and nothing was added.
func (s *Server) addFailed(err error, names []string) error {
	if ae := (*apiError)(nil); errors.As(err, &ae) {
		return err
	}
	what := strings.Join(names, ", ")
	s.log.Warn().Err(err).Str("ports", what).Msg("control: adding failed")
	if errors.Is(err, daemon.ErrLinkInUse) {
		return fail(http.StatusConflict, "adding %s: %v; remove it or name the port otherwise", what, err)
	}
	return fail(http.StatusConflict, "adding %s: the daemon could not create it: %v", what, err)
}

// gone reports whether err is a port's having been removed meanwhile.
func gone(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.status == http.StatusGone
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := s.port(r)
	if err != nil {
		return nil, err
	}
	pair := r.URL.Query().Get("pair")
	withPair := pair == "1" || pair == "true"
	var gone []string
	var bad error
	err = s.d.Edit(func(c *config.Config) (*config.Config, error) {
		n, err := c.Without(p.Name, withPair)
		bad = err
		if err == nil {
			for _, q := range c.Ports {
				if _, ok := n.PortByName(q.Name); !ok {
					gone = append(gone, q.Name)
				}
			}
		}
		return n, err
	})
	switch {
	case errors.Is(bad, config.ErrServed):
		return nil, fail(http.StatusConflict, "%v (vcomctl unserve %s)", bad, p.Name)
	case errors.Is(bad, config.ErrInPair):
		return nil, fail(http.StatusConflict, "%v: remove both ends (vcomctl remove --pair %s, or DELETE with ?pair=1)", bad, p.Name)
	case bad != nil:
		return nil, fail(http.StatusNotFound, "%v", bad)
	case err != nil:
		return nil, fmt.Errorf("removing %s: %w", p.Name, err)
	}
	s.log.Info().Strs("ports", gone).Msg("removed through the control socket")
	return Done{Port: p.Name, Message: "removed " + strings.Join(gone, ", ")}, nil
}

func (s *Server) modem(w http.ResponseWriter, r *http.Request) (any, error) {
	var req ModemRequest
	p, err := s.portBody(w, r, &req)
	if err != nil {
		return nil, err
	}
	var mi ioctl.ModemInputs
	for _, in := range []struct {
		v   *bool
		bit uint8
	}{{req.CTS, ioctl.MSRCTS}, {req.DSR, ioctl.MSRDSR}, {req.RI, ioctl.MSRRI}, {req.DCD, ioctl.MSRDCD}} {
		if in.v != nil {
			mi.Mask |= in.bit
			if *in.v {
				mi.Value |= in.bit
			}
		}
	}
	if mi.Mask == 0 && req.DTR == nil && req.RTS == nil {
		return nil, fail(http.StatusBadRequest, "name at least one of cts, dsr, ri, dcd, dtr, rts")
	}
	// Inputs first: the request most likely refused (a pin the wire
	// drives) then changes nothing.
	var done []string
	if mi.Mask != 0 {
		if _, err := s.call(r.Context(), p, ioctl.SetModemInputs, mi); err != nil {
			return nil, err
		}
		done = append(done, mi.String())
	}
	for _, out := range []struct {
		v       *bool
		on, off ioctl.Code
		name    string
	}{{req.DTR, ioctl.SetDTR, ioctl.ClrDTR, "DTR"}, {req.RTS, ioctl.SetRTS, ioctl.ClrRTS, "RTS"}} {
		if out.v == nil {
			continue
		}
		code := out.off
		if *out.v {
			code = out.on
		}
		if _, err := s.call(r.Context(), p, code, nil); err != nil {
			return nil, err
		}
		done = append(done, out.name+"="+onOff(*out.v))
	}
	settle(r.Context(), p)
	return Done{Port: p.Name, Message: strings.Join(done, " ")}, nil
}

// settle waits, briefly, until the wire has carried what the request did to
// the port's pins, so that a status of the far end asked for next shows
// it, as a real cable would at once. The change is made either way: a far
// end whose line waits for a reader may hold it back.
func settle(ctx context.Context, p *daemon.Port) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_ = p.Device().Delivered(ctx)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (s *Server) line(w http.ResponseWriter, r *http.Request) (any, error) {
	var req LineRequest
	p, err := s.portBody(w, r, &req)
	if err != nil {
		return nil, err
	}
	lc, err := ioctl.ParseLineControl(req.Framing)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "%v", err)
	}
	if _, err := s.call(r.Context(), p, ioctl.SetLineControl, lc); err != nil {
		return nil, err
	}
	return Done{Port: p.Name, Message: lc.String()}, nil
}

func (s *Server) sendBreak(w http.ResponseWriter, r *http.Request) (any, error) {
	var req BreakRequest
	p, err := s.portBody(w, r, &req)
	if err != nil {
		return nil, err
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil || d <= 0 || d > MaxBreak {
		return nil, fail(http.StatusBadRequest, "duration %q: want a duration from 1ns to %s, like 250ms", req.Duration, MaxBreak)
	}
	longRequest(w)
	if _, err := s.call(r.Context(), p, ioctl.SetBreakOn, nil); err != nil {
		return nil, err
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-r.Context().Done():
		t.Stop()
	}
	// The break ends even when the caller went away: a line left at
	// space would hold the far end in a break for ever.
	if _, err := s.call(context.WithoutCancel(r.Context()), p, ioctl.SetBreakOff, nil); err != nil {
		return nil, err
	}
	settle(r.Context(), p)
	return Done{Port: p.Name, Message: "sent a break of " + d.String()}, nil
}

func (s *Server) inject(w http.ResponseWriter, r *http.Request) (any, error) {
	var inj ioctl.Injection
	p, err := s.portBody(w, r, &inj)
	if err != nil {
		return nil, err
	}
	if err := inj.Validate(); err != nil {
		return nil, fail(http.StatusBadRequest, "%v", err)
	}
	if _, err := s.call(r.Context(), p, ioctl.Inject, inj); err != nil {
		return nil, err
	}
	return inj, nil
}

func (s *Server) wait(w http.ResponseWriter, r *http.Request) (any, error) {
	var req WaitRequest
	p, err := s.portBody(w, r, &req)
	if err != nil {
		return nil, err
	}
	mask, err := ioctl.ParseWaitMask(req.Events)
	if err != nil || mask == 0 {
		return nil, fail(http.StatusBadRequest, "events %q: want SERIAL_EV_ names such as RXCHAR, CTS, DSR, RLSD, BREAK, ERR, RING", req.Events)
	}
	ctx := r.Context()
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 {
			return nil, fail(http.StatusBadRequest, "timeout %q: want a positive duration, like 5s", req.Timeout)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if srv := p.Server(); srv != nil && srv.OwnsWaitMask() {
		// Its client's modem and line notifications come from the
		// device's one wait mask; a wait here would take it.
		return nil, fail(http.StatusConflict, "%s: the wait mask is the network client's (%s) while it is connected", p.Name, srv.State().Client)
	}
	dev := p.Device()
	s.mu.Lock()
	busy := s.waiting[dev]
	s.waiting[dev] = true
	s.mu.Unlock()
	if busy {
		return nil, fail(http.StatusConflict, "%s: a wait is already pending (a port has one wait at a time)", p.Name)
	}
	defer func() {
		s.mu.Lock()
		delete(s.waiting, dev)
		s.mu.Unlock()
	}()
	longRequest(w)
	if _, err := s.call(ctx, p, ioctl.SetWaitMask, mask); err != nil {
		return nil, err
	}
	out, err := s.call(ctx, p, ioctl.WaitOnMask, nil)
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			return WaitResult{TimedOut: true}, nil
		}
		return nil, err
	}
	fired, _ := out.(uint32)
	return WaitResult{Events: ioctl.WaitMask(fired).String(), Mask: fired}, nil
}

func (s *Server) purge(w http.ResponseWriter, r *http.Request) (any, error) {
	var req PurgeRequest
	p, err := s.portBody(w, r, &req)
	if err != nil {
		return nil, err
	}
	var m ioctl.PurgeMask
	switch req.What {
	case "rx":
		m = ioctl.PurgeRxAbort | ioctl.PurgeRxClear
	case "tx":
		m = ioctl.PurgeTxAbort | ioctl.PurgeTxClear
	case "all":
		m = ioctl.PurgeAll
	default:
		return nil, fail(http.StatusBadRequest, "what %q: want rx, tx or all", req.What)
	}
	if _, err := s.call(r.Context(), p, ioctl.Purge, m); err != nil {
		return nil, err
	}
	return Done{Port: p.Name, Message: "purged " + m.String()}, nil
}

// trace streams trace lines until the caller goes or the server closes.
func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	if r.Method != "GET" {
		w.Header().Set("Allow", "GET")
		writeError(w, fail(http.StatusMethodNotAllowed, "%s %s: method not allowed (allowed: GET)", r.Method, r.URL.Path))
		return
	}
	if s.hub == nil {
		writeError(w, fail(http.StatusNotFound, "this server has no trace"))
		return
	}
	port := r.URL.Query().Get("port")
	if port != "" {
		if _, ok := s.d.Port(port); !ok {
			r.SetPathValue("name", port)
			_, err := s.port(r)
			writeError(w, err)
			return
		}
	}
	longRequest(w)
	sub := s.hub.Subscribe(port, traceDepth)
	defer sub.Close()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	enc := json.NewEncoder(w)
	var lines []TraceLine
	for {
		var err error
		// A busy port's events go out in batches, one flush each.
		if lines, err = sub.Next(r.Context(), lines[:0]); err != nil {
			return
		}
		for _, l := range lines {
			if enc.Encode(l) != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}
