package driver_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// fuzzSets are the requests FuzzIoctlInput sends, each with the request
// that reads its setting back (0 for none).
var fuzzSets = []struct{ set, get ioctl.Code }{
	{ioctl.SetBaudRate, ioctl.GetBaudRate},
	{ioctl.SetLineControl, ioctl.GetLineControl},
	{ioctl.SetHandflow, ioctl.GetHandflow},
	{ioctl.SetTimeouts, ioctl.GetTimeouts},
	{ioctl.SetChars, ioctl.GetChars},
	{ioctl.SetWaitMask, ioctl.GetWaitMask},
	{ioctl.SetQueueSize, 0},
	{ioctl.Purge, 0},
	{ioctl.SetModemInputs, 0},
	{ioctl.Inject, 0},
}

// fuzzInput builds the input of code from fuzzed numbers.
func fuzzInput(code ioctl.Code, a, b, c, d, e uint32) any {
	switch code {
	case ioctl.SetBaudRate:
		return ioctl.BaudRate{BaudRate: a}
	case ioctl.SetLineControl:
		return ioctl.LineControl{WordLength: uint8(a), Parity: uint8(b), StopBits: uint8(c)}
	case ioctl.SetHandflow:
		return ioctl.HandFlow{ControlHandShake: a, FlowReplace: b, XonLimit: int32(c), XoffLimit: int32(d)}
	case ioctl.SetTimeouts:
		return ioctl.Timeouts{ReadIntervalTimeout: a, ReadTotalTimeoutMultiplier: b, ReadTotalTimeoutConstant: c, WriteTotalTimeoutMultiplier: d, WriteTotalTimeoutConstant: e}
	case ioctl.SetChars:
		return ioctl.Chars{EofChar: byte(a), ErrorChar: byte(a >> 8), BreakChar: byte(a >> 16), EventChar: byte(a >> 24), XonChar: byte(b), XoffChar: byte(b >> 8)}
	case ioctl.SetWaitMask:
		return ioctl.WaitMask(a)
	case ioctl.SetQueueSize:
		return ioctl.QueueSize{InSize: a, OutSize: b}
	case ioctl.Purge:
		return ioctl.PurgeMask(a)
	case ioctl.SetModemInputs:
		return ioctl.ModemInputs{Mask: uint8(a), Value: uint8(b)}
	case ioctl.Inject:
		kinds := []ioctl.InjectKind{ioctl.InjectFraming, ioctl.InjectParity, ioctl.InjectOverrun, ioctl.InjectNoise, "", "sparks"}
		return ioctl.Injection{Kind: kinds[int(a%uint32(len(kinds)))], Count: b, Rate: c, Seed: uint64(d)}
	}
	panic("no input for " + code.String())
}

