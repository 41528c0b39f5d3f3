package wire

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/record"
	"github.com/vcomd/vcomd/uart16550"
)

var _ driver.InputDriver = (*Replay)(nil)

// replayHold is how many bytes the host may send ahead of the replay
// before Transmit stops calling taken: a program that writes on while the
// replay is still answering is held back, as by a device that is slow to
// read, rather than growing the buffer without end.
const replayHold = 4096

// ReplayOptions configure a Replay.
type ReplayOptions struct {
	// Instant answers as soon as the host has sent what the recording
	// says it sent; otherwise (pace = "recorded") each device event
	// keeps its recorded distance from the host data or open before it.
	Instant bool
	// Resync, on a mismatch, skips ahead to the next host block that
	// matches what arrived (see Replay); otherwise the replay stops.
	Resync bool
	Logger zerolog.Logger
}

// The states of a replay, as ReplayState.State says them.
const (
	ReplayWaitOpen = "waiting for open" // for the program to open the port (DTR up)
	ReplayWaitHost = "waiting for host" // for the bytes the recording says the host sent
	ReplayPlaying  = "playing"          // the device's side, at its pace
	ReplayEnded    = "ended"            // every event played
	ReplayStopped  = "stopped"          // a mismatch ended it (on_mismatch = "stop")
)

// ReplayState is a snapshot of a Replay.
type ReplayState struct {
	File   string // the recording
	State  string // ReplayWaitOpen ... ReplayStopped
	Line   int    // the recording's line being waited on or played; where it stopped; 0 once ended
	Lines  int    // lines in the recording, with the header
	Played int    // events done (of len(recording events))
	// Extra counts bytes the host sent after the end or after a stop,
	// which nothing compares.
	Extra      uint64
	Mismatches uint64
	Mismatch   *ReplayMismatch // the last one
}

// ReplayMismatch is what the host sent where the recording says it sent
// something else.
type ReplayMismatch struct {
	Line     int    // the host event's line in the recording
	Offset   int    // the first byte that differs, in that event's data
	Expected []byte // that event's data
	Received []byte // what arrived in its place, up to the event's length
	At       time.Time
	// Resynced is the line the replay went on from (on_mismatch =
	// "resync"); 0 when it stopped or waits at Line again.
	Resynced int
}

// Error says the mismatch as the log and status show it.
func (m *ReplayMismatch) Error() string {
	return fmt.Sprintf("line %d: host sent %s where the recording has %s (first difference at byte %d)",
		m.Line, strconv.Quote(string(m.Received)), strconv.Quote(string(m.Expected)), m.Offset)
}

// Replay is a wire whose far end is a recording (package record) of a
// device: it plays the device's side to whatever program opens the port.
// Events are taken in order: an open waits for the program to open the
// port (its DTR rising); host data waits until the program has sent those
// bytes, compared as they arrive; device data and the device's modem
// inputs (CTS, DSR, RI, DCD) are played, at the recorded distance from
// the last open or host data (or at once with Instant). The host's own
// settings, outputs and breaks are the program's to make and are not
// checked.
//
// A byte that differs from the recording is a mismatch, logged and kept
// in State. Without Resync the replay stops there; with it, it goes on
// from the first host event at or after the mismatched one whose data
// starts as what arrived does, dropping arrived bytes from the front
// until one does (none left: it waits at the mismatched event again, as
// for a program that retries).
type Replay struct {
	dev  *driver.Device
	rec  *record.Recording
	opts ReplayOptions
	log  zerolog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	changed notifier // closed and replaced when bytes arrive or DTR changes
	rx      []byte   // what the host sent, not yet compared
	held    []func() // taken callbacks held while rx is past replayHold
	dtr     bool     // the host's DTR as last seen
	state   ReplayState
	// stateChanged is closed and replaced at every change of state, for
	// tests to wait on.
	stateChanged notifier
}

// OpenReplay reads the recording at path, checks all of it, and makes it
// dev's wire. A recording that does not parse, or is of another port than
// dev, is refused with an error naming the file and line, and dev is left
// as it was. The replay starts at once: its first event waits for the
// program, or plays.
func OpenReplay(dev *driver.Device, path string, opts ReplayOptions) (*Replay, error) {
	rec, err := record.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if rec.Header.Port != dev.Name() {
		return nil, fmt.Errorf("%s:1: a recording of port %q, not of %q", path, rec.Header.Port, dev.Name())
	}
	r := &Replay{
		dev:  dev,
		rec:  rec,
		opts: opts,
		dtr:  dev.Outputs().DTR,
	}
	r.state = ReplayState{File: path, Lines: len(rec.Events) + 1}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.log = opts.Logger.With().Str("port", dev.Name()).Str("replay", path).Logger()
	for _, e := range rec.Events {
		if e.Kind == record.Lost {
			r.log.Warn().Int("line", e.Line).Uint64("events", e.Count).Msg("the recorder lost trace events here: the program may not meet what it expects")
		}
	}
	dev.SetWire(r)
	h := rec.Header.Lines
	dev.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{
		CTS: on(h.CTS), DSR: on(h.DSR), RI: on(h.RI), DCD: on(h.DCD),
	}})
	r.wg.Add(1)
	go r.run()
	return r, nil
}

