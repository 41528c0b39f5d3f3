package wire

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
	"golang.org/x/sys/unix"
)

// The device is reached with golang.org/x/sys/unix rather than
// go.bug.st/serial: that library's Port hides the descriptor, which the
// wire needs for TIOCMIWAIT, for break on and off as the UART sends it
// (TIOCSBRK, TIOCCBRK; the library's Break is a timed pulse), for CRTSCTS
// (its Mode has no flow control) and for reads the runtime poller parks
// and Close cuts. The termios itself is ioctl.ToTermios, the same
// translation the pty front reads programs' settings with.

// adapterReadSize is what one device read takes. The next read waits
// until the port has applied these bytes, so a port whose program does
// not read holds the device back in the kernel's buffer, and with flow
// control on, the device itself.
const adapterReadSize = 4096

// modemWaitMask is what TIOCMIWAIT waits for: every input the MSR shows.
const modemWaitMask = unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_RNG | unix.TIOCM_CD

var (
	_ driver.InputDriver  = (*Adapter)(nil)
	_ driver.SettingsWire = (*Adapter)(nil)
)

// AdapterOptions configure an Adapter.
type AdapterOptions struct {
	Logger zerolog.Logger
}

// AdapterState is a snapshot of an Adapter.
type AdapterState struct {
	Path  string    // the device's path, as given
	Open  bool      // the wire has the device open
	Since time.Time // when Open last changed; zero until the first open
	Opens uint64    // times the device was opened
	// LostTx counts bytes the UART sent that the device never took: sent
	// while it was gone, or queued and unwritten when it went.
	LostTx uint64
	// ModemLines says the device reports CTS, DSR, RI and DCD (TIOCMGET
	// and TIOCMIWAIT work on it). It is false until an open shows that it
	// does, and stays false for a device that cannot (a pty), whose
	// CTS, DSR and DCD the wire holds up while it is open.
	ModemLines bool
	LastError  string // why the last open failed or the device went
}

// Adapter is a wire whose far end is a real serial device: a USB adapter
// (/dev/ttyUSB0, /dev/ttyACM0), an on-board UART (/dev/ttyS0), or any tty.
// The program's line settings, DTR, RTS and break are applied to the
// device as the program sets them; what the device receives arrives at
// the port; the device's CTS, DSR, RI and DCD reach the port's MSR as
// they change.
//
// The device may come and go: unplugged (a read or write fails, or reads
// end), the port stays, with CTS, DSR and DCD down as on a pulled cable,
// and what it sends meanwhile is lost and counted. The wire watches the
// device's directory with inotify and opens the device again when its
// name reappears; it never polls.
type Adapter struct {
	dev  *driver.Device
	path string
	log  zerolog.Logger
	// ctx ends at Close; it cuts the wait for the device and every wait
	// for the port.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// noModem is set once the device showed it cannot report its modem
	// lines; DrivenInputs reads it under the device's lock, so it is not
	// under mu.
	noModem atomic.Bool

	mu       sync.Mutex
	changed  notifier // closed and replaced when the writer has work
	f        *os.File // the open device; nil while it is gone
	sess     *adapterSession
	out      []adapterItem // what Transmit and LineSettings handed over, unwritten
	settings ioctl.Settings
	outputs  uart16550.ModemOutputs // the UART's DTR and RTS as last seen
	breakOn  bool                   // the UART holds its TX at space
	closed   bool
	warned   string // the last settings mismatch logged, so that it is said once
	state    AdapterState
	// stateChanged is closed and replaced on every change of state, for
	// tests to wait on.
	stateChanged notifier
}

// adapterSession is one open of the device.
type adapterSession struct {
	// iwait says the modem goroutine is in TIOCMIWAIT: Close cannot be
	// sure to wake it (see Close) and does not wait for it.
	iwait     bool
	modemDone chan struct{}
}

// adapterItem is one thing for the device, in the order the UART did it.
type adapterItem struct {
	kind     adapterOp
	data     []byte
	modem    uart16550.ModemOutputs
	brk      bool
	settings ioctl.Settings
	taken    func()
}

type adapterOp uint8

const (
	opData adapterOp = iota
	opModem
	opBreak
	opSettings
)

