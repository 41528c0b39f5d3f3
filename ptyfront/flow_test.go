package ptyfront_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// At realistic timing the line does not wait for a receiver that falls
// behind: flow control is what saves the data. With CRTSCTS or IXON/IXOFF
// on both ends and a reader that stops for a while, every byte arrives;
// with neither, the same run overruns and the counters say so, which shows
// that the first two cases depend on the flow control and not on luck.
func TestFlowControlAtRealisticTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 7 s")
	}
	// 300 KB/s. Without flow control the data must outgrow what holds it
	// on the way: the writer's pty (about 68 KB, so the writer is done
	// while that much has yet to leave), the reader's pty (as much again)
	// and the 64 KiB typeahead.
	const baud = 3000000
	const size = 320 << 10
	data := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog 0123456789\n"), size/55+1)[:size]
	for _, tc := range []struct {
		name         string
		cflag, iflag uint32
		lossless     bool
	}{
		{"CRTSCTS", unix.CRTSCTS, 0, true},
		{"IXON IXOFF", 0, unix.IXON | unix.IXOFF, true},
		{"no flow control", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPair(t, false)
			fa, fb := openRawAt(t, a.path, baud, tc.cflag, tc.iflag), openRawAt(t, b.path, baud, tc.cflag, tc.iflag)
			waitOpen(t, a)
			waitOpen(t, b)
			waitBaud(t, a, baud)
			waitBaud(t, b, baud)
			w := startWriter(fa, data)
			got := readUntilQuiet(t, fb, len(data), w, !tc.lossless)
			if err := w.wait(t); err != nil {
				t.Fatalf("write: %v", err)
			}
			st := stats(t, b.dev)
			if tc.lossless {
				if !bytes.Equal(got, data) {
					t.Fatalf("%d of %d bytes arrived, or out of order; stats %+v", len(got), len(data), st)
				}
				if st.BufferOverrunErrorCount != 0 || st.SerialOverrunErrorCount != 0 {
					t.Fatalf("overruns counted: %+v", st)
				}
				return
			}
			if st.BufferOverrunErrorCount+st.SerialOverrunErrorCount == 0 || len(got) >= len(data) {
				t.Fatalf("without flow control a stalled reader lost nothing: %d bytes, stats %+v", len(got), st)
			}
			t.Logf("without flow control: %d of %d bytes arrived; stats %+v", len(got), len(data), st)
		})
	}
}

// readUntilQuiet reads like a program that stops for a while once it has
// 16 KiB, then reads on until it has want bytes. The stop lasts a second
// or, with lossy, until the writer has written everything: without flow
// control nothing holds the writer back, and its whole output then
// overflows the receiver whatever the host's speed. With lossy it also
// ends once the writer is done and the line has been quiet for a second
// (what was lost never comes); otherwise a line quiet for the watchdog
// fails the test, since flow control must deliver everything.
func readUntilQuiet(t *testing.T, f *os.File, want int, w *writer, lossy bool) []byte {
	t.Helper()
	got := make([]byte, 0, want)
	buf := make([]byte, 4096)
	paused := false
	for len(got) < want {
		if !paused && len(got) >= 16<<10 {
			if lossy {
				w.wait(t)
			} else {
				// The stall under test, not a synchronisation: a second
				// of line time is more than every buffer on the way
				// holds, so only flow control saves the data.
				time.Sleep(time.Second)
			}
			paused = true
		}
		wait := watchdog
		if lossy && w.finished() {
			wait = time.Second
		}
		n, ok := readWithin(t, f, buf, wait)
		if !ok && lossy && w.finished() {
			break
		}
		if !ok {
			t.Fatalf("nothing to read for %v after %d of %d bytes", wait, len(got), want)
		}
		got = append(got, buf[:n]...)
	}
	return got
}

// waitBaud waits until the program's termios has reached the device: the
// rate is the last of the changes openRawAt makes.
func waitBaud(t *testing.T, e end, baud uint32) {
	t.Helper()
	for {
		irp := driver.NewIoctl(ioctl.GetBaudRate, nil)
		if _, err := e.dev.Call(context.Background(), irp); err != nil {
			t.Fatal(err)
		}
		if irp.Output().(ioctl.BaudRate).BaudRate == baud {
			return
		}
		waitTrace(t, e, ioctl.SetBaudRate)
	}
}

// openRawAt opens a pty slave raw at baud (BOTHER through TCSETS2, as
// glibc does for rates without a Bxxx constant).
func openRawAt(t *testing.T, path string, baud uint32, cflag, iflag uint32) *os.File {
	t.Helper()
	f := openRaw(t, path, cflag, iflag)
	setTermios(t, f, func(tio *unix.Termios) {
		tio.Cflag = tio.Cflag&^unix.CBAUD | unix.BOTHER
		tio.Ispeed, tio.Ospeed = baud, baud
	})
	return f
}
