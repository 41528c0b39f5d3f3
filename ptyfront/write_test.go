package ptyfront_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// taken waits until the front has handed the driver n bytes of e's
// program's writes, so a test knows the front has seen them.
func taken(t *testing.T, e end, n int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for got := 0; got < n; {
		select {
		case m := <-e.writes:
			got += m
		case <-timeout:
			t.Fatalf("%s: the front took %d of the %d bytes written", e.path, got, n)
		}
	}
}

// writable polls fd for POLLOUT for up to d.
func writable(t *testing.T, fd int, d time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, int(max(0, time.Until(deadline))/time.Millisecond))
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			t.Fatalf("poll: %v", err)
		case n > 0:
			return true
		case !time.Now().Before(deadline):
			return false
		}
	}
}

// fill writes 1 KiB at a time to a non-blocking fd, as pyserial does with
// a write timeout: write, wait until the front has the data, and go on
// while poll() reports the port writable. It returns what was accepted.
func fill(t *testing.T, e end, fd int, limit int) []byte {
	t.Helper()
	var sent []byte
	for len(sent) < limit {
		chunk := make([]byte, 1024)
		for i := range chunk {
			chunk[i] = byte(len(sent)+i) | 0x80 // never XON or XOFF
		}
		n, err := unix.Write(fd, chunk)
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		sent = append(sent, chunk[:n]...)
		taken(t, e, n)
		if !writable(t, fd, 0) {
			break
		}
	}
	return sent
}

// readAvailable reads from fd until nothing comes for quiet, failing if
// more than max bytes come.
func readAvailable(t *testing.T, fd int, quiet time.Duration, max int) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 4096)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int(quiet/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if n == 0 {
			return got
		}
		m, err := unix.Read(fd, buf)
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("read: %v", err)
		}
		got = append(got, buf[:max0(m)]...)
		if len(got) > max {
			t.Fatalf("read %d bytes, want at most %d", len(got), max)
		}
	}
}

func max0(n int) int { return max(n, 0) }

// readExactly reads n bytes from fd, failing within seconds if they do
// not come.
func readExactly(t *testing.T, fd int, n int) []byte {
	t.Helper()
	got := make([]byte, 0, n)
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("read %d of %d bytes", len(got), n)
		}
		ready, err := unix.Poll(pfd, int(left/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) || ready == 0 {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		m, err := unix.Read(fd, buf[:min(len(buf), n-len(got))])
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("read: %v", err)
		}
		got = append(got, buf[:max0(m)]...)
	}
	return got
}

