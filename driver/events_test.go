package driver_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
	"github.com/vcomd/vcomd/wire"
)

// Each SERIAL_EV_ bit is raised by what Serial.sys raises it for, and a
// pending WAIT_ON_MASK completes with it.
func TestWaitOnMaskEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   ioctl.WaitMask
		act  func(t *testing.T, a, b *driver.Device)
	}{
		{"RXCHAR: any byte", ioctl.EvRxChar, func(t *testing.T, a, b *driver.Device) {
			a.Submit(driver.NewWrite([]byte("x")))
		}},
		{"RXFLAG: the event character", ioctl.EvRxFlag, func(t *testing.T, a, b *driver.Device) {
			mustCall(t, b, driver.NewIoctl(ioctl.SetChars, ioctl.Chars{XonChar: 0x11, XoffChar: 0x13, EventChar: '\n'}))
			a.Submit(driver.NewWrite([]byte("ab\n")))
		}},
		{"CTS: the peer's RTS", ioctl.EvCTS, func(t *testing.T, a, b *driver.Device) {
			a.Submit(driver.NewIoctl(ioctl.ClrRTS, nil))
		}},
		{"DSR: the peer's DTR", ioctl.EvDSR, func(t *testing.T, a, b *driver.Device) {
			a.Submit(driver.NewIoctl(ioctl.ClrDTR, nil))
		}},
		{"RLSD: the peer's DTR on DCD", ioctl.EvRLSD, func(t *testing.T, a, b *driver.Device) {
			a.Submit(driver.NewIoctl(ioctl.ClrDTR, nil))
		}},
		{"BREAK: the peer's break", ioctl.EvBreak, func(t *testing.T, a, b *driver.Device) {
			mustCall(t, a, driver.NewIoctl(ioctl.SetBreakOn, nil))
			time.Sleep(10 * time.Millisecond)
			mustCall(t, a, driver.NewIoctl(ioctl.SetBreakOff, nil))
		}},
		{"ERR: a framing error", ioctl.EvErr, func(t *testing.T, a, b *driver.Device) {
			b.Input(driver.Input{Kind: driver.InputChar, Char: 'x', Err: uart16550.FramingError})
		}},
		{"RING: RI's trailing edge", ioctl.EvRing, func(t *testing.T, a, b *driver.Device) {
			on := uart16550.ModemInputs{CTS: true, DSR: true, DCD: true, RI: true}
			b.Input(driver.Input{Kind: driver.InputModem, Modem: on})
			on.RI = false
			b.Input(driver.Input{Kind: driver.InputModem, Modem: on})
		}},
		{"RX80FULL: typeahead at 81.25 %", ioctl.EvRx80Full, func(t *testing.T, a, b *driver.Device) {
			a.Submit(driver.NewWrite(pattern(driver.DefaultQueueSize * 13 / 16)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := pair(t, driver.Options{}, 115200)
				mustCall(t, b, driver.NewIoctl(ioctl.SetWaitMask, tc.ev))
				w := driver.NewIoctl(ioctl.WaitOnMask, nil)
				b.Submit(w)
				synctest.Wait()
				select {
				case <-w.Done():
					t.Fatalf("wait completed (%v, %v) before the event", w.Status(), w.Output())
				default:
				}
				tc.act(t, a, b)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if st, err := w.Wait(ctx); err != nil || st != driver.StatusSuccess {
					t.Fatalf("wait: %v %v", st, err)
				}
				if got := w.Output().(uint32); ioctl.WaitMask(got) != tc.ev {
					t.Fatalf("wait returned %s, want %s", ioctl.WaitMask(got), tc.ev)
				}
			})
		})
	}
}

// EV_TXEMPTY: the last write's bytes went to the UART after the wait was
// armed.
func TestWaitTxEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := pair(t, driver.Options{}, 115200)
		mustCall(t, a, driver.NewIoctl(ioctl.SetWaitMask, ioctl.EvTxEmpty))
		w := driver.NewIoctl(ioctl.WaitOnMask, nil)
		a.Submit(w)
		mustCall(t, a, driver.NewWrite([]byte("done")))
		if st, _ := w.Wait(context.Background()); st != driver.StatusSuccess || ioctl.WaitMask(w.Output().(uint32)) != ioctl.EvTxEmpty {
			t.Fatalf("wait %v %v, want TXEMPTY", w.Status(), w.Output())
		}
	})
}

// Setting the mask completes a pending wait with an empty mask; a second
// wait while one is pending, or a wait with no mask, is refused.
func TestWaitMaskRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b := pair(t, driver.Options{}, 115200)
		if st, _ := b.Call(context.Background(), driver.NewIoctl(ioctl.WaitOnMask, nil)); st != driver.StatusInvalidParameter {
			t.Fatalf("wait with no mask: %v, want INVALID_PARAMETER", st)
		}
		mustCall(t, b, driver.NewIoctl(ioctl.SetWaitMask, ioctl.EvCTS))
		w := driver.NewIoctl(ioctl.WaitOnMask, nil)
		b.Submit(w)
		if st, _ := b.Call(context.Background(), driver.NewIoctl(ioctl.WaitOnMask, nil)); st != driver.StatusInvalidParameter {
			t.Fatalf("second wait: %v, want INVALID_PARAMETER", st)
		}
		mustCall(t, b, driver.NewIoctl(ioctl.SetWaitMask, ioctl.EvDSR))
		if st, _ := w.Wait(context.Background()); st != driver.StatusSuccess || w.Output().(uint32) != 0 {
			t.Fatalf("pending wait after SET_WAIT_MASK: %v %v, want SUCCESS with 0", st, w.Output())
		}
		got := mustCall(t, b, driver.NewIoctl(ioctl.GetWaitMask, nil)).Output().(ioctl.WaitMask)
		if got != ioctl.EvDSR {
			t.Fatalf("GET_WAIT_MASK %s, want DSR", got)
		}
	})
}

// A baud mismatch between the ends of a cable that checks framing arrives
// as framing errors, counted by the receiver.
func TestFramingMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := driver.New(driver.Options{Name: "A"}), driver.New(driver.Options{Name: "B"})
		defer a.Close()
		defer b.Close()
		wire.Connect(a, b, wire.Options{CheckFraming: true})
		mustCall(t, a, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 19200}))
		mustCall(t, a, driver.NewWrite([]byte("mismatch")))
		time.Sleep(100 * time.Millisecond)
		if st := stats(t, b); st.FrameErrorCount != 8 || st.ReceivedCount != 8 {
			t.Fatalf("stats %+v, want 8 characters with framing errors", st)
		}
		if e := commStatus(t, b).Errors; e&ioctl.ErrFraming == 0 {
			t.Fatalf("errors %s, want FRAMING", ioctl.ErrorString(e))
		}
	})
}
