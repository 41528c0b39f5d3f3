package driver

import "github.com/vcomd/vcomd/ioctl"

// SettingsWire is a Wire that wants the port's line settings as the
// program makes them. The chip shows a wire only the framing and speed a
// character was sent with (Signal.Format), and only once a character goes;
// handflow and the special characters it never sees at all. A wire whose
// far end is a real line (a network server) must set that line up before
// the first byte and follow every change.
type SettingsWire interface {
	Wire
	// LineSettings gets the settings in force. It is called once when the
	// wire is connected by SetWire, and after every request that changed
	// the baud rate, line control, handflow or special characters (a
	// request that sets what was already in force does not call it).
	// Calls are made with no lock held, one at a time, and each carries
	// the settings in force when it was made, so the last call a wire
	// sees is the present state. It must not block: hand the settings on.
	LineSettings(from *Device, s ioctl.Settings)
}

// settingsLocked is the port's present line settings.
func (d *Device) settingsLocked() ioctl.Settings {
	s := &d.s
	return ioctl.Settings{Baud: ioctl.BaudRate{BaudRate: s.baud}, Line: s.line, HandFlow: s.handflow, Chars: s.chars}
}

// notifySettings hands the present settings to the wire if it is a
// SettingsWire. Two requests finishing at once on two goroutines must not
// deliver their settings out of order, and the wire must be free to call
// back into the device, so one caller at a time delivers, without the
// lock, and goes round again if a change came meanwhile; the others only
// mark that it did.
func (d *Device) notifySettings() {
	d.mu.Lock()
	if d.s.settingsBusy {
		d.s.settingsAgain = true
		d.mu.Unlock()
		return
	}
	d.s.settingsBusy = true
	for {
		d.s.settingsAgain = false
		w, ok := d.s.wire.(SettingsWire)
		set := d.settingsLocked()
		closed := d.s.closed
		d.mu.Unlock()
		if ok && !closed {
			w.LineSettings(d, set)
		}
		d.mu.Lock()
		if !d.s.settingsAgain {
			d.s.settingsBusy = false
			d.mu.Unlock()
			return
		}
	}
}