func on(b *bool) bool { return b != nil && *b }

// String is "replay:" and the recording's path.
func (r *Replay) String() string { return "replay:" + r.state.File }

// State returns a snapshot of the replay.
func (r *Replay) State() ReplayState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.state
	if st.Mismatch != nil {
		m := *st.Mismatch
		st.Mismatch = &m
	}
	return st
}

// Close ends the replay and waits for its goroutine. The device keeps r
// as its wire (taking what is sent, answering nothing) until the caller
// sets another.
func (r *Replay) Close() {
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	held := r.releaseLocked(true)
	r.mu.Unlock()
	callAll(held)
}

// DrivenInputs implements driver.InputDriver: the recording drives all
// four inputs.
func (r *Replay) DrivenInputs(*driver.Device) uart16550.ModemInputs {
	return uart16550.ModemInputs{CTS: true, DSR: true, RI: true, DCD: true}
}

// Transmit implements driver.Wire: the bytes join what the replay
// compares with the recording, and DTR changes are what an open waits
// for. The recording takes everything at once.
func (r *Replay) Transmit(_ *driver.Device, signals []uart16550.Signal, taken func()) {
	r.mu.Lock()
	for _, s := range signals {
		switch s.Kind {
		case uart16550.SignalChar:
			r.rx = append(r.rx, s.Char)
		case uart16550.SignalChars:
			r.rx = append(r.rx, s.Data...)
		case uart16550.SignalModem:
			r.dtr = s.Modem.DTR
		}
	}
	if r.state.State == ReplayEnded || r.state.State == ReplayStopped {
		r.state.Extra += uint64(len(r.rx))
		r.rx = r.rx[:0]
	}
	r.changed.notify()
	if taken != nil && len(r.rx) > replayHold && r.ctx.Err() == nil {
		r.held = append(r.held, taken)
		taken = nil
	}
	r.mu.Unlock()
	if taken != nil {
		taken()
	}
}

// releaseLocked hands back the held taken callbacks once rx is below
// replayHold, or all of them when the replay is over; the caller calls
// them with r.mu released.
func (r *Replay) releaseLocked(all bool) []func() {
	if len(r.held) == 0 || (!all && len(r.rx) > replayHold) {
		return nil
	}
	h := r.held
	r.held = nil
	return h
}

func callAll(fns []func()) {
	for _, f := range fns {
		f()
	}
}

// setLocked records a change of state.
func (r *Replay) setLocked(state string, line int) {
	r.state.State, r.state.Line = state, line
	r.stateChanged.notify()
}

func (r *Replay) set(state string, line int) {
	r.mu.Lock()
	r.setLocked(state, line)
	r.mu.Unlock()
}

// run plays the events in order until the end, a stop, or Close.
func (r *Replay) run() {
	defer r.wg.Done()
	evs := r.rec.Events
	// anchor pairs a moment of the replay with the recorded time of the
	// same point (an open or host data): device events keep their
	// distance from it.
	anchor, anchorT := time.Now(), time.Duration(0)
	h := r.rec.Header.Lines
	mi := uart16550.ModemInputs{CTS: on(h.CTS), DSR: on(h.DSR), RI: on(h.RI), DCD: on(h.DCD)}
	for i := 0; i < len(evs); {
		e := evs[i]
		switch e.Kind {
		case record.Open:
			r.set(ReplayWaitOpen, e.Line)
			if !r.await(func() bool { return r.dtr }) {
				return
			}
			anchor, anchorT = time.Now(), e.T
		case record.Host:
			r.set(ReplayWaitHost, e.Line)
			next, ok := r.match(i)
			if !ok {
				return
			}
			if next != i+1 {
				i = next // resynchronised: match event next from the start
				continue
			}
			anchor, anchorT = time.Now(), e.T
		case record.Device:
			r.set(ReplayPlaying, e.Line)
			if !r.pace(anchor, e.T-anchorT) || !r.input(driver.Input{Kind: driver.InputChars, Data: e.Data}) {
				return
			}
		case record.ModemLn:
			if !e.Lines.Inputs() {
				break // the host's DTR or RTS: the program's to drive
			}
			r.set(ReplayPlaying, e.Line)
			if !r.pace(anchor, e.T-anchorT) {
				return
			}
			// Only the lines named change; the others stay as they were.
			take := func(p *bool, v *bool) {
				if v != nil {
					*p = *v
				}
			}
			take(&mi.CTS, e.Lines.CTS)
			take(&mi.DSR, e.Lines.DSR)
			take(&mi.RI, e.Lines.RI)
			take(&mi.DCD, e.Lines.DCD)
			if !r.input(driver.Input{Kind: driver.InputModem, Modem: mi}) {
				return
			}
		}
		i++
		r.mu.Lock()
		r.state.Played = i
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.state.Extra += uint64(len(r.rx))
	r.rx = nil
	r.setLocked(ReplayEnded, 0)
	held := r.releaseLocked(true)
	r.mu.Unlock()
	callAll(held)
	r.log.Info().Int("events", len(evs)).Msg("replay ended: every event of the recording played")
}

// await waits until cond, called with r.mu held, is true; false if the
// replay closed first.
func (r *Replay) await(cond func() bool) bool {
	for {
		r.mu.Lock()
		ok, ch := cond(), r.changed.C()
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-r.ctx.Done():
			return false
		}
	}
}

