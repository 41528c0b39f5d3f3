package control_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/vcomd/vcomd/control"
)

// portSet is what a client sees of the ports: each one's name, link and
// pty, to tell that a refused request changed nothing.
func portSet(t testing.TB, r *rig) []string {
	t.Helper()
	ports, err := r.c.Ports(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		out = append(out, p.Name+" "+p.Link+" "+p.PTY)
	}
	return out
}

// refused asserts a request is refused with status and a message holding
// want, and that the ports are as they were.
func refused(t *testing.T, r *rig, err error, status int, want string, before []string) {
	t.Helper()
	apiError(t, err, status, want)
	if after := portSet(t, r); !reflect.DeepEqual(after, before) {
		t.Errorf("the ports changed:\n%q\nwere\n%q", after, before)
	}
}

// A port named after a file vcomd makes in its directory is refused with
// a 400 naming the collision, and the control socket keeps answering.
func TestAddOwnFileName(t *testing.T) {
	r := newRig(t, "--loopback", "ttyL0", "--timing", "off")
	dir := filepath.Dir(r.socket)
	before := portSet(t, r)
	for _, tc := range []struct {
		req  control.AddRequest
		want string
	}{
		{control.AddRequest{Loopback: control.SocketName}, fmt.Sprintf(`port name "vcomd.sock" is the control socket's file in %s`, dir)},
		{control.AddRequest{Pair: []string{"ttyA", control.SocketName}}, `port name "vcomd.sock" is the control socket's file`},
		{control.AddRequest{Loopback: "ttyL0.123.tmp"}, `port name "ttyL0.123.tmp" has the form NAME.PID.tmp of the temporary links vcomd makes in ` + dir},
		{control.AddRequest{Loopback: "-x"}, `port name "-x": starts with '-'`},
		{control.AddRequest{Loopback: "."}, `port name "."`},
	} {
		_, err := r.c.Add(context.Background(), tc.req)
		refused(t, r, err, http.StatusBadRequest, tc.want, before)
	}
	if fi, err := os.Lstat(r.socket); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("%s is no longer the socket: %v %v", r.socket, fi, err)
	}
}

// Something vcomd did not make, in the place a new port's link goes, is
// left alone; the add is a 409 saying so, and of a pair neither end is
// made.
func TestAddOverAFile(t *testing.T) {
	r := newRig(t, "--loopback", "ttyL0", "--timing", "off")
	taken := filepath.Join(filepath.Dir(r.socket), "ttyX")
	if err := os.WriteFile(taken, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := portSet(t, r)
	for _, req := range []control.AddRequest{{Loopback: "ttyX"}, {Pair: []string{"ttyA", "ttyX"}}, {Pair: []string{"ttyX", "ttyA"}}} {
		_, err := r.c.Add(context.Background(), req)
		refused(t, r, err, http.StatusConflict, taken+": exists and is not a symlink", before)
		if _, err := os.Lstat(filepath.Join(filepath.Dir(r.socket), "ttyA")); !os.IsNotExist(err) {
			t.Errorf("%+v: ttyA's link was left behind (%v)", req, err)
		}
	}
	if b, err := os.ReadFile(taken); err != nil || string(b) != "mine" {
		t.Errorf("%s: %q, %v; want it untouched", taken, b, err)
	}
}

// Of adds of one name at the same time, one succeeds and every other is
// told the port exists: a 409, as for a port added before.
func TestAddSameNameAtOnce(t *testing.T) {
	r := newRig(t, "--loopback", "ttyL0", "--timing", "off")
	errs := atOnce(r, 6, func(c *control.Client) error {
		_, err := c.Add(context.Background(), control.AddRequest{Loopback: "ttyN"})
		return err
	})
	if ok := succeeded(t, errs, http.StatusConflict, `port "ttyN" exists already`); ok != 1 {
		t.Errorf("%d adds succeeded, want 1", ok)
	}
}

// Removing a port twice, one after the other or at once, removes it once;
// every other removal is a 404.
func TestRemoveTwice(t *testing.T) {
	r := newRig(t, "--loopback", "ttyL0", "--pair", "ttyA:ttyB", "--timing", "off")
	errs := atOnce(r, 6, func(c *control.Client) error {
		_, err := c.Remove(context.Background(), "ttyA", true)
		return err
	})
	if ok := succeeded(t, errs, http.StatusNotFound, `"ttyA"`); ok != 1 {
		t.Errorf("%d removals succeeded, want 1", ok)
	}
	_, err := r.c.Remove(context.Background(), "ttyB", true)
	apiError(t, err, http.StatusNotFound, `unknown port "ttyB" (ports: ttyL0)`)
}

// atOnce runs n requests at the same time, each on its own connection,
// and returns their errors.
func atOnce(r *rig, n int, req func(*control.Client) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := control.NewClient(r.socket)
			defer c.Close()
			errs[i] = req(c)
		})
	}
	wg.Wait()
	return errs
}