// While output flow control holds a port's transmitter (CTS low with
// CRTSCTS, XOFF received with IXON, or the program's own tcflow), the
// program's writes stop being accepted within the serial core's 4 KiB
// transmit buffer: poll() reports no POLLOUT and write() gets EAGAIN.
// Once the hold is released, writes go on and everything accepted
// arrives intact.
func TestWritesHeldWhileOutputHeld(t *testing.T) {
	for _, tc := range []struct {
		name    string
		instant bool
		cfg     tty
		hold    func(t *testing.T, a, b end, fa int) (fb int) // returns B's fd, or -1
		release func(t *testing.T, a, b end, fa, fb int) int
	}{
		{"CTS", false, tty{baud: 9600, crtscts: true},
			func(*testing.T, end, end, int) int { return -1 }, // nobody on B: its RTS is down
			func(t *testing.T, _, b end, _, _ int) int { return rawOpen(t, b.path, tty{baud: 9600, crtscts: true}) }},
		{"CTS/timing off", true, tty{baud: 9600, crtscts: true},
			func(*testing.T, end, end, int) int { return -1 },
			func(t *testing.T, _, b end, _, _ int) int { return rawOpen(t, b.path, tty{baud: 9600, crtscts: true}) }},
		{"XOFF", false, tty{baud: 9600, ixon: true},
			func(t *testing.T, a, b end, _ int) int {
				fb := rawOpen(t, b.path, tty{baud: 9600})
				if _, err := unix.Write(fb, []byte{0x13}); err != nil {
					t.Fatal(err)
				}
				taken(t, b, 1)
				waitHeld(t, a)
				return fb
			},
			func(t *testing.T, _, _ end, _, fb int) int {
				if _, err := unix.Write(fb, []byte{0x11}); err != nil {
					t.Fatal(err)
				}
				return fb
			}},
		{"tcflow", false, tty{baud: 9600},
			func(t *testing.T, a, b end, fa int) int {
				fb := rawOpen(t, b.path, tty{baud: 9600})
				if err := unix.IoctlSetInt(fa, unix.TCXONC, unix.TCOOFF); err != nil {
					t.Fatal(err)
				}
				waitHeld(t, a)
				return fb
			},
			func(t *testing.T, _, _ end, fa, fb int) int {
				if err := unix.IoctlSetInt(fa, unix.TCXONC, unix.TCOON); err != nil {
					t.Fatal(err)
				}
				return fb
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPair(t, tc.instant)
			cfg := tc.cfg
			cfg.nonblock = true
			fa := rawOpen(t, a.path, cfg)
			defer unix.Close(fa)
			waitOpen(t, a)
			fb := tc.hold(t, a, b, fa)
			sent := fill(t, a, fa, 64<<10)
			if len(sent) > 4<<10 {
				t.Fatalf("%d bytes accepted while output is held, want at most 4 KiB", len(sent))
			}
			if writable(t, fa, time.Second) {
				t.Fatal("poll() reports POLLOUT while output is held and the queue is full")
			}
			if _, err := unix.Write(fa, []byte{1}); !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("write while held: %v, want EAGAIN", err)
			}
			fb = tc.release(t, a, b, fa, fb)
			defer unix.Close(fb)
			if !writable(t, fa, 20*time.Second) {
				t.Fatal("still not writable after the hold was released")
			}
			got := readExactly(t, fb, len(sent))
			if !bytes.Equal(got, sent) {
				t.Fatalf("the %d bytes that arrived differ from those sent", len(got))
			}
		})
	}
}

// waitHeld waits until e's transmitter is held by output flow control.
func waitHeld(t *testing.T, e end) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !e.dev.OutputHeld() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: output never held", e.path)
		}
		time.Sleep(time.Millisecond) // no event says so; bounded
	}
}

// openLine opens both ends of a new pair at realistic timing, raw and
// non-blocking at baud, and waits until the daemon has A's speed. It
// returns A and the two descriptors, closed when the test ends.
func openLine(t *testing.T, baud uint32) (a end, fa, fb int) {
	t.Helper()
	a, b := newPair(t, false)
	cfg := tty{baud: baud, nonblock: true}
	fa, fb = rawOpen(t, a.path, cfg), rawOpen(t, b.path, cfg)
	t.Cleanup(func() { unix.Close(fa); unix.Close(fb) })
	waitOpen(t, a)
	waitOpen(t, b)
	waitBaud(t, a, baud)
	return a, fa, fb
}

// On a slow line a program that writes 1 KiB and then waits for POLLOUT
// waits for the line, as on a real port, where poll() reports writable
// once fewer than 256 characters wait; and what it wrote arrives whole.
func TestSlowLineFeelsSlow(t *testing.T) {
	a, fa, fb := openLine(t, 2400)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64)
	start := time.Now()
	if n, err := unix.Write(fa, data); err != nil || n != len(data) {
		t.Fatalf("write: %d, %v", n, err)
	}
	taken(t, a, len(data))
	if !writable(t, fa, 20*time.Second) {
		t.Fatal("never writable again")
	}
	// 2400 baud 8N1 is 240 characters a second: the queue is below 256
	// once 1024-256 have left, less the UART's FIFO of 16.
	waited, want := time.Since(start), time.Duration(1024-256-16)*time.Second/240
	t.Logf("writable again after %v (the line: %v)", waited, want)
	if waited < want*8/10 || waited > want*2 {
		t.Fatalf("writable again after %v, want about %v: the writer must wait for the line", waited, want)
	}
	if got := readExactly(t, fb, len(data)); !bytes.Equal(got, data) {
		t.Fatal("the data that arrived differs from what was written")
	}
}

