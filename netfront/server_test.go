package netfront

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/rfc2217"
	"github.com/vcomd/vcomd/uart16550"
	"github.com/vcomd/vcomd/vcomtest"
)

func dial(t *testing.T, r *rig, mode *serial.Mode) *rfc2217.Port {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	p, err := rfc2217.Dial(ctx, r.addr(), &rfc2217.Options{Mode: mode, Timeout: watchdog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Data crosses byte for byte both ways, 0xFF (IAC) included, through the
// Go RFC 2217 client.
func TestDataBothWays(t *testing.T) {
	r := newRig(t, Options{})
	p := dial(t, r, nil)
	msg := pattern(20000)
	go func() { _, _ = p.Write(msg) }()
	if got := r.peerRead(len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("peer received %d bytes differing from the %d sent", len(got), len(msg))
	}
	back := pattern(30000)[7:]
	r.peerWriteAsync(back)
	if got := vcomtest.ReadN(t, p, len(back), watchdog); !bytes.Equal(got, back) {
		t.Fatalf("client received %d bytes differing from the %d sent", len(got), len(back))
	}
}

// socket:// carries the bytes as they are: no telnet, IAC single.
func TestRawDataBothWays(t *testing.T) {
	r := newRig(t, Options{Raw: true})
	conn, err := net.Dial("tcp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := pattern(10000)
	go func() { _, _ = conn.Write(msg) }()
	if got := r.peerRead(len(msg)); !bytes.Equal(got, msg) {
		t.Fatal("peer received other bytes than the raw client sent")
	}
	back := []byte{0xFF, 0xFF, 0xFA, 0x2C, 0xF0, 'x'}
	r.peerWrite(back)
	got := make([]byte, len(back))
	_ = conn.SetReadDeadline(time.Now().Add(watchdog))
	if _, err := readFull(conn, got); err != nil || !bytes.Equal(got, back) {
		t.Fatalf("raw client received %x, %v; want %x", got, err, back)
	}
	if s := r.srv.String(); !strings.HasPrefix(s, "socket://127.0.0.1:") {
		t.Errorf("String() = %q", s)
	}
}

func readFull(conn net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := conn.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// A connect is an open: DTR and RTS rise (the peer's DSR and CTS); a
// disconnect a last close: they drop.
func TestConnectIsOpen(t *testing.T) {
	r := newRig(t, Options{})
	lines := func() uint32 { return r.peerIoctl(ioctl.GetModemStatus, nil).(uint32) }
	if l := lines(); l&(ioctl.MSRDSR|ioctl.MSRCTS) != 0 {
		t.Fatalf("peer's lines %#x before any client, want DSR and CTS low", l)
	}
	c := dialTelnet(t, r.addr())
	c.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	r.settle()
	if l := lines(); l&(ioctl.MSRDSR|ioctl.MSRCTS) != ioctl.MSRDSR|ioctl.MSRCTS {
		t.Fatalf("peer's lines %#x with a client, want DSR and CTS high", l)
	}
	if !r.srv.OwnsWaitMask() {
		t.Error("OwnsWaitMask false with an RFC 2217 client connected")
	}
	st := r.srv.State()
	if st.Client != c.conn.LocalAddr().String() || st.Accepted != 1 || st.Since.IsZero() {
		t.Errorf("state %+v, want the client %s", st, c.conn.LocalAddr())
	}
	c.conn.Close()
	r.logs.wait(t, "client disconnected")
	r.settle()
	if l := lines(); l&(ioctl.MSRDSR|ioctl.MSRCTS) != 0 {
		t.Fatalf("peer's lines %#x after the disconnect, want DSR and CTS low", l)
	}
	if r.srv.OwnsWaitMask() {
		t.Error("OwnsWaitMask true after the client left")
	}
	if st := r.srv.State(); st.Client != "" {
		t.Errorf("state %+v after the disconnect, want no client", st)
	}
}

// The Go client's mode arrives as IOCTLs on the device.
func TestSettingsThroughGoClient(t *testing.T) {
	r := newRig(t, Options{})
	p := dial(t, r, nil)
	for _, m := range []serial.Mode{
		{BaudRate: 38400, DataBits: 7, Parity: serial.EvenParity, StopBits: serial.TwoStopBits},
		{BaudRate: 1200, DataBits: 5, Parity: serial.MarkParity, StopBits: serial.OnePointFiveStopBits},
		{BaudRate: 115200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit},
	} {
		if err := p.SetMode(&m); err != nil {
			t.Fatalf("SetMode(%+v): %v", m, err)
		}
		b := r.devIoctl(ioctl.GetBaudRate, nil).(ioctl.BaudRate)
		lc := r.devIoctl(ioctl.GetLineControl, nil).(ioctl.LineControl)
		if b.BaudRate != uint32(m.BaudRate) || lc.String() != lineString(m) {
			t.Errorf("after SetMode(%+v) the device has %d %v", m, b.BaudRate, lc)
		}
	}
	if !r.sawIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 1200}) {
		t.Error("no SET_BAUD_RATE 1200 in the trace")
	}
}

func lineString(m serial.Mode) string {
	par := map[serial.Parity]string{serial.NoParity: "N", serial.OddParity: "O", serial.EvenParity: "E", serial.MarkParity: "M", serial.SpaceParity: "S"}[m.Parity]
	stop := map[serial.StopBits]string{serial.OneStopBit: "1", serial.OnePointFiveStopBits: "1.5", serial.TwoStopBits: "2"}[m.StopBits]
	return string(rune('0'+m.DataBits)) + par + stop
}

// Every SET-CONTROL flow value becomes a handflow on the device, and the
// answer names what is in force.
func TestFlowControl(t *testing.T) {
	r := newRig(t, Options{})
	c := dialTelnet(t, r.addr())
	hf := func() ioctl.HandFlow { return r.devIoctl(ioctl.GetHandflow, nil).(ioctl.HandFlow) }
	for _, tc := range []struct {
		set, answer, query uint32
		check              func(ioctl.HandFlow) bool
	}{
		{rfc2217.ControlFlowHardware, rfc2217.ControlFlowHardware, rfc2217.ControlFlowQuery, func(h ioctl.HandFlow) bool {
			return h.ControlHandShake&ioctl.CTSHandshake != 0 && h.FlowReplace&ioctl.RTSMask == ioctl.RTSHandshake && h.FlowReplace&(ioctl.AutoTransmit|ioctl.AutoReceive) == 0
		}},
		{rfc2217.ControlFlowXonXoff, rfc2217.ControlFlowXonXoff, rfc2217.ControlFlowQuery, func(h ioctl.HandFlow) bool {
			return h.ControlHandShake&ioctl.CTSHandshake == 0 && h.FlowReplace&ioctl.RTSMask == ioctl.RTSControl && h.FlowReplace&(ioctl.AutoTransmit|ioctl.AutoReceive) == ioctl.AutoTransmit|ioctl.AutoReceive
		}},
		{rfc2217.ControlInFlowNone, rfc2217.ControlInFlowNone, rfc2217.ControlInFlowQuery, func(h ioctl.HandFlow) bool {
			return h.FlowReplace&(ioctl.AutoTransmit|ioctl.AutoReceive) == ioctl.AutoTransmit
		}},
		{rfc2217.ControlInFlowHardware, rfc2217.ControlInFlowHardware, rfc2217.ControlInFlowQuery, func(h ioctl.HandFlow) bool {
			return h.FlowReplace&ioctl.RTSMask == ioctl.RTSHandshake && h.FlowReplace&ioctl.AutoTransmit != 0
		}},
		{rfc2217.ControlInFlowXonXoff, rfc2217.ControlInFlowXonXoff, rfc2217.ControlInFlowQuery, func(h ioctl.HandFlow) bool {
			return h.FlowReplace&ioctl.RTSMask == ioctl.RTSControl && h.FlowReplace&ioctl.AutoReceive != 0
		}},
		{rfc2217.ControlFlowNone, rfc2217.ControlFlowNone, rfc2217.ControlFlowQuery, func(h ioctl.HandFlow) bool {
			return h.ControlHandShake&ioctl.OutHandshakeAll == 0 && h.FlowReplace&(ioctl.RTSMask|ioctl.AutoTransmit|ioctl.AutoReceive) == ioctl.RTSControl
		}},
		{rfc2217.ControlFlowDSR, rfc2217.ControlFlowDSR, rfc2217.ControlFlowQuery, func(h ioctl.HandFlow) bool {
			return h.ControlHandShake&ioctl.OutHandshakeAll == ioctl.DSRHandshake
		}},
		{rfc2217.ControlFlowNone, rfc2217.ControlFlowNone, rfc2217.ControlFlowQuery, func(h ioctl.HandFlow) bool {
			return h.ControlHandShake&ioctl.OutHandshakeAll == 0
		}},
	} {
		if got := c.answer(rfc2217.SetControl, tc.set); got != tc.answer {
			t.Errorf("SET-CONTROL %d answered %d, want %d", tc.set, got, tc.answer)
		}
		if h := hf(); !tc.check(h) {
			t.Errorf("after SET-CONTROL %d the handflow is %+v", tc.set, h)
		}
		if got := c.answer(rfc2217.SetControl, tc.query); got != tc.answer {
			t.Errorf("query %d after SET-CONTROL %d answered %d, want %d", tc.query, tc.set, got, tc.answer)
		}
	}
	if !r.sawIoctl(ioctl.SetHandflow, nil) || !r.sawIoctl(ioctl.GetHandflow, nil) {
		t.Error("no GET_HANDFLOW/SET_HANDFLOW in the trace")
	}
}

// A value the device refuses is answered with the one in force, logged,
// and the client stays.
func TestBadValuesAnswered(t *testing.T) {
	r := newRig(t, Options{})
	c := dialTelnet(t, r.addr())
	if got := c.answer(rfc2217.SetBaudRate, 0x7fffffff); got != 9600 {
		t.Errorf("SET-BAUDRATE 0x7fffffff answered %d, want 9600 (in force)", got)
	}
	r.logs.wait(t, "not applied", "SET_BAUD_RATE")
	c.write(rfc2217.AppendSubnegotiation(nil, rfc2217.OptComPort, []byte{byte(rfc2217.SetDataSize), 9}))
	if got := c.expect("SET-DATASIZE answer", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.SetDataSize }).Value; got != 8 {
		t.Errorf("SET-DATASIZE 9 answered %d, want 8 (in force)", got)
	}
	r.logs.wait(t, "bad COM-PORT-OPTION request", "out of range")
	if got := c.answer(rfc2217.SetStopSize, rfc2217.StopOneHalf); got != rfc2217.StopOne {
		t.Errorf("SET-STOPSIZE 1.5 at 8 data bits answered %d, want 1 (in force)", got)
	}
	if got := c.answer(rfc2217.SetBaudRate, 0); got != 9600 {
		t.Errorf("baud query answered %d after the refusals, want 9600", got)
	}
	if b := r.devIoctl(ioctl.GetBaudRate, nil).(ioctl.BaudRate); b.BaudRate != 9600 {
		t.Errorf("device at %d baud, want 9600 unchanged", b.BaudRate)
	}
	// A flood of them is answered, and costs a few log lines.
	const n = 300
	bad := rfc2217.AppendSubnegotiation(nil, rfc2217.OptComPort, []byte{byte(rfc2217.SetDataSize), 9})
	c.write(bytes.Repeat(bad, n))
	for i := range n {
		if got := c.expect("SET-DATASIZE answer", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.SetDataSize }).Value; got != 8 {
			t.Fatalf("bad SET-DATASIZE %d answered %d", i, got)
		}
	}
	if logged := r.logs.count("bad COM-PORT-OPTION request"); logged > 20 {
		t.Errorf("%d log lines for %d bad requests, want a few", logged, n+1)
	}
}

// DTR and RTS reach the peer as DSR/DCD and CTS; the peer's RTS and DTR
// come back as NOTIFY-MODEMSTATE, honouring the mask.
func TestModemLines(t *testing.T) {
	r := newRig(t, Options{})
	p := dial(t, r, nil)
	lines := func() uint32 {
		return r.peerIoctl(ioctl.GetModemStatus, nil).(uint32) & (ioctl.MSRDSR | ioctl.MSRCTS | ioctl.MSRDCD)
	}
	for _, tc := range []struct {
		dtr, rts bool
		want     uint32
	}{
		{false, true, ioctl.MSRCTS},
		{false, false, 0},
		{true, false, ioctl.MSRDSR | ioctl.MSRDCD},
		{true, true, ioctl.MSRDSR | ioctl.MSRDCD | ioctl.MSRCTS},
	} {
		if err := p.SetDTR(tc.dtr); err != nil {
			t.Fatal(err)
		}
		if err := p.SetRTS(tc.rts); err != nil {
			t.Fatal(err)
		}
		r.settle()
		if l := lines(); l != tc.want {
			t.Errorf("DTR %v RTS %v: peer's lines %#x, want %#x", tc.dtr, tc.rts, l, tc.want)
		}
	}
	for _, code := range []ioctl.Code{ioctl.SetDTR, ioctl.ClrDTR, ioctl.SetRTS, ioctl.ClrRTS} {
		if !r.sawIoctl(code, nil) {
			t.Errorf("no %v in the trace", code)
		}
	}

	c := dialTelnetAfter(t, r, p)
	// The peer drives CTS (its RTS), DSR and CD (its DTR); RI is free.
	r.peerIoctl(ioctl.ClrRTS, nil)
	r.settle()
	c.modemState(rfc2217.ModemDSR | rfc2217.ModemCD)
	r.peerIoctl(ioctl.ClrDTR, nil)
	r.settle()
	c.modemState(0)
	// RI rising is no event (the 16550 reports its trailing edge only, and
	// so does EV_RING): the next change carries it, and its fall is seen.
	r.devIoctl(ioctl.SetModemInputs, ioctl.ModemInputs{Mask: ioctl.MSRRI, Value: ioctl.MSRRI})
	r.peerIoctl(ioctl.SetRTS, nil)
	r.settle()
	c.modemState(rfc2217.ModemCTS | rfc2217.ModemRI)
	r.devIoctl(ioctl.SetModemInputs, ioctl.ModemInputs{Mask: ioctl.MSRRI, Value: 0})
	m := c.expect("NOTIFY-MODEMSTATE", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	if m.Value != rfc2217.ModemCTS|rfc2217.ModemRIEdge {
		t.Errorf("NOTIFY-MODEMSTATE %#x at RI's fall, want CTS and the RI edge", m.Value)
	}
	// With the mask on CTS only, a DSR change says nothing; CTS does.
	if got := c.answer(rfc2217.SetModemStateMask, rfc2217.ModemCTS|rfc2217.ModemDeltaCTS); got != rfc2217.ModemCTS|rfc2217.ModemDeltaCTS {
		t.Fatalf("SET-MODEMSTATE-MASK answered %#x", got)
	}
	r.peerIoctl(ioctl.SetDTR, nil)
	r.settle()
	r.peerIoctl(ioctl.ClrRTS, nil)
	r.settle()
	m = c.expect("NOTIFY-MODEMSTATE", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	if m.Value != rfc2217.ModemDeltaCTS {
		t.Errorf("NOTIFY-MODEMSTATE %#x under a CTS mask, want CTS's fall only", m.Value)
	}
	if !r.sawIoctl(ioctl.WaitOnMask, nil) || !r.sawIoctl(ioctl.SetWaitMask, watchMask) {
		t.Error("no SET_WAIT_MASK/WAIT_ON_MASK in the trace")
	}
}

// dialTelnetAfter closes the Go client p and connects a test client once
// the server has let p go.
func dialTelnetAfter(t *testing.T, r *rig, p *rfc2217.Port) *tclient {
	t.Helper()
	p.Close()
	r.logs.wait(t, "client disconnected")
	c := dialTelnet(t, r.addr())
	c.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	return c
}

// A break from the client is a break on the line.
func TestBreak(t *testing.T) {
	r := newRig(t, Options{})
	r.peerIoctl(ioctl.SetWaitMask, ioctl.EvBreak)
	wait := driver.NewIoctl(ioctl.WaitOnMask, nil)
	wait.Owner = 1
	r.peer.Submit(wait)
	p := dial(t, r, nil)
	if err := p.Break(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if _, err := wait.Wait(ctx); err != nil || wait.Output().(uint32) != uint32(ioctl.EvBreak) {
		t.Fatalf("peer's wait ended %v with %v, want BREAK", err, wait.Output())
	}
	if !r.sawIoctl(ioctl.SetBreakOn, nil) || !r.sawIoctl(ioctl.SetBreakOff, nil) {
		t.Error("no SET_BREAK_ON/OFF in the trace")
	}
}

// Framing errors, overruns and breaks the device receives reach the
// client as NOTIFY-LINESTATE under its mask.
func TestLineState(t *testing.T) {
	r := newRig(t, Options{})
	c := dialTelnet(t, r.addr())
	mask := uint32(rfc2217.LineBreak | rfc2217.LineFraming | rfc2217.LineParity | rfc2217.LineOverrun)
	if got := c.answer(rfc2217.SetLineStateMask, mask); got != mask {
		t.Fatalf("SET-LINESTATE-MASK answered %#x", got)
	}
	lineState := func(what string, bit uint32) {
		t.Helper()
		c.expect("NOTIFY-LINESTATE "+what, func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyLineState && m.Value&bit != 0 })
	}
	r.dev.Input(driver.Input{Kind: driver.InputChar, Char: 'x', Err: uart16550.FramingError})
	lineState("framing", rfc2217.LineFraming)
	r.devIoctl(ioctl.Inject, ioctl.Injection{Kind: ioctl.InjectOverrun, Count: 1})
	lineState("overrun", rfc2217.LineOverrun)
	r.dev.Input(driver.Input{Kind: driver.InputBreak, Break: true}, driver.Input{Kind: driver.InputBreak, Break: false})
	lineState("break", rfc2217.LineBreak)
	if got := c.answer(rfc2217.SetParity, rfc2217.ParityEven); got != rfc2217.ParityEven {
		t.Fatalf("SET-PARITY even answered %d", got)
	}
	r.dev.Input(driver.Input{Kind: driver.InputChar, Char: 'y', Err: uart16550.ParityError})
	lineState("parity", rfc2217.LineParity)
	if !r.sawIoctl(ioctl.GetCommStatus, nil) {
		t.Error("no GET_COMMSTATUS in the trace")
	}
}

// PURGE-DATA 1 drops what the device received and the client was not
// sent; 2 the transmit side; each answered.
func TestPurge(t *testing.T) {
	r := newRig(t, Options{})
	c := dialTelnet(t, r.addr())
	c.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	// Suspended, the server starts no read: what the peer sends stays in
	// the typeahead, past what the read already pending takes (and the
	// server keeps back).
	c.request(rfc2217.FlowControlSuspend, 0)
	if got := c.answer(rfc2217.SetBaudRate, 0); got == 0 { // the suspend is acted on before this answer
		t.Fatal("no baud rate")
	}
	r.peerWrite([]byte("stale"))
	r.settle()
	if q := r.dev.Queued(); q > 5 {
		t.Fatalf("%d bytes in the typeahead while suspended, want at most the 5 sent", q)
	}
	if got := c.answer(rfc2217.PurgeData, rfc2217.PurgeReceive); got != rfc2217.PurgeReceive {
		t.Errorf("PURGE-DATA 1 answered %d", got)
	}
	if q := r.dev.Queued(); q != 0 {
		t.Errorf("%d bytes in the typeahead after PURGE-DATA 1, want 0", q)
	}
	c.request(rfc2217.FlowControlResume, 0)
	r.peerWrite([]byte("fresh"))
	if got := c.readData(5); string(got) != "fresh" {
		t.Errorf("client received %q after the purge, want %q", got, "fresh")
	}
	if got := c.answer(rfc2217.PurgeData, rfc2217.PurgeTransmit); got != rfc2217.PurgeTransmit {
		t.Errorf("PURGE-DATA 2 answered %d", got)
	}
	if got := c.answer(rfc2217.PurgeData, rfc2217.PurgeBoth); got != rfc2217.PurgeBoth {
		t.Errorf("PURGE-DATA 3 answered %d", got)
	}
	for _, m := range []ioctl.PurgeMask{ioctl.PurgeRxClear, ioctl.PurgeTxAbort | ioctl.PurgeTxClear, ioctl.PurgeAll &^ ioctl.PurgeRxAbort} {
		if !r.sawIoctl(ioctl.Purge, m) {
			t.Errorf("no PURGE %v in the trace", m)
		}
	}
}

// A second client is told who has the port and closed; the first keeps
// it.
func TestSecondClientRefused(t *testing.T) {
	r := newRig(t, Options{})
	first := dialTelnet(t, r.addr())
	first.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	conn, err := net.Dial("tcp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want := "vcomd: port served is in use by " + first.conn.LocalAddr().String() + "\r\n"
	if got := readAll(t, conn); got != want {
		t.Errorf("second client read %q, want %q", got, want)
	}
	st := r.srv.State()
	if st.Refused != 1 || st.Client != first.conn.LocalAddr().String() || !strings.Contains(st.LastRefusal, "in use") {
		t.Errorf("state %+v", st)
	}
	if got := first.answer(rfc2217.SetBaudRate, 19200); got != 19200 {
		t.Errorf("first client's SET-BAUDRATE answered %d", got)
	}
}

// A storm of connects while the port is held: each is turned away at
// once, none gets in, and the holder keeps the port.
func TestConnectStorm(t *testing.T) {
	r := newRig(t, Options{})
	holder := dialTelnet(t, r.addr())
	holder.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	const n = 500
	errs := make(chan error, n)
	for range n {
		go func() {
			conn, err := net.Dial("tcp", r.addr())
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			_ = conn.SetReadDeadline(time.Now().Add(watchdog))
			var b bytes.Buffer
			_, err = b.ReadFrom(conn)
			if err != nil && !isReset(err) {
				errs <- err
				return
			}
			if got := b.String(); got != "" && !strings.HasPrefix(got, "vcomd: port served is in use by ") {
				errs <- fmt.Errorf("refused client read %q", got)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if st := r.srv.State(); st.Refused != n || st.Accepted != 1 {
		t.Errorf("state %+v, want %d refused and the holder", st, n)
	}
	if got := holder.answer(rfc2217.SetBaudRate, 2400); got != 2400 {
		t.Errorf("holder's SET-BAUDRATE answered %d after the storm", got)
	}
}

// With Handover the newer client gets the port; the older one is told.
func TestHandover(t *testing.T) {
	r := newRig(t, Options{Raw: true, Handover: true})
	old, err := net.Dial("tcp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	r.logs.wait(t, "client connected", old.LocalAddr().String())
	if _, err := old.Write([]byte("old")); err != nil {
		t.Fatal(err)
	}
	if got := r.peerRead(3); string(got) != "old" {
		t.Fatalf("peer read %q", got)
	}
	next, err := net.Dial("tcp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	want := "vcomd: port served was handed over to " + next.LocalAddr().String() + "\r\n"
	if got := readAll(t, old); got != want {
		t.Errorf("old client read %q, want %q", got, want)
	}
	if _, err := next.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if got := r.peerRead(3); string(got) != "new" {
		t.Fatalf("peer read %q from the new client", got)
	}
	r.peerWrite([]byte("hi"))
	got := make([]byte, 2)
	_ = next.SetReadDeadline(time.Now().Add(watchdog))
	if _, err := readFull(next, got); err != nil || string(got) != "hi" {
		t.Fatalf("new client read %q, %v", got, err)
	}
	if st := r.srv.State(); st.Client != next.LocalAddr().String() || st.Accepted != 2 || st.Dropped != 1 {
		t.Errorf("state %+v", st)
	}
}

// A client outside Allow is closed at once and counted; thousands of them
// cost a few log lines, and the accept loop goes on.
func TestAllowRefuses(t *testing.T) {
	r := newRig(t, Options{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	const n = 300
	for i := range n {
		conn, err := net.Dial("tcp", r.addr())
		if err != nil {
			t.Fatalf("connect %d: %v", i, err)
		}
		if got := readAll(t, conn); got != "" {
			t.Fatalf("refused client read %q, want nothing", got)
		}
		conn.Close()
	}
	st := r.srv.State()
	if st.Refused != n || st.Accepted != 0 || !strings.Contains(st.LastRefusal, "not in the allowed") {
		t.Errorf("state %+v, want %d refused", st, n)
	}
	if logged := r.logs.count("client refused"); logged == 0 || logged > 20 {
		t.Errorf("%d refusals logged for %d refused, want a few", logged, n)
	}
}

// Listening beyond loopback needs an allow list.
func TestListenNeedsAllow(t *testing.T) {
	dev := driver.New(driver.Options{Name: "x"})
	defer dev.Close()
	_, err := Listen(dev, "0.0.0.0:0", Options{})
	if err == nil || !strings.Contains(err.Error(), "allowed client networks") {
		t.Fatalf("Listen on 0.0.0.0 without Allow: %v", err)
	}
	if _, err := Listen(dev, "127.0.0.1:0", Options{Allow: []netip.Prefix{{}}}); err == nil {
		t.Fatal("Listen with an invalid prefix succeeded")
	}
}

// Malformed telnet gets the client dropped with a log line naming it; the
// next client is served.
func TestMalformedDropped(t *testing.T) {
	r := newRig(t, Options{})
	long := append([]byte{rfc2217.IAC, rfc2217.SB, rfc2217.OptComPort}, bytes.Repeat([]byte{1}, rfc2217.MaxSubnegotiation+10)...)
	long = append(long, rfc2217.IAC, rfc2217.SE)
	for i, tc := range []struct {
		name  string
		bytes []byte
		log   string
	}{
		{"bad IAC", []byte{'a', rfc2217.IAC, 0x41, 'b'}, "IAC followed by"},
		{"SB cut by a command", []byte{rfc2217.IAC, rfc2217.SB, rfc2217.OptComPort, 1, rfc2217.IAC, rfc2217.DO, 1}, "malformed sub-negotiation"},
		{"oversize SB", long, "longer than the bound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialTelnet(t, r.addr())
			c.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
			c.write(tc.bytes)
			c.waitEnded()
			r.logs.wait(t, "client dropped", tc.log, c.conn.LocalAddr().String())
			if st := r.srv.State(); st.Dropped != uint64(i+1) {
				t.Errorf("state %+v, want %d dropped", st, i+1)
			}
		})
	}
	c := dialTelnet(t, r.addr())
	if got := c.answer(rfc2217.SetBaudRate, 57600); got != 57600 {
		t.Errorf("next client's SET-BAUDRATE answered %d", got)
	}
}

// A client that never reads is dropped once its socket takes nothing for
// the stall timeout, and the device's data stops piling up.
func TestStalledClientDropped(t *testing.T) {
	r := newRig(t, Options{Raw: true, StallTimeout: 200 * time.Millisecond})
	conn, err := net.DialTCP("tcp", nil, r.srv.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadBuffer(4096)
	r.logs.wait(t, "client connected")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		chunk := pattern(32 << 10)
		for ctx.Err() == nil {
			w := driver.NewWrite(chunk)
			w.Owner = 1
			_, _ = r.peer.Call(ctx, w)
		}
	}()
	r.logs.wait(t, "client dropped", "took no data for 200ms", conn.LocalAddr().String())
	cancel()
	<-done
	if st := r.srv.State(); st.Dropped != 1 || st.Client != "" {
		t.Errorf("state %+v", st)
	}
}

// A half-close is a disconnect after the data sent before it.
func TestHalfClose(t *testing.T) {
	r := newRig(t, Options{Raw: true})
	conn, err := net.DialTCP("tcp", nil, r.srv.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := pattern(50000)
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got := r.peerRead(len(msg)); !bytes.Equal(got, msg) {
		t.Fatal("peer did not get what the client sent before its half-close")
	}
	if got := readAll(t, conn); got != "" {
		t.Errorf("client read %q", got)
	}
	r.logs.wait(t, "client disconnected", "closed the connection")
}

// Close ends a session whose client neither reads nor writes, and every
// goroutine with it (TestMain checks).
func TestCloseWithStalledClient(t *testing.T) {
	r := newRig(t, Options{})
	c := dialTelnet(t, r.addr())
	c.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	if err := r.srv.Close(); err != nil {
		t.Fatal(err)
	}
	c.waitEnded()
	r.settle()
	if l := r.peerIoctl(ioctl.GetModemStatus, nil).(uint32); l&(ioctl.MSRDSR|ioctl.MSRCTS) != 0 {
		t.Errorf("peer's lines %#x after Close, want DSR and CTS low", l)
	}
}

// At a disconnect the client's data drains, bounded by the closing wait:
// output held by flow control is discarded when it runs out, and the
// lines drop.
func TestClosingWaitBoundsDrain(t *testing.T) {
	r := newRig(t, Options{ClosingWait: 100 * time.Millisecond})
	c := dialTelnet(t, r.addr())
	if got := c.answer(rfc2217.SetControl, rfc2217.ControlFlowHardware); got != rfc2217.ControlFlowHardware {
		t.Fatalf("SET-CONTROL hardware answered %d", got)
	}
	r.peerIoctl(ioctl.ClrRTS, nil) // the served device's CTS: output held
	r.settle()
	c.write(rfc2217.AppendData(nil, []byte("held back")))
	if got := c.answer(rfc2217.SetBaudRate, 0); got == 0 { // the data was read before this
		t.Fatal("no baud rate")
	}
	c.conn.Close()
	r.logs.wait(t, "closing wait over: output discarded")
	r.logs.wait(t, "client disconnected")
	r.settle()
	if l := r.peerIoctl(ioctl.GetModemStatus, nil).(uint32); l&ioctl.MSRDSR != 0 {
		t.Errorf("peer's lines %#x after the close, want DSR low", l)
	}
	if q := r.dev.OutputQueued(); q != 0 {
		t.Errorf("%d bytes still queued after the close", q)
	}
}

// At realistic timing the client's data leaves at the baud rate and
// arrives whole, the reader held back by the line rather than the line
// waiting for it.
func TestRealisticTiming(t *testing.T) {
	r := newRig(t, Options{}, realistic)
	p := dial(t, r, &serial.Mode{BaudRate: 230400, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	msg := pattern(6000)
	go func() { _, _ = p.Write(msg) }()
	if got := r.peerRead(len(msg)); !bytes.Equal(got, msg) {
		t.Fatal("peer received other bytes than the client sent")
	}
	r.peerIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 230400}) // the peer sends at its own rate
	back := pattern(3000)
	r.peerWriteAsync(back)
	if got := vcomtest.ReadN(t, p, len(back), watchdog); !bytes.Equal(got, back) {
		t.Fatal("client received other bytes than the peer sent")
	}
}

// A handover between RFC 2217 clients: the old one is told in its data
// stream, its watch on the mask ends, and the new one's begins.
func TestHandoverRFC2217(t *testing.T) {
	r := newRig(t, Options{Handover: true})
	old := dialTelnet(t, r.addr())
	old.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	next := dialTelnet(t, r.addr())
	want := "vcomd: port served was handed over to " + next.conn.LocalAddr().String() + "\r\n"
	if got := old.readData(len(want)); string(got) != want {
		t.Errorf("old client read %q, want %q", got, want)
	}
	old.waitEnded()
	next.expect("NOTIFY-MODEMSTATE after negotiation", func(m rfc2217.Message) bool { return m.Cmd == rfc2217.NotifyModemState })
	if got := next.answer(rfc2217.SetBaudRate, 300); got != 300 {
		t.Errorf("new client's SET-BAUDRATE answered %d", got)
	}
	r.peerIoctl(ioctl.ClrRTS, nil)
	r.settle()
	next.modemState(rfc2217.ModemDSR | rfc2217.ModemCD)
	if !r.srv.OwnsWaitMask() {
		t.Error("OwnsWaitMask false with the new client connected")
	}
	if st := r.srv.State(); st.Client != next.conn.LocalAddr().String() || st.Dropped != 1 {
		t.Errorf("state %+v", st)
	}
}
