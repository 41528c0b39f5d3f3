package driver_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// A front asks to be told when fewer than n bytes wait to be sent: the
// callback runs once, when the line has taken the rest, and not before.
func TestNotifyOutputBelow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, driver.Options{FIFODepth: 16}, 9600)
		if a.NotifyOutputBelow(256, func() { t.Error("fired with nothing queued") }) {
			t.Fatal("armed with an empty output queue")
		}
		start := time.Now()
		a.Submit(driver.NewWrite(pattern(1000)))
		fired := make(chan time.Duration, 1)
		if !a.NotifyOutputBelow(256, func() { fired <- time.Since(start) }) {
			t.Fatal("not armed with 1000 bytes queued")
		}
		if q := a.OutputQueued(); q < 256 || q > 1000 {
			t.Fatalf("output queue %d, want between 256 and 1000", q)
		}
		// 8N1 at 9600 is 960 characters a second. The ISR loads a
		// FIFO's worth (16) when the FIFO runs empty, so the queue drops
		// below 256 while the line sends the 744th character at the
		// latest and the 728th at the earliest; the callback may come a
		// stretched quantum (16 ms) late, the queue still holding 240.
		earliest, latest := 728*time.Second/960, 744*time.Second/960+16*time.Millisecond
		select {
		case got := <-fired:
			if got < earliest || got > latest {
				t.Fatalf("fired after %v, want between %v and %v", got, earliest, latest)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("never fired")
		}
		time.Sleep(2 * time.Second)
		if len(fired) != 0 {
			t.Fatal("fired twice")
		}
	})
}

// OutputHeld follows output flow control: CTS low with the CTS handshake
// on holds the transmitter.
func TestOutputHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 9600)
		setHandflow(t, a, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSControl})
		if a.OutputHeld() {
			t.Fatal("held with CTS up")
		}
		mustCall(t, b, driver.NewIoctl(ioctl.ClrRTS, nil))
		synctest.Wait()
		if !a.OutputHeld() {
			t.Fatal("not held with CTS down")
		}
		mustCall(t, a, driver.NewIoctl(ioctl.SetXoff, nil))
		mustCall(t, b, driver.NewIoctl(ioctl.SetRTS, nil))
		synctest.Wait()
		if !a.OutputHeld() {
			t.Fatal("not held after SetXoff")
		}
		mustCall(t, a, driver.NewIoctl(ioctl.SetXon, nil))
		if a.OutputHeld() {
			t.Fatal("held after SetXon with CTS up")
		}
	})
}
