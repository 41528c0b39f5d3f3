package wire_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/wire"
)

// watchdog bounds every wait for the other side; it is no timing
// assertion, only what stops a broken test from hanging.
const watchdog = 20 * time.Second

const (
	msrCarrier = msrCTS | msrDSR | msrDCD
	msrRI      = 0x40
)

// timeout is the watchdog for one wait.
func timeout() <-chan time.Time { return time.After(watchdog) }

// fastRetry reconnects quickly, so that the tests wait little.
func fastRetry(raw bool) wire.RemoteOptions {
	return wire.RemoteOptions{Raw: raw, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

// listen is a loopback listener that closes with the test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// openDevice is an open port at timing off.
func openDevice(t *testing.T, name string) *driver.Device {
	t.Helper()
	d := driver.New(driver.Options{Name: name, Instant: true})
	t.Cleanup(func() { d.Close() })
	call(t, d, &driver.IRP{Major: driver.MajorCreate})
	return d
}

// waitModem waits until the modem status bits in mask are want, woken by
// the device's own modem-change events (WAIT_ON_MASK), not by polling.
func waitModem(t *testing.T, d *driver.Device, mask, want uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	call(t, d, driver.NewIoctl(ioctl.SetWaitMask, ioctl.EvCTS|ioctl.EvDSR|ioctl.EvRLSD|ioctl.EvRing))
	for {
		// The wait is pending before the status is read, so a change
		// between the two completes it rather than being missed.
		w := driver.NewIoctl(ioctl.WaitOnMask, nil)
		d.Submit(w)
		got := modemStatus(t, d)
		if got&mask == want {
			d.Cancel(w)
			w.Wait(ctx) //nolint:errcheck // cancelled or completed, either is fine
			return
		}
		if _, err := w.Wait(ctx); err != nil {
			ps := call(t, d, driver.NewIoctl(ioctl.GetPortState, nil)).Output()
			t.Fatalf("modem status %#x, waiting for %#x under mask %#x: %v\nport state %+v", got, want, mask, err, ps)
		}
	}
}

// accept takes the next connection, bounded by the watchdog.
func accept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	select {
	case c := <-got:
		if c == nil {
			t.FailNow()
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(watchdog):
		ln.Close()
		<-got
		t.Fatal("the wire did not connect")
		return nil
	}
}

// readFull reads n bytes from c, bounded by the watchdog.
func readFull(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(watchdog)) //nolint:errcheck
	got := make([]byte, n)
	if k, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("server read %d of %d bytes: %v", k, n, err)
	}
	return got
}

// readDevice reads n bytes from d, bounded by the watchdog.
func readDevice(t *testing.T, d *driver.Device, n int) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	rd := driver.NewRead(make([]byte, n))
	if _, err := d.Call(ctx, rd); err != nil {
		t.Fatalf("device read %d of %d bytes: %v", len(rd.Data()), n, err)
	}
	return rd.Data()
}

func allBytes() []byte {
	p := make([]byte, 0, 512)
	for i := range 256 {
		p = append(p, byte(i), 0xFF)
	}
	return p
}

// A raw socket:// wire: data both ways byte for byte, the carrier (DCD,
// DSR, CTS) following the connection, what the port sends while down
// counted lost, and a reconnect once a server listens on the port again.
func TestRemoteRaw(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	d := openDevice(t, "R")
	if got := modemStatus(t, d); got&msrCarrier != 0 {
		t.Fatalf("modem status %#x before the wire connects, want no carrier", got)
	}
	r := wire.DialRemote(d, addr, fastRetry(true))
	defer r.Close()
	if got := r.String(); got != "socket://"+addr {
		t.Errorf("String() = %q", got)
	}
	c := accept(t, ln)
	waitModem(t, d, msrCarrier, msrCarrier)
	if st := r.State(); !st.Connected || st.Connects != 1 || st.Address != "socket://"+addr {
		t.Errorf("state %+v while connected", st)
	}

	data := allBytes()
	call(t, d, driver.NewWrite(data))
	if got := readFull(t, c, len(data)); !bytes.Equal(got, data) {
		t.Errorf("server got %x, want %x", got, data)
	}
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	if got := readDevice(t, d, len(data)); !bytes.Equal(got, data) {
		t.Errorf("port read %x, want %x", got, data)
	}

	// The server goes away: no listener, and the connection closed.
	ln.Close()
	c.Close()
	waitModem(t, d, msrCarrier, 0)
	if st := r.State(); st.Connected || st.LastError == "" {
		t.Errorf("state %+v after the server went away, want disconnected with a reason", st)
	}
	lost := []byte("into the void")
	call(t, d, driver.NewWrite(lost))
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if err := d.Delivered(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.State().LostTx; got != uint64(len(lost)) {
		t.Errorf("LostTx %d after writing %d bytes while down", got, len(lost))
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	defer ln.Close()
	c = accept(t, ln)
	waitModem(t, d, msrCarrier, msrCarrier)
	if st := r.State(); !st.Connected || st.Connects != 2 {
		t.Errorf("state %+v after reconnecting, want connected a second time", st)
	}
	call(t, d, driver.NewWrite([]byte("again")))
	if got := readFull(t, c, 5); string(got) != "again" {
		t.Errorf("server got %q after the reconnect", got)
	}
}

// Close ends a wire whose server has stopped reading while a write of the
// port is under way: Close returns, the goroutines end (leakcheck), and
// the port finishes the write into the closed wire as into an unplugged
// cable, counting it lost. (Whether the wire's socket write is blocked at
// that moment, which Close cuts with a deadline, depends on how much the
// socket buffers took; the test cannot see it.)
func TestRemoteCloseWhileBlocked(t *testing.T) {
	ln := listen(t)
	d := openDevice(t, "B")
	r := wire.DialRemote(d, ln.Addr().String(), fastRetry(true))
	c := accept(t, ln)
	waitModem(t, d, msrCarrier, msrCarrier)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	w := driver.NewWrite(big)
	d.Submit(w)
	// The write is under way once the server sees its first bytes; then
	// the server reads no more.
	readFull(t, c, 16)
	r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if st, err := w.Wait(ctx); err != nil || !st.OK() {
		t.Fatalf("the write after Close: %v %v", st, err)
	}
	if st := r.State(); st.LostTx > uint64(len(big)-16) || st.Connected {
		t.Errorf("state %+v after Close, with %d bytes written and 16 read", st, len(big))
	}
}
