package ttybench

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/vcomd/vcomd/internal/benchrig"
)

// syncBoth passes a byte each way between a and b, so that each is known
// to be open on the far side.
func syncBoth(t *testing.T, ctx context.Context, a, b End) {
	t.Helper()
	if err := Sync(ctx, a, b, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := Sync(ctx, b, a, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// measureBoth opens the program's end at link, passes a byte each way,
// and runs what the benchmark's network steps run, small: data each way
// and both ways at once (every byte checked, 0xFF included), and round
// trips.
func measureBoth(t *testing.T, ctx context.Context, client End, link string) {
	t.Helper()
	program, err := Open(link, 115200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { program.Close() })
	syncBoth(t, ctx, client, program)
	for _, d := range []struct {
		from, to End
		both     bool
	}{{client, program, false}, {program, client, false}, {client, program, true}} {
		bps, err := Throughput(ctx, d.from, d.to, 300<<10, 64<<10, d.both)
		if err != nil {
			t.Fatalf("%s to %s, both=%v: %v", d.from.Name(), d.to.Name(), d.both, err)
		}
		t.Logf("%s to %s, both=%v: %.1f MB/s", d.from.Name(), d.to.Name(), d.both, bps/1e6)
	}
	rt, err := RoundTrip(ctx, client, program, 10, 200)
	if err != nil {
		t.Fatal(err)
	}
	if len(rt) != 200 || Percentile(rt, 50) <= 0 {
		t.Fatalf("%d round trips, p50 %v", len(rt), Percentile(rt, 50))
	}
}

// A TCP client (DialTCP) and the pty of socat's tcp-listen bridge carry
// the pattern both ways intact.
func TestTCPSocat(t *testing.T) {
	bin := socat(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := benchrig.StartSocatTCP(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	client, err := DialTCP(ctx, s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	measureBoth(t, ctx, client, s.Link)
	if err := client.SetBaud(9600); err == nil {
		t.Error("SetBaud on a socket succeeded")
	}
}

// A connect nobody answers fails, naming the address.
func TestDialTCPRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := DialTCP(context.Background(), addr, 5*time.Second); err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("DialTCP to a closed port: %v", err)
	}
	if _, err := DialTCP(context.Background(), "localhost:80", time.Second); err == nil || !strings.Contains(err.Error(), "localhost:80") {
		t.Errorf("DialTCP to a host name: %v", err)
	}
}

// RFC 2217 through ser2net, serving one end of a vcomd pair, to a
// program on the other: the client's IAC doubling and ser2net's undoing
// of it keep the pattern intact both ways.
func TestRFC2217Ser2net(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pair := startVcomd(t, ctx, "off")
	addr, client := ser2netClient(t, ctx, pair.A)
	measureBoth(t, ctx, client, pair.B)
	if want := "rfc2217://" + addr; client.Name() != want {
		t.Errorf("Name %q, want %q", client.Name(), want)
	}
}

// ser2netClient starts ser2net serving device (skipping without
// ser2net), and connects an RFC 2217 client to it.
func ser2netClient(t *testing.T, ctx context.Context, device string) (string, *RFC2217) {
	t.Helper()
	bin, err := benchrig.LookSer2net()
	if err != nil {
		t.Skip(err)
	}
	s, err := benchrig.StartSer2net(ctx, benchrig.Ser2netConfig{Bin: bin, Dir: t.TempDir(), Device: device})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	client, err := DialRFC2217(ctx, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return s.Addr, client
}

// A write the far end never takes fails at its bound instead of hanging:
// the RFC 2217 client closes under it.
func TestRFC2217WriteBound(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Nobody reads the pty's master: the pty fills, then ser2net stops
	// reading and TCP's buffers fill, and the write can never finish.
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	// Closed after ser2net has stopped (cleanups run last first): ser2net
	// spins on a pty whose master is gone, and took no heed of SIGTERM
	// for 5 s in 5 of 8 runs.
	t.Cleanup(func() { master.Close(); slave.Close() })
	_, client := ser2netClient(t, ctx, slave.Name())
	big := make([]byte, 64<<20)
	err = client.write(ctx, big, 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("64 MiB into a pty nobody reads: %v, want timed out", err)
	}
	if _, err := client.read(ctx, make([]byte, 1), time.Second); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("read after the bound closed the port: %v, want the bound's reason", err)
	}
}
