package netfront

import (
	"net"
	"testing"
	"time"

	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/rfc2217"
)

// FuzzServerSession sends a client's whole stream, whatever it holds, to a
// server over a real socket, half-closes, and reads until the server ends
// the connection: the server must end every session (a malformed stream
// dropped, a good one closed at the half-close), leave the device with
// settings it accepts, and give the port to the next client.
func FuzzServerSession(f *testing.F) {
	req := func(cmd rfc2217.Command, v uint32) []byte { return rfc2217.AppendRequest(nil, cmd, v, nil) }
	start := rfc2217.NewClient().Start()
	for _, seed := range [][]byte{
		nil,
		[]byte("plain data \xff\xff"),
		append(append([]byte(nil), start...), req(rfc2217.SetBaudRate, 115200)...),
		append(req(rfc2217.SetDataSize, 7), req(rfc2217.SetParity, rfc2217.ParityEven)...),
		req(rfc2217.SetControl, rfc2217.ControlFlowHardware),
		req(rfc2217.SetControl, rfc2217.ControlBreakOn),
		append(req(rfc2217.FlowControlSuspend, 0), req(rfc2217.PurgeData, rfc2217.PurgeBoth)...),
		{rfc2217.IAC, 0x41},
		{rfc2217.IAC, rfc2217.SB, rfc2217.OptComPort, 1, 0xff},
		append([]byte{rfc2217.IAC, rfc2217.SB, rfc2217.OptComPort}, make([]byte, rfc2217.MaxSubnegotiation+1)...),
		req(rfc2217.SetBaudRate, 0x7fffffff),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		// A stream may hold a break on or stop output by flow control:
		// the closing wait then runs out, as it should, but briefly.
		r := newRig(t, Options{ClosingWait: 50 * time.Millisecond})
		conn, err := net.DialTCP("tcp", nil, r.srv.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = conn.Write(stream)
		_ = conn.CloseWrite()
		readAll(t, conn)
		if b := r.devIoctl(ioctl.GetBaudRate, nil).(ioctl.BaudRate); b.Validate() != nil {
			t.Fatalf("device left at baud %d", b.BaudRate)
		}
		if lc := r.devIoctl(ioctl.GetLineControl, nil).(ioctl.LineControl); lc.Validate() != nil {
			t.Fatalf("device left with framing %+v", lc)
		}
		c := dialTelnet(t, r.addr())
		if got := c.answer(rfc2217.SetBaudRate, 4800); got != 4800 {
			t.Fatalf("next client's SET-BAUDRATE answered %d", got)
		}
	})
}