// OpenAdapter makes the tty at path dev's wire and returns at once: a
// goroutine opens the device, and opens it again each time it comes back,
// until Close. A path that is missing is waited for (the port is there,
// with no carrier, until the device is); a path that is there and is not
// a character device is refused.
func OpenAdapter(dev *driver.Device, path string, opts AdapterOptions) (*Adapter, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("device %q: not an absolute path", path)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode()&fs.ModeCharDevice == 0 {
		return nil, fmt.Errorf("device %s is not a tty: it is a %s", path, fileKind(fi.Mode()))
	}
	a := &Adapter{
		dev:     dev,
		path:    path,
		outputs: dev.Outputs(),
	}
	a.state.Path = path
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.log = opts.Logger.With().Str("port", dev.Name()).Str("device", path).Logger()
	dev.SetWire(a) // LineSettings gives a the present settings
	dev.Input(a.lines(false, 0))
	a.wg.Add(1)
	go a.run()
	return a, nil
}

// fileKind names what a non-device file is, for the refusal.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "file of mode " + m.String()
}

// String is the device's path.
func (a *Adapter) String() string { return a.path }

// State returns a snapshot of the wire.
func (a *Adapter) State() AdapterState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// Close closes the device and ends the goroutines, and waits for them,
// with one exception. A goroutine waits for the device's modem lines in
// TIOCMIWAIT, a blocking ioctl that closing the descriptor does not end
// (the call holds its own reference to the open file) and that a signal
// only restarts (Go's handlers are SA_RESTART). What ends it is a change
// of a line, the device's removal, or a hangup: Close hangs the device up
// (TIOCVHANGUP, which wakes the usb-serial drivers' wait; it needs
// CAP_SYS_ADMIN), and does not wait for a goroutine still in the ioctl,
// which owns its own descriptor (a dup) and, when the ioctl returns, closes
// it and ends without touching the port. On a pty the ioctl fails at once,
// so no goroutine is left. What was queued and unwritten is counted lost.
// The device keeps a as its wire (sending into nothing) until the caller
// sets another.
func (a *Adapter) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	a.cancel()
	f, s := a.f, a.sess
	if f != nil {
		// Cuts a write held by the device's flow control, and a read.
		f.SetDeadline(time.Now()) //nolint:errcheck // pollable tty; closing anyway
		if s != nil && s.iwait {
			_ = control(f, func(fd int) { _ = unix.IoctlSetInt(fd, unix.TIOCVHANGUP, 0) })
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
	if s != nil {
		a.mu.Lock()
		blocked := s.iwait
		a.mu.Unlock()
		if !blocked {
			<-s.modemDone // it checks closed before each wait, so it ends
		}
	}
}

// DrivenInputs implements driver.InputDriver: the device's CTS, DSR, RI
// and DCD, or, on a device that cannot report them, the CTS, DSR and DCD
// the wire holds up while it is open (RI is then free for the control
// API).
func (a *Adapter) DrivenInputs(*driver.Device) uart16550.ModemInputs {
	return uart16550.ModemInputs{CTS: true, DSR: true, DCD: true, RI: !a.noModem.Load()}
}

// LineSettings implements driver.SettingsWire: the settings are applied
// to the device in order with the data sent before them.
func (a *Adapter) LineSettings(_ *driver.Device, s ioctl.Settings) {
	a.mu.Lock()
	a.settings = s
	if a.f != nil {
		a.out = append(a.out, adapterItem{kind: opSettings, settings: s})
		a.changed.notify()
	}
	a.mu.Unlock()
}

// Transmit implements driver.Wire. With the device open, the signals are
// queued for the writer, which calls taken once the device has the
// bytes; with it gone, the bytes are lost and counted and taken is called
// at once, while DTR, RTS and break are kept for the next open.
func (a *Adapter) Transmit(_ *driver.Device, signals []uart16550.Signal, taken func()) {
	a.mu.Lock()
	open := a.f != nil && !a.closed
	lost := 0
	for _, s := range signals {
		it := adapterItem{kind: opData}
		switch s.Kind {
		case uart16550.SignalChar:
			it.data = []byte{s.Char}
		case uart16550.SignalChars:
			it.data = append([]byte(nil), s.Data...)
		case uart16550.SignalBreak:
			a.breakOn = s.Break
			it = adapterItem{kind: opBreak, brk: s.Break}
		case uart16550.SignalModem:
			a.outputs = s.Modem
			it = adapterItem{kind: opModem, modem: s.Modem}
		}
		switch {
		case !open:
			lost += len(it.data)
		case it.kind != opData:
			a.out = append(a.out, it)
		case len(a.out) > 0 && a.out[len(a.out)-1].kind == opData && a.out[len(a.out)-1].taken == nil:
			a.out[len(a.out)-1].data = append(a.out[len(a.out)-1].data, it.data...)
		default:
			a.out = append(a.out, it)
		}
	}
	if !open {
		a.state.LostTx += uint64(lost)
		a.stateChanged.notify()
		a.mu.Unlock()
		if taken != nil {
			taken()
		}
		return
	}
	// taken goes with the last item: the writer calls it once everything
	// before it is written.
	if n := len(a.out); n > 0 && a.out[n-1].taken == nil {
		a.out[n-1].taken = taken
	} else {
		a.out = append(a.out, adapterItem{kind: opData, taken: taken})
	}
	a.changed.notify()
	a.mu.Unlock()
}

// lines is the port's modem inputs from the device's TIOCM bits, or, with
// the device gone, a pulled cable's: all down.
func (a *Adapter) lines(open bool, bits int) driver.Input {
	if !open {
		return driver.Input{Kind: driver.InputModem}
	}
	return driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{
		CTS: bits&unix.TIOCM_CTS != 0, DSR: bits&unix.TIOCM_DSR != 0,
		RI: bits&unix.TIOCM_RNG != 0, DCD: bits&unix.TIOCM_CD != 0,
	}}
}

