package ptyfront_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ptyfront"
	"github.com/vcomd/vcomd/wire"
)

// shapeBytes is what the program sends through the pair.
const shapeBytes = 100 << 10

// TestTraceShape pins the requests a pair of pty ports makes for a
// program that opens both ends, sets them raw, sends 100 KiB one way and
// closes them, at timing off: the gate for moving the masters onto epoll
// and the pump onto completion routines (docs/PERFORMANCE-PLAN.md,
// sections 2.4 and 4). How the data is cut into requests depends on the
// scheduler, so only its shape is asserted: every burst the receiver's
// pump takes is a READ that completes with at least one byte, followed by
// READs of exactly what was queued, each completing at once; the WRITE
// lengths add up to what the program wrote; and the requests around the
// data (the port's setup, the open, the program's termios change, the
// close) come in today's order. Nothing here depends on how long anything
// takes.
func TestTraceShape(t *testing.T) {
	rec := newShapeRecorder()
	a, b := shapePair(t, rec)
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()

	// The program opens each end and, once the port has seen the open
	// and its pump has a read pending, makes it raw at 115200. Waiting
	// in between puts the session's requests and the termios change's in
	// one order; a program does not wait, and the two then interleave.
	var files [2]*os.File
	for i, p := range []*ptyfront.Port{a, b} {
		// The port has acted on the packet its own setup left on the
		// master, which would otherwise race with the open.
		p.Settle(ctx)
		f, err := os.OpenFile(p.Path(), os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files[i] = f
		p.Settle(ctx)
		rec.waitFor(t, p.Device().Name()+"'s first pump read", func(evs []driver.TraceEvent) bool {
			return slices.ContainsFunc(evs, func(ev driver.TraceEvent) bool {
				return ev.Port == p.Device().Name() && ev.Phase == driver.PhaseStart && ev.Major == driver.MajorRead
			})
		})
		setTermios(t, f, func(tio *unix.Termios) {
			tio.Iflag, tio.Oflag = 0, 0
			tio.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG | unix.IEXTEN
			tio.Cflag = tio.Cflag&^(unix.CRTSCTS|unix.CBAUD) | unix.B115200 | unix.CREAD | unix.CLOCAL
			tio.Ispeed, tio.Ospeed = 115200, 115200
			tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
		})
		p.Settle(ctx)
	}

	data := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz\n"), shapeBytes/37+1)[:shapeBytes]
	w := startWriter(files[0], data)
	got := make([]byte, 0, len(data))
	buf := make([]byte, 4096)
	for len(got) < len(data) {
		n, ok := readWithin(t, files[1], buf, watchdog)
		if !ok {
			t.Fatalf("nothing to read for %v after %d of %d bytes", watchdog, len(got), len(data))
		}
		got = append(got, buf[:n]...)
	}
	if err := w.wait(t); err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%d bytes arrived that differ from the %d sent", len(got), len(data))
	}
	// Every write request has completed before the program closes, so
	// that the close's flush finds none waiting: a write still completing
	// would put its completion inside the close sequence.
	rec.waitFor(t, "A's writes to complete", func(evs []driver.TraceEvent) bool {
		started, done := 0, 0
		for _, ev := range evs {
			if ev.Port == "A" && ev.Major == driver.MajorWrite {
				if ev.Phase == driver.PhaseStart {
					started++
				} else if ev.Phase == driver.PhaseComplete {
					done++
				}
			}
		}
		return started == done
	})
	for i, p := range []*ptyfront.Port{a, b} {
		if err := files[i].Close(); err != nil {
			t.Fatal(err)
		}
		name := p.Device().Name()
		rec.waitFor(t, name+"'s close", func(evs []driver.TraceEvent) bool {
			return slices.ContainsFunc(evs, func(ev driver.TraceEvent) bool {
				return ev.Port == name && ev.Phase == driver.PhaseComplete && ev.Major == driver.MajorClose
			})
		})
	}

	evs := rec.snapshot()
	ports := map[string][]driver.TraceEvent{}
	for _, ev := range evs {
		if ev.Phase != driver.PhaseEvent {
			ports[ev.Port] = append(ports[ev.Port], ev)
		}
	}
	for _, name := range []string{"A", "B"} {
		got := shapeSkeleton(ports[name])
		got, late := withoutLateRead(got)
		if late {
			t.Logf("%s: the pump issued one more READ between the cleanup and its stop", name)
		}
		if !slices.Equal(got, shapeWant) {
			t.Errorf("%s's requests around the data:\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(shapeWant, "\n"))
		}
	}
	checkWrites(t, ports["A"], shapeBytes)
	checkReads(t, ports["A"], 0)
	checkReads(t, ports["B"], shapeBytes)
}

// shapeWant is today's sequence of requests on each port, data requests
// collapsed into "data": the port's setup (its typeahead size, the
// device's settings read back, the line control read again by the
// applyTermios of setup and by the packet setup's own termios write leaves
// on the master), the program's open (the session's create and read
// timeouts, then its pump's first read), the program's termios change,
// the data, and the last close (flush, cleanup cancelling the pump's
// read, close).
var shapeWant = []string{
	"start SET_QUEUE_SIZE", "done SET_QUEUE_SIZE SUCCESS",
	"start GET_BAUD_RATE", "done GET_BAUD_RATE SUCCESS",
	"start GET_LINE_CONTROL", "done GET_LINE_CONTROL SUCCESS",
	"start GET_HANDFLOW", "done GET_HANDFLOW SUCCESS",
	"start GET_CHARS", "done GET_CHARS SUCCESS",
	"start GET_LINE_CONTROL", "done GET_LINE_CONTROL SUCCESS",
	"start GET_LINE_CONTROL", "done GET_LINE_CONTROL SUCCESS",
	"start CREATE", "done CREATE SUCCESS",
	"start SET_TIMEOUTS", "done SET_TIMEOUTS SUCCESS",
	"data",
	"start GET_LINE_CONTROL", "done GET_LINE_CONTROL SUCCESS",
	"start SET_BAUD_RATE", "done SET_BAUD_RATE SUCCESS",
	"data",
	"start FLUSH_BUFFERS", "done FLUSH_BUFFERS SUCCESS",
	"start CLEANUP", "done READ CANCELLED", "done CLEANUP SUCCESS",
	"start CLOSE", "done CLOSE SUCCESS",
}

// shapeIRP is one request of a port's trace: its start and completion,
// and whether the completion was the port's next request event after the
// start (it completed at once, inside the submit).
type shapeIRP struct {
	start, done *driver.TraceEvent
	atOnce      bool
}

// shapeIRPs collects a port's requests of one major function, in the
// order they started.
func shapeIRPs(t *testing.T, evs []driver.TraceEvent, major driver.Major) []shapeIRP {
	t.Helper()
	var irps []shapeIRP
	index := map[uint64]int{}
	for i := range evs {
		ev := &evs[i]
		if ev.Major != major {
			continue
		}
		if ev.Phase == driver.PhaseStart {
			index[ev.ID] = len(irps)
			irps = append(irps, shapeIRP{start: ev})
			continue
		}
		k, ok := index[ev.ID]
		if !ok || irps[k].done != nil {
			t.Fatalf("%s: %s %d completed without a start, or twice", ev.Port, major, ev.ID)
		}
		irps[k].done = ev
		irps[k].atOnce = i > 0 && evs[i-1].Phase == driver.PhaseStart && evs[i-1].ID == ev.ID
	}
	for _, irp := range irps {
		if irp.done == nil {
			t.Fatalf("%s: %s %d never completed", irp.start.Port, major, irp.start.ID)
		}
	}
	return irps
}

// checkWrites: every write the front issued completed with all its data,
// and together they carry what the program wrote.
func checkWrites(t *testing.T, evs []driver.TraceEvent, want int) {
	t.Helper()
	sum := 0
	for _, w := range shapeIRPs(t, evs, driver.MajorWrite) {
		if w.done.Status != driver.StatusSuccess || w.done.Length != w.start.Length || w.start.Length == 0 {
			t.Errorf("%s: WRITE %d of %d bytes ended %v with %d", w.start.Port, w.start.ID, w.start.Length, w.done.Status, w.done.Length)
		}
		sum += w.start.Length
	}
	if sum != want {
		t.Errorf("WRITEs carry %d bytes, want %d", sum, want)
	}
}

// checkReads holds the pump's reads to their shape: a burst is a READ
// for the pump's whole buffer that completes with at least one byte,
// followed by READs for less, each of exactly what was queued, which
// complete with all of it at once; the last READ is the one pending at
// the close, cancelled with nothing. Together they carry want bytes.
func checkReads(t *testing.T, evs []driver.TraceEvent, want int) {
	t.Helper()
	reads := shapeIRPs(t, evs, driver.MajorRead)
	if len(reads) == 0 {
		t.Fatal("no READ in the trace")
	}
	// The pump's read pending at the close is cancelled by the cleanup.
	// The pump, woken by that, may issue one more before the session
	// stops it (session.Close stops the pump after the cleanup), and the
	// stop cancels that one too.
	tail := 1
	if n := len(reads); n >= 2 && reads[n-2].done.Status == driver.StatusCancelled {
		tail = 2
	}
	for _, r := range reads[len(reads)-tail:] {
		if r.done.Status != driver.StatusCancelled || r.done.Length != 0 {
			t.Errorf("%s: READ %d pending at the close ended %v with %d bytes, want CANCELLED with 0", r.start.Port, r.start.ID, r.done.Status, r.done.Length)
		}
	}
	last := reads[len(reads)-1]
	whole := reads[0].start.Length // the pump's buffer
	sum, bursts := 0, 0
	for _, r := range reads[:len(reads)-tail] {
		st, n, asked := r.done.Status, r.done.Length, r.start.Length
		switch {
		case st != driver.StatusSuccess || n < 1 || n > asked:
			t.Errorf("%s: READ %d of %d bytes ended %v with %d, want SUCCESS with at least one", r.start.Port, r.start.ID, asked, st, n)
		case asked == whole:
			bursts++
		case asked > whole:
			t.Errorf("%s: READ %d asks for %d bytes, more than the pump's %d", r.start.Port, r.start.ID, asked, whole)
		case n != asked || !r.atOnce:
			t.Errorf("%s: READ %d of %d queued bytes got %d (at once: %v), want all of them at once", r.start.Port, r.start.ID, asked, n, r.atOnce)
		}
		sum += n
	}
	if sum != want {
		t.Errorf("%s: READs carry %d bytes, want %d", last.start.Port, sum, want)
	}
	t.Logf("%s: %d READs in %d bursts carry %d bytes", last.start.Port, len(reads)-tail, bursts, sum)
}

// withoutLateRead takes out of a skeleton the READ the pump may issue
// between the close's cleanup and the pump's stop: it starts after the
// cleanup has cancelled the pump's read and is cancelled before the close.
// Today's session.Close stops the pump only after the cleanup, so whether
// the pump gets to issue it is up to the scheduler; late reports whether
// it did.
func withoutLateRead(skel []string) (out []string, late bool) {
	from, to := slices.Index(skel, "start CLEANUP"), slices.Index(skel, "start CLOSE")
	if from < 0 || to < from {
		return skel, false
	}
	span := skel[from:to]
	start := slices.Index(span, "data")
	cancelled := slices.Index(span, "done READ CANCELLED")
	if start < 0 || cancelled < 0 || cancelled > start {
		return skel, false
	}
	// The late READ's cancellation is the next one after its start.
	end := slices.Index(span[start:], "done READ CANCELLED")
	if end < 0 {
		return skel, false
	}
	end += start
	out = slices.Concat(skel[:from], span[:start], span[start+1:end], span[end+1:], skel[to:])
	return out, true
}

// shapeSkeleton is a port's trace with the data requests (READs and
// WRITEs that succeed) collapsed into one "data" line for each run of
// them.
func shapeSkeleton(evs []driver.TraceEvent) []string {
	var out []string
	for _, ev := range evs {
		line := shapeName(ev)
		if (ev.Major == driver.MajorRead || ev.Major == driver.MajorWrite) && (ev.Phase == driver.PhaseStart || ev.Status == driver.StatusSuccess) {
			line = "data"
		}
		if line == "data" && len(out) > 0 && out[len(out)-1] == "data" {
			continue
		}
		out = append(out, line)
	}
	return out
}

// shapeName names a trace event without lengths or data: "start
// SET_TIMEOUTS", "done READ CANCELLED".
func shapeName(ev driver.TraceEvent) string {
	what := ev.Major.String()
	if ev.Major == driver.MajorDeviceControl {
		what = strings.TrimPrefix(ev.Code.String(), "IOCTL_SERIAL_")
	}
	if ev.Phase == driver.PhaseStart {
		return "start " + what
	}
	return fmt.Sprintf("done %s %s", what, ev.Status)
}

// shapePair is newPair with every trace event recorded: two devices at
// timing off on a null-modem cable, each behind a pty.
func shapePair(t *testing.T, rec *shapeRecorder) (a, b *ptyfront.Port) {
	t.Helper()
	w, err := ptyfront.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	epoch := time.Now()
	var devs [2]*driver.Device
	for i, name := range []string{"A", "B"} {
		devs[i] = driver.New(driver.Options{Name: name, Instant: true, FIFODepth: 256, Epoch: epoch, Trace: rec.add})
	}
	wire.Connect(devs[0], devs[1], wire.Options{})
	var ports [2]*ptyfront.Port
	for i, d := range devs {
		p, err := ptyfront.Open(d, w, ptyfront.Options{UID: -1, GID: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(); d.Close() })
		ports[i] = p
	}
	ports[0].SetPeer(ports[1])
	ports[1].SetPeer(ports[0])
	return ports[0], ports[1]
}

// shapeRecorder keeps every trace event of both ports, in the order the
// devices handed them over, and lets a test wait for a condition on them.
type shapeRecorder struct {
	mu      sync.Mutex
	events  []driver.TraceEvent
	changed chan struct{} // closed and replaced at every event
}

func newShapeRecorder() *shapeRecorder { return &shapeRecorder{changed: make(chan struct{})} }

func (r *shapeRecorder) add(ev driver.TraceEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *shapeRecorder) snapshot() []driver.TraceEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitFor waits until cond holds for the events so far, failing after
// the watchdog.
func (r *shapeRecorder) waitFor(t *testing.T, what string, cond func([]driver.TraceEvent) bool) {
	t.Helper()
	timeout := time.After(watchdog)
	for {
		r.mu.Lock()
		ok, ch := cond(r.events), r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("waited %v for %s", watchdog, what)
		}
	}
}
