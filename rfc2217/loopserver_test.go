package rfc2217_test

import (
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/vcomd/vcomd/rfc2217"
)

// loopServer is an RFC 2217 server built from rfc2217.Server over a real
// loopback TCP socket, serving a loopback plug: data comes back, RTS
// drives CTS, DTR drives DSR and CD, as on a null-modem plug.
type loopServer struct {
	ln        net.Listener
	fixedBaud uint32 // when set, SET-BAUDRATE is answered with it and not applied

	mu       sync.Mutex
	settings [5]uint32 // by Command: baud, data size, parity, stop size
	dtr, rts bool
	controls []uint32
	purges   []uint32
	wg       sync.WaitGroup
}

// startLoopServer listens on 127.0.0.1 and serves every connection until
// the test ends.
func startLoopServer(t testing.TB) *loopServer {
	s, err := listenLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// listenLoop starts a loopServer; close stops it.
func listenLoop() (*loopServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &loopServer{ln: ln}
	s.settings = [5]uint32{0, 9600, 8, rfc2217.ParityNone, rfc2217.StopOne}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// close stops listening and waits for the connections to end; the
// clients must have closed theirs.
func (s *loopServer) close() {
	s.ln.Close()
	s.wg.Wait()
}

func (s *loopServer) addr() string { return s.ln.Addr().String() }

func (s *loopServer) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.serve(conn)
		}()
	}
}

func (s *loopServer) serve(conn net.Conn) {
	srv := rfc2217.NewServer("vcomd loop test")
	srv.ModemState(0)
	if _, err := conn.Write(srv.Start()); err != nil {
		return
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		r := srv.Feed(buf[:n])
		out := append([]byte(nil), r.Out...)
		out = rfc2217.AppendData(out, r.Data)
		for _, m := range r.Messages {
			out = s.answer(srv, m, out)
		}
		if _, err := conn.Write(out); err != nil && !errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// answer applies one request and appends its answer (after any
// notification it causes, so a client sees the new lines by the time its
// request returns).
func (s *loopServer) answer(srv *rfc2217.Server, m rfc2217.Message, out []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Cmd {
	case rfc2217.SetBaudRate, rfc2217.SetDataSize, rfc2217.SetParity, rfc2217.SetStopSize:
		if m.Value != 0 && !(m.Cmd == rfc2217.SetBaudRate && s.fixedBaud != 0) {
			s.settings[m.Cmd] = m.Value
		}
		v := s.settings[m.Cmd]
		if m.Cmd == rfc2217.SetBaudRate && s.fixedBaud != 0 {
			v = s.fixedBaud
		}
		return rfc2217.AppendReply(out, m.Cmd, v, nil)
	case rfc2217.SetControl:
		s.controls = append(s.controls, m.Value)
		switch m.Value {
		case rfc2217.ControlDTROn, rfc2217.ControlDTROff:
			s.dtr = m.Value == rfc2217.ControlDTROn
		case rfc2217.ControlRTSOn, rfc2217.ControlRTSOff:
			s.rts = m.Value == rfc2217.ControlRTSOn
		}
		out = append(out, srv.ModemState(s.lines())...)
		return rfc2217.AppendReply(out, m.Cmd, m.Value, nil)
	case rfc2217.PurgeData:
		s.purges = append(s.purges, m.Value)
		return rfc2217.AppendReply(out, m.Cmd, m.Value, nil)
	}
	return out
}

// lines is what the plug shows on the modem inputs; mu is held.
func (s *loopServer) lines() byte {
	var b byte
	if s.rts {
		b |= rfc2217.ModemCTS
	}
	if s.dtr {
		b |= rfc2217.ModemDSR | rfc2217.ModemCD
	}
	return b
}

func (s *loopServer) snapshot() (settings [5]uint32, controls, purges []uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings, append([]uint32(nil), s.controls...), append([]uint32(nil), s.purges...)
}
