package vcomtest

import (
	"testing"
	"time"
)

// TimeoutReader is a serial port whose reads give up after a set time,
// returning no bytes and no error, as go.bug.st/serial's Port does.
type TimeoutReader interface {
	Read(p []byte) (int, error)
	SetReadTimeout(d time.Duration) error
}

// ReadN reads exactly n bytes from r and fails t if a read brings nothing
// for timeout: a lost byte fails the test then, not at the suite's
// timeout. It leaves r's read timeout set to timeout.
func ReadN(t testing.TB, r TimeoutReader, n int, timeout time.Duration) []byte {
	t.Helper()
	if err := r.SetReadTimeout(timeout); err != nil {
		t.Fatalf("setting the read timeout: %v", err)
	}
	buf := make([]byte, n)
	for got := 0; got < n; {
		m, err := r.Read(buf[got:])
		if err != nil {
			t.Fatalf("read after %d of %d bytes: %v", got, n, err)
		}
		if m == 0 {
			t.Fatalf("nothing to read for %v after %d of %d bytes", timeout, got, n)
		}
		got += m
	}
	return buf
}
