// Package ptyfront puts a driver.Device behind a pseudo-terminal, so that
// any program opens the port as it would /dev/ttyS0: what the program
// writes becomes write requests, its termios changes become IOCTLs, its
// tcflush and tcflow become purges and XON/XOFF, and what the device
// receives is written back for it to read.
//
// The master runs in packet mode with EXTPROC set on the slave, so every
// termios change arrives as a TIOCPKT_IOCTL packet; opens and closes of the
// slave by other processes are seen through inotify. Nothing polls: an
// idle port has every goroutine parked.
package ptyfront

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/rawio"
	"github.com/vcomd/vcomd/ioctl"
)

// Options configure a port's pty.
type Options struct {
	// Mode is the slave's permission bits; zero means 0660, as serial
	// ports have.
	Mode os.FileMode
	// UID and GID own the slave; -1 leaves them as allocated.
	UID, GID int
	// ClosingWait bounds how long the last close waits for written data
	// to leave the UART (Linux's closing_wait); zero means 30 s.
	ClosingWait time.Duration
	Logger      zerolog.Logger
}

// Port is one device behind one pty.
type Port struct {
	dev     *driver.Device
	log     zerolog.Logger
	opts    Options
	master  *os.File        // non-blocking, out of the runtime's poller (see openPTY)
	mraw    syscall.RawConn // the master's, taken once, for the calls of internal/rawio
	rwait   *rawio.Waiter   // the master reader parks on it
	wwait   *rawio.Waiter   // the session's pump parks on it when the pty is full
	slave   *os.File        // held so the pty keeps its settings and never hangs up
	slaveFD int             // its descriptor, which openers does not count
	path    string
	watcher *Watcher
	wd      int32

	opens     atomic.Int64  // opens of the slave by other processes
	selfFlush atomic.Int32  // our own input flushes not yet seen as packets
	changed   chan struct{} // the open count moved
	drain     chan chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stateMu sync.Mutex
	isOpen  bool
	stateCh chan struct{} // closed and replaced at every open and last close

	peer     atomic.Pointer[Port] // receives what this port sends; see SetPeer
	progress progress
	waitOn   atomic.Pointer[Port] // the peer this port's reader waits for

	// Owned by the master reader goroutine.
	tx       txState
	settings ioctl.Settings
	hungUp   bool // the program set B0
}

// ttyBufferSize is the typeahead buffer a port gets: what the Linux tty
// layer buffers for a serial port (TTYB_DEFAULT_MEM_LIMIT).
const ttyBufferSize = 64 << 10

// Open allocates a pty for dev and starts serving it. The device should
// be fresh (no opener); the port owns its create and close requests.
func Open(dev *driver.Device, w *Watcher, opts Options) (*Port, error) {
	if opts.Mode == 0 {
		opts.Mode = 0o660
	}
	if opts.ClosingWait == 0 {
		opts.ClosingWait = 30 * time.Second
	}
	master, slave, err := openPTY()
	if err != nil {
		return nil, err
	}
	p := &Port{
		dev:      dev,
		log:      opts.Logger,
		opts:     opts,
		master:   master,
		slave:    slave,
		path:     slave.Name(),
		watcher:  w,
		changed:  make(chan struct{}, 1),
		drain:    make(chan chan struct{}, 1),
		stateCh:  make(chan struct{}),
		progress: progress{ch: make(chan struct{})},
	}
	_ = control(slave, func(fd int) { p.slaveFD = fd })
	if err := p.openWaiters(); err != nil {
		p.closeFiles()
		return nil, err
	}
	if err := p.setup(); err != nil {
		p.closeFiles()
		return nil, err
	}
	p.wd, err = w.watch(p.path, p.onOpenClose)
	if err != nil {
		p.closeFiles()
		return nil, err
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(2)
	go p.fromMaster()
	go p.sessions()
	return p, nil
}

// openPTY allocates a pty with creack/pty and returns a non-blocking master
// and a blocking slave, both kept out of the runtime's poller. pty.Open
// leaves its master in blocking mode (it took the descriptor with Fd),
// which would hold one thread per port and make Close unable to wake a
// reader; in the poller it would wake the poller's thread each time the
// program reads the slave (the master is writable again), so the front
// parks on Waiters of its own instead (openWaiters). Its slave it opens
// pollable, and the front only ever issues ioctls on it: in the poller,
// every write the program makes and every byte the front hands it would
// wake the poller's thread for nothing (a program that retries a refused
// write at once, as pyserial does, then costs the daemon a context switch
// per retry). Duplicates in the right modes avoid both.
func openPTY() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("allocating a pty: %w", err)
	}
	defer m.Close()
	defer s.Close()
	mfd, err := dupMode(m, false)
	if err != nil {
		return nil, nil, fmt.Errorf("pty master: %w", err)
	}
	sfd, err := dupMode(s, false)
	if err != nil {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("pty slave: %w", err)
	}
	// os.NewFile puts only a non-blocking descriptor in the poller: the
	// master turns non-blocking after it.
	master = os.NewFile(uintptr(mfd), "ptmx")
	if err := unix.SetNonblock(mfd, true); err != nil {
		master.Close()
		unix.Close(sfd)
		return nil, nil, fmt.Errorf("pty master: %w", err)
	}
	return master, os.NewFile(uintptr(sfd), s.Name()), nil
}

