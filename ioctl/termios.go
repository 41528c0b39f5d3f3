//go:build linux

package ioctl

import "golang.org/x/sys/unix"

// Settings is the part of a port's state that termios can also express:
// what a Linux program changes with tcsetattr and a Windows program with
// SetCommState. Each field is the input of its IOCTL_SERIAL_SET_* request.
type Settings struct {
	Baud     BaudRate
	Line     LineControl
	HandFlow HandFlow
	Chars    Chars
}

// baudTable pairs the Bxxx speed codes with their rates. It is a function
// returning an array, not a package variable, so that nothing can change
// it. B134 is really 134.5 baud, which a whole-number BaudRate cannot say.
func baudTable() [30]struct{ code, rate uint32 } {
	return [30]struct{ code, rate uint32 }{
		{unix.B50, 50}, {unix.B75, 75}, {unix.B110, 110}, {unix.B134, 134},
		{unix.B150, 150}, {unix.B200, 200}, {unix.B300, 300}, {unix.B600, 600},
		{unix.B1200, 1200}, {unix.B1800, 1800}, {unix.B2400, 2400},
		{unix.B4800, 4800}, {unix.B9600, 9600}, {unix.B19200, 19200},
		{unix.B38400, 38400}, {unix.B57600, 57600}, {unix.B115200, 115200},
		{unix.B230400, 230400}, {unix.B460800, 460800}, {unix.B500000, 500000},
		{unix.B576000, 576000}, {unix.B921600, 921600},
		{unix.B1000000, 1000000}, {unix.B1152000, 1152000},
		{unix.B1500000, 1500000}, {unix.B2000000, 2000000},
		{unix.B2500000, 2500000}, {unix.B3000000, 3000000},
		{unix.B3500000, 3500000}, {unix.B4000000, 4000000},
	}
}

// termiosRate is the output rate t asks for, or 0 for B0 (hang up), an
// unknown speed code, or BOTHER with no rate.
func termiosRate(t *unix.Termios) uint32 {
	code := t.Cflag & unix.CBAUD
	if code == unix.BOTHER {
		return t.Ospeed
	}
	for _, e := range baudTable() {
		if e.code == code {
			return e.rate
		}
	}
	return 0
}

// FromTermios translates t into settings, starting from base for what
// termios cannot say.
//
// Word length and parity come from base, not from t: the Linux pty driver
// forces CS8 and clears PARENB on every change, so on a pty those bits
// carry nothing and reading them would turn every configured 7E1 port
// into 8N1. A caller whose tty does carry framing (a real UART) sets Line
// from LineFromTermios instead.
//
// The rate comes from c_ospeed under BOTHER and from the Bxxx code
// otherwise. B0 (hang up), an unknown code and a rate outside 1..MaxBaud
// keep base's rate, so that the result never holds a rate SET_BAUD_RATE
// would refuse; a caller that wants to act on B0 tests CBAUD itself.
//
// Stop bits come from CSTOPB: two, or one and a half with 5 data bits,
// since that is what the 16550's stop-bit flag means at that length.
//
// CRTSCTS is both directions of hardware flow control: output waits for
// CTS (CTSHandshake) and RTS signals room to receive (RTSHandshake);
// without it RTS is simply on. DTR is always on, because termios has no
// DTR flow control and Linux raises DTR when a tty opens at a real rate.
// IXON is AutoTransmit and IXOFF is AutoReceive; the XON and XOFF
// characters are c_cc[VSTART] and c_cc[VSTOP]. Every other handflow bit,
// the XON/XOFF limits, and the other special characters keep base's
// values, as termios has no counterpart for them.
func FromTermios(t *unix.Termios, base Settings) Settings {
	s := base
	if r := termiosRate(t); r != 0 && r <= MaxBaud {
		s.Baud.BaudRate = r
	}
	s.Line.StopBits = stopBits(t, s.Line.WordLength)

	h := &s.HandFlow
	h.ControlHandShake = h.ControlHandShake&^(DTRMask|CTSHandshake) | DTRControl
	h.FlowReplace &^= RTSMask | AutoTransmit | AutoReceive
	if t.Cflag&unix.CRTSCTS != 0 {
		h.ControlHandShake |= CTSHandshake
		h.FlowReplace |= RTSHandshake
	} else {
		h.FlowReplace |= RTSControl
	}
	if t.Iflag&unix.IXON != 0 {
		h.FlowReplace |= AutoTransmit
	}
	if t.Iflag&unix.IXOFF != 0 {
		h.FlowReplace |= AutoReceive
	}

	s.Chars.XonChar = t.Cc[unix.VSTART]
	s.Chars.XoffChar = t.Cc[unix.VSTOP]
	return s
}

