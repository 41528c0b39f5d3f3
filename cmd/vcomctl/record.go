package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/record"
)

// cmdRecord writes a recording of a port's traffic (package record's
// format) from its trace until interrupted or the daemon goes; the file
// is complete either way: each event is written out as it comes.
func cmdRecord(ctx context.Context, e *env, args []string) error {
	name, path := args[0], args[1]
	// The port must exist before a file is made for it.
	if _, err := e.c.Port(ctx, name); err != nil {
		return err
	}
	tr, err := e.c.OpenTrace(ctx, name)
	if err != nil {
		return err
	}
	defer tr.Close()
	// Subscribed: from here every request is in the stream, so the state
	// read now is the start the events follow.
	started := time.Now()
	p, err := e.c.Port(ctx, name)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	n, err := recordTrace(f, tr, recordHeader(p, started))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("recording %s: %w", path, cerr)
	}
	if ctx.Err() != nil {
		err = nil // interrupted: the way a recording ends
	}
	if err == nil {
		fmt.Fprintf(e.stdout, "recorded %d events of %s to %s\n", n, name, path)
	}
	return err
}

// recordHeader is the header of a recording of p starting at started.
func recordHeader(p control.Port, started time.Time) record.Header {
	s := p.State
	return record.Header{Port: p.Name, Started: started, Baud: s.Baud, Framing: p.Framing,
		Lines: record.Lines{CTS: record.Bool(s.CTS), DSR: record.Bool(s.DSR), RI: record.Bool(s.RI), DCD: record.Bool(s.DCD),
			DTR: record.Bool(s.DTR), RTS: record.Bool(s.RTS)}}
}

// traceSource is what recordTrace reads: a control.TraceStream.
type traceSource interface {
	Next() (control.TraceLine, []byte, error)
}

// recordTrace writes h and then the events of tr's lines to w until tr
// ends, flushing each event, and returns how many it wrote. The daemon
// ending the stream is no error; an interrupt is tr's error, which the
// caller knows for what it is.
func recordTrace(w io.Writer, tr traceSource, h record.Header) (int, error) {
	rw, err := record.NewWriter(w, h)
	if err == nil {
		err = rw.Flush()
	}
	if err != nil {
		return 0, fmt.Errorf("recording: %w", err)
	}
	rec := record.NewRecorder(h.Port, h.Started)
	n := 0
	for {
		l, _, err := tr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		ev, ok := rec.Event(l)
		if !ok {
			continue
		}
		if err := rw.Write(ev); err != nil {
			return n, fmt.Errorf("recording: %w", err)
		}
		if err := rw.Flush(); err != nil {
			return n, fmt.Errorf("recording: %w", err)
		}
		n++
	}
}
