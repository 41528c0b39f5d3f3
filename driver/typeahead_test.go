package driver_test

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// The typeahead buffer's memory grows as it fills, at every step with the
// ring's head away from its start, and is given back once a read empties
// it: none of that may lose, reorder or invent a byte, and a full buffer
// still counts what it could not hold.
func TestTypeaheadGrowsAndShrinks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		xonXoff bool
	}{
		{"runs of characters", false},
		// While the receiver watches for XON and XOFF, each character
		// comes off the line on its own (putCharLocked).
		{"one character at a time", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := pair(t, driver.Options{QueueSize: 64 << 10}, 921600)
				data := pattern(200 << 10)
				if tc.xonXoff {
					for i, c := range data {
						if c == 0x11 || c == 0x13 {
							data[i] = ' '
						}
					}
					hf := mustCall(t, b, driver.NewIoctl(ioctl.GetHandflow, nil)).Output().(ioctl.HandFlow)
					hf.FlowReplace |= ioctl.AutoTransmit
					setHandflow(t, b, hf)
				}
				send := func(p []byte) {
					t.Helper()
					mustCall(t, a, driver.NewWrite(p))
					time.Sleep(100 * time.Millisecond) // the last characters arrive
				}
				// 10 000 in, 3 000 out: the head is at 3 000 when the
				// next 45 000 make the memory grow three times.
				send(data[:10000])
				if got := readAll(t, b, 3000, 3000, 0); !bytes.Equal(got, data[:3000]) {
					t.Fatalf("first read: %d bytes, not the first sent", len(got))
				}
				send(data[10000:55000])
				if q := commStatus(t, b).AmountInInQueue; q != 52000 {
					t.Fatalf("typeahead holds %d bytes, want 52000", q)
				}
				if got := readAll(t, b, 52000, 4096, 0); !bytes.Equal(got, data[3000:55000]) {
					t.Fatalf("second read: %d bytes, not the ones sent", len(got))
				}
				// Emptied, it starts small again.
				send(data[55000:56000])
				if got := readAll(t, b, 1000, 1000, 0); !bytes.Equal(got, data[55000:56000]) {
					t.Fatalf("after the buffer emptied: %d bytes, not the ones sent", len(got))
				}
				// Filled to its size: what does not fit is counted lost.
				send(data[56000:])
				if st := stats(t, b); st.BufferOverrunErrorCount != uint32(len(data)-56000-64<<10) {
					t.Fatalf("buffer overruns %d, want %d", st.BufferOverrunErrorCount, len(data)-56000-64<<10)
				}
				if got := readAll(t, b, 64<<10, 4096, 0); !bytes.Equal(got, data[56000:56000+64<<10]) {
					t.Fatalf("a full buffer gave %d bytes, not the first ones that fitted", len(got))
				}
				if q := commStatus(t, b).AmountInInQueue; q != 0 {
					t.Fatalf("%d bytes left in the typeahead", q)
				}
			})
		})
	}
}
