//go:build linux

package ioctl_test

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/ioctl"
)

// baseSettings has a value in every field termios cannot carry and a
// 7O1 framing a pty cannot carry, so that a test sees if FromTermios
// drops any of them.
func baseSettings() ioctl.Settings {
	return ioctl.Settings{
		Baud: ioctl.BaudRate{BaudRate: 115200},
		Line: ioctl.LineControl{WordLength: 7, Parity: ioctl.OddParity, StopBits: ioctl.StopBit1},
		HandFlow: ioctl.HandFlow{
			ControlHandShake: ioctl.DTRHandshake | ioctl.DSRHandshake | ioctl.DCDHandshake | ioctl.DSRSensitivity | ioctl.ErrorAbort,
			FlowReplace:      ioctl.ErrorChar | ioctl.NullStripping | ioctl.BreakChar | ioctl.TransmitToggle | ioctl.XoffContinue,
			XonLimit:         2048,
			XoffLimit:        512,
		},
		Chars: ioctl.Chars{EofChar: 0x1A, ErrorChar: '?', BreakChar: 0x7F, EventChar: '\n', XonChar: 0x01, XoffChar: 0x02},
	}
}

// What FromTermios makes of baseSettings' handflow with no flow control:
// DTR and RTS simply on, the rest kept.
const (
	baseControl = ioctl.DTRControl | ioctl.DSRHandshake | ioctl.DCDHandshake | ioctl.DSRSensitivity | ioctl.ErrorAbort
	baseReplace = ioctl.ErrorChar | ioctl.NullStripping | ioctl.BreakChar | ioctl.RTSControl | ioctl.XoffContinue
)

// rawTermios is a raw 9600 8N1 termios with the usual control characters.
func rawTermios() *unix.Termios {
	t := &unix.Termios{Cflag: unix.B9600 | unix.CS8 | unix.CREAD | unix.CLOCAL, Ispeed: 9600, Ospeed: 9600}
	t.Cc[unix.VSTART], t.Cc[unix.VSTOP] = 0x11, 0x13
	t.Cc[unix.VMIN], t.Cc[unix.VINTR] = 1, 3
	return t
}

