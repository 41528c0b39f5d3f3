package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/internal/ser2nettest"
)

// hostPort is the host:port of an rfc2217:// or socket:// URL.
func hostPort(t *testing.T, url string) string {
	t.Helper()
	_, hp, ok := strings.Cut(url, "://")
	if !ok {
		t.Fatalf("%q is no URL", url)
	}
	return hp
}

// status is vcomctl status --json of a port.
func status(t *testing.T, socket, name string) control.Port {
	t.Helper()
	var p control.Port
	if err := json.Unmarshal([]byte(ok(t, socket, "--json", "status", name)), &p); err != nil {
		t.Fatalf("status %s: %v", name, err)
	}
	return p
}

// eventually retries check until it holds, bounded by the watchdog: the
// far end of a network port changes on its own goroutines, and vcomctl
// offers no event for a status field.
func eventually(t *testing.T, what string, check func() (bool, any)) {
	t.Helper()
	end := time.Now().Add(watchdog)
	for {
		good, got := check()
		if good {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: still %v after %v", what, got, watchdog)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pyserial's rfc2217:// and socket:// clients, with their default options,
// against --serve: data both ways byte for byte, and over RFC 2217 every
// setting, dtr/rts, cts/dsr/ri/cd, send_break and both buffer resets,
// each checked on the far side with vcomctl (test/pyserial_net_check.py).
func TestServePyserial(t *testing.T) {
	python := pyserial(t)
	for _, scheme := range []string{"rfc2217", "socket"} {
		t.Run(scheme, func(t *testing.T) {
			ports := startPorts(t, 2, "--timing", "off", "--pair", "net:peer", "--serve", "net="+scheme+"://127.0.0.1:0")
			socket := filepath.Join(filepath.Dir(ports["peer"]), "vcomd.sock")
			out, err := bounded(t, 2*time.Minute, python, "pyserial_net_check.py", ports["net"], ports["peer"], vcomctl, socket, "net", "peer").CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("pyserial_net_check.py: %v", err)
			}
		})
	}
}

// Bridging a port to raw TCP: a plain socket is the program on the served
// port, and a second client is turned away with a line saying why.
func TestServeRawTCP(t *testing.T) {
	ports := startPorts(t, 2, "--timing", "off", "--pair", "net:peer", "--serve", "net=socket://127.0.0.1:0")
	addr := hostPort(t, ports["net"])
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := openGo(t, ports["peer"], 115200)
	defer peer.Close()
	msg := []byte("over tcp \xff\x00 raw")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if got := read(t, peer, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("peer read %q, want %q", got, msg)
	}
	if _, err := peer.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(watchdog))
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "back" {
		t.Fatalf("client read %q (%v), want \"back\"", got, err)
	}

	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(watchdog))
	line, err := io.ReadAll(second)
	if err != nil || !strings.Contains(string(line), "in use") {
		t.Fatalf("second client got %q (%v), want a line saying the port is in use", line, err)
	}
}

// Listening beyond this machine needs the client networks named: without
// them vcomd refuses to start and says what to add.
func TestServeNeedsAllow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vcom")
	out, err := bounded(t, watchdog, vcomd, "--dir", dir, "--pair", "a:b", "--serve", "a=rfc2217://0.0.0.0:0").CombinedOutput()
	if code := exitCode(t, err); code == 0 || !strings.Contains(string(out), "allow") {
		t.Fatalf("vcomd exit %d, said %q; want a refusal naming allow", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Fatalf("the refused config left the link of b behind")
	}
}

