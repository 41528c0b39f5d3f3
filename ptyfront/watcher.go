package ptyfront

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/internal/rawio"
)

// Watcher reports opens and closes of pty slaves by other processes. One
// inotify instance serves every port of a daemon: the kernel allows only
// 128 instances per user by default, far fewer than the ports a daemon
// may carry.
type Watcher struct {
	f   *os.File
	raw syscall.RawConn // f's, taken once: sync runs before every write the front submits
	// syncFD is sync's call on the descriptor, made once: a closure
	// handed to Control is a new allocation at every call.
	syncFD func(fd uintptr)
	done   chan struct{}

	readMu sync.Mutex // held while events are read and reported
	buf    []byte     // +checklocks:readMu

	mu      sync.Mutex
	watches map[int32]func(opened bool)
	closed  bool
}

// NewWatcher starts the inotify instance and its reader goroutine.
func NewWatcher() (*Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	w := &Watcher{
		// Non-blocking, so the runtime poller parks the reader: no thread
		// is held while nothing happens, and Close wakes it.
		f:       os.NewFile(uintptr(fd), "inotify"),
		done:    make(chan struct{}),
		watches: make(map[int32]func(bool)),
		buf:     make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1)),
	}
	raw, err := w.f.SyscallConn()
	if err != nil {
		w.f.Close()
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w.raw = raw
	w.syncFD = func(fd uintptr) { w.drain(int(fd)) }
	go w.run()
	return w, nil
}

// watch calls fn(true) on every open of path by anyone and fn(false) on
// every close. fn runs on the watcher's goroutine, or on a goroutine in
// sync, and must not block.
func (w *Watcher) watch(path string, fn func(opened bool)) (int32, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, errors.New("watcher closed")
	}
	var wd int
	var err error
	cerr := w.control(func(fd int) {
		wd, err = unix.InotifyAddWatch(fd, path, unix.IN_OPEN|unix.IN_CLOSE_WRITE|unix.IN_CLOSE_NOWRITE)
	})
	if err = errors.Join(cerr, err); err != nil {
		return 0, fmt.Errorf("watching %s: %w", path, err)
	}
	w.watches[int32(wd)] = fn
	return int32(wd), nil
}

// unwatch stops reporting for a watch descriptor.
func (w *Watcher) unwatch(wd int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.watches[wd]; !ok || w.closed {
		return
	}
	delete(w.watches, wd)
	_ = w.control(func(fd int) { _, _ = unix.InotifyRmWatch(fd, uint32(wd)) })
}

func (w *Watcher) control(fn func(fd int)) error {
	return w.raw.Control(func(fd uintptr) { fn(int(fd)) })
}

// Close stops the watcher and waits for its goroutine.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	err := w.f.Close()
	<-w.done
	return err
}

func (w *Watcher) run() {
	defer close(w.done)
	for {
		// Read parks in the poller until the descriptor is readable and
		// returns once drain has seen it empty: sync may have taken the
		// events first.
		if err := w.raw.Read(func(fd uintptr) bool { return w.drain(int(fd)) }); err != nil {
			return // closed
		}
	}
}

// sync reports every open and close queued so far: an open() that has
// returned has queued its event, so once sync returns, every port knows of
// every open that came before the call.
func (w *Watcher) sync() {
	_ = w.raw.Control(w.syncFD)
}

// drain reads and reports the queued events until there are none, and
// reports whether it read any. The read and the callbacks happen under
// readMu, so events reach the ports in the order the kernel queued them
// whichever goroutine reads them.
func (w *Watcher) drain(fd int) bool {
	w.readMu.Lock()
	defer w.readMu.Unlock()
	any := false
	for {
		n, err := rawio.Read(fd, w.buf)
		if err != nil || n <= 0 {
			return any
		}
		any = true
		w.dispatch(w.buf[:n])
	}
}

func (w *Watcher) dispatch(buf []byte) {
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		off += unix.SizeofInotifyEvent + int(ev.Len)
		w.mu.Lock()
		fn := w.watches[ev.Wd]
		if ev.Mask&unix.IN_IGNORED != 0 {
			delete(w.watches, ev.Wd)
		}
		w.mu.Unlock()
		if fn == nil {
			continue
		}
		if ev.Mask&unix.IN_OPEN != 0 {
			fn(true)
		}
		if ev.Mask&(unix.IN_CLOSE_WRITE|unix.IN_CLOSE_NOWRITE) != 0 {
			fn(false)
		}
	}
}
