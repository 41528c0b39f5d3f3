// Package daemon runs a set of virtual ports as a config.Config describes
// them. Each port is a front (what a program opens: a pty with a link to
// it, or a network server), a device (driver and chip) and a wire (what
// the UART's pins reach: its pair's other end, a loopback plug, a remote
// server). It picks the front and the wire of each port, and adds and
// removes ports at run time without disturbing the others.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/netfront"
	"github.com/vcomd/vcomd/ptyfront"
	"github.com/vcomd/vcomd/uart16550"
	"github.com/vcomd/vcomd/wire"
)

// Daemon is a running set of ports.
type Daemon struct {
	log     zerolog.Logger
	watcher *ptyfront.Watcher
	epoch   time.Time
	trace   func(driver.TraceEvent)
	traceOn func() bool

	mu    sync.Mutex
	cfg   *config.Config
	ports map[string]*Port // by name
}

// Port is one running port.
type Port struct {
	Name string
	Link string // the symlink, DIR/Name unless configured; empty for a served port
	Peer string // the other end's name; empty unless a pair's end
	Spec config.Port

	dev    *driver.Device
	front  Front
	pty    *ptyfront.Port   // the front, when it is a pty
	server *netfront.Server // the front, when the port is served
	conn   Connection       // the wire, for a connect port
}

// Connection is a connect port's wire: a remote server or a device program
// (wire.Exec), and next a device or a recording. Its state is its own
// type's (control shows each kind's).
type Connection interface {
	// String names what the wire reaches: "rfc2217://host:port".
	String() string
	Close()
}

// Front is what a program reaches a port through: a pty or a network
// server.
type Front interface {
	// String is the pty's path or the address served.
	String() string
	Close() error
}

// Path is the pty slave the link points to; "" for a served port.
func (p *Port) Path() string {
	if p.pty == nil {
		return ""
	}
	return p.pty.Path()
}

// Device is the driver device behind the port.
func (p *Port) Device() *driver.Device { return p.dev }

// Front is the port's front.
func (p *Port) Front() Front { return p.front }

// PTY is the port's pty front; nil for a served port.
func (p *Port) PTY() *ptyfront.Port { return p.pty }

// Server is the port's network front; nil unless the port is served.
func (p *Port) Server() *netfront.Server { return p.server }

// Connection is a connect port's wire; nil for the other kinds.
func (p *Port) Connection() Connection { return p.conn }

// Options configure a daemon beyond its config.
type Options struct {
	Logger zerolog.Logger
	// Trace, if set, sees every request on every port.
	Trace func(driver.TraceEvent)
	// TraceEnabled, if set, says whether Trace wants events now (see
	// driver.Options.TraceEnabled).
	TraceEnabled func() bool
}

// New creates the directory and every port of cfg. On error nothing is
// left behind.
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	if err := makeDir(cfg.Dir); err != nil {
		return nil, err
	}
	w, err := ptyfront.NewWatcher()
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		log:     opts.Logger,
		watcher: w,
		epoch:   time.Now(),
		trace:   opts.Trace,
		traceOn: opts.TraceEnabled,
		cfg:     &config.Config{Dir: cfg.Dir},
		ports:   make(map[string]*Port),
	}
	if err := d.Apply(cfg); err != nil {
		d.Close(context.Background())
		return nil, err
	}
	return d, nil
}

// makeDir creates the links' directory, or checks that an existing one is
// a directory and not a link someone planted.
func makeDir(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		mode := os.FileMode(0o755)
		if filepath.Dir(dir) == filepath.Clean(os.TempDir()) {
			mode = 0o700 // a private directory in a shared place
		}
		if err := os.MkdirAll(dir, mode); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("directory %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("directory %s: exists and is not a directory", dir)
	case filepath.Dir(dir) == filepath.Clean(os.TempDir()):
		// In a shared place, someone else may have made it first.
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && (int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o077 != 0) {
			return fmt.Errorf("directory %s: must belong to uid %d with mode 0700, found uid %d mode %04o", dir, os.Geteuid(), st.Uid, fi.Mode().Perm())
		}
	}
	return nil
}

// Ports lists the running ports by name.
func (d *Daemon) Ports() []*Port {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*Port, 0, len(d.ports))
	for _, p := range d.ports {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Port) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// Port returns a running port by name.
func (d *Daemon) Port(name string) (*Port, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.ports[name]
	return p, ok
}

// wiring is how a port is connected: its peer's name, "" for a loopback
// plug, or the remote's address for a connect port.
type wiring map[string]string