// succeeded counts the nil errors; every other must be status with want.
func succeeded(t *testing.T, errs []error, status int, want string) int {
	t.Helper()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		apiError(t, err, status, want)
	}
	return ok
}

// A wait pending on a port that is removed ends with a 410, not an
// internal error.
func TestWaitOnRemovedPort(t *testing.T) {
	r := newRig(t, "--loopback", "ttyL0", "--pair", "ttyA:ttyB")
	tr := r.trace(t, "ttyA")
	done := make(chan error, 1)
	go func() {
		_, err := r.c.Wait(context.Background(), "ttyA", "cts", 0)
		done <- err
	}()
	waitLine(t, tr, "WAIT_ON_MASK", func(l control.TraceLine) bool {
		return l.Request == "IOCTL_SERIAL_WAIT_ON_MASK" && l.Phase == "start"
	})
	other := control.NewClient(r.socket)
	defer other.Close()
	if _, err := other.Remove(context.Background(), "ttyA", true); err != nil {
		t.Fatal(err)
	}
	apiError(t, <-done, http.StatusGone, "port ttyA was removed")
}

// A port whose pty cannot be made (here: the daemon has no file
// descriptor left) is a 409 saying why, and nothing is added; once
// descriptors are free again the same add works.
func TestAddWithoutPTY(t *testing.T) {
	r := newRig(t, "--loopback", "ttyL0", "--timing", "off")
	before := portSet(t, r) // and the client's connection is open, for reuse
	release := exhaustFDs(t)
	_, err := r.c.Add(context.Background(), control.AddRequest{Pair: []string{"ttyA", "ttyB"}})
	refused(t, r, err, http.StatusConflict, "adding ttyA, ttyB: the daemon could not create it: ", before)
	apiError(t, err, http.StatusConflict, "allocating a pty")
	release()
	if _, err := r.c.Add(context.Background(), control.AddRequest{Pair: []string{"ttyA", "ttyB"}}); err != nil {
		t.Fatalf("adding once descriptors are free: %v", err)
	}
}

// exhaustFDs leaves the process no file descriptor to open: the soft
// limit goes down to the highest one in use and the free numbers below
// are filled. release (also run at the test's end) undoes both.
func exhaustFDs(t *testing.T) (release func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	highest := 0
	for _, e := range fds {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			highest = max(highest, n)
		}
	}
	lim := old
	lim.Cur = uint64(highest) + 1
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var fill []int
	var once sync.Once
	release = func() {
		once.Do(func() {
			for _, fd := range fill {
				syscall.Close(fd)
			}
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
				t.Errorf("restoring RLIMIT_NOFILE: %v", err)
			}
		})
	}
	t.Cleanup(release)
	for {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EMFILE {
			return release
		}
		if err != nil {
			release()
			t.Fatal(err)
		}
		fill = append(fill, fd)
	}
}
