package netfront

import (
	"io"
	"net"
	"testing"

	"github.com/vcomd/vcomd/rfc2217"
)

// The client's data through the server, a device at timing off with a
// loopback plug, and back to the client: socket to driver and driver to
// socket in one figure.
func BenchmarkLoopRaw(b *testing.B)     { benchLoop(b, true) }
func BenchmarkLoopRFC2217(b *testing.B) { benchLoop(b, false) }

func benchLoop(b *testing.B, raw bool) {
	r := newRig(b, Options{Raw: raw}, loopback)
	conn, err := net.Dial("tcp", r.addr())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if !raw {
		// The negotiation and notifications would count as data: the
		// benchmark speaks telnet through rfc2217.Client instead.
		conn.Close()
		c := dialTelnet(b, r.addr())
		benchTelnet(b, c)
		return
	}
	const chunk = 64 << 10
	msg := pattern(chunk)
	b.SetBytes(chunk)
	go func() {
		for range b.N {
			if _, err := conn.Write(msg); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, chunk)
	b.ResetTimer()
	for range b.N {
		if _, err := io.ReadFull(conn, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func benchTelnet(b *testing.B, c *tclient) {
	const chunk = 64 << 10
	msg := pattern(chunk)
	b.SetBytes(chunk)
	wire := rfc2217.AppendData(nil, msg)
	go func() {
		for range b.N {
			c.write(wire)
		}
	}()
	b.ResetTimer()
	for range b.N {
		c.readData(chunk)
	}
}
