//go:build linux

package ioctl_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/ioctl"
)

// settingsOf builds settings from fuzzed fields, valid or not.
func settingsOf(baud uint32, line [3]uint8, control, replace uint32, xon, xoff int32, chars [6]byte) ioctl.Settings {
	return ioctl.Settings{
		Baud:     ioctl.BaudRate{BaudRate: baud},
		Line:     ioctl.LineControl{WordLength: line[0], Parity: line[1], StopBits: line[2]},
		HandFlow: ioctl.HandFlow{ControlHandShake: control, FlowReplace: replace, XonLimit: xon, XoffLimit: xoff},
		Chars:    ioctl.Chars{EofChar: chars[0], ErrorChar: chars[1], BreakChar: chars[2], EventChar: chars[3], XonChar: chars[4], XoffChar: chars[5]},
	}
}

// valid reports whether the device would take every part of s.
func valid(s ioctl.Settings) bool {
	for _, r := range ioctl.Diff(ioctl.Settings{}, s) {
		if ioctl.ValidateInput(r.Code, r.Input) != nil {
			return false
		}
	}
	return s.Baud.Validate() == nil && s.Line.Validate() == nil
}

// addTermiosSeeds seeds f with the table tests' termios and settings.
func addTermiosSeeds(f *testing.F) {
	add := func(t *unix.Termios, s ioctl.Settings) {
		f.Add(t.Iflag, t.Oflag, t.Cflag, t.Lflag, t.Ispeed, t.Ospeed, t.Cc[unix.VSTART], t.Cc[unix.VSTOP],
			s.Baud.BaudRate, s.Line.WordLength, s.Line.Parity, s.Line.StopBits,
			s.HandFlow.ControlHandShake, s.HandFlow.FlowReplace, s.HandFlow.XonLimit, s.HandFlow.XoffLimit,
			[]byte{s.Chars.EofChar, s.Chars.ErrorChar, s.Chars.BreakChar, s.Chars.EventChar, s.Chars.XonChar, s.Chars.XoffChar})
	}
	add(rawTermios(), baseSettings())
	add(busyTermios(), baseSettings())
	other := rawTermios()
	other.Cflag = other.Cflag&^unix.CBAUD | unix.BOTHER | unix.CSTOPB | unix.CRTSCTS
	other.Ispeed, other.Ospeed = 300, 31250
	other.Iflag |= unix.IXON | unix.IXOFF
	five := baseSettings()
	five.Line = ioctl.LineControl{WordLength: 5, Parity: ioctl.MarkParity, StopBits: ioctl.StopBits1_5}
	add(other, five)
	add(&unix.Termios{}, ioctl.Settings{})
}

