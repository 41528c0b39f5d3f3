package control_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/control"
)

// The trace shows what a program on the pty does, in order: its write,
// the read that brings it the peer's data, its termios change, and its
// flush, each as it starts and completes.
func TestTraceShowsProgramInOrder(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1")
	a := r.open(t, "ttyV0", 9600)
	b := r.open(t, "ttyV1", 9600)
	tr := r.trace(t, "ttyV0")

	write(t, a, []byte("hello"))
	readN(t, b, 5)
	write(t, b, []byte("world"))
	readN(t, a, 5)
	if err := a.SetMode(&serial.Mode{BaudRate: 19200}); err != nil {
		t.Fatal(err)
	}
	// N.B. packet mode reports a termios change and a flush as bits of
	// one status byte when both happen before the front reads: their
	// order is lost. A byte through the pty between them keeps it.
	write(t, a, []byte("!"))
	readN(t, b, 1)
	if err := a.ResetInputBuffer(); err != nil { // tcflush(TCIFLUSH)
		t.Fatal(err)
	}

	var seq []control.TraceLine
	is := func(req, phase string) func(control.TraceLine) bool {
		return func(l control.TraceLine) bool { return l.Request == req && l.Phase == phase }
	}
	seq = append(seq, waitLine(t, tr, "the write", func(l control.TraceLine) bool {
		return is("IRP_MJ_WRITE", "start")(l) && l.Data == hex.EncodeToString([]byte("hello"))
	}))
	seq = append(seq, waitLine(t, tr, "the write's completion", func(l control.TraceLine) bool {
		return is("IRP_MJ_WRITE", "complete")(l) && l.ID == seq[0].ID
	}))
	seq = append(seq, waitLine(t, tr, "the read", func(l control.TraceLine) bool {
		return is("IRP_MJ_READ", "complete")(l) && strings.Contains(l.Data, hex.EncodeToString([]byte("world"))[:2])
	}))
	seq = append(seq, waitLine(t, tr, "the termios change", is("IOCTL_SERIAL_SET_BAUD_RATE", "complete")))
	waitLine(t, tr, "the write between", func(l control.TraceLine) bool {
		return is("IRP_MJ_WRITE", "start")(l) && l.Data == hex.EncodeToString([]byte("!"))
	})
	seq = append(seq, waitLine(t, tr, "the flush", is("IOCTL_SERIAL_PURGE", "complete")))

	if seq[1].Status != "SUCCESS" || seq[1].Length != 5 {
		t.Errorf("write completed %s with %d bytes", seq[1].Status, seq[1].Length)
	}
	if got := seq[3].Port; got != "ttyV0" {
		t.Errorf("termios change traced on %q", got)
	}
	for i := 1; i < len(seq); i++ {
		if seq[i].Time.Before(seq[i-1].Time) {
			t.Errorf("%s at %s before %s at %s", seq[i].Request, seq[i].Time, seq[i-1].Request, seq[i-1].Time)
		}
	}
	for _, l := range seq {
		if l.Port != "ttyV0" {
			t.Errorf("a trace of ttyV0 has a line of %s", l.Port)
		}
		t.Log(l)
	}
}

// A trace line prints as Portmon's do.
func TestTraceLineString(t *testing.T) {
	var tr control.TraceLine
	tr.Port, tr.ID, tr.Phase, tr.Request, tr.Length = "ttyV0", 7, "start", "IRP_MJ_WRITE", 3
	tr.Data = hex.EncodeToString([]byte("a\x01b"))
	got := tr.String()
	for _, want := range []string{"ttyV0", "IRP_MJ_WRITE", "len 3", "61 01 62", "a.b"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	marker := control.TraceLine{Dropped: 12}
	if got := marker.String(); !strings.Contains(got, "dropped 12 events") {
		t.Errorf("marker prints %q", got)
	}
	_ = context.Background
}