// heldUp is what a device that cannot report its lines shows while open.
const heldUp = unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_CD

// run opens the device, serves it until it goes, and waits for it to come
// back, until Close.
func (a *Adapter) run() {
	defer a.wg.Done()
	var tried fileID // the file last opened or tried: not again until it changes
	for {
		f, err := a.next(&tried)
		if err != nil {
			return // closed
		}
		if f == nil {
			continue // the open failed; next waits for a change
		}
		err = a.serve(f)
		if a.ctx.Err() != nil {
			return
		}
		a.setError(err)
		a.log.Warn().Err(err).Uint64("lost_tx", a.State().LostTx).Msg("device gone; waiting for it to come back")
	}
}

// fileID tells one file at the path from another: the link's own inode (a
// symlink made again is a new one), and the device node it reaches, with
// its mode and owner, which udev sets after creating it.
type fileID struct {
	linkDev, linkIno, dev, ino, rdev uint64
	mode, uid, gid                   uint32
}

func statID(path string) (fileID, error) {
	var l, s unix.Stat_t
	if err := unix.Lstat(path, &l); err != nil {
		return fileID{}, err
	}
	if err := unix.Stat(path, &s); err != nil {
		return fileID{}, err
	}
	return fileID{
		linkDev: l.Dev, linkIno: l.Ino, dev: s.Dev, ino: s.Ino, rdev: s.Rdev,
		mode: s.Mode, uid: s.Uid, gid: s.Gid,
	}, nil
}

// next waits, with inotify, until the path names a file other than tried,
// and tries to open it. It returns the open device, or nil with the open
// failed (state and log say why); an error only at Close.
func (a *Adapter) next(tried *fileID) (*os.File, error) {
	w, err := newPathWatch(a.path)
	if err != nil {
		// Without inotify there is no way to learn of the device's return
		// short of polling; say so and stop.
		a.setError(err)
		a.log.Error().Err(err).Msg("cannot watch for the device; it will not be reopened")
		<-a.ctx.Done()
		return nil, a.ctx.Err()
	}
	defer w.close()
	stop := context.AfterFunc(a.ctx, w.close)
	defer stop()
	logged := false
	for {
		// The watch is in place before the look, so a device that
		// appears between the two is an event, not missed.
		if err := w.arm(); err != nil && a.ctx.Err() == nil {
			a.log.Debug().Err(err).Msg("inotify watch")
		}
		id, err := statID(a.path)
		if err == nil && id != *tried {
			*tried = id
			f, err := a.open()
			if err != nil {
				a.log.Warn().Err(err).Msg("device not opened; waiting for it to change")
				a.setError(err)
				return nil, nil
			}
			return f, nil
		}
		if err != nil && !logged {
			logged = true
			// The log line before the state change: tests wait on it.
			a.log.Info().Err(err).Msg("waiting for the device")
			a.setError(fmt.Errorf("waiting for %s: %w", a.path, err))
		}
		if err := w.wait(); err != nil {
			if a.ctx.Err() != nil {
				return nil, a.ctx.Err()
			}
			a.setError(err)
			a.log.Error().Err(err).Msg("cannot watch for the device; it will not be reopened")
			<-a.ctx.Done()
			return nil, a.ctx.Err()
		}
		// Something happened to the name: whatever is there now is
		// worth a try, even a file that looks like the one before (a
		// filesystem may give a new link the old one's inode).
		*tried = fileID{}
	}
}

