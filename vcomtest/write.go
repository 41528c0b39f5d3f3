package vcomtest

import (
	"fmt"
	"io"
)

// WriteAll writes all of b to w, as many calls as it takes. A serial
// port's write() may take less than it was given with no error: Linux
// copies a tty write in 2 KiB chunks and ends the call between two of
// them when a signal is pending (the Go runtime's preemption signal is
// enough), and go.bug.st/serial's Write returns what that one write()
// took. A test that writes more than 2 KiB at once and ignores the count
// loses the rest at random.
func WriteAll(w io.Writer, b []byte) error {
	for off := 0; off < len(b); {
		n, err := w.Write(b[off:])
		off += n
		if err != nil {
			return fmt.Errorf("write after %d of %d bytes: %w", off, len(b), err)
		}
		if n == 0 {
			return fmt.Errorf("write after %d of %d bytes: %w", off, len(b), io.ErrShortWrite)
		}
	}
	return nil
}
