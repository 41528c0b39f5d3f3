package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vcomd/vcomd/control"
)

// traceLimit bounds a run's trace, in memory and in its file, in bytes of
// JSON lines: past it the oldest lines go, and the file starts with a
// marker line saying how many went (a TraceLine with only time and
// dropped set, as vcomctl trace --json marks events a slow reader lost).
// 16 MiB holds about 60 000 requests, minutes of a busy port at 115200
// baud.
const traceLimit = 16 << 20

// summaryDepth is how many of each port's last requests the failure
// summary shows.
const summaryDepth = 8

// recorder keeps a run's trace: the newest lines up to a byte limit (when
// keep is set) and each port's last few for the summary. follow's
// goroutine alone calls add; the rest runs after it stopped.
type recorder struct {
	keep    bool
	limit   int
	lines   []recorded // lines[head:] are kept, oldest first
	head    int
	size    int    // bytes in lines[head:]
	trimmed uint64 // lines dropped to stay under limit

	depth int
	last  map[string][]control.TraceLine // each port's newest, oldest first
	ports []string                       // in the order they first showed up
}

// recorded is one JSON line and its time, for the marker of what went
// before it.
type recorded struct {
	time time.Time
	json []byte
}

func newRecorder(keep bool, limit, depth int) *recorder {
	return &recorder{keep: keep, limit: limit, depth: depth, last: map[string][]control.TraceLine{}}
}

// add records l.
func (r *recorder) add(l control.TraceLine) {
	if l.Port != "" {
		r.remember(l)
	}
	if !r.keep {
		return
	}
	b, err := json.Marshal(l)
	if err != nil {
		// An IOCTL's input or output that JSON cannot carry: keep the
		// rest of the line.
		l.Input, l.Output = nil, nil
		if b, err = json.Marshal(l); err != nil {
			return
		}
	}
	b = append(b, '\n')
	r.lines = append(r.lines, recorded{l.Time, b})
	r.size += len(b)
	for r.size > r.limit && r.head < len(r.lines) {
		r.size -= len(r.lines[r.head].json)
		r.lines[r.head] = recorded{}
		r.head++
		r.trimmed++
	}
	// Reuse the front once half the slice is gone, so that memory stays
	// near the limit.
	if r.head > len(r.lines)/2 {
		r.lines = append(r.lines[:0], r.lines[r.head:]...)
		r.head = 0
	}
}

// remember keeps l among its port's last requests: a completion takes
// the place of its start, so that one line is one request with its data.
func (r *recorder) remember(l control.TraceLine) {
	last, seen := r.last[l.Port]
	if !seen {
		r.ports = append(r.ports, l.Port)
	}
	for i := len(last) - 1; i >= 0 && l.Phase == "complete"; i-- {
		if last[i].ID == l.ID && last[i].Phase == "start" {
			if l.Data == "" {
				l.Data = last[i].Data // a write's data is in its start
			}
			last = append(last[:i], last[i+1:]...)
			break
		}
	}
	if len(last) == r.depth {
		last = append(last[:0], last[1:]...)
	}
	r.last[l.Port] = append(last, l)
}

// writeTo writes the kept trace to w, after a marker if lines went.
func (r *recorder) writeTo(w io.Writer) error {
	bw := bufio.NewWriter(w)
	kept := r.lines[r.head:]
	if r.trimmed > 0 && len(kept) > 0 {
		b, err := json.Marshal(control.TraceLine{Time: kept[0].time, Dropped: r.trimmed})
		if err != nil {
			return err
		}
		bw.Write(append(b, '\n'))
	}
	for _, l := range kept {
		bw.Write(l.json)
	}
	return bw.Flush()
}

// writeFile writes the kept trace to path.
func (r *recorder) writeFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	err = r.writeTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("trace %s: %w", path, err)
	}
	return nil
}

// summary writes each port's last lines as vcomctl trace shows them.
func (r *recorder) summary(w io.Writer) {
	if len(r.ports) == 0 {
		fmt.Fprintln(w, "  (no requests on any port)")
	}
	for _, p := range r.ports {
		fmt.Fprintf(w, "  %s:\n", p)
		for _, l := range r.last[p] {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}
