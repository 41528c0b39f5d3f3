package benchrig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// linkWatch sees names appear in a directory through inotify: a link made
// in place (IN_CREATE, as socat makes them) or renamed into place
// (IN_MOVED_TO).
type linkWatch struct {
	dir string
	f   *os.File
}

func watchLinks(dir string) (*linkWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	// Non-blocking, so that close wakes a reader parked in the poller.
	return &linkWatch{dir: dir, f: os.NewFile(uintptr(fd), "inotify")}, nil
}

func (w *linkWatch) close() { w.f.Close() }

// wait returns once every path in want exists, or with an error when ctx
// ends or a process reports on exited first (a process that exits before
// its links exist has failed).
func (w *linkWatch) wait(ctx context.Context, want []string, exited <-chan *process) error {
	pending := make(map[string]bool, len(want))
	for _, p := range want {
		if filepath.Dir(p) != filepath.Clean(w.dir) {
			return fmt.Errorf("link %s is not in the watched %s", p, w.dir)
		}
		pending[filepath.Base(p)] = true
	}
	names := make(chan string, 64)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() { readErr <- w.read(names, done) }()
	// Links that existed before the watch are found by looking; what
	// appeared since is in inotify's queue.
	w.look(pending)
	for len(pending) > 0 {
		select {
		case name := <-names:
			if name == "" {
				w.look(pending) // events were lost
			}
			delete(pending, name)
		case err := <-readErr:
			return err
		case p := <-exited:
			return p.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%d of %d links still missing: %w", len(pending), len(want), ctx.Err())
		}
	}
	return nil
}

// look removes from pending the names that exist.
func (w *linkWatch) look(pending map[string]bool) {
	for name := range pending {
		if _, err := os.Lstat(filepath.Join(w.dir, name)); err == nil {
			delete(pending, name)
		}
	}
}

// read sends the name of every entry created in the directory, or "" when
// the kernel dropped events, until done is closed or the watch is.
func (w *linkWatch) read(names chan<- string, done <-chan struct{}) error {
	buf := make([]byte, 256*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if errors.Is(err, os.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading inotify events of %s: %w", w.dir, err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				name = nil
			}
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i] // names are padded with NULs
			}
			select {
			case names <- string(name):
			case <-done:
				return nil
			}
		}
	}
}
