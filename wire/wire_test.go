package wire_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/wire"
)

func call(t *testing.T, d *driver.Device, irp *driver.IRP) *driver.IRP {
	t.Helper()
	if _, err := d.Call(context.Background(), irp); err != nil {
		t.Fatalf("%s: %v", d.Name(), err)
	}
	return irp
}

func modemStatus(t *testing.T, d *driver.Device) uint32 {
	t.Helper()
	return call(t, d, driver.NewIoctl(ioctl.GetModemStatus, nil)).Output().(uint32)
}

// MSR bits as GET_MODEMSTATUS reports them.
const (
	msrCTS = 0x10
	msrDSR = 0x20
	msrDCD = 0x80
)

// A loopback plug: what the port sends it receives, its RTS is its CTS,
// its DTR its DSR and DCD.
func TestLoopbackPlug(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := driver.New(driver.Options{Name: "L"})
		defer d.Close()
		wire.Plug(d, wire.Options{})
		call(t, d, &driver.IRP{Major: driver.MajorCreate})
		time.Sleep(time.Millisecond)
		if got := modemStatus(t, d); got&(msrCTS|msrDSR|msrDCD) != msrCTS|msrDSR|msrDCD {
			t.Fatalf("modem status %#x after open, want CTS, DSR and DCD from RTS and DTR", got)
		}
		call(t, d, driver.NewIoctl(ioctl.ClrRTS, nil))
		time.Sleep(time.Millisecond)
		if got := modemStatus(t, d); got&msrCTS != 0 || got&msrDSR == 0 {
			t.Fatalf("modem status %#x with RTS down, want CTS low and DSR high", got)
		}
		call(t, d, driver.NewIoctl(ioctl.ClrDTR, nil))
		time.Sleep(time.Millisecond)
		if got := modemStatus(t, d); got&(msrDSR|msrDCD) != 0 {
			t.Fatalf("modem status %#x with DTR down, want DSR and DCD low", got)
		}
		call(t, d, driver.NewWrite([]byte("echo")))
		if got := string(call(t, d, driver.NewRead(make([]byte, 4))).Data()); got != "echo" {
			t.Fatalf("read %q, want the bytes sent", got)
		}
	})
}

// A null-modem cable with CheckFraming: characters sent at another baud
// arrive with framing errors; at the same baud they arrive intact.
func TestNullModemCheckFraming(t *testing.T) {
	for _, tc := range []struct {
		baudA, baudB uint32
		wantErrors   bool
	}{{9600, 9600, false}, {9600, 19200, true}} {
		synctest.Test(t, func(t *testing.T) {
			a, b := driver.New(driver.Options{Name: "A"}), driver.New(driver.Options{Name: "B"})
			defer a.Close()
			defer b.Close()
			wire.Connect(a, b, wire.Options{CheckFraming: true})
			for d, baud := range map[*driver.Device]uint32{a: tc.baudA, b: tc.baudB} {
				call(t, d, &driver.IRP{Major: driver.MajorCreate})
				call(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: baud}))
			}
			call(t, a, driver.NewWrite([]byte("abc")))
			time.Sleep(100 * time.Millisecond)
			st := call(t, b, driver.NewIoctl(ioctl.GetStats, nil)).Output().(ioctl.PerfStats)
			if got := st.FrameErrorCount != 0; got != tc.wantErrors {
				t.Fatalf("%d -> %d baud: %d framing errors", tc.baudA, tc.baudB, st.FrameErrorCount)
			}
			if st.ReceivedCount != 3 {
				t.Fatalf("received %d characters, want 3", st.ReceivedCount)
			}
		})
	}
}
