package driver_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// A change of the modem inputs is traced as an event carrying the four
// inputs as they are now, so that a trace (and a recording of it) shows a
// device's lines beside the requests; no change, no event.
func TestTraceModemInputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []driver.TraceEvent
		d := driver.New(driver.Options{Name: "M", Trace: func(ev driver.TraceEvent) {
			if ev.Phase == driver.PhaseEvent {
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
			}
		}})
		defer d.Close()
		d.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: true, DCD: true}})
		time.Sleep(time.Millisecond)
		synctest.Wait()
		d.Input(driver.Input{Kind: driver.InputModem, Modem: uart16550.ModemInputs{CTS: true, DCD: true}})
		time.Sleep(time.Millisecond)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(events) != 1 {
			t.Fatalf("%d modem events for one change and one repeat, want 1: %+v", len(events), events)
		}
		ev := events[0]
		want := ioctl.ModemInputs{Mask: 0xF0, Value: ioctl.MSRCTS | ioctl.MSRDCD}
		if ev.Port != "M" || ev.Code != ioctl.GetModemStatus || ev.Output != want {
			t.Errorf("event %+v, want port M, GET_MODEMSTATUS, output %+v", ev, want)
		}
	})
}
