package driver_test

import (
	"context"
	"sync"
	"testing"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// settingsRecorder is a SettingsWire that records the settings it is given.
type settingsRecorder struct {
	mu   sync.Mutex
	got  []ioctl.Settings
	from []*driver.Device
}

func (w *settingsRecorder) Transmit(_ *driver.Device, _ []uart16550.Signal, taken func()) {
	if taken != nil {
		taken()
	}
}

func (w *settingsRecorder) LineSettings(from *driver.Device, s ioctl.Settings) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, s)
	w.from = append(w.from, from)
}

func (w *settingsRecorder) calls() []ioctl.Settings {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ioctl.Settings(nil), w.got...)
}

// A SettingsWire gets the settings once at SetWire and after each request
// that changes them, before the request completes; a request that changes
// nothing, and requests about other things, do not call it.
func TestSettingsWire(t *testing.T) {
	d := driver.New(driver.Options{Name: "S"})
	defer d.Close()
	w := &settingsRecorder{}
	d.SetWire(w)
	calls := w.calls()
	if len(calls) != 1 {
		t.Fatalf("%d LineSettings calls after SetWire, want 1", len(calls))
	}
	if calls[0].Baud.BaudRate != 9600 || calls[0].Line.WordLength != 8 {
		t.Fatalf("settings at SetWire %+v, want the device's 9600 8N1", calls[0])
	}
	mustCall(t, d, &driver.IRP{Major: driver.MajorCreate})

	hf := calls[0].HandFlow
	hf.ControlHandShake |= ioctl.CTSHandshake
	hf.FlowReplace = hf.FlowReplace&^ioctl.RTSMask | ioctl.RTSHandshake
	line := ioctl.LineControl{WordLength: 7, Parity: ioctl.EvenParity, StopBits: ioctl.StopBits2}
	chars := calls[0].Chars
	chars.XonChar = 'Q'
	steps := []struct {
		name   string
		irp    *driver.IRP
		change bool
		check  func(ioctl.Settings) bool
	}{
		{"SetBaudRate 19200", driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 19200}), true,
			func(s ioctl.Settings) bool { return s.Baud.BaudRate == 19200 }},
		{"SetBaudRate 19200 again", driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 19200}), false, nil},
		{"SetLineControl 7E2", driver.NewIoctl(ioctl.SetLineControl, line), true,
			func(s ioctl.Settings) bool { return s.Line == line && s.Baud.BaudRate == 19200 }},
		{"SetHandflow CTS/RTS", driver.NewIoctl(ioctl.SetHandflow, hf), true,
			func(s ioctl.Settings) bool { return s.HandFlow == hf }},
		{"SetChars", driver.NewIoctl(ioctl.SetChars, chars), true,
			func(s ioctl.Settings) bool { return s.Chars == chars }},
		{"ClrDTR", driver.NewIoctl(ioctl.ClrDTR, nil), false, nil},
		{"GetBaudRate", driver.NewIoctl(ioctl.GetBaudRate, nil), false, nil},
	}
	for _, st := range steps {
		n := len(w.calls())
		mustCall(t, d, st.irp)
		calls := w.calls()
		switch {
		case !st.change && len(calls) != n:
			t.Errorf("%s: LineSettings called (%+v), want no call", st.name, calls[len(calls)-1])
		case st.change && len(calls) != n+1:
			t.Errorf("%s: %d LineSettings calls by the time it completed, want 1", st.name, len(calls)-n)
		case st.change && !st.check(calls[len(calls)-1]):
			t.Errorf("%s: LineSettings got %+v", st.name, calls[len(calls)-1])
		}
	}
	n := len(w.calls())
	if _, err := d.Call(t.Context(), driver.NewIoctl(ioctl.SetLineControl, ioctl.LineControl{WordLength: 9})); err == nil {
		t.Errorf("SetLineControl with 9 data bits succeeded")
	}
	if got := len(w.calls()); got != n {
		t.Errorf("a refused SetLineControl called LineSettings")
	}
	for _, dev := range w.from {
		if dev != d {
			t.Fatalf("LineSettings from %v, want the device", dev.Name())
		}
	}
}

// A wire may change the settings from inside LineSettings (the call is
// made with no lock held): the change is delivered after the present call
// returns, not from inside it.
type reentrantWire struct {
	settingsRecorder
	depth int
	max   int
}

func (w *reentrantWire) LineSettings(from *driver.Device, s ioctl.Settings) {
	w.depth++
	if w.depth > w.max {
		w.max = w.depth
	}
	w.settingsRecorder.LineSettings(from, s)
	if s.Baud.BaudRate == 1200 {
		if _, err := from.Call(context.Background(), driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 2400})); err != nil {
			panic(err)
		}
	}
	w.depth--
}

func TestSettingsWireReentrant(t *testing.T) {
	d := driver.New(driver.Options{Name: "R"})
	defer d.Close()
	w := &reentrantWire{}
	d.SetWire(w)
	mustCall(t, d, driver.NewIoctl(ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 1200}))
	calls := w.calls()
	if last := calls[len(calls)-1].Baud.BaudRate; len(calls) != 3 || last != 2400 {
		t.Fatalf("%d calls ending at %d baud, want 3 (SetWire, 1200, 2400) ending at 2400", len(calls), last)
	}
	if w.max != 1 {
		t.Fatalf("LineSettings nested %d deep, want calls one at a time", w.max)
	}
}
