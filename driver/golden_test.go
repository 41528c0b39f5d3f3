package driver_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/wire"
)

// updateGolden rewrites testdata/golden-*.txt from this run instead of
// comparing with them. A change to those files changes what the driver's
// model promises, and its commit says why.
var updateGolden = flag.Bool("update", false, "rewrite testdata/golden-*.txt from this run")

// TestGoldenTrace is the gate for reworking how the ISR goroutine wakes
// and where DPCs run (docs/PERFORMANCE-PLAN.md, section 4). A fixed script
// runs on two devices on a null-modem cable, each recording its own trace,
// and what the driver's model defines must come out byte for byte the
// same: which IRPs there are, their lengths, statuses and data, and the
// order in which each queue completes them.
//
// Left out is everything that legitimately depends on when the ISR
// goroutine runs: times and durations, IOCTL outputs (a GET_COMMSTATUS
// taken while data flows), the modem-input events (how often RTS flaps
// while a reader drains the typeahead at timing off depends on the
// scheduler), and the order of completions across queues and ports. The
// script keeps every read's length fixed whatever the ISR's timing: a
// read waits for all it asks for (timeouts 0/0/0), finds nothing and times
// out, or starts only after its data has had ten milliseconds of line
// time to arrive, far more than the quantum an ISR may be late.
func TestGoldenTrace(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		instant    bool
	}{
		{"off", "golden-off.txt", true},
		{"realistic-115200", "golden-realistic.txt", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			synctest.Test(t, func(t *testing.T) { got = goldenScript(t, tc.instant) })
			path := filepath.Join("testdata", tc.file)
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (write it with -update)", err)
			}
			if got != string(want) {
				t.Fatalf("the trace differs from %s:\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// goldenSettle is line time the script lets pass before it depends on
// what a change has done at the far end: a few characters take 0.3 ms at
// 115200, and an ISR may service an event up to a millisecond late.
const goldenSettle = 10 * time.Millisecond

// goldenScript runs the script of PERFORMANCE-PLAN.md section 4 in the
// present bubble and returns the trace it recorded, in the golden file's
// form. It also checks on the way what the golden lines cannot show
// (that a request is still pending when it must be, that data arrived
// intact).
func goldenScript(t *testing.T, instant bool) string {
	rec := &traceRecorder{events: map[string][]driver.TraceEvent{}}
	epoch := time.Now()
	mk := func(name string) *driver.Device {
		return driver.New(driver.Options{Name: name, Instant: instant, Epoch: epoch, Trace: rec.add})
	}
	a, b := mk("A"), mk("B")
	t.Cleanup(func() { a.Close(); b.Close() })
	wire.Connect(a, b, wire.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	delivered := func(d *driver.Device) {
		t.Helper()
		if err := d.Delivered(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the far end's ISR goroutine has applied it
	}
	pending := func(irp *driver.IRP, what string) {
		t.Helper()
		select {
		case <-irp.Done():
			t.Fatalf("%s completed (%v, %d bytes) while it should wait", what, irp.Status(), irp.Information())
		default:
		}
	}
	wait := func(irp *driver.IRP, want driver.Status, n int, what string) {
		t.Helper()
		st, err := irp.Wait(ctx)
		if err != nil || st != want || irp.Information() != n {
			t.Fatalf("%s: %v %v with %d bytes, want %v with %d", what, st, err, irp.Information(), want, n)
		}
	}
	rtscts := ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSHandshake, XonLimit: 2048, XoffLimit: 512}

	// 1. Open both ends and set them up alike, RTS/CTS flow control on.
	for _, d := range []*driver.Device{a, b} {
		mustCall(t, d, &driver.IRP{Major: driver.MajorCreate})
		mustCall(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 115200}))
		mustCall(t, d, driver.NewIoctl(ioctl.SetLineControl, ioctl.LineControl{WordLength: 8, Parity: ioctl.NoParity, StopBits: ioctl.StopBit1}))
		mustCall(t, d, driver.NewIoctl(ioctl.SetHandflow, rtscts))
	}
	setTimeouts(t, b, ioctl.Timeouts{})
	delivered(a)
	delivered(b)

	// 2. A waits for its output to drain or its CTS to move.
	mustCall(t, a, driver.NewIoctl(ioctl.SetWaitMask, ioctl.EvTxEmpty|ioctl.EvCTS))
	waitIRP := driver.NewIoctl(ioctl.WaitOnMask, nil)
	a.Submit(waitIRP)
	synctest.Wait()
	pending(waitIRP, "A's WAIT_ON_MASK before any write")

	// 3. A read waiting for 4096 bytes gets them from two writes.
	data := pattern(4096)
	r := driver.NewRead(make([]byte, 4096))
	b.Submit(r)
	pending(r, "B's first read")
	w1, w2 := driver.NewWrite(data[:1000]), driver.NewWrite(data[1000:])
	a.Submit(w1)
	a.Submit(w2)
	wait(r, driver.StatusSuccess, 4096, "B's 4096-byte read")
	if !bytes.Equal(r.Data(), data) {
		t.Fatal("B's 4096-byte read differs from what A wrote")
	}
	wait(w1, driver.StatusSuccess, 1000, "A's first write")
	wait(w2, driver.StatusSuccess, 3096, "A's second write")
	wait(waitIRP, driver.StatusSuccess, 4, "A's WAIT_ON_MASK")

	// 4. 40 000 bytes to a reader that does not read for a second of
	// line time (the stall under test): flow control holds A back.
	big := pattern(40_001)[1:]
	w3 := driver.NewWrite(big)
	a.Submit(w3)
	time.Sleep(time.Second)
	pending(w3, "A's 40 000-byte write while B does not read")
	if h := commStatus(t, a).HoldReasons; h&ioctl.TxWaitingForCTS == 0 {
		t.Fatalf("A's hold reasons %#x while B does not read, want CTS", h)
	}
	commStatus(t, b)
	var got []byte
	for _, n := range []int{8192, 8192, 8192, 8192, 7232} {
		r := driver.NewRead(make([]byte, n))
		mustCall(t, b, r)
		if r.Status() != driver.StatusSuccess || r.Information() != n {
			t.Fatalf("B's %d-byte read: %v with %d bytes", n, r.Status(), r.Information())
		}
		got = append(got, r.Data()...)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("the 40 000 bytes B read differ from what A wrote")
	}
	wait(w3, driver.StatusSuccess, len(big), "A's 40 000-byte write")

	// 5. A read that returns on its first byte times out empty, then
	// finds three bytes waiting and takes them at once.
	setTimeouts(t, b, ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: max, ReadTotalTimeoutConstant: 50})
	r = driver.NewRead(make([]byte, 8))
	mustCall(t, b, r)
	if r.Status() != driver.StatusTimeout || r.Information() != 0 {
		t.Fatalf("B's read with nothing to read: %v with %d bytes, want TIMEOUT with 0", r.Status(), r.Information())
	}
	mustCall(t, a, driver.NewWrite([]byte("abc")))
	time.Sleep(goldenSettle)
	delivered(a)
	r = driver.NewRead(make([]byte, 8))
	mustCall(t, b, r)
	if r.Status() != driver.StatusSuccess || string(r.Data()) != "abc" {
		t.Fatalf("B's read after \"abc\" arrived: %v %q, want SUCCESS \"abc\"", r.Status(), r.Data())
	}

	// 6. B takes RTS under its own control and drops it: A's write is
	// held, then purged.
	mustCall(t, b, driver.NewIoctl(ioctl.SetHandflow, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSControl, XonLimit: 2048, XoffLimit: 512}))
	mustCall(t, b, driver.NewIoctl(ioctl.ClrRTS, nil))
	time.Sleep(goldenSettle)
	delivered(b)
	if !a.OutputHeld() {
		t.Fatal("A's output not held after B dropped RTS")
	}
	w4 := driver.NewWrite(pattern(4000))
	a.Submit(w4)
	time.Sleep(goldenSettle)
	pending(w4, "A's write while CTS is low")
	if n := b.Queued(); n != 0 {
		t.Fatalf("B received %d bytes while A's CTS was low", n)
	}
	mustCall(t, a, driver.NewIoctl(ioctl.Purge, ioctl.PurgeTxAbort|ioctl.PurgeTxClear))
	wait(w4, driver.StatusCancelled, 0, "A's purged write")
	mustCall(t, b, driver.NewIoctl(ioctl.SetRTS, nil))
	delivered(b)

	// 7. A read cancelled before anything arrives; A sends an immediate
	// character and a break, and reads its modem status.
	r = driver.NewRead(make([]byte, 16))
	b.Submit(r)
	pending(r, "B's 16-byte read")
	b.Cancel(r)
	wait(r, driver.StatusCancelled, 0, "B's cancelled read")
	mustCall(t, a, driver.NewIoctl(ioctl.ImmediateChar, byte('!')))
	mustCall(t, a, driver.NewIoctl(ioctl.SetBreakOn, nil))
	mustCall(t, a, driver.NewIoctl(ioctl.SetBreakOff, nil))
	mustCall(t, a, driver.NewIoctl(ioctl.GetModemStatus, nil))

	// 8. Both ends close as a program's last close does.
	for _, d := range []*driver.Device{a, b} {
		mustCall(t, d, &driver.IRP{Major: driver.MajorFlush})
		mustCall(t, d, &driver.IRP{Major: driver.MajorCleanup})
		mustCall(t, d, &driver.IRP{Major: driver.MajorClose})
	}
	synctest.Wait()
	return rec.golden(t, instant, []string{"A", "B"})
}