func TestFromTermios(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*unix.Termios)
		base func(*ioctl.Settings)
		want func(*ioctl.Settings)
	}{
		{
			name: "B9600 raw",
			want: func(s *ioctl.Settings) { s.Baud.BaudRate = 9600 },
		},
		{
			name: "BOTHER 250000",
			edit: func(t *unix.Termios) {
				t.Cflag = t.Cflag&^unix.CBAUD | unix.BOTHER
				t.Ispeed, t.Ospeed = 250000, 250000
			},
			want: func(s *ioctl.Settings) { s.Baud.BaudRate = 250000 },
		},
		{
			name: "BOTHER output rate wins over input rate",
			edit: func(t *unix.Termios) {
				t.Cflag = t.Cflag&^unix.CBAUD | unix.BOTHER
				t.Ispeed, t.Ospeed = 300, 31250
			},
			want: func(s *ioctl.Settings) { s.Baud.BaudRate = 31250 },
		},
		{
			name: "Bxxx code wins over a stale c_ospeed",
			edit: func(t *unix.Termios) {
				t.Cflag = t.Cflag&^unix.CBAUD | unix.B4000000
				t.Ospeed = 123
			},
			want: func(s *ioctl.Settings) { s.Baud.BaudRate = 4000000 },
		},
		{
			name: "B0 keeps the rate",
			edit: func(t *unix.Termios) { t.Cflag &^= unix.CBAUD },
			want: func(s *ioctl.Settings) {},
		},
		{
			name: "BOTHER with no rate keeps the rate",
			edit: func(t *unix.Termios) {
				t.Cflag = t.Cflag&^unix.CBAUD | unix.BOTHER
				t.Ospeed = 0
			},
			want: func(s *ioctl.Settings) {},
		},
		{
			name: "BOTHER above MaxBaud keeps the rate",
			edit: func(t *unix.Termios) {
				t.Cflag = t.Cflag&^unix.CBAUD | unix.BOTHER
				t.Ospeed = ioctl.MaxBaud + 1
			},
			want: func(s *ioctl.Settings) {},
		},
		{
			name: "CSTOPB with 7 data bits is 2 stop bits",
			edit: func(t *unix.Termios) { t.Cflag |= unix.CSTOPB },
			want: func(s *ioctl.Settings) {
				s.Baud.BaudRate = 9600
				s.Line.StopBits = ioctl.StopBits2
			},
		},
		{
			name: "CSTOPB with 5 data bits is 1.5 stop bits",
			edit: func(t *unix.Termios) { t.Cflag |= unix.CSTOPB },
			base: func(s *ioctl.Settings) { s.Line = ioctl.LineControl{WordLength: 5, Parity: ioctl.SpaceParity} },
			want: func(s *ioctl.Settings) {
				s.Baud.BaudRate = 9600
				s.Line.StopBits = ioctl.StopBits1_5
			},
		},
		{
			name: "no CSTOPB is 1 stop bit",
			base: func(s *ioctl.Settings) { s.Line.StopBits = ioctl.StopBits2 },
			want: func(s *ioctl.Settings) {
				s.Baud.BaudRate = 9600
				s.Line.StopBits = ioctl.StopBit1
			},
		},
		{
			// What a pty reports whatever the program asked for.
			name: "CS8 without PARENB keeps word length and parity",
			edit: func(t *unix.Termios) { t.Cflag = t.Cflag&^(unix.CSIZE|unix.PARENB) | unix.CS8 },
			want: func(s *ioctl.Settings) { s.Baud.BaudRate = 9600 },
		},
		{
			name: "CS5 with PARENB keeps word length and parity too",
			edit: func(t *unix.Termios) { t.Cflag = t.Cflag&^unix.CSIZE | unix.CS5 | unix.PARENB | unix.CMSPAR },
			want: func(s *ioctl.Settings) { s.Baud.BaudRate = 9600 },
		},
		{
			name: "CRTSCTS",
			edit: func(t *unix.Termios) { t.Cflag |= unix.CRTSCTS },
			want: func(s *ioctl.Settings) {
				s.Baud.BaudRate = 9600
				s.HandFlow.ControlHandShake = baseControl | ioctl.CTSHandshake
				s.HandFlow.FlowReplace = baseReplace&^ioctl.RTSMask | ioctl.RTSHandshake
			},
		},
		{
			name: "no CRTSCTS clears a CTS handshake",
			base: func(s *ioctl.Settings) {
				s.HandFlow.ControlHandShake |= ioctl.CTSHandshake
				s.HandFlow.FlowReplace = s.HandFlow.FlowReplace&^ioctl.RTSMask | ioctl.RTSHandshake
			},
			want: func(s *ioctl.Settings) { s.Baud.BaudRate = 9600 },
		},
		{
			name: "IXON and IXOFF",
			edit: func(t *unix.Termios) { t.Iflag |= unix.IXON | unix.IXOFF },
			want: func(s *ioctl.Settings) {
				s.Baud.BaudRate = 9600
				s.HandFlow.FlowReplace = baseReplace | ioctl.AutoTransmit | ioctl.AutoReceive
			},
		},
		{
			name: "IXON alone",
			edit: func(t *unix.Termios) { t.Iflag |= unix.IXON | unix.IXANY },
			base: func(s *ioctl.Settings) { s.HandFlow.FlowReplace |= ioctl.AutoReceive },
			want: func(s *ioctl.Settings) {
				s.Baud.BaudRate = 9600
				s.HandFlow.FlowReplace = baseReplace | ioctl.AutoTransmit
			},
		},
		{
			name: "no IXON and IXOFF clears both",
			base: func(s *ioctl.Settings) { s.HandFlow.FlowReplace |= ioctl.AutoTransmit | ioctl.AutoReceive },
			want: func(s *ioctl.Settings) { s.Baud.BaudRate = 9600 },
		},
		{
			name: "VSTART and VSTOP",
			edit: func(t *unix.Termios) {
				t.Cc[unix.VSTART], t.Cc[unix.VSTOP] = 'Q', 'S'
				t.Cc[unix.VEOF] = 4 // not carried: EofChar stays
			},
			want: func(s *ioctl.Settings) {
				s.Baud.BaudRate = 9600
				s.Chars.XonChar, s.Chars.XoffChar = 'Q', 'S'
			},
		},
		{
			name: "everything at once",
			edit: func(t *unix.Termios) {
				t.Cflag = t.Cflag&^unix.CBAUD | unix.BOTHER | unix.CRTSCTS | unix.CSTOPB
				t.Ospeed = 250000
				t.Iflag |= unix.IXON | unix.IXOFF
				t.Cc[unix.VSTART], t.Cc[unix.VSTOP] = 0x91, 0x93
			},
			want: func(s *ioctl.Settings) {
				s.Baud.BaudRate = 250000
				s.Line.StopBits = ioctl.StopBits2
				s.HandFlow.ControlHandShake = baseControl | ioctl.CTSHandshake
				s.HandFlow.FlowReplace = baseReplace&^ioctl.RTSMask | ioctl.RTSHandshake | ioctl.AutoTransmit | ioctl.AutoReceive
				s.Chars.XonChar, s.Chars.XoffChar = 0x91, 0x93
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tio := rawTermios()
			if tc.edit != nil {
				tc.edit(tio)
			}
			base := baseSettings()
			if tc.base != nil {
				tc.base(&base)
			}
			// want starts from base with the handflow and chars every
			// FromTermios result has for rawTermios.
			want := base
			want.HandFlow.ControlHandShake = baseControl
			want.HandFlow.FlowReplace = baseReplace
			want.Chars.XonChar, want.Chars.XoffChar = 0x11, 0x13
			tc.want(&want)

			got := ioctl.FromTermios(tio, base)
			if got != want {
				t.Errorf("FromTermios:\n got %+v\nwant %+v", got, want)
			}
			if err := got.HandFlow.Validate(); err != nil {
				t.Errorf("FromTermios made an invalid handflow: %v", err)
			}
			if err := got.Line.Validate(); err != nil {
				t.Errorf("FromTermios made an invalid line control: %v", err)
			}
		})
	}
}

