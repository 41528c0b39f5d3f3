package driver_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

const max = ioctl.MaxTimeout

// outcome is how a request ended and when, in the bubble's fake time.
type outcome struct {
	status driver.Status
	data   string
	after  time.Duration
}

func await(t *testing.T, irp *driver.IRP, start time.Time) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	st, err := irp.Wait(ctx)
	if err != nil {
		t.Fatalf("request never completed: %v", err)
	}
	return outcome{st, string(irp.Data()), time.Since(start)}
}

func near(got, want time.Duration) bool {
	return got >= want && got <= want+2*time.Millisecond
}

// SERIAL_TIMEOUTS for reads, row by row of Serial.sys's SerialStartRead.
// A writes "abc" 10 ms after the read starts, unless the case says not.
func TestReadTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		to     ioctl.Timeouts
		n      int
		send   string
		want   outcome
		before string // already in B's typeahead when the read starts
	}{
		{"MAXULONG/0/0 returns at once, empty", ioctl.Timeouts{ReadIntervalTimeout: max}, 8, "", outcome{driver.StatusSuccess, "", 0}, ""},
		{"MAXULONG/0/0 returns what is there", ioctl.Timeouts{ReadIntervalTimeout: max}, 8, "", outcome{driver.StatusSuccess, "xy", 0}, "xy"},
		{"MAXULONG/MAXULONG/C returns on the first byte", ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: max, ReadTotalTimeoutConstant: 500}, 8, "abc", outcome{driver.StatusSuccess, "a", 10 * time.Millisecond}, ""},
		{"MAXULONG/MAXULONG/C times out empty", ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: max, ReadTotalTimeoutConstant: 50}, 8, "", outcome{driver.StatusTimeout, "", 50 * time.Millisecond}, ""},
		{"MAXULONG/MAXULONG/C returns what is there", ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: max, ReadTotalTimeoutConstant: 50}, 8, "", outcome{driver.StatusSuccess, "xy", 0}, "xy"},
		{"MAXULONG/M/C with data returns at once", ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: 1, ReadTotalTimeoutConstant: 50}, 8, "", outcome{driver.StatusSuccess, "xy", 0}, "xy"},
		{"MAXULONG/M/C without data waits for all N", ioctl.Timeouts{ReadIntervalTimeout: max, ReadTotalTimeoutMultiplier: 10, ReadTotalTimeoutConstant: 20}, 8, "abc", outcome{driver.StatusTimeout, "abc", 100 * time.Millisecond}, ""},
		{"0/0/0 waits for all N", ioctl.Timeouts{}, 3, "abc", outcome{driver.StatusSuccess, "abc", 10 * time.Millisecond}, ""},
		{"0/M/C total timeout with part", ioctl.Timeouts{ReadTotalTimeoutMultiplier: 5, ReadTotalTimeoutConstant: 60}, 8, "abc", outcome{driver.StatusTimeout, "abc", 100 * time.Millisecond}, ""},
		{"interval starts with the first byte", ioctl.Timeouts{ReadIntervalTimeout: 30}, 8, "abc", outcome{driver.StatusTimeout, "abc", 40 * time.Millisecond}, ""},
		{"interval with nothing sent never fires", ioctl.Timeouts{ReadIntervalTimeout: 30, ReadTotalTimeoutConstant: 200}, 8, "", outcome{driver.StatusTimeout, "", 200 * time.Millisecond}, ""},
		{"interval from bytes already there", ioctl.Timeouts{ReadIntervalTimeout: 30}, 8, "", outcome{driver.StatusTimeout, "xy", 30 * time.Millisecond}, "xy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := pair(t, driver.Options{Instant: true}, 115200)
				if tc.before != "" {
					mustCall(t, a, driver.NewWrite([]byte(tc.before)))
					synctest.Wait()
				}
				setTimeouts(t, b, tc.to)
				start := time.Now()
				r := driver.NewRead(make([]byte, tc.n))
				b.Submit(r)
				if tc.send != "" {
					time.Sleep(10 * time.Millisecond)
					a.Submit(driver.NewWrite([]byte(tc.send)))
				}
				got := await(t, r, start)
				if got.status != tc.want.status || got.data != tc.want.data || !near(got.after, tc.want.after) {
					t.Fatalf("got %v %q after %v, want %v %q after %v", got.status, got.data, got.after, tc.want.status, tc.want.data, tc.want.after)
				}
			})
		})
	}
}

// The interval restarts with every byte: a byte every 20 ms keeps a 30 ms
// interval read going until the buffer is full.
func TestReadIntervalRestartsPerByte(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{Instant: true}, 115200)
		setTimeouts(t, b, ioctl.Timeouts{ReadIntervalTimeout: 30})
		start := time.Now()
		r := driver.NewRead(make([]byte, 4))
		b.Submit(r)
		for i, c := range "wxyz" {
			if i > 0 {
				time.Sleep(20 * time.Millisecond)
			}
			a.Submit(driver.NewWrite([]byte{byte(c)}))
		}
		got := await(t, r, start)
		if got.status != driver.StatusSuccess || got.data != "wxyz" || got.after != 60*time.Millisecond {
			t.Fatalf("got %+v, want SUCCESS \"wxyz\" when the 4th byte came at 60ms", got)
		}
	})
}

// SERIAL_TIMEOUTS for writes: N x multiplier + constant. A write held by
// CTS flow control (the peer's RTS is down) times out with what the UART
// took.
func TestWriteTotalTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pair(t, driver.Options{}, 9600)
		mustCall(t, b, driver.NewIoctl(ioctl.ClrRTS, nil))
		synctest.Wait() // the cable carries RTS to A's CTS
		mustCall(t, a, driver.NewIoctl(ioctl.SetHandflow, ioctl.HandFlow{
			ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake,
			FlowReplace:      ioctl.RTSControl,
			XonLimit:         2048, XoffLimit: 512,
		}))
		setTimeouts(t, a, ioctl.Timeouts{WriteTotalTimeoutMultiplier: 1, WriteTotalTimeoutConstant: 100})
		start := time.Now()
		w := driver.NewWrite(make([]byte, 100))
		a.Submit(w)
		got := await(t, w, start)
		if got.status != driver.StatusTimeout || got.after != 200*time.Millisecond {
			t.Fatalf("write ended %v after %v, want TIMEOUT after 200ms", got.status, got.after)
		}
		if w.Information() != 0 {
			t.Fatalf("write reported %d bytes sent while CTS was down", w.Information())
		}
	})
}
