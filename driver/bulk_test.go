package driver_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// capture is a wire that records what a device sends, one signal per
// character, and takes each round when released.
type capture struct {
	mu    sync.Mutex
	got   []uart16550.Signal
	taken []func()
}

// release takes what was sent, so the device may send its next round.
func (c *capture) release() {
	c.mu.Lock()
	taken := c.taken
	c.taken = nil
	c.mu.Unlock()
	for _, fn := range taken {
		fn()
	}
}

func (c *capture) Transmit(_ *driver.Device, signals []uart16550.Signal, taken func()) {
	c.mu.Lock()
	for _, s := range signals {
		if s.Kind != uart16550.SignalChars {
			c.got = append(c.got, s)
			continue
		}
		for k, ch := range s.Data {
			c.got = append(c.got, uart16550.Signal{At: s.End(k), Kind: uart16550.SignalChar, Char: ch, Format: s.Format})
		}
	}
	if taken != nil {
		c.taken = append(c.taken, taken)
	}
	c.mu.Unlock()
}

func (c *capture) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.taken) > 0
}

// sent is what went on the wire in order, without the times: the ISR and
// DPC goroutines of a device may start a write one round earlier or later,
// whatever the characters coming in.
func (c *capture) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.got {
		s.At = 0
		out = append(out, fmt.Sprintf("%+v", s))
	}
	return out
}

// observed is what a device did with the characters it was given.
type observed struct {
	reads   []string // status and data of every read, in order
	waits   []string // status and events of every wait
	stats   ioctl.PerfStats
	status  ioctl.CommStatus
	outputs uart16550.ModemOutputs
	sent    []string // characters sent, and modem and break changes
}

