package ptyfront

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/internal/rawio"
)

// A byte a program writes must not reach the far end before the far end's
// program has been seen to do what it did before that write: open the
// port (the device's create request empties its typeahead), flush its
// input, change its speed. Each of those reaches the daemon on its own
// path (an inotify event, a packet on the far pty's master), so before a
// port sends data its reader settles: it reads the inotify events queued
// so far and waits until the far port has acted on them and on any packet
// its program has left on the master. A program's open() queues its
// inotify event, and its tcflush or tcsetattr its packet, before returning,
// so whatever the other program wrote after them is ordered behind them.

// SetPeer names the port whose program receives what this port's program
// sends: the other end of a null-modem pair, or the port itself behind a
// loopback plug. Without one, a port settles only its own opens.
func (p *Port) SetPeer(q *Port) { p.peer.Store(q) }

// Settle waits until the port has acted on what its program did before
// now: the opens and closes queued on the watcher, and a packet its
// program left on the master (a flush, a termios change). A front that is
// not a pty (a network server on the other end of this port's pair) calls
// it before it hands its device data for this port's program, as a pty
// front's reader settles before its own. It returns early when ctx ends
// or the port closes.
func (p *Port) Settle(ctx context.Context) {
	p.watcher.sync()
	before, _ := p.progress.snapshot()
	want := before.statusRead
	if p.statusPending() {
		want++
	}
	for {
		n, ch := p.progress.snapshot()
		if n.sessions >= before.events && n.statusDone >= max(want, n.statusRead) {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-p.ctx.Done():
			return
		}
	}
}

// progress is how far a port has acted on what its program did.
type progress struct {
	mu sync.Mutex
	n  counts
	ch chan struct{} // closed and replaced at every change
}

type counts struct {
	events     uint64 // opens and closes the watcher reported
	sessions   uint64 // events the sessions goroutine has acted on
	closing    bool   // in a last close, which waits for the port's own reader
	statusRead uint64 // packets other than data the reader has taken
	statusDone uint64 // of those, acted on
}

// update changes the progress under its lock and wakes whoever waits.
func (g *progress) update(fn func(*counts)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn(&g.n)
	close(g.ch)
	g.ch = make(chan struct{})
}

func (g *progress) snapshot() (counts, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n, g.ch
}

// settle is called by the reader before it sends data: see above.
func (p *Port) settle() {
	p.watcher.sync()
	// The port's own open: a loopback plug's data comes back to it, and
	// its create request must come first. Its last close waits for this
	// reader, so a close under way is not waited for.
	own, _ := p.progress.snapshot()
	p.waitFor(p, func(n counts) bool { return n.sessions >= own.events || n.closing })
	q := p.peer.Load()
	if q == nil || q == p {
		return // the port's own packets are read in order by this reader
	}
	p.waitOn.Store(q)
	p.progress.update(func(*counts) {}) // a peer waiting for us looks again
	defer p.waitOn.Store(nil)
	before, _ := q.progress.snapshot()
	// A packet left on q's master is the one after those taken before
	// the look; one taken since is waited for too.
	want := before.statusRead
	if q.statusPending() {
		want++
	}
	p.waitFor(q, func(n counts) bool {
		return n.sessions >= before.events && n.statusDone >= max(want, n.statusRead)
	})
}

// waitFor waits until done holds for q's progress, or until either port
// closes, or until q's reader is itself waiting for p: two readers each
// holding data for the other would otherwise wait for each other for
// ever, and either order is right then, as for two programs that write at
// the same moment.
func (p *Port) waitFor(q *Port, done func(counts) bool) {
	for {
		n, ch := q.progress.snapshot()
		if done(n) || (q != p && q.waitOn.Load() == p) {
			return
		}
		select {
		case <-ch:
		case <-p.ctx.Done():
			return
		case <-q.ctx.Done():
			return
		}
	}
}

// statusPending reports whether the program has left a packet other than
// data on the master that the reader has not taken yet: the pty reports
// one as POLLPRI until it is read, and hands it out before any data.
func (p *Port) statusPending() bool {
	pending := false
	_ = p.mraw.Control(func(fd uintptr) {
		ready, err := rawio.PollNow(int(fd), unix.POLLPRI)
		pending = err == nil && ready&unix.POLLPRI != 0
	})
	return pending
}