func TestLineFromTermios(t *testing.T) {
	for _, tc := range []struct {
		cflag uint32
		want  string
	}{
		{unix.CS8, "8N1"},
		{unix.CS7 | unix.PARENB, "7E1"},
		{unix.CS7 | unix.PARENB | unix.PARODD, "7O1"},
		{unix.CS6 | unix.PARENB | unix.PARODD | unix.CSTOPB, "6O2"},
		{unix.CS8 | unix.PARENB | unix.CMSPAR | unix.PARODD, "8M1"},
		{unix.CS8 | unix.PARENB | unix.CMSPAR | unix.CSTOPB, "8S2"},
		{unix.CS5, "5N1"},
		{unix.CS5 | unix.CSTOPB, "5N1.5"},
		{unix.CS5 | unix.PARENB | unix.CSTOPB, "5E1.5"},
		// Without PARENB, PARODD and CMSPAR mean nothing (a pty keeps
		// them after it clears PARENB).
		{unix.CS8 | unix.PARODD | unix.CMSPAR, "8N1"},
	} {
		tio := rawTermios()
		tio.Cflag = tio.Cflag&^unix.CSIZE | tc.cflag
		l := ioctl.LineFromTermios(tio)
		if got := l.String(); got != tc.want {
			t.Errorf("LineFromTermios(%#x) = %s, want %s", tc.cflag, got, tc.want)
		}
		if err := l.Validate(); err != nil {
			t.Errorf("LineFromTermios(%#x) = %s: %v", tc.cflag, l, err)
		}
	}
}

// ownedCflag, ownedIflag are the termios bits ToTermios may change.
const (
	ownedCflag = unix.CBAUD | unix.CIBAUD | unix.CSIZE | unix.PARENB | unix.PARODD | unix.CMSPAR | unix.CSTOPB | unix.CRTSCTS
	ownedIflag = unix.IXON | unix.IXOFF
)

// busyTermios has bits set everywhere, owned by ToTermios or not.
func busyTermios() *unix.Termios {
	t := &unix.Termios{
		Iflag:  unix.ICRNL | unix.IXANY | unix.IXON | unix.IXOFF | unix.IGNBRK,
		Oflag:  unix.OPOST | unix.ONLCR,
		Lflag:  unix.ICANON | unix.ECHO | unix.ISIG | unix.EXTPROC,
		Cflag:  unix.B38400 | unix.B38400<<unix.IBSHIFT | unix.CS7 | unix.PARENB | unix.PARODD | unix.CMSPAR | unix.CSTOPB | unix.CRTSCTS | unix.CREAD | unix.CLOCAL | unix.HUPCL,
		Line:   3,
		Ispeed: 38400,
		Ospeed: 38400,
	}
	for i := range t.Cc {
		t.Cc[i] = byte(0xA0 + i)
	}
	return t
}