// A device fed runs of characters (InputChars, as a wire at timing off
// carries them, or timed runs whose characters each arrive at their own
// end, as a wire at realistic timing does) through the ISR's bulk path
// ends up exactly as one fed the same characters one by one through the
// byte-wise path (ByteWise),
// whatever per-character work the settings ask for: the same bytes read
// with the same statuses, the same counters, errors, holds and modem
// outputs, the same events, and the same data, XON, XOFF and modem changes
// sent.
func TestRunsMatchCharacters(t *testing.T) {
	const queue = 256
	limits := ioctl.HandFlow{XonLimit: queue / 2, XoffLimit: queue / 8}
	hf := func(ctl, flow uint32) ioctl.HandFlow {
		h := limits
		h.ControlHandShake, h.FlowReplace = ctl, flow
		return h
	}
	chars := ioctl.Chars{ErrorChar: '?', BreakChar: '!', EventChar: '\n', XonChar: 0x11, XoffChar: 0x13}
	for _, tc := range []struct {
		name    string
		instant bool
		hf      ioctl.HandFlow
		mask    ioctl.WaitMask
		word    uint8
		damage  bool // some runs arrive with framing errors
		// No writes: where XON and XOFF or an error abort meet output, the
		// driver's goroutines may interleave them differently from one run
		// to the next, whatever the input.
		racy bool
		// Timed runs (Step), each part after the last one's characters
		// have arrived; without, a run's characters all arrive at once.
		timed bool
	}{
		{"no flow control", true, hf(ioctl.DTRControl, ioctl.RTSControl), 0, 8, false, false, false},
		{"RTS/CTS and DTR handshake", true, hf(ioctl.DTRHandshake|ioctl.CTSHandshake, ioctl.RTSHandshake), ioctl.EvRx80Full, 8, false, false, false},
		{"XON/XOFF both ways", true, hf(ioctl.DTRControl, ioctl.RTSControl|ioctl.AutoTransmit|ioctl.AutoReceive), ioctl.EvRx80Full, 8, false, true, false},
		{"XON/XOFF, 7 data bits", true, hf(ioctl.DTRControl, ioctl.RTSControl|ioctl.AutoTransmit|ioctl.AutoReceive|ioctl.XoffContinue), 0, 7, false, true, false},
		{"NUL stripping, error character", true, hf(ioctl.DTRControl, ioctl.RTSHandshake|ioctl.NullStripping|ioctl.ErrorChar), ioctl.EvErr, 8, true, false, false},
		{"character events", true, hf(ioctl.DTRControl, ioctl.RTSControl), ioctl.EvRxChar | ioctl.EvRxFlag, 8, false, false, false},
		{"event character only", true, hf(ioctl.DTRControl, ioctl.RTSControl), ioctl.EvRxFlag, 8, false, false, false},
		{"DSR sensitivity", true, hf(ioctl.DTRControl|ioctl.DSRSensitivity, ioctl.RTSHandshake), 0, 8, false, false, false},
		{"error abort", true, hf(ioctl.DTRControl|ioctl.ErrorAbort, ioctl.RTSControl), 0, 8, true, true, false},
		{"realistic timing", false, hf(ioctl.DTRControl, ioctl.RTSHandshake|ioctl.AutoTransmit|ioctl.NullStripping), ioctl.EvRxFlag, 8, true, false, false},
		{"realistic timing, no flow control", false, hf(ioctl.DTRControl, ioctl.RTSControl), ioctl.EvRxFlag, 8, true, false, false},
		{"realistic timing, timed runs", false, hf(ioctl.DTRControl, ioctl.RTSHandshake|ioctl.AutoTransmit|ioctl.NullStripping), ioctl.EvRxFlag, 8, true, false, true},
		{"realistic timing, timed runs, no flow control", false, hf(ioctl.DTRControl, ioctl.RTSControl), ioctl.EvRxFlag, 8, true, false, true},
		{"realistic timing, timed runs, RTS/CTS, character events", false, hf(ioctl.DTRControl|ioctl.CTSHandshake, ioctl.RTSHandshake), ioctl.EvRxChar | ioctl.EvRx80Full, 8, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var got [2]observed
				epoch := time.Now()
				var devs [2]*driver.Device
				var wires [2]*capture
				for i := range devs {
					wires[i] = &capture{}
					devs[i] = driver.New(driver.Options{Name: fmt.Sprint("dev", i), Instant: tc.instant, FIFODepth: 64, QueueSize: queue, Wire: wires[i], Epoch: epoch})
					d := devs[i]
					t.Cleanup(func() { d.Close() })
					if i == 1 {
						driver.ByteWise(d)
					}
					mustCall(t, d, &driver.IRP{Major: driver.MajorCreate})
					mustCall(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 115200}))
					mustCall(t, d, driver.NewIoctl(ioctl.SetLineControl, ioctl.LineControl{WordLength: tc.word, StopBits: ioctl.StopBit1}))
					mustCall(t, d, driver.NewIoctl(ioctl.SetChars, chars))
					mustCall(t, d, driver.NewIoctl(ioctl.SetHandflow, tc.hf))
					mustCall(t, d, driver.NewIoctl(ioctl.SetWaitMask, tc.mask))
					d.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: true, DSR: true, DCD: true}})
				}
				r := rand.New(rand.NewPCG(uint64(len(tc.name)), 6))
				dsr := true
				var waits [2]*driver.IRP
				for range 80 {
					size := 1 + r.IntN(queue+queue/2)
					if r.IntN(4) == 0 {
						size = 0 // nobody reads: the typeahead fills
					}
					data := make([]byte, 1+r.IntN(3*queue/2))
					for j := range data {
						data[j] = []byte{'a', 'b', 0, 0x11, 0x13, '\n', 0x91, 0xFF}[r.IntN(8)]
						if r.IntN(2) == 0 {
							data[j] = byte(r.Uint32())
						}
					}
					var errs uart16550.RxError
					if tc.damage && r.IntN(4) == 0 {
						errs = uart16550.FramingError
					}
					out := 0
					if r.IntN(3) == 0 && !tc.racy {
						out = 1 + r.IntN(200)
					}
					toggle := tc.hf.ControlHandShake&ioctl.DSRSensitivity != 0 && r.IntN(3) == 0
					if toggle {
						dsr = !dsr
					}
					one := make([]driver.Input, len(data))
					for j, c := range data {
						one[j] = driver.Input{Kind: driver.InputChar, Char: c, Err: errs}
					}
					// Each device in turn, each step finished before the
					// next, so that both see the same order of events.
					timeouts := ioctl.Timeouts{ReadTotalTimeoutConstant: 5}
					if r.IntN(2) == 0 {
						timeouts.ReadIntervalTimeout = 1 // from the first byte on
					}
					var reads [2]*driver.IRP
					for i, d := range devs {
						wires[i].release()
						synctest.Wait()
						setTimeouts(t, d, timeouts)
						if tc.mask != 0 && waits[i] == nil {
							waits[i] = driver.NewIoctl(ioctl.WaitOnMask, nil)
							d.Submit(waits[i])
						}
						if size > 0 {
							reads[i] = driver.NewRead(make([]byte, size))
							d.Submit(reads[i])
						}
						if out > 0 {
							// Output among the characters: data, XON and XOFF.
							d.Submit(driver.NewWrite(pattern(out)))
						}
						synctest.Wait()
						if toggle {
							d.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: true, DSR: dsr, DCD: true}})
							synctest.Wait()
						}
					}
					// In three parts: the second within the read interval
					// of the first, the third within that of the second or
					// after it.
					cut1 := r.IntN(len(data) + 1)
					cut2 := cut1 + r.IntN(len(data)-cut1+1)
					gaps := []time.Duration{700 * time.Microsecond, []time.Duration{700 * time.Microsecond, 1500 * time.Microsecond}[r.IntN(2)]}
					for k, part := range [][2]int{{0, cut1}, {cut1, cut2}, {cut2, len(data)}} {
						if k > 0 {
							time.Sleep(gaps[k-1])
						}
						run, each := driver.Input{Kind: driver.InputChars, Data: slices.Clone(data[part[0]:part[1]]), Err: errs}, one[part[0]:part[1]]
						if tc.timed {
							run, each = timedRun(devs[0].Now()+time.Microsecond, run.Data, errs)
						}
						for i, d := range devs {
							if i == 0 {
								d.Input(run)
							} else {
								d.Input(each...)
							}
							synctest.Wait()
						}
						if tc.timed && len(each) > 0 {
							time.Sleep(each[len(each)-1].At - devs[0].Now()) // the part has arrived
						}
					}
					time.Sleep(4 * time.Millisecond) // reads time out with what they have
					synctest.Wait()
					for i := range devs {
						if reads[i] != nil {
							<-reads[i].Done()
							got[i].reads = append(got[i].reads, fmt.Sprintf("%v %q", reads[i].Status(), reads[i].Data()))
						}
						if w := waits[i]; w != nil {
							select {
							case <-w.Done():
								got[i].waits = append(got[i].waits, fmt.Sprintf("%v %v", w.Status(), w.Output()))
								waits[i] = nil
							default:
							}
						}
					}
					if tc.hf.ControlHandShake&ioctl.ErrorAbort != 0 {
						for i, d := range devs {
							got[i].status = commStatus(t, d) // clears the error, lets requests through again
						}
					}
				}
				// Let the last writes finish: what is on the wire at a given
				// instant depends on when each ISR last ran (up to a quantum
				// ago), what is on it once the line is idle does not.
				time.Sleep(50 * time.Millisecond)
				for i, d := range devs {
					for wires[i].pending() {
						wires[i].release()
						synctest.Wait()
					}
					got[i].stats = stats(t, d)
					got[i].status = commStatus(t, d)
					got[i].outputs = d.Outputs()
					got[i].sent = wires[i].sent()
				}
				if len(got[1].reads) == 0 || got[1].stats.ReceivedCount == 0 {
					t.Fatalf("nothing read: %+v", got[1])
				}
				diff(t, got[0], got[1])
			})
		})
	}
}