// FuzzIoctlInput sends a device a request with any input and checks that
// ioctl.ValidateInput and the driver agree: what Validate refuses the
// driver completes INVALID_PARAMETER, and what it accepts the driver
// carries out (reading back the same setting), bar the limits that depend
// on the device's queue. The device answers afterwards either way.
func FuzzIoctlInput(f *testing.F) {
	f.Add(uint8(0), uint32(115200), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(0), uint32(ioctl.MaxBaud), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(1), uint32(5), uint32(ioctl.MarkParity), uint32(ioctl.StopBits1_5), uint32(0), uint32(0))
	f.Add(uint8(1), uint32(8), uint32(0), uint32(ioctl.StopBits1_5), uint32(0), uint32(0))
	f.Add(uint8(2), uint32(ioctl.DTRHandshake|ioctl.CTSHandshake|ioctl.ErrorAbort), uint32(ioctl.AutoTransmit|ioctl.RTSHandshake), uint32(1024), uint32(256), uint32(0))
	f.Add(uint8(2), uint32(ioctl.DTRMask), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(2), uint32(ioctl.DTRControl), uint32(ioctl.RTSControl), uint32(1<<20), uint32(0), uint32(0))
	f.Add(uint8(3), uint32(ioctl.MaxTimeout), uint32(ioctl.MaxTimeout), uint32(ioctl.MaxTimeout), uint32(0), uint32(0))
	f.Add(uint8(4), uint32(0x7F3F1A), uint32(0x1311), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(5), uint32(ioctl.EvRxChar|ioctl.EvCTS), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(5), uint32(1<<31), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(6), uint32(8192), uint32(4096), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(6), uint32(0xFFFFFFFF), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(7), uint32(ioctl.PurgeAll), uint32(0), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(8), uint32(ioctl.MSRCTS|ioctl.MSRDCD), uint32(ioctl.MSRCTS), uint32(0), uint32(0), uint32(0))
	f.Add(uint8(9), uint32(1), uint32(3), uint32(0), uint32(7), uint32(0))
	f.Fuzz(func(t *testing.T, which uint8, a, b, c, d, e uint32) {
		req := fuzzSets[int(which)%len(fuzzSets)]
		in := fuzzInput(req.set, a, b, c, d, e)
		dev := driver.New(driver.Options{Name: "fuzz", Instant: true})
		defer dev.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		verr := ioctl.ValidateInput(req.set, in)
		if verr == nil {
			verr = refusedByState(t, ctx, dev, in)
		}
		irp := driver.NewIoctl(req.set, in)
		st, err := dev.Call(ctx, irp)
		switch {
		case verr != nil && st != driver.StatusInvalidParameter:
			t.Fatalf("%s %+v: Validate says %v, the driver %v", req.set, in, verr, st)
		case verr == nil && err != nil:
			t.Fatalf("%s %+v: Validate accepts it, the driver says %v (%v)", req.set, in, err, irp.Output())
		case verr == nil && req.get != 0:
			if got := call(t, ctx, dev, req.get, nil); !reflect.DeepEqual(got, in) {
				t.Fatalf("%s %+v, then %s gives %+v", req.set, in, req.get, got)
			}
		}
		if q, ok := in.(ioctl.QueueSize); ok && verr == nil {
			if got := call(t, ctx, dev, ioctl.GetProperties, nil).(ioctl.Properties); got.CurrentRxQueue < min(q.InSize, ioctl.MaxQueueSize) {
				t.Fatalf("%s %+v: the receive queue is %d bytes", req.set, q, got.CurrentRxQueue)
			}
		}
		// The device still answers, and its state agrees with itself.
		ps := call(t, ctx, dev, ioctl.GetPortState, nil).(ioctl.PortState)
		if lc := call(t, ctx, dev, ioctl.GetLineControl, nil).(ioctl.LineControl); ps.Line != lc {
			t.Fatalf("after %s %+v: port state framing %+v, GET_LINE_CONTROL %+v", req.set, in, ps.Line, lc)
		}
	})
}

// refusedByState is why the device, as it is, refuses a valid input:
// handflow limits beyond its queue, or an injection of parity errors on
// a line without parity.
func refusedByState(t *testing.T, ctx context.Context, dev *driver.Device, in any) error {
	switch in := in.(type) {
	case ioctl.HandFlow:
		props := call(t, ctx, dev, ioctl.GetProperties, nil).(ioctl.Properties)
		return in.ValidateLimits(int(props.CurrentRxQueue))
	case ioctl.Injection:
		if lc := call(t, ctx, dev, ioctl.GetLineControl, nil).(ioctl.LineControl); in.Kind == ioctl.InjectParity && lc.Parity == ioctl.NoParity {
			return errors.New("parity errors on a line without parity")
		}
	}
	return nil
}

// call sends an IOCTL that must succeed and returns its output.
func call(t *testing.T, ctx context.Context, d *driver.Device, code ioctl.Code, in any) any {
	t.Helper()
	irp := driver.NewIoctl(code, in)
	if _, err := d.Call(ctx, irp); err != nil {
		if out, ok := irp.Output().(error); ok {
			err = errors.Join(err, out)
		}
		t.Fatalf("%s: %v", code, err)
	}
	return irp.Output()
}
