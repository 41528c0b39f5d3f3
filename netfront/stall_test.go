package netfront

import (
	"bytes"
	"testing"

	"github.com/vcomd/vcomd/rfc2217"
)

// The reader hands the client's data and flow requests to the device while
// the pump's write to the client is blocked (a client that is not reading
// now, as rfc2217.Port's reader did while its own write waited for the
// socket): a read that calls for no answer must not wait for the socket.
// vcombench's both-ways RFC 2217 run stalled so: the reader waited to send
// nothing behind the pump, the client's write waited for the reader, and
// the client's reader for its write.
func TestReaderNotBehindBlockedWrite(t *testing.T) {
	r := newRig(t, Options{})
	c := dialTelnet(t, r.addr())
	// Two answers: after the second, the server has acted on every reply
	// the client made to its negotiation, the first having come after
	// the client had sent them all; what follows calls for no answer.
	c.answer(rfc2217.SetBaudRate, 0)
	c.answer(rfc2217.SetBaudRate, 0)
	r.srv.mu.Lock()
	cl := r.srv.cur
	r.srv.mu.Unlock()
	// Stand in for the pump blocked in a write to the socket: it holds the
	// socket's write lock until the client reads.
	cl.wmu.Lock()
	locked := true
	unlock := func() {
		if locked {
			locked = false
			cl.wmu.Unlock()
		}
	}
	defer unlock()
	msg := pattern(3000)
	out := rfc2217.AppendRequest(nil, rfc2217.FlowControlSuspend, 0, nil)
	out = rfc2217.AppendData(out, msg)
	out = rfc2217.AppendRequest(out, rfc2217.FlowControlResume, 0, nil)
	c.write(out)
	if got := r.peerRead(len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("peer received %d bytes differing from the %d sent", len(got), len(msg))
	}
	unlock()
	// The session is not left held: what the device receives reaches
	// the client.
	back := pattern(100)
	r.peerWrite(back)
	if got := c.readData(len(back)); !bytes.Equal(got, back) {
		t.Fatalf("client received %q, want %q", got, back)
	}
}
