package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// socketPair is a connected TCP pair on loopback: the daemon's network
// front reads and writes such a socket with these calls (the pty front's
// use is tested on a pty in ptyfront).
func socketPair(t *testing.T) (near *net.TCPConn, raw syscall.RawConn, far *net.TCPConn) {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	far, err = net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close() })
	near, err = l.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { near.Close() })
	raw, err = near.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return near, raw, far
}

func TestReadParkedOnASocket(t *testing.T) {
	near, raw, far := socketPair(t)
	buf := make([]byte, 16)
	// Nothing to read: the read parks until its deadline (EAGAIN is not
	// its answer).
	if err := near.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := ReadParked(raw, buf, "socket"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of an empty socket: %d, %v; want its deadline", n, err)
	}
	if err := near.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := far.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if n, err := ReadParked(raw, buf, "socket"); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("read %q, %v; want \"hi\"", buf[:n], err)
	}
	far.Close()
	if n, err := ReadParked(raw, buf, "socket"); err != io.EOF {
		t.Fatalf("read after the far end closed: %d, %v; want io.EOF", n, err)
	}
}

func TestWritesOnAFullSocket(t *testing.T) {
	near, raw, far := socketPair(t)
	if err := near.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if err := far.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 4<<20)
	// A deadline far off: TryWrite must come back with what the socket
	// took, not wait for the far end to read.
	if err := near.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := TryWrite(raw, big, "socket")
	if err != nil || n == 0 || n == len(big) {
		t.Fatalf("TryWrite of 4 MiB to a socket nobody reads: %d, %v; want part of it, no error", n, err)
	}
	// Full now (an acknowledgement in flight may still make a little
	// room): it takes at most that, at once.
	if n, err := TryWrite(raw, big, "socket"); err != nil || n == len(big) {
		t.Fatalf("TryWrite to a full socket: %d, %v; want a little at most, no error", n, err)
	}
	// WriteParked waits for room, until its deadline.
	if err := near.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := WriteParked(raw, big, "socket"); !errors.Is(err, os.ErrDeadlineExceeded) || n == len(big) {
		t.Fatalf("WriteParked to a full socket: %d, %v; want its deadline", n, err)
	}
	// With a reader, all of it goes (a little: the buffers are small,
	// and loopback TCP with them slow).
	if err := near.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 1)
	go func() {
		k, _ := io.Copy(io.Discard, far)
		got <- k
	}()
	const some = 16 << 10
	if n, err := WriteParked(raw, big[:some], "socket"); err != nil || n != some {
		t.Fatalf("WriteParked of %d bytes with a reader: %d, %v", some, n, err)
	}
	near.CloseWrite()
	if k := <-got; k < some {
		t.Fatalf("the far end read %d bytes, want at least %d", k, some)
	}
	// A write the far end refuses names the descriptor.
	far.SetLinger(0)
	far.Close()
	for range 100 {
		if _, err = WriteParked(raw, big[:4096], "socket 1"); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "socket 1") {
		t.Fatalf("write to a closed socket: %v; want an error naming it", err)
	}
}

// A Conn reads and writes raw on a TCP connection and through the
// connection's own calls on one with no descriptor (net.Pipe).
func TestConn(t *testing.T) {
	near, _, far := socketPair(t)
	p1, p2 := net.Pipe()
	t.Cleanup(func() { p1.Close(); p2.Close() })
	for _, ends := range [][2]net.Conn{{near, far}, {p1, p2}} {
		c := NewConn(ends[0])
		if raw := c.raw != nil; raw != (ends[0] == net.Conn(near)) {
			t.Errorf("%T: raw %v", ends[0], raw)
		}
		go func() { _, _ = ends[1].Write([]byte("ping")) }()
		buf := make([]byte, 8)
		if n, err := io.ReadFull(c, buf[:4]); err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("%T: read %q, %v", ends[0], buf[:n], err)
		}
		go func() { _, _ = c.Write([]byte("pong")) }()
		if n, err := io.ReadFull(ends[1], buf[:4]); err != nil || string(buf[:n]) != "pong" {
			t.Fatalf("%T: the far end read %q, %v", ends[0], buf[:n], err)
		}
	}
}
