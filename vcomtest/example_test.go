package vcomtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
	"github.com/vcomd/vcomd/vcomtest"
)

// A test gets a pair of ports and talks through them with any serial
// library.
func Example() {
	t := &testing.T{} // in a real test, the test's own t
	a, b := vcomtest.NewPair(t)
	pa, _ := serial.Open(a.Path, &serial.Mode{BaudRate: 115200})
	defer pa.Close()
	pb, _ := serial.Open(b.Path, &serial.Mode{BaudRate: 115200})
	defer pb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.WaitOpen(ctx)

	pa.Write([]byte("ping"))
	// ReadN fails the test if the bytes do not come within 10 s.
	fmt.Println(string(vcomtest.ReadN(t, pb, 4, 10*time.Second)))
	// Output: ping
}

// Line errors reach the program's data and the counters.
func TestReceiveWithError(t *testing.T) {
	p := vcomtest.NewLoopback(t, vcomtest.TimingOff())
	sp, err := serial.Open(p.Path, &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitOpen(ctx); err != nil {
		t.Fatal(err)
	}
	p.Receive('x', uart16550.FramingError)
	if got := vcomtest.ReadN(t, sp, 1, 10*time.Second); got[0] != 'x' {
		t.Fatalf("read %q, want x", got)
	}
	st, err := p.Stats(ctx)
	if err != nil || st.FrameErrorCount != 1 {
		t.Fatalf("stats %+v %v, want one framing error", st, err)
	}
}

// A break sent on one end is received on the other.
func TestBreak(t *testing.T) {
	a, b := vcomtest.NewPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.Device().Call(ctx, driver.NewIoctl(ioctl.SetWaitMask, ioctl.EvBreak)); err != nil {
		t.Fatal(err)
	}
	wait := driver.NewIoctl(ioctl.WaitOnMask, nil)
	b.Device().Submit(wait)
	if err := a.Break(ctx, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st, err := wait.Wait(ctx); err != nil || ioctl.WaitMask(wait.Output().(uint32)) != ioctl.EvBreak {
		t.Fatalf("wait ended %v %v with %v, want BREAK", st, err, wait.Output())
	}
}
