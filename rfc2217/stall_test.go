package rfc2217_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/vcomd/vcomd/rfc2217"
	"github.com/vcomd/vcomd/vcomtest"
)

// stallServer is an RFC 2217 server on a real socket that, once the
// client's data starts to arrive, stops reading and sends data of its
// own, as a server does whose reader waits for its own write to the
// client (vcomd's did).
type stallServer struct{ ln net.Listener }

func startStallServer(t *testing.T) *stallServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &stallServer{ln: ln}
}

// negotiate accepts the client and answers it until its first data byte;
// it returns the connection and the data that came with that read.
func (s *stallServer) negotiate(srv *rfc2217.Server) (net.Conn, []byte, error) {
	conn, err := s.ln.Accept()
	if err != nil {
		return nil, nil, err
	}
	// A small fixed receive buffer, so that the client's Write fills the
	// two sockets' buffers soon whatever the system's autotuning allows.
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(64 << 10)
	}
	if _, err := conn.Write(srv.Start()); err != nil {
		return nil, nil, err
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, nil, err
		}
		r := srv.Feed(buf[:n])
		if _, err := conn.Write(r.Out); err != nil {
			return nil, nil, err
		}
		if len(r.Data) > 0 {
			return conn, bytes.Clone(r.Data), nil
		}
	}
}

// The client keeps reading while its Write waits for a server that is not
// reading, and the FLOWCONTROL-SUSPEND it owes meanwhile does not hold its
// reader: the reader used to send it itself, waiting behind the Write,
// and so stopped reading for good with 32 KiB in hand, the server's write
// waited for it, and the server's reader for that write (vcombench's
// both-ways RFC 2217 run stalled so). Once the server reads again, the
// last flow request it gets is the RESUME for the data the client has
// read.
func TestPortReadsWhileWriteWaits(t *testing.T) {
	s := startStallServer(t)
	srv := rfc2217.NewServer("stall test")
	type negotiated struct {
		conn  net.Conn
		first []byte
		err   error
	}
	neg := make(chan negotiated, 1)
	go func() {
		conn, first, err := s.negotiate(srv)
		neg <- negotiated{conn, first, err}
	}()
	p := dial(t, s.ln.Addr().String(), nil)
	// More than the two sockets' buffers hold (the client's send buffer
	// grows to 4 MiB by default): the Write waits until the server reads
	// again.
	out := pattern(16 << 20)
	wrote := make(chan error, 1)
	go func() {
		_, err := p.Write(out)
		wrote <- err
	}()
	var n negotiated
	select {
	case n = <-neg:
	case <-time.After(watchdog):
		t.Fatal("the client's data did not start to arrive")
	}
	if n.err != nil {
		t.Fatal(n.err)
	}
	defer n.conn.Close()
	back := pattern(1 << 20)
	sent := make(chan error, 1)
	go func() {
		_, err := n.conn.Write(rfc2217.AppendData(nil, back))
		sent <- err
	}()
	// Past the client's suspend mark (32 KiB) before anything is read,
	// so that it owes the server a SUSPEND while its Write waits.
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if err := p.WaitBuffered(ctx, 40<<10); err != nil {
		t.Fatalf("the client did not take 40 KiB while its Write waited: %v", err)
	}
	if got := vcomtest.ReadN(t, p, len(back), watchdog); !bytes.Equal(got, back) {
		t.Fatalf("the client read %d bytes differing from the %d sent", len(got), len(back))
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	// The server reads again: the Write ends, and the requests queued
	// behind it follow.
	if err := drain(n.conn, srv, len(out)-len(n.first), wrote); err != nil {
		t.Fatal(err)
	}
}

// drain reads the client until want more data bytes and a
// FLOWCONTROL-SUSPEND have come and the server is no longer suspended,
// then waits for the client's Write to end.
func drain(conn net.Conn, srv *rfc2217.Server, want int, wrote <-chan error) error {
	_ = conn.SetReadDeadline(time.Now().Add(watchdog))
	buf := make([]byte, 64<<10)
	got, suspends := 0, 0
	for got < want || suspends == 0 || srv.Suspended() {
		k, err := conn.Read(buf)
		r := srv.Feed(buf[:k])
		got += len(r.Data)
		for _, m := range r.Messages {
			if m.Cmd == rfc2217.FlowControlSuspend {
				suspends++
			}
		}
		if err != nil {
			return fmt.Errorf("after %d of %d bytes, %d suspends, suspended %v: %w", got, want, suspends, srv.Suspended(), err)
		}
	}
	select {
	case err := <-wrote:
		if err != nil {
			return fmt.Errorf("the client's Write: %w", err)
		}
		return nil
	case <-time.After(watchdog):
		return errors.New("the client's Write did not return once the server had read it all")
	}
}

// pattern is n bytes cycling through every byte value, IAC among them.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}
