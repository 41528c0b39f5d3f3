// Command vcomd gives Linux programs serial ports without hardware: each
// port is a pty behind an emulated 16550A, wired to a null-modem peer or a
// loopback plug. See the README for the flags and config file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/daemon"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		os.Exit(runCommand(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the daemon's life: exit status 2 for bad flags or config (and
// nothing created), 1 when the ports cannot be created, 0 after a clean
// stop.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, log, code := setup("vcomd", "", args, stdout, stderr)
	if cfg == nil {
		return code
	}
	// Signals are caught before the ports are announced, so that whoever
	// waits for the announcement may signal at once.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sig)
	var hub control.Hub
	st, err := start(cfg, log, &hub)
	if err != nil {
		fmt.Fprintf(stderr, "vcomd: %v\n", err)
		return 1
	}
	d := st.d
	for _, p := range d.Ports() {
		fmt.Fprintf(stdout, "%s\t%s\t(%s)\n", p.Name, announce(p), wiringText(p))
	}
	_, _ = sddaemon.SdNotify(false, sddaemon.SdNotifyReady)

	for s := range sig {
		if s == syscall.SIGHUP {
			reload(d, args, log)
			continue
		}
		_, _ = sddaemon.SdNotify(false, sddaemon.SdNotifyStopping)
		st.stop()
		log.Info().Str("signal", s.String()).Msg("stopped")
		return 0
	}
	return 0
}

// setup parses the flags and config file of the daemon or of `vcomd
// run` (prog) and makes the logger. A nil config means stop with code: 0
// after -h (usage first, then the port flags), 2 for bad input.
func setup(prog, usage string, args []string, stdout, stderr io.Writer) (*config.Config, zerolog.Logger, int) {
	cfg, err := config.Parse(args, os.Getenv, os.Geteuid() == 0)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		config.Usage(stdout)
		return nil, zerolog.Logger{}, 0
	}
	var log zerolog.Logger
	if err == nil {
		log, err = logger(cfg, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return nil, zerolog.Logger{}, 2
	}
	return cfg, log, 0
}

// started is a daemon whose ports and control socket are up.
type started struct {
	d   *daemon.Daemon
	srv *control.Server
	log zerolog.Logger
}

// start makes cfg's ports, tracing into hub, and opens the control
// socket in cfg.Dir; on error nothing it made is left.
func start(cfg *config.Config, log zerolog.Logger, hub *control.Hub) (*started, error) {
	// Before any port: a second daemon on this directory would take over
	// the first one's links.
	socket := filepath.Join(cfg.Dir, control.SocketName)
	if err := control.CheckSocket(socket); err != nil {
		return nil, err
	}
	d, err := daemon.New(cfg, daemon.Options{Logger: log, Trace: hub.Publish, TraceEnabled: hub.Enabled})
	if err != nil {
		return nil, err
	}
	srv, err := control.NewServer(d, control.Options{Socket: cfg.Socket, Hub: hub, Logger: log})
	if err == nil {
		err = srv.Listen(socket)
	}
	if err != nil {
		d.Close(context.Background())
		return nil, err
	}
	return &started{d: d, srv: srv, log: log}, nil
}

// stop closes the control socket and removes the ports and their links.
func (s *started) stop() {
	// Data in flight gets a second to finish, as a serial port's close
	// would give it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Close(ctx); err != nil {
		s.log.Warn().Err(err).Msg("control socket")
	}
	s.d.Close(ctx)
}

// reload re-reads the flags and config file and applies the difference;
// a bad config is reported and changes nothing.
func reload(d *daemon.Daemon, args []string, log zerolog.Logger) {
	_, _ = sddaemon.SdNotify(false, sddaemon.SdNotifyReloading)
	defer sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
	cfg, err := config.Parse(args, os.Getenv, os.Geteuid() == 0)
	if err == nil {
		err = d.Apply(cfg)
	}
	if err != nil {
		log.Error().Err(err).Msg("reload refused; ports unchanged")
		return
	}
	log.Info().Int("ports", len(d.Ports())).Msg("reloaded")
}

// logger builds the zerolog logger: console on a terminal, JSON otherwise,
// unless the config says which.
func logger(cfg *config.Config, w io.Writer) (zerolog.Logger, error) {
	level := zerolog.InfoLevel
	if cfg.LogLevel != "" {
		l, err := zerolog.ParseLevel(cfg.LogLevel)
		if err != nil {
			return zerolog.Logger{}, fmt.Errorf("--log-level %q: %w", cfg.LogLevel, err)
		}
		level = l
	}
	console := cfg.LogFormat == "console"
	if cfg.LogFormat == "" || cfg.LogFormat == "auto" {
		f, ok := w.(*os.File)
		console = ok && isatty.IsTerminal(f.Fd())
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

// announce is what a program opens to reach p: its link and pty, or the
// address it is served at.
func announce(p *daemon.Port) string {
	if p.Link == "" {
		return "served at " + p.Front().String()
	}
	return p.Link + " -> " + p.Path()
}

// wiringText is what p's pins reach, as vcomd prints it at start.
func wiringText(p *daemon.Port) string {
	switch {
	case p.Peer != "":
		return "pair with " + p.Peer
	case p.Connection() != nil:
		return "connect " + p.Connection().String()
	}
	return string(p.Spec.Kind)
}