// setError records why the device is not open.
func (a *Adapter) setError(err error) {
	a.mu.Lock()
	a.state.LastError = err.Error()
	a.stateChanged.notify()
	a.mu.Unlock()
}

// open opens the device without making it the daemon's controlling tty,
// exclusively (TIOCEXCL, as go.bug.st/serial and pyserial do: a second
// program on it would take half the data), non-blocking so that the
// runtime poller parks reads and writes, and checks it is a tty.
func (a *Adapter) open() (*os.File, error) {
	fd, err := unix.Open(a.path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: a.path, Err: err}
	}
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS2); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.ENOTTY) {
			return nil, fmt.Errorf("device %s is not a tty (TCGETS2: %w)", a.path, err)
		}
		return nil, fmt.Errorf("device %s: TCGETS2: %w", a.path, err)
	}
	if err := unix.IoctlSetInt(fd, unix.TIOCEXCL, 0); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("device %s: TIOCEXCL: %w", a.path, err)
	}
	return os.NewFile(uintptr(fd), a.path), nil
}

// serve runs one open of the device until it goes or Close, and reports
// why it ended.
func (a *Adapter) serve(f *os.File) error {
	s := &adapterSession{modemDone: make(chan struct{})}
	a.mu.Lock()
	a.f, a.sess = f, s
	// The device starts from the port's present state, then follows it.
	a.out = append([]adapterItem{
		{kind: opSettings, settings: a.settings},
		{kind: opModem, modem: a.outputs},
		{kind: opBreak, brk: a.breakOn},
	}, a.out...)
	a.state.Open, a.state.Since = true, time.Now()
	a.state.Opens++
	a.state.LastError = ""
	a.stateChanged.notify()
	a.mu.Unlock()
	a.log.Info().Msg("device open")

	// The modem goroutine has a descriptor of its own, so that closing f
	// never waits for, or races with, the ioctl it may be blocked in.
	var mfd int
	var derr error
	if err := errors.Join(control(f, func(fd int) { mfd, derr = unix.Dup(fd) }), derr); err != nil {
		a.log.Warn().Err(err).Msg("dup: the device's modem lines are not followed")
		close(s.modemDone)
	} else {
		go a.watchModem(s, mfd)
	}

	readerDone := make(chan error, 1)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		readerDone <- a.read(f)
	}()
	readerEnded, err := a.writeLoop(f, readerDone)
	f.SetDeadline(time.Now()) //nolint:errcheck // closing anyway
	f.Close()
	if !readerEnded {
		<-readerDone
	}
	a.mu.Lock()
	a.f, a.sess = nil, nil
	lost := a.out
	a.out = nil
	for _, it := range lost {
		a.state.LostTx += uint64(len(it.data))
	}
	a.state.Open, a.state.Since = false, time.Now()
	if err != nil {
		// In the same change as the close, so that nobody sees the
		// device gone with no reason.
		a.state.LastError = err.Error()
	}
	a.stateChanged.notify()
	// Under mu, so that a modem goroutine of this open, which sets the
	// lines under mu while the open is current, cannot put them back up.
	a.dev.Input(a.lines(false, 0))
	a.mu.Unlock()
	for _, it := range lost {
		if it.taken != nil {
			it.taken()
		}
	}
	return err
}

// writeLoop applies what Transmit and LineSettings queued, in order, until
// the reader ends, a write fails, or Close. It reports whether it ended at
// the reader's end (whose error it then took), and why.
func (a *Adapter) writeLoop(f *os.File, readerDone <-chan error) (bool, error) {
	for {
		a.mu.Lock()
		wake := a.changed.C()
		var it adapterItem
		have := len(a.out) > 0
		if have {
			it = a.out[0]
			a.out = a.out[1:]
		}
		a.mu.Unlock()
		if have {
			err := a.apply(f, it)
			if it.taken != nil {
				it.taken()
			}
			if err != nil {
				return false, err
			}
			continue
		}
		select {
		case <-wake:
		case err := <-readerDone:
			return true, err
		case <-a.ctx.Done():
			return false, errClosed
		}
	}
}