// timedRun is data as a timed run from a chip at 115200 8N1 starting to
// arrive at at (the InputChars a null-modem cable carries at realistic
// timing), and as the InputChar each of its characters stands for.
func timedRun(at time.Duration, data []byte, errs uart16550.RxError) (driver.Input, []driver.Input) {
	f := uart16550.Format{ClockHz: uart16550.ClockHz, Divisor: 1, DataBits: 8, StopBits: uart16550.Stop1}
	// A character's length in 1/ClockHz ns: 20 half bits of 8 cycles.
	sig := uart16550.Signal{At: at, Kind: uart16550.SignalChars, Data: data, Format: f, Step: 20 * 8 * uint64(time.Second)}
	each := make([]driver.Input, len(data))
	for k, c := range data {
		each[k] = driver.Input{At: sig.End(k), Kind: driver.InputChar, Char: c, Err: errs}
	}
	return driver.Input{At: at, Kind: driver.InputChars, Data: data, Err: errs, Step: sig.Step, Format: f}, each
}

// diff reports the first difference between what a device fed runs and one
// fed characters one by one did.
func diff(t *testing.T, runs, one observed) {
	t.Helper()
	first := func(what string, a, b []string) {
		for j := 0; j < len(a) || j < len(b); j++ {
			if j >= len(a) || j >= len(b) || a[j] != b[j] {
				for k := max0(j - 8); k < j+3 && k < len(a) && k < len(b); k++ {
					t.Logf("%d: %.120s | %.120s", k, a[k], b[k])
				}
				t.Errorf("%s %d of %d/%d differs:\n runs       %.300s\n one by one %.300s", what, j, len(a), len(b), at(a, j), at(b, j))
				return
			}
		}
	}
	first("read", runs.reads, one.reads)
	first("wait", runs.waits, one.waits)
	first("wire signal", runs.sent, one.sent)
	if runs.stats != one.stats || runs.status != one.status || runs.outputs != one.outputs {
		t.Errorf("runs: %+v %+v %+v\none by one: %+v %+v %+v", runs.stats, runs.status, runs.outputs, one.stats, one.status, one.outputs)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}
