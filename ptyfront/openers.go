package ptyfront

import (
	"os"
	"path/filepath"
	"strconv"
)

// inotify merges an event into the last one queued when they are the
// same, so two opens in a row (a program's and a helper's that opens the
// port to set termios) can arrive as one, and two closes likewise: a
// count of events alone drifts. A close is therefore checked against
// /proc, where the closed descriptor is already gone when its event is
// queued, and an open still on its way is counted by its own event, which
// comes after.

// openers counts the descriptors any process has open on path, other than
// skip of this process (the front's own hold on the slave), and reports
// whether it could look at every process (a user's daemon cannot see
// other users').
func openers(path string, skip int) (n int, complete bool) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	self := strconv.Itoa(os.Getpid())
	complete = true
	for _, e := range procs {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			if !os.IsNotExist(err) {
				complete = false // not ours to see; a process that ended is fine
			}
			continue
		}
		for _, fd := range fds {
			if e.Name() == self && fd.Name() == strconv.Itoa(skip) {
				continue
			}
			if t, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && t == path {
				n++
			}
		}
	}
	return n, complete
}
