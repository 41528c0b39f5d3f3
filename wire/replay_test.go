package wire_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/record"
	"github.com/vcomd/vcomd/wire"
)

// writeRecording writes a recording of port with evs to a file of the
// test's and returns its path.
func writeRecording(t *testing.T, port string, evs []record.Event) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := record.NewWriter(f, record.Header{Port: port, Started: time.Now(), Baud: 9600, Framing: "8N1",
		Lines: record.Lines{CTS: record.Bool(true), DSR: record.Bool(true), RI: record.Bool(false), DCD: record.Bool(true), DTR: record.Bool(false), RTS: record.Bool(false)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

func host(ms int, s string) record.Event {
	return record.Event{T: time.Duration(ms) * time.Millisecond, Kind: record.Host, Data: []byte(s)}
}

func device(ms int, s string) record.Event {
	return record.Event{T: time.Duration(ms) * time.Millisecond, Kind: record.Device, Data: []byte(s)}
}

// session is an AT exchange: open, AT / OK, the carrier dropping and the
// ring indicator rising, ATI (sent in two writes) / its answer.
func session() []record.Event {
	return []record.Event{
		{T: 0, Kind: record.Open},
		{T: time.Millisecond, Kind: record.Baud, Baud: 115200},
		host(2, "AT\r"),
		device(5, "OK\r\n"),
		{T: 6 * time.Millisecond, Kind: record.ModemLn, Lines: record.Lines{DCD: record.Bool(false), RI: record.Bool(true), DTR: record.Bool(true)}},
		host(10, "AT"),
		host(11, "I\r"),
		device(15, "vcomd modem\r\n"),
		device(16, "OK\r\n"),
		{T: 20 * time.Millisecond, Kind: record.Close},
	}
}

func openReplay(t *testing.T, d *driver.Device, path string, opts wire.ReplayOptions) *wire.Replay {
	t.Helper()
	r, err := wire.OpenReplay(d, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func waitReplay(t *testing.T, r *wire.Replay, what string, cond func(wire.ReplayState) bool) wire.ReplayState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	st, err := wire.WaitReplay(ctx, r, cond)
	if err != nil {
		t.Fatalf("waiting for %s: %v; state %+v", what, err, st)
	}
	return st
}

// The device's side plays in order, each answer only after the host sent
// what precedes it, whatever the writes' sizes; the modem inputs follow
// the recording; at the end the state says so, and what comes after is
// counted. Both pacings play the same bytes.
func TestReplayPlays(t *testing.T) {
	for _, instant := range []bool{true, false} {
		t.Run(map[bool]string{true: "instant", false: "recorded"}[instant], func(t *testing.T) {
			path := writeRecording(t, "M", session())
			d := driver.New(driver.Options{Name: "M", Instant: true})
			t.Cleanup(func() { d.Close() })
			r := openReplay(t, d, path, wire.ReplayOptions{Instant: instant})
			if got := r.String(); got != "replay:"+path {
				t.Errorf("String() = %q", got)
			}
			st := waitReplay(t, r, "the open", func(s wire.ReplayState) bool { return s.State == wire.ReplayWaitOpen })
			if st.Line != 2 || st.Lines != 11 || st.File != path {
				t.Errorf("state %+v before the open, want line 2 of 11", st)
			}
			waitModem(t, d, msrCarrier|msrRI, msrCarrier) // the header's lines
			call(t, d, &driver.IRP{Major: driver.MajorCreate})
			st = waitReplay(t, r, "the host's AT", func(s wire.ReplayState) bool { return s.State == wire.ReplayWaitHost })
			if st.Line != 4 {
				t.Errorf("state %+v, want waiting at line 4", st)
			}
			call(t, d, driver.NewWrite([]byte("A")))
			call(t, d, driver.NewWrite([]byte("T\r")))
			if got := readDevice(t, d, 4); string(got) != "OK\r\n" {
				t.Errorf("answer %q, want OK", got)
			}
			waitModem(t, d, msrCarrier|msrRI, msrCTS|msrDSR|msrRI)
			call(t, d, driver.NewWrite([]byte("ATI\r")))
			want := "vcomd modem\r\nOK\r\n"
			if got := readDevice(t, d, len(want)); string(got) != want {
				t.Errorf("answer %q, want %q", got, want)
			}
			st = waitReplay(t, r, "the end", func(s wire.ReplayState) bool { return s.State == wire.ReplayEnded })
			if st.Played != 10 || st.Mismatches != 0 || st.Line != 0 {
				t.Errorf("state %+v at the end", st)
			}
			call(t, d, driver.NewWrite([]byte("more")))
			ctx, cancel := context.WithTimeout(context.Background(), watchdog)
			defer cancel()
			if err := d.Delivered(ctx); err != nil {
				t.Fatal(err)
			}
			if got := r.State().Extra; got != 4 {
				t.Errorf("Extra %d after 4 bytes past the end", got)
			}
		})
	}
}

// A host that sends something else stops the replay (the default): the
// state names the line, what was expected and what came, and the answer
// is never played.
func TestReplayMismatchStops(t *testing.T) {
	path := writeRecording(t, "M", session())
	d := openDevice(t, "M")
	logs := &logRecord{t: t}
	r := openReplay(t, d, path, wire.ReplayOptions{Instant: true, Logger: zerolog.New(logs)})
	waitReplay(t, r, "the host's AT", func(s wire.ReplayState) bool { return s.State == wire.ReplayWaitHost })
	call(t, d, driver.NewWrite([]byte("AX\r")))
	st := waitReplay(t, r, "the stop", func(s wire.ReplayState) bool { return s.State == wire.ReplayStopped })
	m := st.Mismatch
	if m == nil || m.Line != 4 || m.Offset != 1 || string(m.Expected) != "AT\r" || string(m.Received) != "AX\r" || st.Line != 4 || st.Mismatches != 1 || m.Resynced != 0 {
		t.Fatalf("state %+v, mismatch %+v", st, m)
	}
	if got, want := m.Error(), `line 4: host sent "AX\r" where the recording has "AT\r" (first difference at byte 1)`; got != want {
		t.Errorf("Error() = %s, want %s", got, want)
	}
	if st := r.State(); st.Played != 2 {
		t.Errorf("played %d events, want the open and the baud only", st.Played)
	}
	if got := logs.matching("replay stopped", `"line":4`, `"expected":"\"AT\\r\""`, `"received":"\"AX\\r\""`); len(got) != 1 {
		t.Errorf("log lines %q: want one for the stop, with its line and bytes", got)
	}
	// Nothing was answered: the read finds the port empty.
	rd := driver.NewRead(make([]byte, 1))
	call(t, d, driver.NewIoctl(ioctl.SetTimeouts, ioctl.Timeouts{ReadIntervalTimeout: 0xFFFFFFFF}))
	call(t, d, rd)
	if len(rd.Data()) != 0 {
		t.Errorf("the port received %q after a stop", rd.Data())
	}
}

// With resync, a host that skips a command goes on from the command it
// sent; one that sends garbage and then retries goes on at the same
// command.
func TestReplayMismatchResyncs(t *testing.T) {
	path := writeRecording(t, "M", session())
	d := openDevice(t, "M")
	r := openReplay(t, d, path, wire.ReplayOptions{Instant: true, Resync: true})
	waitReplay(t, r, "the host's AT", func(s wire.ReplayState) bool { return s.State == wire.ReplayWaitHost })

	call(t, d, driver.NewWrite([]byte("zz")))
	st := waitReplay(t, r, "the garbage", func(s wire.ReplayState) bool { return s.Mismatches == 1 })
	if m := st.Mismatch; m.Line != 4 || string(m.Received) != "zz" || m.Resynced != 0 {
		t.Errorf("mismatch %+v, want at line 4, waiting there again", m)
	}
	call(t, d, driver.NewWrite([]byte("ATI\r")))
	st = waitReplay(t, r, "the skip", func(s wire.ReplayState) bool { return s.Mismatches == 2 })
	if m := st.Mismatch; m.Line != 4 || m.Offset != 2 || string(m.Received) != "ATI" || m.Resynced != 7 {
		t.Errorf("mismatch %+v, want line 4 resynchronised at line 7", m)
	}
	want := "vcomd modem\r\nOK\r\n"
	if got := readDevice(t, d, len(want)); string(got) != want {
		t.Errorf("answer %q, want %q (OK at line 5 skipped)", got, want)
	}
	waitReplay(t, r, "the end", func(s wire.ReplayState) bool { return s.State == wire.ReplayEnded })
}

// A recording that does not parse, or of another port, is refused with
// the file and line, and the device keeps its wire.
func TestReplayRefuses(t *testing.T) {
	d := openDevice(t, "M")
	other := writeRecording(t, "N", session())
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	good := writeRecording(t, "M", nil)
	body, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, append(body, `{"t":0,"kind":"host"}`+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		other:                              other + `:1: a recording of port "N", not of "M"`,
		bad:                                bad + ":2: a host event needs text or hex data",
		filepath.Join(t.TempDir(), "none"): "no such file",
	} {
		r, err := wire.OpenReplay(d, path, wire.ReplayOptions{})
		if err == nil {
			r.Close()
			t.Errorf("%s: accepted", path)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q, want %q", path, err, want)
		}
	}
	// Still no wire: what the port sends goes nowhere, and its inputs
	// are its own to set (a wire would drive them).
	if got := modemStatus(t, d); got&msrCarrier != 0 {
		t.Errorf("modem status %#x: a refused recording set the inputs", got)
	}
}

// A host that writes far ahead of the replay (here while an answer waits
// out its recorded hour) is held back: its write stays pending until the
// replay catches up or, here, closes.
func TestReplayHoldsHostBack(t *testing.T) {
	path := writeRecording(t, "M", []record.Event{host(0, "a"), device(3_600_000, "b"), host(3_600_001, strings.Repeat("c", 3*4096))})
	d := openDevice(t, "M")
	r, err := wire.OpenReplay(d, path, wire.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	call(t, d, driver.NewWrite([]byte("a")))
	waitReplay(t, r, "the answer's wait", func(s wire.ReplayState) bool { return s.State == wire.ReplayPlaying })
	w := driver.NewWrite([]byte(strings.Repeat("c", 3*4096)))
	d.Submit(w)
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if err := wire.WaitReplayHeld(ctx, r); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.Done():
		t.Fatalf("the write completed (%v) while the replay held it", w.Status())
	default:
	}
	r.Close()
	if _, err := w.Wait(ctx); err != nil {
		t.Fatalf("the write did not complete once the replay closed: %v", err)
	}
}