// apply does one item on the device. Only a failed write ends the open:
// a setting or line the device refuses is logged and the data still goes.
func (a *Adapter) apply(f *os.File, it adapterItem) error {
	switch it.kind {
	case opData:
		if len(it.data) == 0 {
			break
		}
		n, err := f.Write(it.data)
		if err != nil {
			a.mu.Lock()
			a.state.LostTx += uint64(len(it.data) - n)
			a.mu.Unlock()
			return fmt.Errorf("write %s: %w", a.path, err)
		}
	case opSettings:
		var err error
		var kept string
		if cerr := control(f, func(fd int) { kept, err = applySettings(fd, it.settings) }); cerr != nil {
			return cerr
		}
		a.noteSettings(kept, err)
	case opModem:
		a.setOutputs(f, it.modem)
	case opBreak:
		req := uint(unix.TIOCCBRK)
		if it.brk {
			req = unix.TIOCSBRK
		}
		var err error
		if cerr := control(f, func(fd int) { err = unix.IoctlSetInt(fd, req, 0) }); cerr == nil && err != nil {
			a.log.Debug().Err(err).Bool("break", it.brk).Msg("the device did not take the break")
		}
	}
	return nil
}

// setOutputs sets the device's DTR and RTS. A device without modem lines
// (a pty) refuses, which its state already says.
func (a *Adapter) setOutputs(f *os.File, o uart16550.ModemOutputs) {
	var on, off int
	for _, p := range []struct {
		up  bool
		bit int
	}{{o.DTR, unix.TIOCM_DTR}, {o.RTS, unix.TIOCM_RTS}} {
		if p.up {
			on |= p.bit
		} else {
			off |= p.bit
		}
	}
	_ = control(f, func(fd int) {
		for _, r := range []struct {
			req  uint
			bits int
		}{{unix.TIOCMBIS, on}, {unix.TIOCMBIC, off}} {
			if r.bits == 0 {
				continue
			}
			v := int32(r.bits)
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(r.req), uintptr(unsafe.Pointer(&v))); e != 0 && !a.noModem.Load() {
				a.log.Debug().Err(e).Msg("the device did not take DTR or RTS")
			}
		}
	})
}

// applySettings puts s on the tty at fd, raw (no echo, no line editing,
// no output processing, CLOCAL so that a dropped DCD does not hang it up),
// and reports what the device kept instead where it kept something else
// ("" when it took everything).
func applySettings(fd int, s ioctl.Settings) (string, error) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
	if err != nil {
		return "", fmt.Errorf("TCGETS2: %w", err)
	}
	ioctl.ToTermios(s, t)
	t.Iflag &= unix.IXON | unix.IXOFF
	t.Oflag = 0
	t.Lflag = 0
	t.Cflag = t.Cflag&^unix.HUPCL | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS2, t); err != nil {
		return "", fmt.Errorf("TCSETS2: %w", err)
	}
	back, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
	if err != nil {
		return "", fmt.Errorf("TCGETS2: %w", err)
	}
	got := ioctl.FromTermios(back, s)
	var kept []string
	if got.Baud != s.Baud {
		kept = append(kept, fmt.Sprintf("%d baud for %d", got.Baud.BaudRate, s.Baud.BaudRate))
	}
	if line := ioctl.LineFromTermios(back); line != s.Line {
		kept = append(kept, fmt.Sprintf("%s for %s", line, s.Line))
	}
	if want := s.HandFlow.ControlHandShake&ioctl.CTSHandshake != 0; (back.Cflag&unix.CRTSCTS != 0) != want {
		kept = append(kept, fmt.Sprintf("CRTSCTS %v for %v", !want, want))
	}
	return strings.Join(kept, ", "), nil
}

// noteSettings logs a setting the device failed or kept otherwise, once
// for each distinct outcome.
func (a *Adapter) noteSettings(kept string, err error) {
	msg := kept
	if err != nil {
		msg = err.Error()
	}
	a.mu.Lock()
	again := msg == a.warned
	a.warned = msg
	a.mu.Unlock()
	switch {
	case msg == "" || again:
	case err != nil:
		a.log.Warn().Err(err).Msg("the device refused the port's settings")
	default:
		a.log.Warn().Str("kept", kept).Msg("the device kept other settings than the port's (a pty keeps 8 data bits and no parity)")
	}
}

// read takes what the device receives and gives it to the port, reading
// again only once the port has applied it.
func (a *Adapter) read(f *os.File) error {
	buf := make([]byte, adapterReadSize)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			applied := make(chan struct{})
			a.dev.InputThen(func() { close(applied) }, driver.Input{Kind: driver.InputChars, Data: append([]byte(nil), buf[:n]...)})
			select {
			case <-applied:
			case <-a.ctx.Done():
				return errClosed
			}
		}
		if err != nil {
			// A hung-up tty (an unplugged adapter, a pty whose master
			// closed) reads end of file.
			return fmt.Errorf("read %s: %w", a.path, err)
		}
	}
}