// LineFromTermios reads the whole framing from t: word length from CSIZE,
// parity from PARENB, PARODD and CMSPAR (mark with PARODD, space without),
// stop bits from CSTOPB as FromTermios does. It is for ttys that keep
// those bits; a pty does not (see FromTermios).
func LineFromTermios(t *unix.Termios) LineControl {
	var l LineControl
	switch t.Cflag & unix.CSIZE {
	case unix.CS5:
		l.WordLength = 5
	case unix.CS6:
		l.WordLength = 6
	case unix.CS7:
		l.WordLength = 7
	default:
		l.WordLength = 8
	}
	odd := t.Cflag&unix.PARODD != 0
	switch {
	case t.Cflag&unix.PARENB == 0:
		l.Parity = NoParity
	case t.Cflag&unix.CMSPAR != 0 && odd:
		l.Parity = MarkParity
	case t.Cflag&unix.CMSPAR != 0:
		l.Parity = SpaceParity
	case odd:
		l.Parity = OddParity
	default:
		l.Parity = EvenParity
	}
	l.StopBits = stopBits(t, l.WordLength)
	return l
}

func stopBits(t *unix.Termios, wordLength uint8) uint8 {
	switch {
	case t.Cflag&unix.CSTOPB == 0:
		return StopBit1
	case wordLength == 5:
		return StopBits1_5
	default:
		return StopBits2
	}
}

// ToTermios writes s into t, changing only the bits termios shares with
// the settings: the speed, CSTOPB, CSIZE, PARENB, PARODD, CMSPAR,
// CRTSCTS, IXON, IXOFF, c_cc[VSTART] and c_cc[VSTOP]. Modes, the other
// control characters and everything else in t stay as they were, and so
// do the bits of a value that would fail Validate (a zero rate must not
// become B0, which hangs up).
//
// A rate with a Bxxx code is written with it, as the kernel reports
// rates itself, so that programs reading CBAUD through the old TCGETS see
// it; any other rate is BOTHER with c_ospeed. c_ispeed is set too and
// CIBAUD cleared, so the input rate follows the output rate.
//
// CRTSCTS follows CTSHandshake, the output half: termios cannot ask for
// one direction of hardware flow control without the other.
func ToTermios(s Settings, t *unix.Termios) {
	if r := s.Baud.BaudRate; r != 0 && r <= MaxBaud {
		code := uint32(unix.BOTHER)
		for _, e := range baudTable() {
			if e.rate == r {
				code = e.code
				break
			}
		}
		t.Cflag = t.Cflag&^(unix.CBAUD|unix.CIBAUD) | code
		t.Ispeed, t.Ospeed = r, r
	}

	l := s.Line
	if l.Validate() == nil {
		t.Cflag &^= unix.CSIZE | unix.PARENB | unix.PARODD | unix.CMSPAR | unix.CSTOPB
		t.Cflag |= [...]uint32{unix.CS5, unix.CS6, unix.CS7, unix.CS8}[l.WordLength-5]
		t.Cflag |= [...]uint32{
			NoParity:    0,
			OddParity:   unix.PARENB | unix.PARODD,
			EvenParity:  unix.PARENB,
			MarkParity:  unix.PARENB | unix.CMSPAR | unix.PARODD,
			SpaceParity: unix.PARENB | unix.CMSPAR,
		}[l.Parity]
		if l.StopBits != StopBit1 {
			t.Cflag |= unix.CSTOPB
		}
	}

	setIf := func(flags *uint32, bit uint32, on bool) {
		if on {
			*flags |= bit
		} else {
			*flags &^= bit
		}
	}
	h := s.HandFlow
	setIf(&t.Cflag, unix.CRTSCTS, h.ControlHandShake&CTSHandshake != 0)
	setIf(&t.Iflag, unix.IXON, h.FlowReplace&AutoTransmit != 0)
	setIf(&t.Iflag, unix.IXOFF, h.FlowReplace&AutoReceive != 0)

	t.Cc[unix.VSTART] = s.Chars.XonChar
	t.Cc[unix.VSTOP] = s.Chars.XoffChar
}

// Diff returns the requests that take a device from settings from to
// settings to: SET_BAUD_RATE, SET_LINE_CONTROL, SET_HANDFLOW and
// SET_CHARS, in that order, each only if its part changed, so that the
// same change always gives the same trace.
func Diff(from, to Settings) []Request {
	var rs []Request
	if from.Baud != to.Baud {
		rs = append(rs, Request{Code: SetBaudRate, Input: to.Baud})
	}
	if from.Line != to.Line {
		rs = append(rs, Request{Code: SetLineControl, Input: to.Line})
	}
	if from.HandFlow != to.HandFlow {
		rs = append(rs, Request{Code: SetHandflow, Input: to.HandFlow})
	}
	if from.Chars != to.Chars {
		rs = append(rs, Request{Code: SetChars, Input: to.Chars})
	}
	return rs
}