// pace waits until d after anchor, unless Instant; false if the replay
// closed first.
func (r *Replay) pace(anchor time.Time, d time.Duration) bool {
	if r.opts.Instant {
		return r.ctx.Err() == nil
	}
	wait := time.Until(anchor.Add(d))
	if wait <= 0 {
		return r.ctx.Err() == nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// input gives the device in and waits until it is applied, so that a
// program that does not read holds the replay back as it would a device
// with flow control; false if the replay closed first.
func (r *Replay) input(in driver.Input) bool {
	applied := make(chan struct{})
	r.dev.InputThen(func() { close(applied) }, in)
	select {
	case <-applied:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// match compares what the host sends with host event i as it arrives.
// It returns i+1 once all of it arrived; on a mismatch with Resync, the
// event to match next from its start (i again when none fits); false
// when the replay stopped or closed.
func (r *Replay) match(i int) (int, bool) {
	e := r.rec.Events[i]
	off := 0
	for off < len(e.Data) {
		if !r.await(func() bool { return len(r.rx) > 0 }) {
			return 0, false
		}
		r.mu.Lock()
		n := 0
		for n < len(r.rx) && off < len(e.Data) && r.rx[n] == e.Data[off] {
			n++
			off++
		}
		r.rx = r.rx[n:]
		if len(r.rx) == 0 || off == len(e.Data) {
			held := r.releaseLocked(false)
			r.mu.Unlock()
			callAll(held)
			continue
		}
		// r.rx[0] differs from e.Data[off].
		got := append(append([]byte(nil), e.Data[:off]...), r.rx[:min(len(r.rx), len(e.Data)-off)]...)
		m := &ReplayMismatch{Line: e.Line, Offset: off, Expected: e.Data, Received: got, At: time.Now()}
		r.state.Mismatches++
		r.state.Mismatch = m
		if !r.opts.Resync {
			r.state.Extra += uint64(len(r.rx))
			r.rx = nil
			// Logged before the state says so, so that whoever sees the
			// state finds the line in the log.
			r.log.Error().Int("line", e.Line).Int("offset", off).Str("expected", strconv.Quote(string(e.Data))).Str("received", strconv.Quote(string(got))).
				Msg("replay stopped: the host sent what the recording does not have")
			r.setLocked(ReplayStopped, e.Line)
			held := r.releaseLocked(true)
			r.mu.Unlock()
			callAll(held)
			return 0, false
		}
		// What arrived for this event goes back in front, and the search
		// drops bytes from the front until a host event fits.
		r.rx = append(append([]byte(nil), e.Data[:off]...), r.rx...)
		next := i
		for len(r.rx) > 0 {
			if j, ok := r.fitting(i, r.rx); ok {
				next = j
				break
			}
			r.rx = r.rx[1:]
		}
		if next != i {
			m.Resynced = r.rec.Events[next].Line
		}
		held := r.releaseLocked(false)
		r.mu.Unlock()
		callAll(held)
		r.log.Warn().Int("line", e.Line).Int("offset", off).Str("expected", strconv.Quote(string(e.Data))).Str("received", strconv.Quote(string(got))).
			Int("resynced_at", m.Resynced).Msg("replay mismatch: resynchronising")
		return next, true
	}
	return i + 1, true
}

// fitting is the first host event at or after i whose data starts as rx
// does (as far as both go).
func (r *Replay) fitting(i int, rx []byte) (int, bool) {
	for j := i; j < len(r.rec.Events); j++ {
		e := r.rec.Events[j]
		if e.Kind != record.Host {
			continue
		}
		n := min(len(e.Data), len(rx))
		if bytes.Equal(e.Data[:n], rx[:n]) {
			return j, true
		}
	}
	return 0, false
}
