package vcomtest_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vcomd/vcomd/vcomtest"
)

// chunky takes at most max bytes a call, as a tty write cut short
// between two chunks does, and fails once it holds limit.
type chunky struct {
	bytes.Buffer
	max, limit int
}

var errFull = errors.New("full")

func (c *chunky) Write(b []byte) (int, error) {
	room := c.limit - c.Len()
	if room == 0 {
		return 0, errFull
	}
	return c.Buffer.Write(b[:min(len(b), c.max, room)])
}

func TestWriteAll(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	w := &chunky{max: 2048, limit: 1 << 20}
	if err := vcomtest.WriteAll(w, data); err != nil || !bytes.Equal(w.Bytes(), data) {
		t.Fatalf("short writes: %v, %d of %d bytes arrived", err, w.Len(), len(data))
	}

	w = &chunky{max: 2048, limit: 5000}
	err := vcomtest.WriteAll(w, data)
	if !errors.Is(err, errFull) || !strings.Contains(err.Error(), "after 5000 of 10000 bytes") {
		t.Errorf("a writer that fails after 5000 bytes: %v", err)
	}

	w = &chunky{max: 0, limit: 100}
	if err := vcomtest.WriteAll(w, data); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("a writer that takes nothing and says nothing: %v, want io.ErrShortWrite", err)
	}
	if err := vcomtest.WriteAll(w, nil); err != nil {
		t.Errorf("nothing to write: %v", err)
	}
}