func TestToTermios(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    ioctl.Settings
		// Expected owned bits and fields.
		cflag, iflag   uint32
		ispeed, ospeed uint32
		start, stop    byte
	}{
		{
			name:  "9600 8N1 no flow control",
			s:     ioctl.Settings{Baud: ioctl.BaudRate{BaudRate: 9600}, Line: ioctl.LineControl{WordLength: 8}, HandFlow: ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl}, Chars: ioctl.Chars{XonChar: 0x11, XoffChar: 0x13}},
			cflag: unix.B9600 | unix.CS8, ispeed: 9600, ospeed: 9600, start: 0x11, stop: 0x13,
		},
		{
			name:  "250000 7E2 CRTSCTS",
			s:     ioctl.Settings{Baud: ioctl.BaudRate{BaudRate: 250000}, Line: ioctl.LineControl{WordLength: 7, Parity: ioctl.EvenParity, StopBits: ioctl.StopBits2}, HandFlow: ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake, FlowReplace: ioctl.RTSHandshake}},
			cflag: unix.BOTHER | unix.CS7 | unix.PARENB | unix.CSTOPB | unix.CRTSCTS, ispeed: 250000, ospeed: 250000,
		},
		{
			name:  "4000000 6O1 IXON IXOFF",
			s:     ioctl.Settings{Baud: ioctl.BaudRate{BaudRate: 4000000}, Line: ioctl.LineControl{WordLength: 6, Parity: ioctl.OddParity}, HandFlow: ioctl.HandFlow{FlowReplace: ioctl.AutoTransmit | ioctl.AutoReceive}, Chars: ioctl.Chars{XonChar: 'Q', XoffChar: 'S'}},
			cflag: unix.B4000000 | unix.CS6 | unix.PARENB | unix.PARODD, iflag: unix.IXON | unix.IXOFF, ispeed: 4000000, ospeed: 4000000, start: 'Q', stop: 'S',
		},
		{
			name:  "5M1.5 IXOFF only",
			s:     ioctl.Settings{Baud: ioctl.BaudRate{BaudRate: 50}, Line: ioctl.LineControl{WordLength: 5, Parity: ioctl.MarkParity, StopBits: ioctl.StopBits1_5}, HandFlow: ioctl.HandFlow{FlowReplace: ioctl.AutoReceive}},
			cflag: unix.B50 | unix.CS5 | unix.PARENB | unix.PARODD | unix.CMSPAR | unix.CSTOPB, iflag: unix.IXOFF, ispeed: 50, ospeed: 50,
		},
		{
			name:  "8S1 with an RTS handshake but no CTS handshake",
			s:     ioctl.Settings{Baud: ioctl.BaudRate{BaudRate: 31250}, Line: ioctl.LineControl{WordLength: 8, Parity: ioctl.SpaceParity}, HandFlow: ioctl.HandFlow{FlowReplace: ioctl.RTSHandshake}},
			cflag: unix.BOTHER | unix.CS8 | unix.PARENB | unix.CMSPAR, ispeed: 31250, ospeed: 31250,
		},
		{
			name: "zero rate and impossible framing leave theirs alone",
			s:    ioctl.Settings{Line: ioctl.LineControl{WordLength: 9}, HandFlow: ioctl.HandFlow{ControlHandShake: ioctl.CTSHandshake}},
			// From busyTermios: B38400 with CIBAUD B38400, 7O2 mark.
			cflag: unix.B38400 | unix.B38400<<unix.IBSHIFT | unix.CS7 | unix.PARENB | unix.PARODD | unix.CMSPAR | unix.CSTOPB | unix.CRTSCTS, ispeed: 38400, ospeed: 38400,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := busyTermios()
			tio := busyTermios()
			ioctl.ToTermios(tc.s, tio)

			if got := tio.Cflag & ownedCflag; got != tc.cflag {
				t.Errorf("owned c_cflag = %#x, want %#x", got, tc.cflag)
			}
			if got := tio.Iflag & ownedIflag; got != tc.iflag {
				t.Errorf("owned c_iflag = %#x, want %#x", got, tc.iflag)
			}
			if tio.Ispeed != tc.ispeed || tio.Ospeed != tc.ospeed {
				t.Errorf("speeds %d/%d, want %d/%d", tio.Ispeed, tio.Ospeed, tc.ispeed, tc.ospeed)
			}
			if tio.Cc[unix.VSTART] != tc.start || tio.Cc[unix.VSTOP] != tc.stop {
				t.Errorf("VSTART/VSTOP = %#x/%#x, want %#x/%#x", tio.Cc[unix.VSTART], tio.Cc[unix.VSTOP], tc.start, tc.stop)
			}

			// Nothing else moved.
			if tio.Cflag&^ownedCflag != before.Cflag&^ownedCflag || tio.Iflag&^ownedIflag != before.Iflag&^ownedIflag ||
				tio.Oflag != before.Oflag || tio.Lflag != before.Lflag || tio.Line != before.Line {
				t.Errorf("unowned bits changed:\n got %+v\nwas  %+v", tio, before)
			}
			for i := range tio.Cc {
				if i != unix.VSTART && i != unix.VSTOP && tio.Cc[i] != before.Cc[i] {
					t.Errorf("c_cc[%d] changed from %#x to %#x", i, before.Cc[i], tio.Cc[i])
				}
			}
		})
	}
}