// openWaiters takes the master's RawConn and makes the Waiters its reader
// and the session's pump park on.
func (p *Port) openWaiters() error {
	var err error
	if p.mraw, err = p.master.SyscallConn(); err != nil {
		return fmt.Errorf("pty master: %w", err)
	}
	fd := -1
	_ = control(p.master, func(mfd int) { fd = mfd })
	if p.rwait, err = rawio.NewWaiter(fd, unix.EPOLLIN|unix.EPOLLPRI, "pty master"); err != nil {
		return err
	}
	p.wwait, err = rawio.NewWaiter(fd, 0, "pty master")
	return err
}

// closeFiles closes the waiters, the master and the slave.
func (p *Port) closeFiles() error {
	var errs []error
	for _, w := range []*rawio.Waiter{p.rwait, p.wwait} {
		if w != nil {
			errs = append(errs, w.Close())
		}
	}
	return errors.Join(append(errs, p.master.Close(), p.slave.Close())...)
}

// dupMode duplicates f's descriptor, close-on-exec, in the blocking mode
// asked for.
func dupMode(f *os.File, nonblock bool) (int, error) {
	fd := -1
	var err error
	cerr := control(f, func(raw int) {
		if fd, err = unix.Dup(raw); err == nil {
			unix.CloseOnExec(fd)
			err = unix.SetNonblock(fd, nonblock)
		}
	})
	if err = errors.Join(cerr, err); err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, err
	}
	return fd, nil
}

// setup gives the slave a serial port's permissions and default termios,
// and puts the master in packet mode.
func (p *Port) setup() error {
	if err := os.Chmod(p.path, p.opts.Mode); err != nil {
		return fmt.Errorf("pty slave: %w", err)
	}
	if p.opts.UID >= 0 || p.opts.GID >= 0 {
		if err := os.Chown(p.path, p.opts.UID, p.opts.GID); err != nil {
			return fmt.Errorf("pty slave: %w", err)
		}
	}
	// The Linux serial core buffers up to 64 KiB a port between the UART's
	// interrupt and the program (the tty layer's flip buffers), so a
	// program, or this port's pump, that is descheduled for a moment does
	// not lose data even at 4 Mbaud. Serial.sys's 4 KiB typeahead lasts
	// 10 ms there.
	qs := driver.NewIoctl(ioctl.SetQueueSize, ioctl.QueueSize{InSize: ttyBufferSize, OutSize: ttyBufferSize})
	if _, err := p.dev.Call(context.Background(), qs); err != nil {
		return fmt.Errorf("typeahead buffer: %w", err)
	}
	// The device's present settings are the base that termios changes
	// are compared with; data bits and parity stay with it, since a pty
	// cannot carry them.
	var err error
	if p.settings, err = p.deviceSettings(); err != nil {
		return err
	}
	cerr := control(p.master, func(fd int) {
		if err = unix.IoctlSetPointerInt(fd, unix.TIOCPKT, 1); err != nil {
			err = fmt.Errorf("TIOCPKT: %w", err)
			return
		}
		var t *unix.Termios
		if t, err = unix.IoctlGetTermios(fd, unix.TCGETS2); err != nil {
			err = fmt.Errorf("TCGETS2: %w", err)
			return
		}
		rawSerialTermios(t)
		ioctl.ToTermios(p.settings, t) // the configured speed and stop bits
		if err = unix.IoctlSetTermios(fd, unix.TCSETS2, t); err != nil {
			err = fmt.Errorf("TCSETS2: %w", err)
		}
	})
	if err = errors.Join(cerr, err); err != nil {
		return fmt.Errorf("pty master: %w", err)
	}
	return p.applyTermios()
}

