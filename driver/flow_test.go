package driver_test

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

func commStatus(t *testing.T, d *driver.Device) ioctl.CommStatus {
	t.Helper()
	return mustCall(t, d, driver.NewIoctl(ioctl.GetCommStatus, nil)).Output().(ioctl.CommStatus)
}

func stats(t *testing.T, d *driver.Device) ioctl.PerfStats {
	t.Helper()
	return mustCall(t, d, driver.NewIoctl(ioctl.GetStats, nil)).Output().(ioctl.PerfStats)
}

func portState(t *testing.T, d *driver.Device) ioctl.PortState {
	t.Helper()
	return mustCall(t, d, driver.NewIoctl(ioctl.GetPortState, nil)).Output().(ioctl.PortState)
}

func setHandflow(t *testing.T, d *driver.Device, hf ioctl.HandFlow) {
	t.Helper()
	mustCall(t, d, driver.NewIoctl(ioctl.SetHandflow, hf))
	synctest.Wait() // let the modem lines settle across the cable
}

// pattern is n bytes that reveal a loss or a reordering.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// readAll reads n bytes from d in chunks, pausing between reads like a slow
// program, and returns them.
func readAll(t *testing.T, d *driver.Device, n, chunk int, pause time.Duration) []byte {
	t.Helper()
	setTimeouts(t, d, ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: max, ReadTotalTimeoutConstant: 10_000})
	var got []byte
	for len(got) < n {
		r := driver.NewRead(make([]byte, min(chunk, n-len(got))))
		st, err := d.Call(context.Background(), r)
		if err != nil && st != driver.StatusTimeout {
			t.Fatalf("read: %v", err)
		}
		if st == driver.StatusTimeout {
			t.Fatalf("read timed out after %d of %d bytes", len(got), n)
		}
		got = append(got, r.Data()...)
		time.Sleep(pause)
	}
	return got
}

// Without flow control a reader that does not keep up loses what does not
// fit in the typeahead buffer, and the loss is counted (queue overrun).
func TestNoFlowControlOverrunCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 115200)
		data := pattern(6000)
		mustCall(t, a, driver.NewWrite(data))
		time.Sleep(time.Second)
		st := stats(t, b)
		cs := commStatus(t, b)
		if st.BufferOverrunErrorCount != 6000-driver.DefaultQueueSize || cs.Errors&ioctl.ErrQueueOverrun == 0 {
			t.Fatalf("buffer overruns %d (errors %s), want %d counted", st.BufferOverrunErrorCount, ioctl.ErrorString(cs.Errors), 6000-driver.DefaultQueueSize)
		}
		if st.ReceivedCount != 6000 {
			t.Fatalf("received %d, want 6000", st.ReceivedCount)
		}
		got := readAll(t, b, driver.DefaultQueueSize, 4096, 0)
		if !bytes.Equal(got, data[:driver.DefaultQueueSize]) {
			t.Fatal("the bytes kept are not the first ones sent")
		}
	})
}

// With flow control on, a slow reader loses nothing: RTS/CTS, DTR/DSR and
// XON/XOFF each hold the sender back.
func TestFlowControlLosesNothing(t *testing.T) {
	const n = 40_000
	for _, tc := range []struct {
		name     string
		sender   ioctl.HandFlow
		receiver ioctl.HandFlow
	}{
		{"RTS/CTS",
			ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSHandshake, XonLimit: 2048, XoffLimit: 512},
			ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSHandshake, XonLimit: 2048, XoffLimit: 512}},
		{"DTR/DSR",
			ioctl.HandFlow{ControlHandShake: ioctl.DTRHandshake | ioctl.DSRHandshake, FlowReplace: ioctl.RTSControl, XonLimit: 2048, XoffLimit: 512},
			ioctl.HandFlow{ControlHandShake: ioctl.DTRHandshake | ioctl.DSRHandshake, FlowReplace: ioctl.RTSControl, XonLimit: 2048, XoffLimit: 512}},
		{"XON/XOFF",
			ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl | ioctl.AutoTransmit | ioctl.AutoReceive, XonLimit: 2048, XoffLimit: 512},
			ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl | ioctl.AutoTransmit | ioctl.AutoReceive, XonLimit: 2048, XoffLimit: 512}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := pair(t, driver.Options{}, 115200)
				setHandflow(t, a, tc.sender)
				setHandflow(t, b, tc.receiver)
				data := pattern(n)
				if tc.name == "XON/XOFF" {
					// XON and XOFF are control characters on this link.
					for i := range data {
						if data[i] == 0x11 || data[i] == 0x13 {
							data[i] = 0x12
						}
					}
				}
				w := driver.NewWrite(data)
				a.Submit(w)
				// Nobody reads for a second: the sender must stop.
				time.Sleep(time.Second)
				cs := commStatus(t, b)
				if cs.AmountInInQueue > driver.DefaultQueueSize || cs.AmountInInQueue < driver.DefaultQueueSize-512-32 {
					t.Fatalf("typeahead holds %d bytes while held off, want between %d and %d", cs.AmountInInQueue, driver.DefaultQueueSize-512-32, driver.DefaultQueueSize)
				}
				if h := commStatus(t, a).HoldReasons; h == 0 {
					t.Fatal("sender not held while the receiver's buffer is full")
				}
				if n := portState(t, a).Counters.TxHolds; n == 0 {
					t.Fatal("tx holds counter still 0 while the sender is held")
				}
				got := readAll(t, b, n, 1000, 20*time.Millisecond)
				if !bytes.Equal(got, data) {
					t.Fatalf("received %d bytes that differ from the %d sent", len(got), n)
				}
				if st := stats(t, b); st.BufferOverrunErrorCount != 0 || st.SerialOverrunErrorCount != 0 {
					t.Fatalf("overruns with flow control on: %+v", st)
				}
				if st, _ := w.Wait(context.Background()); st != driver.StatusSuccess {
					t.Fatalf("write ended %v", st)
				}
			})
		})
	}
}

// What arrives while nobody has a port open is dropped at the next open,
// as on a real port, and counted in that session's buffer overruns, both
// what waited in the typeahead and what did not fit in it.
func TestDroppedWhileClosedCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 115200)
		mustCall(t, b, &driver.IRP{Major: driver.MajorClose})
		mustCall(t, a, driver.NewWrite(pattern(100)))
		time.Sleep(100 * time.Millisecond)
		mustCall(t, b, &driver.IRP{Major: driver.MajorCreate})
		if st := stats(t, b); st.BufferOverrunErrorCount != 100 {
			t.Fatalf("after an open: %d buffer overruns, want the 100 bytes that came while closed", st.BufferOverrunErrorCount)
		}
		if cs := commStatus(t, b); cs.AmountInInQueue != 0 {
			t.Fatalf("typeahead holds %d bytes at open, want 0", cs.AmountInInQueue)
		}
		mustCall(t, b, &driver.IRP{Major: driver.MajorClose})
		n := driver.DefaultQueueSize + 500
		mustCall(t, a, driver.NewWrite(pattern(n)))
		time.Sleep(time.Second)
		mustCall(t, b, &driver.IRP{Major: driver.MajorCreate})
		if st := stats(t, b); st.BufferOverrunErrorCount != uint32(n) {
			t.Fatalf("after an open: %d buffer overruns, want %d", st.BufferOverrunErrorCount, n)
		}
	})
}