// gensio's gensiot, an RFC 2217 client no one here wrote: its open raises
// DTR (seen by the peer), and data goes both ways byte for byte.
func TestServeGensiot(t *testing.T) {
	bin := need(t, "gensiot", "gensio-bin")
	ports := startPorts(t, 2, "--timing", "off", "--pair", "net:peer", "--serve", "net=rfc2217://127.0.0.1:0")
	socket := filepath.Join(filepath.Dir(ports["peer"]), "vcomd.sock")
	host, port, _ := net.SplitHostPort(hostPort(t, ports["net"]))
	cmd := exec.Command(bin, "-i", "stdio(self)", fmt.Sprintf("telnet(rfc2217),tcp,%s,%s", host, port))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if ended, _ := stopProcess(cmd, os.Interrupt); !ended {
			t.Errorf("gensiot did not end")
		}
		if t.Failed() {
			t.Logf("gensiot stderr:\n%s", stderr.String())
		}
	}()
	peer := openGo(t, ports["peer"], 115200)
	defer peer.Close()
	eventually(t, "gensiot's open raising DTR (peer's DSR)", func() (bool, any) {
		st := status(t, socket, "peer").State
		return st.DSR, st.DSR
	})
	msg := []byte("from gensiot \xff end\n")
	if _, err := stdin.Write(msg); err != nil {
		t.Fatal(err)
	}
	if got := read(t, peer, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("peer read %q, want %q", got, msg)
	}
	back := []byte("to gensiot \xff\xfe end\n")
	if _, err := peer.Write(back); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(back))
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(stdout, got); done <- err }()
	select {
	case err := <-done:
		if err != nil || !bytes.Equal(got, back) {
			t.Fatalf("gensiot printed %q (%v), want %q", got, err, back)
		}
	case <-time.After(watchdog):
		t.Fatalf("gensiot printed nothing within %v", watchdog)
	}
}

// A vcomd pty in front of real ser2net: ser2net serves end "dev" of a
// vcomd pair over RFC 2217, and a connect port (added with vcomctl add)
// reaches it. Data both ways byte for byte; the local program's speed
// reaches the pty ser2net holds, and so the pair's device; when ser2net
// goes the port stays and says so, and it reconnects when ser2net is back.
// (Over a pty ser2net reports every modem input off and cannot set data
// bits or parity, which Linux forces to 8N on a pty: wire's tests check
// those against a server that can.)
func TestConnectToSer2net(t *testing.T) {
	bin := ser2nettest.NeedSer2net(t)
	ports := startPorts(t, 2, "--timing", "off", "--pair", "dev:far")
	socket := filepath.Join(filepath.Dir(ports["dev"]), "vcomd.sock")
	port := ser2nettest.FreePort(t)
	srv := ser2nettest.Serve(t, bin, "telnet(rfc2217)", ports["dev"], port)
	ok(t, socket, "add", "connect", "remote=rfc2217://"+srv.Addr)
	remoteLink := filepath.Join(filepath.Dir(ports["dev"]), "remote")
	eventually(t, "connected to ser2net", func() (bool, any) {
		r := status(t, socket, "remote").Remote
		return r != nil && r.Connected, r
	})

	local := openGo(t, remoteLink, 19200)
	defer local.Close()
	far := openGo(t, ports["far"], 19200)
	defer far.Close()
	msg := []byte("through ser2net \xff\x00\xfe")
	if _, err := local.Write(msg); err != nil {
		t.Fatal(err)
	}
	if got := read(t, far, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("far end read %q, want %q", got, msg)
	}
	back := []byte("and back \xff")
	if _, err := far.Write(back); err != nil {
		t.Fatal(err)
	}
	if got := read(t, local, len(back)); !bytes.Equal(got, back) {
		t.Fatalf("local program read %q, want %q", got, back)
	}

	// The speed the local program set reaches ser2net's pty, whose front
	// gives it to the pair's device.
	if err := local.SetMode(&serial.Mode{BaudRate: 57600}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "57600 on ser2net's end of the pair", func() (bool, any) {
		st := status(t, socket, "dev").State
		return st.Baud == 57600, st.Baud
	})

	// ser2net goes away: the port stays and says so.
	srv.Stop()
	eventually(t, "the remote seen gone", func() (bool, any) {
		r := status(t, socket, "remote").Remote
		return !r.Connected && r.LastError != "", r
	})
	ser2nettest.Serve(t, bin, "telnet(rfc2217)", ports["dev"], port)
	eventually(t, "reconnected", func() (bool, any) {
		r := status(t, socket, "remote").Remote
		return r.Connected && r.Connects >= 2, r
	})
	if _, err := local.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, far, 5); string(got) != "again" {
		t.Fatalf("after the reconnect the far end read %q", got)
	}
}