func wiringOf(cfg *config.Config) wiring {
	w := wiring{}
	for _, pr := range cfg.Pairs {
		w[pr[0]], w[pr[1]] = pr[1], pr[0]
	}
	for _, name := range cfg.Loopbacks {
		w[name] = ""
	}
	for _, name := range cfg.Connects {
		p, _ := cfg.PortByName(name)
		w[name] = p.Connect
	}
	return w
}

// sameServe reports whether name is served the same way by a and b, or
// by neither.
func sameServe(a, b *config.Config, name string) bool {
	sa, oka := a.ServeOf(name)
	sb, okb := b.ServeOf(name)
	return oka == okb && sa.Address == sb.Address && sa.Handover == sb.Handover && slices.Equal(sa.Allow, sb.Allow)
}

// Apply makes the running ports those of cfg: ports that are gone or whose
// settings or wiring changed are removed, new ones created; the others
// are not touched. On error the ports created by this call are removed
// again and the others are left as they were.
func (d *Daemon) Apply(cfg *config.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.applyLocked(cfg)
}

// Edit applies what edit makes of the running config (a copy it may
// keep), as Apply does; nothing can change the config in between.
func (d *Daemon) Edit(edit func(*config.Config) (*config.Config, error)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	next, err := edit(d.cfg)
	if err != nil {
		return err
	}
	return d.applyLocked(next)
}

// Config is the running config. The caller must not change it.
func (d *Daemon) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

func (d *Daemon) applyLocked(cfg *config.Config) error {
	if cfg.Dir != d.cfg.Dir && len(d.ports) > 0 {
		return fmt.Errorf("dir: cannot move from %s to %s while running", d.cfg.Dir, cfg.Dir)
	}
	old, next := wiringOf(d.cfg), wiringOf(cfg)
	keep := func(name string) bool {
		peer, ok := next[name]
		if !ok || peer != old[name] {
			return false
		}
		a, _ := d.cfg.PortByName(name)
		b, _ := cfg.PortByName(name)
		if a != b || !sameServe(d.cfg, cfg, name) {
			return false
		}
		if b.Kind == config.KindPair {
			pa, _ := d.cfg.PortByName(peer)
			pb, _ := cfg.PortByName(peer)
			return pa == pb
		}
		return true
	}
	for name := range d.ports {
		if !keep(name) {
			d.removeLocked(name)
		}
	}
	var created []string
	fail := func(err error) error {
		for _, name := range created {
			d.removeLocked(name)
		}
		return err
	}
	for _, spec := range cfg.Ports {
		if _, ok := d.ports[spec.Name]; ok {
			continue
		}
		p, err := d.createLocked(cfg, spec)
		if err != nil {
			return fail(fmt.Errorf("port %q: %w", spec.Name, err))
		}
		d.ports[spec.Name] = p
		created = append(created, spec.Name)
	}
	for _, name := range created {
		d.wireLocked(cfg, d.ports[name], next, created)
	}
	d.cfg = cfg
	for _, name := range created {
		p := d.ports[name]
		ev := d.log.Info().Str("port", name).Str("front", p.front.String())
		if p.Link != "" {
			ev = ev.Str("link", p.Link)
		}
		if p.Peer != "" {
			ev = ev.Str("peer", p.Peer)
		}
		if p.conn != nil {
			ev = ev.Str("connect", p.conn.String())
		}
		ev.Msg("port created")
	}
	return nil
}

// wireLocked connects a new port's pins: to a loopback plug, to its pair's
// other end (once, from the end created first or beside an end that was
// already running), or to a remote server. Two pty fronts wired together
// order their programs' opens and settings before data (ptyfront.SetPeer).
func (d *Daemon) wireLocked(cfg *config.Config, p *Port, next wiring, created []string) {
	peer, ok := next[p.Name]
	switch {
	case !ok:
	case p.Spec.Kind == config.KindConnect:
		// Wired at its creation (connect).
	case p.Spec.Kind == config.KindLoopback:
		wire.Plug(p.dev, wire.Options{})
		if p.pty != nil {
			p.pty.SetPeer(p.pty)
		}
	case p.Name < peer || !slices.Contains(created, peer):
		q, ok := d.ports[peer]
		if !ok {
			return
		}
		p.Peer, q.Peer = peer, p.Name
		wire.Connect(p.dev, q.dev, wire.Options{CheckFraming: cfg.FramingErrors})
		for _, e := range [][2]*Port{{p, q}, {q, p}} {
			from, to := e[0], e[1]
			switch {
			case to.pty == nil:
			case from.pty != nil:
				from.pty.SetPeer(to.pty)
			case from.server != nil:
				from.server.SetPeer(to.pty.Settle)
			}
		}
	}
}

