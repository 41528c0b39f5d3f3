package control_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vcomd/vcomd/control"
	"github.com/vcomd/vcomd/ioctl"
)

// inject damages what a port receives; the program there reads the
// damaged characters and the counters say what they were. The same seed
// gives the same characters.
func TestInject(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1")
	ctx := context.Background()
	r.open(t, "ttyV0", 115200)
	b := r.open(t, "ttyV1", 115200)

	run := func(inj ioctl.Injection, n int) ([]byte, ioctl.Counters) {
		t.Helper()
		before := status(t, r, "ttyV1").State.Counters
		if _, err := r.c.Inject(ctx, "ttyV1", inj); err != nil {
			t.Fatal(err)
		}
		got := readN(t, b, n)
		after := status(t, r, "ttyV1").State.Counters
		return got, ioctl.Counters{
			PerfStats: ioctl.PerfStats{
				ReceivedCount:           after.ReceivedCount - before.ReceivedCount,
				FrameErrorCount:         after.FrameErrorCount - before.FrameErrorCount,
				ParityErrorCount:        after.ParityErrorCount - before.ParityErrorCount,
				SerialOverrunErrorCount: after.SerialOverrunErrorCount - before.SerialOverrunErrorCount,
			},
		}
	}

	framing := ioctl.Injection{Kind: ioctl.InjectFraming, Count: 8, Seed: 1}
	first, c := run(framing, 8)
	if c.FrameErrorCount != 8 || c.ReceivedCount != 8 {
		t.Errorf("8 framing errors counted as %+v", c.PerfStats)
	}
	again, _ := run(framing, 8)
	if !bytes.Equal(first, again) {
		t.Errorf("seed 1 gave %x, then %x", first, again)
	}
	framing.Seed = 2
	if other, _ := run(framing, 8); bytes.Equal(first, other) {
		t.Errorf("seeds 1 and 2 both gave %x", first)
	}

	noise := ioctl.Injection{Kind: ioctl.InjectNoise, Count: 64, Seed: 7, Rate: 5000}
	n1, c1 := run(noise, 64)
	n2, c2 := run(noise, 64)
	if !bytes.Equal(n1, n2) || c1 != c2 {
		t.Errorf("noise with seed 7 differed: %x %+v, then %x %+v", n1, c1.PerfStats, n2, c2.PerfStats)
	}
	if c1.FrameErrorCount == 0 || c1.FrameErrorCount == 64 {
		t.Errorf("noise: %d of 64 framing errors; want some, not all", c1.FrameErrorCount)
	}

	// Parity errors show only where the receiver checks parity.
	_, err := r.c.Inject(ctx, "ttyV1", ioctl.Injection{Kind: ioctl.InjectParity, Count: 3})
	apiError(t, err, http.StatusBadRequest, "without parity, so a parity error cannot show")
	if _, err := r.c.SetLine(ctx, "ttyV1", "8E1"); err != nil {
		t.Fatal(err)
	}
	if _, c := run(ioctl.Injection{Kind: ioctl.InjectParity, Count: 3, Seed: 3}, 3); c.ParityErrorCount != 3 {
		t.Errorf("3 parity errors counted as %d", c.ParityErrorCount)
	}

	// Overruns lose characters: nothing to read, so a framing error
	// injected after them shows when they have happened.
	before := status(t, r, "ttyV1").State.Counters.SerialOverrunErrorCount
	if _, err := r.c.Inject(ctx, "ttyV1", ioctl.Injection{Kind: ioctl.InjectOverrun, Count: 5}); err != nil {
		t.Fatal(err)
	}
	run(ioctl.Injection{Kind: ioctl.InjectFraming, Count: 1}, 1)
	if n := status(t, r, "ttyV1").State.Counters.SerialOverrunErrorCount - before; n != 5 {
		t.Errorf("5 overruns counted as %d", n)
	}

	for _, bad := range []string{
		`{"kind":"gremlins","count":1}`,
		`{"kind":"noise","count":0}`,
		`{"kind":"noise","count":65537}`,
		`{"kind":"noise","count":1,"rate":99999999}`,
	} {
		postJSON(t, r, "/v1/ports/ttyV1/inject", bad, http.StatusBadRequest)
	}
}

// wait returns the events that fired; it times out cleanly, and a port
// has one wait at a time.
func TestWait(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1")
	ctx := context.Background()
	r.open(t, "ttyV0", 9600)
	r.open(t, "ttyV1", 9600)

	tr := r.trace(t, "ttyV1")
	type result struct {
		res control.WaitResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := r.c.Wait(ctx, "ttyV1", "dsr,ring", 0)
		done <- result{res, err}
	}()
	// The wait is armed once the driver has its WAIT_ON_MASK.
	waitLine(t, tr, "WAIT_ON_MASK", func(l control.TraceLine) bool {
		return l.Request == "IOCTL_SERIAL_WAIT_ON_MASK" && l.Phase == "start"
	})
	_, err := r.c.Wait(ctx, "ttyV1", "cts", 0)
	apiError(t, err, http.StatusConflict, "a wait is already pending")
	if _, err := r.c.SetModem(ctx, "ttyV0", control.ModemRequest{DTR: off()}); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || got.res.Events != "DSR" || got.res.Mask != uint32(ioctl.EvDSR) {
		t.Errorf("wait dsr,ring: %+v, %v; want DSR", got.res, got.err)
	}

	res, err := r.c.Wait(ctx, "ttyV1", "rlsd", 50*time.Millisecond)
	if err != nil || !res.TimedOut || res.Events != "" {
		t.Errorf("wait rlsd 50ms with nothing happening: %+v, %v; want a timeout", res, err)
	}
	_, err = r.c.Wait(ctx, "ttyV1", "sunrise", 0)
	apiError(t, err, http.StatusBadRequest, `events "sunrise"`)
}

// purge goes to the driver as IOCTL_SERIAL_PURGE with the flags asked.
func TestPurge(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1")
	ctx := context.Background()
	tr := r.trace(t, "ttyV0")
	for what, want := range map[string]string{"rx": "RXABORT|RXCLEAR", "tx": "TXABORT|TXCLEAR", "all": "TXABORT|RXABORT|TXCLEAR|RXCLEAR"} {
		d, err := r.c.Purge(ctx, "ttyV0", what)
		if err != nil || d.Message != "purged "+want {
			t.Errorf("purge %s: %+v, %v", what, d, err)
		}
		l := waitLine(t, tr, "PURGE", func(l control.TraceLine) bool { return l.Request == "IOCTL_SERIAL_PURGE" && l.Phase == "complete" })
		if l.Status != "SUCCESS" {
			t.Errorf("purge %s completed %s", what, l.Status)
		}
	}
	_, err := r.c.Purge(ctx, "ttyV0", "sideways")
	apiError(t, err, http.StatusBadRequest, `what "sideways": want rx, tx or all`)
}