// watchModem follows the device's modem inputs until the open ends: one
// TIOCMGET, then TIOCMGET after each TIOCMIWAIT. A change between a
// TIOCMGET and the next TIOCMIWAIT is seen only at the change after it:
// the ioctl counts changes from its own start and cannot be given ours.
func (a *Adapter) watchModem(s *adapterSession, fd int) {
	defer close(s.modemDone)
	defer unix.Close(fd)
	for {
		bits, err := unix.IoctlGetInt(fd, unix.TIOCMGET)
		if err != nil {
			a.modemFailed(s, "TIOCMGET", err)
			return
		}
		a.mu.Lock()
		if a.closed || a.sess != s {
			a.mu.Unlock()
			return
		}
		// The device is told under mu (the lock order is mu, then the
		// device's), so that lines read in this open never land after
		// the drop that ends it.
		a.dev.Input(a.lines(true, bits))
		if !a.state.ModemLines {
			a.state.ModemLines = true
			a.stateChanged.notify()
		}
		s.iwait = true
		a.mu.Unlock()
		err = unix.IoctlSetInt(fd, unix.TIOCMIWAIT, modemWaitMask)
		a.mu.Lock()
		s.iwait = false
		a.mu.Unlock()
		if err != nil && !errors.Is(err, unix.EINTR) {
			a.modemFailed(s, "TIOCMIWAIT", err)
			return
		}
	}
}

// modemFailed handles a failed modem ioctl: a device that cannot report
// its lines (ENOTTY, EINVAL: a pty, some drivers) is said once, and its
// CTS, DSR and DCD are held up while it is open; any other failure is
// the device going, which the reader and writer see too.
func (a *Adapter) modemFailed(s *adapterSession, call string, err error) {
	if !errors.Is(err, unix.ENOTTY) && !errors.Is(err, unix.EINVAL) {
		return
	}
	first := !a.noModem.Swap(true)
	if first {
		a.log.Warn().Err(err).Str("call", call).
			Msg("the device cannot report its modem lines; CTS, DSR and DCD are held up while it is open, RI is free for vcomctl")
	}
	a.mu.Lock()
	a.state.ModemLines = false
	a.stateChanged.notify()
	if !a.closed && a.sess == s {
		a.dev.Input(a.lines(true, heldUp))
	}
	a.mu.Unlock()
}

// control runs fn on f's descriptor, which stays open meanwhile.
func control(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// pathWatch is an inotify instance watching for a path to appear: on the
// path's directory, or, while that is missing too, on the nearest
// ancestor that exists, for the name below it (/dev/serial/by-id goes
// when the last adapter does).
type pathWatch struct {
	path  string
	f     *os.File
	names map[string]bool // the components whose events matter
	once  sync.Once
	buf   []byte
}

func newPathWatch(path string) (*pathWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	w := &pathWatch{
		path:  path,
		f:     os.NewFile(uintptr(fd), "inotify"),
		names: map[string]bool{},
		buf:   make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1)),
	}
	for p := path; p != "/"; p = filepath.Dir(p) {
		w.names[filepath.Base(p)] = true
	}
	return w, nil
}

// arm watches the deepest directory of the path that exists.
func (w *pathWatch) arm() error {
	dir := filepath.Dir(w.path)
	for {
		var err error
		cerr := control(w.f, func(fd int) {
			_, err = unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ATTRIB|
				unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_DELETE_SELF|unix.IN_ONLYDIR)
		})
		if cerr != nil {
			return cerr
		}
		if err == nil || dir == "/" || !errors.Is(err, unix.ENOENT) {
			if err != nil {
				return fmt.Errorf("inotify watch on %s: %w", dir, err)
			}
			return nil
		}
		dir = filepath.Dir(dir)
	}
}

// wait returns after an event about one of the path's names, or the
// removal of a watched directory. The read parks in the runtime poller;
// close ends it.
func (w *pathWatch) wait() error {
	for {
		n, err := w.f.Read(w.buf)
		if err != nil {
			return fmt.Errorf("inotify read: %w", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&w.buf[off]))
			name := strings.TrimRight(string(w.buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_IGNORED|unix.IN_Q_OVERFLOW) != 0 || w.names[name] {
				return nil
			}
		}
	}
}

func (w *pathWatch) close() { w.once.Do(func() { w.f.Close() }) }