// rawSerialTermios is what the slave starts with: 9600 8N1 as a serial
// port, but raw rather than cooked, so that two programs on a pair that
// never set termios do not echo each other's data back and forth; and
// EXTPROC, so that every change is reported to the master.
func rawSerialTermios(t *unix.Termios) {
	t.Iflag = 0
	t.Oflag = 0
	t.Lflag = unix.EXTPROC
	t.Cflag = unix.CS8 | unix.CREAD | unix.CLOCAL | unix.HUPCL | unix.B9600
	t.Ispeed, t.Ospeed = 9600, 9600
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	t.Cc[unix.VSTART], t.Cc[unix.VSTOP] = 0x11, 0x13
}

func control(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// Path is the slave's path, /dev/pts/N.
func (p *Port) Path() string { return p.path }

// String is the slave's path, naming the front in logs.
func (p *Port) String() string { return p.path }

// Device is the device behind the port.
func (p *Port) Device() *driver.Device { return p.dev }

// Close stops serving the pty and releases it. Data the device has not yet
// sent is dropped; the device itself stays open for its owner to close.
func (p *Port) Close() error {
	p.cancel()
	p.watcher.unwatch(p.wd)
	// Wake the master reader, wherever it is parked.
	_ = p.rwait.SetDeadline(time.Now())
	p.wg.Wait()
	return p.closeFiles()
}

// State reports whether a program has the port open (the device has seen
// its create request and not yet its close), and a channel closed at the
// next change.
func (p *Port) State() (open bool, changed <-chan struct{}) {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return p.isOpen, p.stateCh
}

func (p *Port) setState(open bool) {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	p.isOpen = open
	close(p.stateCh)
	p.stateCh = make(chan struct{})
}

// onOpenClose is the watcher's callback for the slave's inode.
func (p *Port) onOpenClose(opened bool) {
	if opened {
		p.opens.Add(1)
	} else if n, complete := openers(p.path, p.slaveFD); complete {
		p.opens.Store(int64(n)) // see openers.go
	} else if p.opens.Add(-1) < 0 {
		p.opens.Store(0) // a close of an open that predates the watch
	}
	// After the count, so that sessions, having seen the event, sees
	// the count it made.
	p.progress.update(func(n *counts) { n.events++ })
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// call issues a request and waits for it, giving up if the port closes.
func (p *Port) call(irp *driver.IRP) error {
	_, err := p.dev.Call(p.ctx, irp)
	return err
}

func (p *Port) ioctl(code ioctl.Code, in any) error {
	return p.call(driver.NewIoctl(code, in))
}

// deviceSettings reads baud, framing, handflow and chars from the device.
func (p *Port) deviceSettings() (ioctl.Settings, error) {
	var s ioctl.Settings
	for _, q := range []struct {
		code ioctl.Code
		set  func(any)
	}{
		{ioctl.GetBaudRate, func(v any) { s.Baud = v.(ioctl.BaudRate) }},
		{ioctl.GetLineControl, func(v any) { s.Line = v.(ioctl.LineControl) }},
		{ioctl.GetHandflow, func(v any) { s.HandFlow = v.(ioctl.HandFlow) }},
		{ioctl.GetChars, func(v any) { s.Chars = v.(ioctl.Chars) }},
	} {
		irp := driver.NewIoctl(q.code, nil)
		if _, err := p.dev.Call(context.Background(), irp); err != nil {
			return s, err
		}
		q.set(irp.Output())
	}
	return s, nil
}