// On a fast line the front takes 200 ms of the line ahead of the UART
// before it holds the writer (2304 characters at 115200; it was 50 ms,
// 576): the program then has that long to write again before the line
// runs dry, which a busy machine needs (the soak's pace). The queue only
// drains while the program fills it, so what it accepts before it is held
// is at least the limit, however slowly the test runs.
func TestFastLineWritesAhead(t *testing.T) {
	a, fa, fb := openLine(t, 115200)
	const limit = 115200 / 10 / 5
	sent := fill(t, a, fa, 64<<10)
	if len(sent) < limit || len(sent) >= 64<<10 {
		t.Fatalf("%d bytes accepted before the writer was held, want from %d (200 ms of line) to less than 64 KiB", len(sent), limit)
	}
	if got := readExactly(t, fb, len(sent)); !bytes.Equal(got, sent) {
		t.Fatal("the data that arrived differs from what was written")
	}
}

// Held, the writer goes on only once the queue is below half the limit
// (1152 characters at 115200), as a real port's writer is woken only once
// its transmit buffer is nearly empty: going on as soon as the queue
// dipped below the limit cost a stop and a start of the slave for every
// write the program made. The queue only drains while the program waits,
// so it is below half whenever poll() reports the port writable again.
func TestHeldWriterResumesBelowHalf(t *testing.T) {
	a, fa, fb := openLine(t, 115200)
	const half = 115200 / 10 / 5 / 2
	sent := fill(t, a, fa, 64<<10)
	if !writable(t, fa, 20*time.Second) {
		t.Fatal("never writable again")
	}
	if q := a.dev.OutputQueued(); q >= half {
		t.Errorf("writable again with %d characters queued, want fewer than %d", q, half)
	}
	if got := readExactly(t, fb, len(sent)); !bytes.Equal(got, sent) {
		t.Fatal("the data that arrived differs from what was written")
	}
}

// tcflush(TCOFLUSH) discards everything the program queued, wherever it
// was (pty, front, driver, the UART's FIFO): the far end receives at most
// the character the transmitter's shift register held, and the program
// may write again at once. So also when it then changes the speed and
// closes the port at once.
func TestFlushDiscardsQueuedOutput(t *testing.T) {
	for _, closeAfter := range []bool{false, true} {
		name := "flush"
		if closeAfter {
			name = "flush, speed, close"
		}
		t.Run(name, func(t *testing.T) {
			a, b := newPair(t, false)
			cfg := tty{baud: 300, nonblock: true}
			fa, fb := rawOpen(t, a.path, cfg), rawOpen(t, b.path, cfg)
			defer unix.Close(fb)
			waitOpen(t, a)
			waitOpen(t, b)
			waitBaud(t, a, 300)
			waitBaud(t, b, 300)
			data := bytes.Repeat([]byte("x"), 1024)
			if n, err := unix.Write(fa, data); err != nil || n != len(data) {
				t.Fatalf("write: %d, %v", n, err)
			}
			taken(t, a, len(data))
			before := len(readExactly(t, fb, 3)) // the line is sending
			if err := unix.IoctlSetInt(fa, unix.TCFLSH, unix.TCOFLUSH); err != nil {
				t.Fatal(err)
			}
			if closeAfter {
				tio, err := unix.IoctlGetTermios(fa, unix.TCGETS2)
				if err != nil {
					t.Fatal(err)
				}
				tio.Ispeed, tio.Ospeed = 9600, 9600
				if err := unix.IoctlSetTermios(fa, unix.TCSETS2, tio); err != nil {
					t.Fatal(err)
				}
				unix.Close(fa)
			} else {
				defer unix.Close(fa)
				if !writable(t, fa, 5*time.Second) {
					t.Fatal("not writable after the flush")
				}
			}
			// At 300 baud a character takes 33 ms: two seconds of quiet
			// mean the line has stopped. What may still come: the
			// shift register's character and what was on its way into
			// the far end's typeahead (its FIFO).
			after := readAvailable(t, fb, 2*time.Second, 64)
			if extra := len(after); extra > 20 {
				t.Fatalf("%d characters arrived after the flush (%d before it), want at most 20", extra, before)
			}
		})
	}
}