// FuzzTermios checks the translation between termios and settings on any
// termios and any settings: no panic; from valid settings FromTermios
// gives settings the device takes; ToTermios changes only the bits it
// owns; what termios can say survives settings -> termios -> settings;
// and Diff's requests, played over the old settings, give the new ones.
func FuzzTermios(f *testing.F) {
	addTermiosSeeds(f)
	f.Fuzz(func(t *testing.T, iflag, oflag, cflag, lflag, ispeed, ospeed uint32, start, stop byte,
		baud uint32, wl, parity, sb uint8, control, replace uint32, xon, xoff int32, chars []byte) {
		tio := &unix.Termios{Iflag: iflag, Oflag: oflag, Cflag: cflag, Lflag: lflag, Ispeed: ispeed, Ospeed: ospeed}
		tio.Cc[unix.VSTART], tio.Cc[unix.VSTOP] = start, stop
		var cs [6]byte
		copy(cs[:], chars)
		base := settingsOf(baud, [3]uint8{wl, parity, sb}, control, replace, xon, xoff, cs)

		got := ioctl.FromTermios(tio, base)
		if valid(base) && !valid(got) {
			t.Fatalf("FromTermios(%+v, valid %+v) = %+v, which the device would refuse", *tio, base, got)
		}
		checkDiff(t, base, got)

		// ToTermios leaves alone what it does not own.
		out := *tio
		ioctl.ToTermios(base, &out)
		const ownedC = unix.CBAUD | unix.CIBAUD | unix.CSIZE | unix.PARENB | unix.PARODD | unix.CMSPAR | unix.CSTOPB | unix.CRTSCTS
		if out.Oflag != tio.Oflag || out.Lflag != tio.Lflag || out.Line != tio.Line ||
			out.Iflag&^(unix.IXON|unix.IXOFF) != tio.Iflag&^(unix.IXON|unix.IXOFF) || out.Cflag&^ownedC != tio.Cflag&^ownedC {
			t.Fatalf("ToTermios(%+v) changed bits it does not own:\n%+v\n%+v", base, *tio, out)
		}
		for i := range out.Cc {
			if i != unix.VSTART && i != unix.VSTOP && out.Cc[i] != tio.Cc[i] {
				t.Fatalf("ToTermios changed c_cc[%d]", i)
			}
		}
		if base.Baud.Validate() != nil && (out.Cflag&(unix.CBAUD|unix.CIBAUD) != tio.Cflag&(unix.CBAUD|unix.CIBAUD) || out.Ospeed != tio.Ospeed) {
			t.Fatalf("ToTermios wrote the invalid rate %d", base.Baud.BaudRate)
		}
		if base.Line.Validate() != nil && out.Cflag&(unix.CSIZE|unix.PARENB|unix.PARODD|unix.CMSPAR|unix.CSTOPB) != tio.Cflag&(unix.CSIZE|unix.PARENB|unix.PARODD|unix.CMSPAR|unix.CSTOPB) {
			t.Fatalf("ToTermios wrote the invalid framing %+v", base.Line)
		}

		// What termios says survives the round trip.
		back := ioctl.FromTermios(&out, base)
		if base.Baud.Validate() == nil && back.Baud != base.Baud {
			t.Fatalf("rate %d came back as %d", base.Baud.BaudRate, back.Baud.BaudRate)
		}
		if base.Line.Validate() == nil {
			if back.Line != base.Line {
				t.Fatalf("framing %+v came back as %+v", base.Line, back.Line)
			}
			if l := ioctl.LineFromTermios(&out); l != base.Line {
				t.Fatalf("LineFromTermios of %+v's termios = %+v", base.Line, l)
			}
		}
		h, bh := base.HandFlow, back.HandFlow
		const carried = ioctl.AutoTransmit | ioctl.AutoReceive
		if h.ControlHandShake&ioctl.CTSHandshake != bh.ControlHandShake&ioctl.CTSHandshake || h.FlowReplace&carried != bh.FlowReplace&carried ||
			back.Chars != base.Chars || bh.XonLimit != h.XonLimit || bh.XoffLimit != h.XoffLimit {
			t.Fatalf("settings -> termios -> settings lost what termios carries:\n%+v\n%+v", base, back)
		}
		// And from there on the translation is stable both ways.
		again := out
		ioctl.ToTermios(back, &again)
		if base.Baud.Validate() == nil && base.Line.Validate() == nil && again != out {
			t.Fatalf("termios -> settings -> termios:\n got %+v\nwant %+v", again, out)
		}
		if twice := ioctl.FromTermios(&again, back); twice != back {
			t.Fatalf("FromTermios is not stable:\n%+v\n%+v", back, twice)
		}
	})
}

// checkDiff checks that Diff's requests take from to to, each part once.
func checkDiff(t *testing.T, from, to ioctl.Settings) {
	t.Helper()
	got := from
	seen := map[ioctl.Code]bool{}
	for _, r := range ioctl.Diff(from, to) {
		if seen[r.Code] {
			t.Fatalf("Diff sends %s twice", r.Code)
		}
		seen[r.Code] = true
		switch in := r.Input.(type) {
		case ioctl.BaudRate:
			got.Baud = in
		case ioctl.LineControl:
			got.Line = in
		case ioctl.HandFlow:
			got.HandFlow = in
		case ioctl.Chars:
			got.Chars = in
		default:
			t.Fatalf("Diff sends %s with %T", r.Code, in)
		}
	}
	if got != to {
		t.Fatalf("Diff(%+v, %+v) played over the first gives %+v", from, to, got)
	}
}
