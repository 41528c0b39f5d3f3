package daemon_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vcomd/vcomd/daemon"
	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/leakcheck"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/vcomtest"
	"github.com/vcomd/vcomd/wire"
)

// The three parts of a port, picked per port: "net" is served (a network
// front, no pty, no link) and wired to its pair's "peer"; "remote" has a
// pty and a wire that reaches net's server. A byte written on remote's pty
// crosses a socket, net's device and the null-modem cable to peer's pty.
// A reload that changes only the serve's allow list makes net again and
// leaves peer alone; one that changes nothing keeps every port.
func TestServeAndConnect(t *testing.T) {
	defer leakcheck.Verify(t)
	dir := filepath.Join(t.TempDir(), "vcom")
	args := []string{"--dir", dir, "--timing", "off", "--pair", "net:peer", "--serve", "net=socket://127.0.0.1:0"}
	d, err := daemon.New(parse(t, args...), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), watchdog)
		defer cancel()
		d.Close(ctx)
	}()
	net, _ := d.Port("net")
	if net.Server() == nil || net.PTY() != nil || net.Link != "" {
		t.Fatalf("net: server %v, pty %v, link %q; want a network front and no pty or link", net.Server(), net.PTY(), net.Link)
	}
	addr := net.Server().Addr().String()
	withRemote := append(args[:len(args):len(args)], "--connect", "remote=socket://"+addr)
	if err := d.Apply(parse(t, withRemote...)); err != nil {
		t.Fatal(err)
	}
	remote, _ := d.Port("remote")
	if _, ok := remote.Connection().(*wire.Remote); !ok || remote.PTY() == nil {
		t.Fatalf("remote: wire %v, pty %v; want a remote wire behind a pty", remote.Connection(), remote.PTY())
	}
	// Until the wire reaches the server, what the UART sends is lost, as
	// on an unplugged cable: wait for the carrier it raises then.
	waitInput(t, remote.Device(), ioctl.EvRLSD, ioctl.MSRDCD)
	r, p := open(t, d, "remote"), open(t, d, "peer")
	if _, err := r.Write([]byte("over the net")); err != nil {
		t.Fatal(err)
	}
	if got := vcomtest.ReadN(t, p, 12, watchdog); string(got) != "over the net" {
		t.Fatalf("peer read %q, want \"over the net\"", got)
	}
	if _, err := p.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	if got := vcomtest.ReadN(t, r, 4, watchdog); string(got) != "back" {
		t.Fatalf("remote read %q, want \"back\"", got)
	}

	peer, _ := d.Port("peer")
	if err := d.Apply(parse(t, withRemote...)); err != nil {
		t.Fatal(err)
	}
	for name, was := range map[string]*daemon.Port{"net": net, "peer": peer, "remote": remote} {
		if now, _ := d.Port(name); now != was {
			t.Errorf("a reload with nothing changed made %s again", name)
		}
	}
	// The remote's target is the bound port, which a new server would not
	// have: drop the connect port before the serve changes.
	allowed := append(args[:len(args)-2:len(args)-2], "--serve", "net=socket://127.0.0.1:0?allow=127.0.0.0/8")
	if err := d.Apply(parse(t, allowed...)); err != nil {
		t.Fatal(err)
	}
	if now, _ := d.Port("net"); now == net {
		t.Error("a changed allow list kept the old server")
	}
	if now, _ := d.Port("peer"); now != peer {
		t.Error("a change to net's serve made peer again")
	}
	if _, ok := d.Port("remote"); ok {
		t.Error("remote outlived its removal from the config")
	}
}

// waitInput waits, on the device's wait mask (ev), until the modem input
// bit is up.
func waitInput(t *testing.T, dev *driver.Device, ev ioctl.WaitMask, bit uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	call := func(code ioctl.Code, in any) any {
		irp := driver.NewIoctl(code, in)
		if _, err := dev.Call(ctx, irp); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		return irp.Output()
	}
	for {
		call(ioctl.SetWaitMask, ev)
		wait := driver.NewIoctl(ioctl.WaitOnMask, nil)
		dev.Submit(wait)
		if call(ioctl.GetModemStatus, nil).(uint32)&bit != 0 {
			dev.Cancel(wait)
			<-wait.Done()
			return
		}
		select {
		case <-wait.Done():
		case <-ctx.Done():
			t.Fatalf("%s: modem status bit %#x still down after %v", dev.Name(), bit, watchdog)
		}
	}
}