// Every standard rate maps to its Bxxx code and back; a rate between two
// codes goes through BOTHER.
func TestBaudTable(t *testing.T) {
	codes := map[uint32]uint32{
		50: unix.B50, 75: unix.B75, 110: unix.B110, 134: unix.B134, 150: unix.B150,
		200: unix.B200, 300: unix.B300, 600: unix.B600, 1200: unix.B1200,
		1800: unix.B1800, 2400: unix.B2400, 4800: unix.B4800, 9600: unix.B9600,
		19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600,
		115200: unix.B115200, 230400: unix.B230400, 460800: unix.B460800,
		500000: unix.B500000, 576000: unix.B576000, 921600: unix.B921600,
		1000000: unix.B1000000, 1152000: unix.B1152000, 1500000: unix.B1500000,
		2000000: unix.B2000000, 2500000: unix.B2500000, 3000000: unix.B3000000,
		3500000: unix.B3500000, 4000000: unix.B4000000,
	}
	base := baseSettings()
	for rate, code := range codes {
		tio := rawTermios()
		tio.Cflag = tio.Cflag&^unix.CBAUD | code
		tio.Ospeed = 0 // only the code says the rate
		if got := ioctl.FromTermios(tio, base).Baud.BaudRate; got != rate {
			t.Errorf("FromTermios(%#x) rate = %d, want %d", code, got, rate)
		}
		s := base
		s.Baud.BaudRate = rate
		ioctl.ToTermios(s, tio)
		if got := tio.Cflag & unix.CBAUD; got != code || tio.Ospeed != rate || tio.Ispeed != rate {
			t.Errorf("ToTermios(%d): CBAUD %#x speeds %d/%d, want %#x and %d", rate, got, tio.Ispeed, tio.Ospeed, code, rate)
		}
	}
	for _, rate := range []uint32{1, 49, 51, 9601, 250000, 3000001, 4000001, ioctl.MaxBaud} {
		s := base
		s.Baud.BaudRate = rate
		tio := rawTermios()
		ioctl.ToTermios(s, tio)
		if tio.Cflag&unix.CBAUD != unix.BOTHER || tio.Ospeed != rate || tio.Ispeed != rate {
			t.Errorf("ToTermios(%d): c_cflag %#x speeds %d/%d, want BOTHER", rate, tio.Cflag, tio.Ispeed, tio.Ospeed)
		}
		if got := ioctl.FromTermios(tio, baseSettings()).Baud.BaudRate; got != rate {
			t.Errorf("rate %d came back as %d", rate, got)
		}
	}
}

