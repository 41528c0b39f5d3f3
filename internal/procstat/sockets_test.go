package procstat

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// ListensTCP finds a listening socket on a port only in the process that
// holds it, and not once it is closed, even while a connection it
// accepted still has that local port.
func TestListensOn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	for _, c := range []struct {
		pid  int
		want bool
	}{{os.Getpid(), true}, {other.Process.Pid, false}} {
		if got, err := ListensTCP(c.pid, port); err != nil || got != c.want {
			t.Errorf("ListensTCP(%d, %d) = %v, %v; want %v", c.pid, port, got, err, c.want)
		}
	}
	if _, err := ListensTCP(1<<30, port); err == nil {
		t.Error("ListensTCP of no process succeeded")
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	served, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer served.Close()
	ln.Close()
	if got, err := ListensTCP(os.Getpid(), port); err != nil || got {
		t.Errorf("after Close, ListensTCP = %v, %v; want false", got, err)
	}
}
