package ptyfront_test

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tty says how a test opens a pty slave, as a serial program would.
type tty struct {
	baud     uint32
	flush    bool // flush the input once set up, as pyserial's open does
	crtscts  bool
	ixon     bool
	nonblock bool
}

// rawOpen opens a pty slave as a serial program does: O_NOCTTY, then raw at
// baud with the flow control asked for, then the flush if asked for.
func rawOpen(t *testing.T, path string, c tty) int {
	t.Helper()
	flags := unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC
	if c.nonblock {
		flags |= unix.O_NONBLOCK
	}
	fd, err := unix.Open(path, flags, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
	if err != nil {
		t.Fatalf("TCGETS2 %s: %v", path, err)
	}
	tio.Iflag = 0
	if c.ixon {
		tio.Iflag = unix.IXON
	}
	tio.Oflag = 0
	tio.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag = tio.Cflag&^(unix.CBAUD|unix.CSIZE|unix.PARENB|unix.CRTSCTS) | unix.CS8 | unix.CREAD | unix.CLOCAL | unix.BOTHER
	if c.crtscts {
		tio.Cflag |= unix.CRTSCTS
	}
	tio.Ispeed, tio.Ospeed = c.baud, c.baud
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS2, tio); err != nil {
		t.Fatalf("TCSETS2 %s: %v", path, err)
	}
	if c.flush {
		if err := unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH); err != nil {
			t.Fatalf("TCFLSH %s: %v", path, err)
		}
	}
	return fd
}

// readByte reads one byte from fd, failing after a generous bound rather
// than hanging: a lost byte must fail the test in seconds.
func readByte(fd int, bound time.Duration) (byte, error) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(bound)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, fmt.Errorf("no byte within %v", bound)
		}
		n, err := unix.Poll(pfd, int(left/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			continue
		}
		var b [1]byte
		if m, err := unix.Read(fd, b[:]); err != nil || m != 1 {
			return 0, fmt.Errorf("read: %d bytes, %v", m, err)
		}
		return b[0], nil
	}
}

// Once open() of both ends has returned, a byte written at once reaches
// the other end, whatever order the ends were opened in, at either timing,
// with or without pyserial's input flush at open; and likewise when one
// end stays open while the other is reopened.
func TestNoByteLostAfterOpen(t *testing.T) {
	tries := 1000
	if testing.Short() {
		tries = 200
	}
	for _, instant := range []bool{true, false} {
		for _, flush := range []bool{false, true} {
			for _, reopen := range []bool{false, true} {
				name := fmt.Sprintf("instant=%v/flush=%v/reopen=%v", instant, flush, reopen)
				t.Run(name, func(t *testing.T) {
					a, b := newPair(t, instant)
					cfg := tty{baud: 115200, flush: flush}
					held := -1
					if reopen {
						held = rawOpen(t, b.path, tty{baud: 115200, flush: flush})
						defer unix.Close(held)
					}
					for i := range tries {
						var fa, fb int
						switch {
						case reopen:
							fa, fb = rawOpen(t, a.path, cfg), held
						case i%2 == 0:
							fa = rawOpen(t, a.path, cfg)
							fb = rawOpen(t, b.path, cfg)
						default:
							fb = rawOpen(t, b.path, cfg)
							fa = rawOpen(t, a.path, cfg)
						}
						// Alternate which end speaks first.
						w, r := fa, fb
						if i%4 >= 2 {
							w, r = fb, fa
						}
						exchange(t, i, w, r, byte(i))
						exchange(t, i, r, w, ^byte(i))
						unix.Close(fa)
						if fb != held {
							unix.Close(fb)
						}
					}
				})
			}
		}
	}
}

func exchange(t *testing.T, try int, w, r int, tok byte) {
	t.Helper()
	if _, err := unix.Write(w, []byte{tok}); err != nil {
		t.Fatalf("try %d: write: %v", try, err)
	}
	got, err := readByte(r, 5*time.Second)
	if err != nil {
		t.Fatalf("try %d: %v", try, err)
	}
	if got != tok {
		t.Fatalf("try %d: read %#x, want %#x", try, got, tok)
	}
}