// createLocked builds one port: device, pty and link.
func (d *Daemon) createLocked(cfg *config.Config, spec config.Port) (*Port, error) {
	instant := spec.Timing == config.TimingOff
	depth := spec.FIFODepth
	if instant {
		// Depth only matters for timing; at timing off a deep FIFO saves
		// interrupts.
		depth = 4096
	}
	lc, err := lineControl(spec)
	if err != nil {
		return nil, err
	}
	dev := driver.New(driver.Options{
		Name:         spec.Name,
		FIFODepth:    depth,
		Instant:      instant,
		DataBits:     lc.WordLength,
		Parity:       uart16550.Parity(lc.Parity),
		Epoch:        d.epoch,
		Logger:       d.log,
		Trace:        d.trace,
		TraceEnabled: d.traceOn,
	})
	if _, err := dev.Call(context.Background(), driver.NewIoctl(ioctl.SetLineControl, lc)); err != nil {
		dev.Close()
		return nil, err
	}
	p := &Port{Name: spec.Name, Spec: spec, dev: dev}
	if spec.Kind == config.KindConnect {
		if err := d.connect(p); err != nil {
			dev.Close()
			return nil, err
		}
	}
	if s, ok := cfg.ServeOf(spec.Name); ok {
		err = d.serve(p, s)
	} else {
		err = d.openPTY(cfg, p)
	}
	if err != nil {
		if p.conn != nil {
			p.conn.Close()
		}
		dev.Close()
		return nil, err
	}
	return p, nil
}

// connect wires a connect port to what its target names.
func (d *Daemon) connect(p *Port) error {
	t, err := config.ParseTarget(p.Spec.Connect)
	if err != nil {
		return err
	}
	switch t.Kind {
	case config.TargetRFC2217, config.TargetSocket:
		p.conn = wire.DialRemote(p.dev, t.Addr, wire.RemoteOptions{Raw: t.Kind == config.TargetSocket, Logger: d.log})
		return nil
	case config.TargetExec:
		// The control socket is Dir's whatever the ports (Dir cannot move
		// while any run), and the child drives DCD and RI through it.
		p.conn = wire.StartExec(p.dev, t.Command, wire.ExecOptions{
			Logger:    d.log,
			Socket:    filepath.Join(d.cfg.Dir, config.SocketName),
			NoRestart: !p.Spec.ExecRestart,
		})
		return nil
	case config.TargetReplay:
		// The whole recording is read and checked here: a malformed one,
		// or one of another port, refuses the port with its file and line.
		r, err := wire.OpenReplay(p.dev, t.Path, wire.ReplayOptions{
			Instant: p.Spec.Replay.Instant(),
			Resync:  p.Spec.Replay.Resync(),
			Logger:  d.log,
		})
		if err != nil {
			return fmt.Errorf("connect %q: %w", p.Spec.Connect, err)
		}
		p.conn = r
		return nil
	case config.TargetDevice:
		a, err := wire.OpenAdapter(p.dev, t.Path, wire.AdapterOptions{Logger: d.log})
		if err != nil {
			return fmt.Errorf("connect %q: %w", p.Spec.Connect, err)
		}
		p.conn = a
		return nil
	}
	return fmt.Errorf("connect %q: no wire reaches a %s target", p.Spec.Connect, t.Kind)
}

// serve makes a network server p's front.
func (d *Daemon) serve(p *Port, s config.Serve) error {
	srv, err := netfront.Listen(p.dev, s.Addr, netfront.Options{
		Raw:      s.Raw,
		Allow:    s.Allow,
		Handover: s.Handover,
		Logger:   d.log,
	})
	if err != nil {
		return fmt.Errorf("serve %s: %w", s.Address, err)
	}
	p.front, p.server = srv, srv
	return nil
}

// openPTY makes a pty, with its link, p's front.
func (d *Daemon) openPTY(cfg *config.Config, p *Port) error {
	uid, gid, err := owner(p.Spec)
	if err != nil {
		return err
	}
	pty, err := ptyfront.Open(p.dev, d.watcher, ptyfront.Options{Mode: p.Spec.Mode, UID: uid, GID: gid, Logger: d.log})
	if err != nil {
		return err
	}
	link := p.Spec.Link
	if link == "" {
		link = filepath.Join(cfg.Dir, p.Spec.Name)
	}
	if err := makeLink(pty.Path(), link); err != nil {
		pty.Close()
		return err
	}
	p.front, p.pty, p.Link = pty, pty, link
	return nil
}

