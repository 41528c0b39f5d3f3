package wire_test

import (
	"bytes"
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/rfc2217"
	"github.com/vcomd/vcomd/wire"
)

// fakeServer is an RFC 2217 access server made of rfc2217.Server on one
// real TCP connection, standing in for the device side so that a test can
// send the notifications a real server sends only when hardware does
// something (a break, a framing error, a ring).
type fakeServer struct {
	conn  net.Conn
	mu    sync.Mutex // guards srv and writes to conn
	srv   *rfc2217.Server
	baud  uint32               // when set, SET-BAUDRATE is answered with it
	got   chan rfc2217.Message // the client's requests, in order
	data  chan []byte          // data from the client
	ended chan struct{}
}

func serveFake(t *testing.T, ln net.Listener, baud uint32) *fakeServer {
	t.Helper()
	f := &fakeServer{
		conn: accept(t, ln), srv: rfc2217.NewServer("fake server"), baud: baud,
		got: make(chan rfc2217.Message, 256), data: make(chan []byte, 256), ended: make(chan struct{}),
	}
	f.send(f.srv.Start())
	go f.read()
	t.Cleanup(func() { f.conn.Close(); <-f.ended })
	return f
}

func (f *fakeServer) send(p []byte) {
	if len(p) > 0 {
		f.conn.Write(p) //nolint:errcheck // a dropped client ends the reader
	}
}

// do runs fn on the server role and sends what it returns.
func (f *fakeServer) do(fn func(*rfc2217.Server) []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.send(fn(f.srv))
}

func (f *fakeServer) read() {
	defer close(f.ended)
	buf := make([]byte, 4096)
	for {
		n, err := f.conn.Read(buf)
		if err != nil {
			return
		}
		f.mu.Lock()
		res := f.srv.Feed(buf[:n])
		out := res.Out
		if len(res.Data) > 0 {
			f.data <- append([]byte(nil), res.Data...)
		}
		for _, m := range res.Messages {
			switch m.Cmd {
			case rfc2217.SetBaudRate, rfc2217.SetDataSize, rfc2217.SetParity, rfc2217.SetStopSize, rfc2217.SetControl:
				v := m.Value
				if m.Cmd == rfc2217.SetBaudRate && f.baud != 0 {
					v = f.baud
				}
				out = rfc2217.AppendReply(out, m.Cmd, v, nil)
			}
			f.got <- m
		}
		f.send(out)
		f.mu.Unlock()
	}
}

// expect reads the client's requests until one is cmd with value, and
// returns those before it.
func (f *fakeServer) expect(t *testing.T, cmd rfc2217.Command, value uint32) []rfc2217.Message {
	t.Helper()
	var before []rfc2217.Message
	for {
		select {
		case m := <-f.got:
			if m.Cmd == cmd && m.Value == value {
				return before
			}
			before = append(before, m)
		case <-f.ended:
			t.Fatalf("connection ended waiting for %s %d (had %v)", cmd, value, before)
		case <-timeout():
			t.Fatalf("no %s %d from the client (had %v)", cmd, value, before)
		}
	}
}

// readData reads n data bytes from the client.
func (f *fakeServer) readData(t *testing.T, n int) []byte {
	t.Helper()
	var got []byte
	for len(got) < n {
		select {
		case p := <-f.data:
			got = append(got, p...)
		case <-timeout():
			t.Fatalf("server got %d of %d bytes: %q", len(got), n, got)
		}
	}
	return got
}

// logLines is a zerolog writer handing each line to a channel.
type logLines chan string

func (l logLines) Write(p []byte) (int, error) {
	select {
	case l <- string(p):
	default: // a test that does not look drops the rest
	}
	return len(p), nil
}