func TestTermiosRoundTrip(t *testing.T) {
	for i, s := range []ioctl.Settings{
		{Baud: ioctl.BaudRate{BaudRate: 9600}, Line: ioctl.LineControl{WordLength: 8},
			HandFlow: ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.RTSControl}, Chars: ioctl.Chars{XonChar: 0x11, XoffChar: 0x13}},
		{Baud: ioctl.BaudRate{BaudRate: 250000}, Line: ioctl.LineControl{WordLength: 7, Parity: ioctl.EvenParity, StopBits: ioctl.StopBits2},
			HandFlow: ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.CTSHandshake | ioctl.DSRSensitivity, FlowReplace: ioctl.RTSHandshake | ioctl.AutoTransmit | ioctl.AutoReceive | ioctl.NullStripping, XonLimit: 10, XoffLimit: 20},
			Chars:    ioctl.Chars{EofChar: 1, ErrorChar: 2, BreakChar: 3, EventChar: 4, XonChar: 5, XoffChar: 6}},
		{Baud: ioctl.BaudRate{BaudRate: 110}, Line: ioctl.LineControl{WordLength: 5, Parity: ioctl.MarkParity, StopBits: ioctl.StopBits1_5},
			HandFlow: ioctl.HandFlow{ControlHandShake: ioctl.DTRControl | ioctl.ErrorAbort, FlowReplace: ioctl.RTSControl | ioctl.AutoReceive | ioctl.XoffContinue}},
	} {
		tio := busyTermios()
		ioctl.ToTermios(s, tio)
		// Start from settings that differ in everything termios carries.
		other := s
		other.Baud.BaudRate = 1200
		other.Line.StopBits = ioctl.StopBit1
		other.HandFlow.ControlHandShake ^= ioctl.CTSHandshake
		other.HandFlow.FlowReplace ^= ioctl.AutoTransmit
		other.Chars.XonChar, other.Chars.XoffChar = 0xEE, 0xEF
		if got := ioctl.FromTermios(tio, other); got != s {
			t.Errorf("%d: settings -> termios -> settings:\n got %+v\nwant %+v", i, got, s)
		}
		if got := ioctl.LineFromTermios(tio); got != s.Line {
			t.Errorf("%d: LineFromTermios = %s, want %s", i, got, s.Line)
		}

		// And termios -> settings -> termios gives back the same termios.
		again := *tio
		ioctl.ToTermios(ioctl.FromTermios(tio, s), &again)
		if again != *tio {
			t.Errorf("%d: termios -> settings -> termios:\n got %+v\nwant %+v", i, again, *tio)
		}
	}
}

func TestDiff(t *testing.T) {
	old := baseSettings()
	for _, tc := range []struct {
		name  string
		edit  func(*ioctl.Settings)
		codes []ioctl.Code
	}{
		{"nothing", func(*ioctl.Settings) {}, nil},
		{"baud", func(s *ioctl.Settings) { s.Baud.BaudRate = 9600 }, []ioctl.Code{ioctl.SetBaudRate}},
		{"stop bits", func(s *ioctl.Settings) { s.Line.StopBits = ioctl.StopBits2 }, []ioctl.Code{ioctl.SetLineControl}},
		{"xon limit", func(s *ioctl.Settings) { s.HandFlow.XonLimit = 1 }, []ioctl.Code{ioctl.SetHandflow}},
		{"eof char", func(s *ioctl.Settings) { s.Chars.EofChar = 4 }, []ioctl.Code{ioctl.SetChars}},
		{"chars and baud", func(s *ioctl.Settings) {
			s.Chars.XonChar = 'Q'
			s.Baud.BaudRate = 250000
		}, []ioctl.Code{ioctl.SetBaudRate, ioctl.SetChars}},
		{"all four", func(s *ioctl.Settings) {
			s.Chars.XoffChar = 'S'
			s.HandFlow.FlowReplace |= ioctl.AutoTransmit
			s.Line.Parity = ioctl.NoParity
			s.Baud.BaudRate = 300
		}, []ioctl.Code{ioctl.SetBaudRate, ioctl.SetLineControl, ioctl.SetHandflow, ioctl.SetChars}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := old
			tc.edit(&next)
			rs := ioctl.Diff(old, next)
			var codes []ioctl.Code
			for _, r := range rs {
				codes = append(codes, r.Code)
				if err := ioctl.ValidateInput(r.Code, r.Input); err != nil {
					t.Errorf("Diff made a request the device would refuse: %v", err)
				}
			}
			if !reflect.DeepEqual(codes, tc.codes) {
				t.Fatalf("Diff codes = %v, want %v", codes, tc.codes)
			}
			// Playing the requests over old must give next.
			checkDiff(t, old, next)
		})
	}
}