// traceRecorder keeps each port's trace events in the order the device
// handed them over. The hook is called from whichever goroutine started
// or completed a request.
type traceRecorder struct {
	mu     sync.Mutex
	events map[string][]driver.TraceEvent
}

func (r *traceRecorder) add(ev driver.TraceEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[ev.Port] = append(r.events[ev.Port], ev)
}

// goldenQueues are the driver's queues whose completion order the model
// defines, and which requests go to each.
var goldenQueues = []struct {
	name string
	in   func(driver.TraceEvent) bool
}{
	{"reads", func(ev driver.TraceEvent) bool { return ev.Major == driver.MajorRead }},
	{"writes", func(ev driver.TraceEvent) bool { return ev.Major == driver.MajorWrite || ev.Major == driver.MajorFlush }},
	{"waits", func(ev driver.TraceEvent) bool {
		return ev.Major == driver.MajorDeviceControl && ev.Code == ioctl.WaitOnMask
	}},
	{"purges", func(ev driver.TraceEvent) bool {
		return ev.Major == driver.MajorDeviceControl && ev.Code == ioctl.Purge
	}},
}

// golden renders the recorded traces: per port, one line per IRP in ID
// order,
//
//	id major code start-length | complete-length status crc32
//
// where the CRC covers a write's data and a read's data, then the IDs in
// the order each queue completed them.
func (r *traceRecorder) golden(t *testing.T, instant bool, ports []string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out strings.Builder
	mode := "realistic timing, 115200 8N1"
	if instant {
		mode = "timing off"
	}
	fmt.Fprintf(&out, "# TestGoldenTrace, %s (docs/PERFORMANCE-PLAN.md section 4)\n", mode)
	fmt.Fprintf(&out, "# id major code start-length | complete-length status crc32(data)\n")
	for _, port := range ports {
		type irpLine struct {
			start, done *driver.TraceEvent
		}
		irps := map[uint64]*irpLine{}
		var order []driver.TraceEvent // completions, in the order they came
		for i := range r.events[port] {
			ev := &r.events[port][i]
			if ev.Phase == driver.PhaseEvent {
				continue
			}
			l := irps[ev.ID]
			if l == nil {
				l = &irpLine{}
				irps[ev.ID] = l
			}
			switch ev.Phase {
			case driver.PhaseStart:
				if l.start != nil {
					t.Errorf("%s: IRP %d started twice", port, ev.ID)
				}
				l.start = ev
			case driver.PhaseComplete:
				if l.done != nil {
					t.Errorf("%s: IRP %d completed twice", port, ev.ID)
				}
				l.done = ev
				order = append(order, *ev)
			}
		}
		ids := make([]uint64, 0, len(irps))
		for id := range irps {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		fmt.Fprintf(&out, "\nport %s\n", port)
		for _, id := range ids {
			l := irps[id]
			if l.start == nil || l.done == nil {
				t.Errorf("%s: IRP %d has start %v, completion %v", port, id, l.start != nil, l.done != nil)
				fmt.Fprintf(&out, "%d incomplete\n", id)
				continue
			}
			crc := crc32.NewIEEE()
			crc.Write(l.start.Data)
			crc.Write(l.done.Data)
			fmt.Fprintf(&out, "%d %s %s %d | %d %s %08x\n", id, l.start.Major, goldenCode(*l.start), l.start.Length,
				l.done.Length, l.done.Status, crc.Sum32())
		}
		for _, q := range goldenQueues {
			fmt.Fprintf(&out, "%s completed:", q.name)
			for _, ev := range order {
				if q.in(ev) {
					fmt.Fprintf(&out, " %d", ev.ID)
				}
			}
			out.WriteString("\n")
		}
	}
	return out.String()
}

// goldenCode is an IOCTL's name without its IOCTL_SERIAL_ prefix, or "-"
// for a request that is not a device control.
func goldenCode(ev driver.TraceEvent) string {
	if ev.Major != driver.MajorDeviceControl {
		return "-"
	}
	return strings.TrimPrefix(ev.Code.String(), "IOCTL_SERIAL_")
}

// lineDiff shows where got departs from want, line by line.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := len(wl)
	if len(gl) > n {
		n = len(gl)
	}
	for i := range n {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, w, g)
		}
	}
	return b.String()
}