// An RFC 2217 wire against a server: the port's settings, modem lines and
// break go out as requests, data both ways with IAC doubled, the server's
// modem state, line state and flow control reach the UART, and an answer
// other than the value asked is logged.
func TestRemoteRFC2217(t *testing.T) {
	ln := listen(t)
	d := openDevice(t, "C")
	logs := make(logLines, 64)
	opts := fastRetry(false)
	opts.Logger = zerolog.New(logs)
	r := wire.DialRemote(d, ln.Addr().String(), opts)
	defer r.Close()
	f := serveFake(t, ln, 0)

	// The opening: the present settings, the lines, the masks.
	before := f.expect(t, rfc2217.SetLineStateMask, rfc2217.LineBreak|rfc2217.LineFraming|rfc2217.LineParity|rfc2217.LineOverrun)
	want := map[rfc2217.Command][]uint32{
		rfc2217.SetBaudRate: {9600}, rfc2217.SetDataSize: {8}, rfc2217.SetParity: {rfc2217.ParityNone},
		rfc2217.SetStopSize: {rfc2217.StopOne}, rfc2217.SetModemStateMask: {0xFF},
		rfc2217.SetControl: {rfc2217.ControlInFlowNone, rfc2217.ControlFlowNone, rfc2217.ControlDTROn, rfc2217.ControlRTSOn},
	}
	got := map[rfc2217.Command][]uint32{}
	for _, m := range before {
		if m.Cmd != rfc2217.Signature {
			got[m.Cmd] = append(got[m.Cmd], m.Value)
		}
	}
	for cmd, vs := range want {
		if !slices.Equal(got[cmd], vs) {
			t.Errorf("opening %s %v, want %v (all: %v)", cmd, got[cmd], vs, before)
		}
	}
	// The server's modem state, not the connection, is the UART's
	// inputs: the role notifies its (all off) state after negotiation.
	f.do(func(s *rfc2217.Server) []byte {
		return s.ModemState(rfc2217.ModemCD | rfc2217.ModemDSR | rfc2217.ModemCTS)
	})
	waitModem(t, d, msrCarrier, msrCarrier)
	if st := r.State(); !st.Connected || st.Peer != "fake server" || st.Address != "rfc2217://"+ln.Addr().String() {
		t.Errorf("state %+v, want connected to the fake server", st)
	}

	// Settings as the program makes them.
	call(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 19200}))
	f.expect(t, rfc2217.SetBaudRate, 19200)
	call(t, d, driver.NewIoctl(ioctl.SetLineControl, ioctl.LineControl{WordLength: 7, Parity: ioctl.EvenParity, StopBits: ioctl.StopBits2}))
	f.expect(t, rfc2217.SetDataSize, 7)
	f.expect(t, rfc2217.SetParity, rfc2217.ParityEven)
	f.expect(t, rfc2217.SetStopSize, rfc2217.StopTwo)
	hf := call(t, d, driver.NewIoctl(ioctl.GetHandflow, nil)).Output().(ioctl.HandFlow)
	hf.ControlHandShake |= ioctl.CTSHandshake
	hf.FlowReplace = hf.FlowReplace&^ioctl.RTSMask | ioctl.RTSHandshake
	call(t, d, driver.NewIoctl(ioctl.SetHandflow, hf))
	f.expect(t, rfc2217.SetControl, rfc2217.ControlInFlowHardware)
	f.expect(t, rfc2217.SetControl, rfc2217.ControlFlowHardware)
	hf.ControlHandShake &^= ioctl.CTSHandshake
	hf.FlowReplace = hf.FlowReplace&^ioctl.RTSMask | ioctl.RTSControl
	call(t, d, driver.NewIoctl(ioctl.SetHandflow, hf))
	f.expect(t, rfc2217.SetControl, rfc2217.ControlInFlowNone)
	f.expect(t, rfc2217.SetControl, rfc2217.ControlFlowNone)
	call(t, d, driver.NewIoctl(ioctl.SetLineControl, ioctl.LineControl{WordLength: 8, Parity: ioctl.NoParity, StopBits: ioctl.StopBit1}))
	f.expect(t, rfc2217.SetStopSize, rfc2217.StopOne)

	// Lines and break.
	call(t, d, driver.NewIoctl(ioctl.ClrDTR, nil))
	f.expect(t, rfc2217.SetControl, rfc2217.ControlDTROff)
	call(t, d, driver.NewIoctl(ioctl.ClrRTS, nil))
	f.expect(t, rfc2217.SetControl, rfc2217.ControlRTSOff)
	call(t, d, driver.NewIoctl(ioctl.SetBreakOn, nil))
	f.expect(t, rfc2217.SetControl, rfc2217.ControlBreakOn)
	call(t, d, driver.NewIoctl(ioctl.SetBreakOff, nil))
	f.expect(t, rfc2217.SetControl, rfc2217.ControlBreakOff)

	// Data both ways, IAC bytes and all.
	data := allBytes()
	call(t, d, driver.NewWrite(data))
	if got := f.readData(t, len(data)); !bytes.Equal(got, data) {
		t.Errorf("server got %x, want %x", got, data)
	}
	f.do(func(*rfc2217.Server) []byte { return rfc2217.AppendData(nil, data) })
	if got := readDevice(t, d, len(data)); !bytes.Equal(got, data) {
		t.Errorf("port read %x, want %x", got, data)
	}

	// The server's modem state becomes the UART's inputs, RI included.
	f.do(func(s *rfc2217.Server) []byte { return s.ModemState(rfc2217.ModemRI | rfc2217.ModemCTS) })
	waitModem(t, d, msrCarrier|msrRI, msrCTS|msrRI)
	f.do(func(s *rfc2217.Server) []byte {
		return s.ModemState(rfc2217.ModemCD | rfc2217.ModemDSR | rfc2217.ModemCTS)
	})
	waitModem(t, d, msrCarrier|msrRI, msrCarrier)

	// Line state: a break, a framing error on the next character, an
	// overrun. Each shows in the port's error word and counters.
	call(t, d, driver.NewIoctl(ioctl.GetCommStatus, nil)) // clears the error word
	f.do(func(s *rfc2217.Server) []byte {
		return append(s.LineState(rfc2217.LineBreak), rfc2217.AppendData(nil, []byte("a"))...)
	})
	if got := readDevice(t, d, 2); !bytes.Equal(got, []byte{0, 'a'}) {
		t.Errorf("port read %q after a break, want the break's NUL and the next byte", got)
	}
	f.do(func(s *rfc2217.Server) []byte {
		return append(s.LineState(rfc2217.LineFraming|rfc2217.LineOverrun), rfc2217.AppendData(nil, []byte("bc"))...)
	})
	if got := readDevice(t, d, 2); string(got) != "bc" {
		t.Errorf("port read %q after a framing error, want \"bc\"", got)
	}
	cs := call(t, d, driver.NewIoctl(ioctl.GetCommStatus, nil)).Output().(ioctl.CommStatus)
	if want := uint32(ioctl.ErrBreak | ioctl.ErrFraming | ioctl.ErrOverrun); cs.Errors&want != want {
		t.Errorf("error word %#x (%s), want break, framing and overrun", cs.Errors, ioctl.ErrorString(cs.Errors))
	}
	if st := call(t, d, driver.NewIoctl(ioctl.GetStats, nil)).Output().(ioctl.PerfStats); st.FrameErrorCount != 1 || st.SerialOverrunErrorCount != 1 {
		t.Errorf("stats %+v, want one framing error (the first character after the notification) and one overrun", st)
	}

	// FLOWCONTROL-SUSPEND holds data, not settings, until RESUME. DSR
	// dropped after it marks when the wire has seen it (RI would not: it
	// raises no event until it falls).
	f.do(func(s *rfc2217.Server) []byte {
		return append(s.FlowControl(true), s.ModemState(rfc2217.ModemCD|rfc2217.ModemCTS)...)
	})
	waitModem(t, d, msrDSR, 0)
	held := driver.NewWrite([]byte("held"))
	d.Submit(held)
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if _, err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	call(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 38400}))
	f.expect(t, rfc2217.SetBaudRate, 38400)
	select {
	case p := <-f.data:
		t.Fatalf("server got %q while it had suspended the flow", p)
	default:
	}
	f.do(func(s *rfc2217.Server) []byte { return s.FlowControl(false) })
	if got := f.readData(t, 4); string(got) != "held" {
		t.Errorf("server got %q after RESUME, want \"held\"", got)
	}

	// An answer with another value than asked is logged.
	f.mu.Lock()
	f.baud = 115200
	f.mu.Unlock()
	for len(logs) > 0 {
		<-logs
	}
	call(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 57600}))
	f.expect(t, rfc2217.SetBaudRate, 57600)
	for {
		select {
		case l := <-logs:
			if strings.Contains(l, "another value") && strings.Contains(l, `"asked":57600`) && strings.Contains(l, `"answered":115200`) {
				return
			}
		case <-timeout():
			t.Fatal("no log line for a baud rate answered with another value")
		}
	}
}