// lineControl is the framing a port starts with.
func lineControl(spec config.Port) (ioctl.LineControl, error) {
	lc := ioctl.LineControl{WordLength: spec.DataBits, StopBits: ioctl.StopBit1}
	if lc.WordLength == 0 {
		lc.WordLength = 8
	}
	switch spec.Parity {
	case "", "none":
		lc.Parity = ioctl.NoParity
	case "odd":
		lc.Parity = ioctl.OddParity
	case "even":
		lc.Parity = ioctl.EvenParity
	case "mark":
		lc.Parity = ioctl.MarkParity
	case "space":
		lc.Parity = ioctl.SpaceParity
	default:
		return lc, fmt.Errorf("parity %q: want none, odd, even, mark or space", spec.Parity)
	}
	switch spec.StopBits {
	case "", "1":
	case "1.5":
		lc.StopBits = ioctl.StopBits1_5
	case "2":
		lc.StopBits = ioctl.StopBits2
	default:
		return lc, fmt.Errorf("stop_bits %q: want 1, 1.5 or 2", spec.StopBits)
	}
	return lc, lc.Validate()
}

// owner resolves the slave's owner and group: the configured ones, else,
// when running as root, group dialout where it exists, as real serial
// ports have.
func owner(spec config.Port) (uid, gid int, err error) {
	uid, gid = -1, -1
	if spec.Owner != "" {
		if uid, err = strconv.Atoi(spec.Owner); err != nil {
			u, lerr := user.Lookup(spec.Owner)
			if lerr != nil {
				return 0, 0, fmt.Errorf("owner %q: %w", spec.Owner, lerr)
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
	}
	gid, err = GroupID(spec.Group)
	if err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

// GroupID resolves the group of a port's pty or of the control socket:
// a name or a numeric gid; "" means group dialout where it exists when
// running as root, and otherwise -1 (leave the group as it is).
func GroupID(group string) (int, error) {
	if group == "" {
		// Only root may give a file to a group it is not in; a user's
		// daemon leaves its files theirs.
		if _, err := user.LookupGroup("dialout"); err != nil || os.Geteuid() != 0 {
			return -1, nil
		}
		group = "dialout"
	}
	gid, err := strconv.Atoi(group)
	if err != nil {
		g, lerr := user.LookupGroup(group)
		if lerr != nil {
			return 0, fmt.Errorf("group %q: %w", group, lerr)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return gid, nil
}

// ErrLinkInUse is wrapped by the error of a port whose link's place holds
// something that is not a symlink: a file vcomd did not make, left alone.
var ErrLinkInUse = errors.New("exists and is not a symlink")

// makeLink points link at target atomically: a symlink under a temporary
// name, renamed over link. rename(2) replaces a link without following
// it; anything at link that is not a symlink is left alone and refused.
func makeLink(target, link string) error {
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("link %s: %w", link, ErrLinkInUse)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", link, os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s: %w", link, err)
	}
	return nil
}

// removeLink removes link if it still points at target: a link someone
// else has since put there is theirs.
func removeLink(target, link string) {
	if got, err := os.Readlink(link); err == nil && got == target {
		os.Remove(link)
	}
}

// removeLocked ends a port and its wiring.
func (d *Daemon) removeLocked(name string) {
	p, ok := d.ports[name]
	if !ok {
		return
	}
	delete(d.ports, name)
	if q, ok := d.ports[p.Peer]; ok && q.Peer == name {
		q.dev.SetWire(nil)
		q.Peer = ""
	}
	if p.pty != nil {
		removeLink(p.Path(), p.Link)
	}
	p.front.Close()
	if p.conn != nil {
		p.dev.SetWire(nil)
		p.conn.Close()
	}
	p.dev.Close()
	d.log.Info().Str("port", name).Msg("port removed")
}

// Close lets data in flight finish until ctx ends, then removes every port
// and its link.
func (d *Daemon) Close(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range d.ports {
		wg.Go(func() {
			_, _ = p.dev.Call(ctx, &driver.IRP{Major: driver.MajorFlush})
		})
	}
	wg.Wait()
	for name := range d.ports {
		d.removeLocked(name)
	}
	d.watcher.Close()
}
