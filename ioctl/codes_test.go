package ioctl_test

import (
	"strings"
	"testing"

	"github.com/vcomd/vcomd/ioctl"
)

// ctlCode is CTL_CODE from the Windows DDK's devioctl.h, written out here
// rather than taken from the package so that the test checks the package.
func ctlCode(deviceType, function, method, access uint32) uint32 {
	return deviceType<<16 | access<<14 | function<<2 | method
}

const (
	fileDeviceSerialPort = 0x1B
	methodBuffered       = 0
	fileAnyAccess        = 0
)

type ntddserCode struct {
	code ioctl.Code
	name string
	fn   uint32
}

// ntddser lists every IOCTL the package knows with its function number in
// ntddser.h.
func ntddser() []ntddserCode {
	return []ntddserCode{
		{ioctl.SetBaudRate, "IOCTL_SERIAL_SET_BAUD_RATE", 1},
		{ioctl.SetQueueSize, "IOCTL_SERIAL_SET_QUEUE_SIZE", 2},
		{ioctl.SetLineControl, "IOCTL_SERIAL_SET_LINE_CONTROL", 3},
		{ioctl.SetBreakOn, "IOCTL_SERIAL_SET_BREAK_ON", 4},
		{ioctl.SetBreakOff, "IOCTL_SERIAL_SET_BREAK_OFF", 5},
		{ioctl.ImmediateChar, "IOCTL_SERIAL_IMMEDIATE_CHAR", 6},
		{ioctl.SetTimeouts, "IOCTL_SERIAL_SET_TIMEOUTS", 7},
		{ioctl.GetTimeouts, "IOCTL_SERIAL_GET_TIMEOUTS", 8},
		{ioctl.SetDTR, "IOCTL_SERIAL_SET_DTR", 9},
		{ioctl.ClrDTR, "IOCTL_SERIAL_CLR_DTR", 10},
		{ioctl.ResetDevice, "IOCTL_SERIAL_RESET_DEVICE", 11},
		{ioctl.SetRTS, "IOCTL_SERIAL_SET_RTS", 12},
		{ioctl.ClrRTS, "IOCTL_SERIAL_CLR_RTS", 13},
		{ioctl.SetXoff, "IOCTL_SERIAL_SET_XOFF", 14},
		{ioctl.SetXon, "IOCTL_SERIAL_SET_XON", 15},
		{ioctl.GetWaitMask, "IOCTL_SERIAL_GET_WAIT_MASK", 16},
		{ioctl.SetWaitMask, "IOCTL_SERIAL_SET_WAIT_MASK", 17},
		{ioctl.WaitOnMask, "IOCTL_SERIAL_WAIT_ON_MASK", 18},
		{ioctl.Purge, "IOCTL_SERIAL_PURGE", 19},
		{ioctl.GetBaudRate, "IOCTL_SERIAL_GET_BAUD_RATE", 20},
		{ioctl.GetLineControl, "IOCTL_SERIAL_GET_LINE_CONTROL", 21},
		{ioctl.GetChars, "IOCTL_SERIAL_GET_CHARS", 22},
		{ioctl.SetChars, "IOCTL_SERIAL_SET_CHARS", 23},
		{ioctl.GetHandflow, "IOCTL_SERIAL_GET_HANDFLOW", 24},
		{ioctl.SetHandflow, "IOCTL_SERIAL_SET_HANDFLOW", 25},
		{ioctl.GetModemStatus, "IOCTL_SERIAL_GET_MODEMSTATUS", 26},
		{ioctl.GetCommStatus, "IOCTL_SERIAL_GET_COMMSTATUS", 27},
		{ioctl.XoffCounter, "IOCTL_SERIAL_XOFF_COUNTER", 28},
		{ioctl.GetProperties, "IOCTL_SERIAL_GET_PROPERTIES", 29},
		{ioctl.GetDTRRTS, "IOCTL_SERIAL_GET_DTRRTS", 30},
		{ioctl.LSRMSTInsert, "IOCTL_SERIAL_LSRMST_INSERT", 31},
		{ioctl.ConfigSize, "IOCTL_SERIAL_CONFIG_SIZE", 32},
		{ioctl.GetStats, "IOCTL_SERIAL_GET_STATS", 35},
		{ioctl.ClearStats, "IOCTL_SERIAL_CLEAR_STATS", 36},
		{ioctl.GetModemControl, "IOCTL_SERIAL_GET_MODEM_CONTROL", 37},
		{ioctl.SetModemControl, "IOCTL_SERIAL_SET_MODEM_CONTROL", 38},
		{ioctl.SetFIFOControl, "IOCTL_SERIAL_SET_FIFO_CONTROL", 39},
	}
}

func TestCodesMatchWindows(t *testing.T) {
	for _, c := range ntddser() {
		want := ctlCode(fileDeviceSerialPort, c.fn, methodBuffered, fileAnyAccess)
		if uint32(c.code) != want {
			t.Errorf("%s = %#x, want CTL_CODE(0x1B, %d, METHOD_BUFFERED, FILE_ANY_ACCESS) = %#x", c.name, uint32(c.code), c.fn, want)
		}
		if got := c.code.String(); got != c.name {
			t.Errorf("Code(%#x).String() = %q, want %q", uint32(c.code), got, c.name)
		}
	}
	// Values as they appear in Windows traces and headers.
	for code, want := range map[ioctl.Code]uint32{
		ioctl.SetBaudRate: 0x1B0004,
		ioctl.GetBaudRate: 0x1B0050,
		ioctl.WaitOnMask:  0x1B0048,
		ioctl.Purge:       0x1B004C,
		ioctl.SetChars:    0x1B005C,
		ioctl.GetStats:    0x1B008C,
	} {
		if uint32(code) != want {
			t.Errorf("%s = %#x, want %#x", code, uint32(code), want)
		}
	}
}

func TestCodesListIsCompleteUniqueAndOrdered(t *testing.T) {
	codes, table := ioctl.Codes(), ntddser()
	if len(codes) != len(table) {
		t.Fatalf("Codes() has %d codes, the ntddser table %d", len(codes), len(table))
	}
	seen := map[ioctl.Code]bool{}
	names := map[string]bool{}
	for i, c := range codes {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if names[c.String()] {
			t.Errorf("name %s used twice", c)
		}
		names[c.String()] = true
		if c != table[i].code {
			t.Errorf("Codes()[%d] = %s, want %s (function order)", i, c, table[i].name)
		}
	}
}

func TestLookupRoundTrip(t *testing.T) {
	for _, c := range ioctl.Codes() {
		full := c.String()
		short := strings.TrimPrefix(full, "IOCTL_SERIAL_")
		for _, name := range []string{full, short, strings.ToLower(short), strings.ToLower(full), "  " + short + "\t"} {
			got, ok := ioctl.Lookup(name)
			if !ok || got != c {
				t.Errorf("Lookup(%q) = %s, %v; want %s, true", name, got, ok, c)
			}
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"", "IOCTL_SERIAL_", "SET_BAUD", "BAUD_RATE", "IOCTL_SERIAL_GET_COMMCONFIG", "SET BAUD RATE", "IOCTL_DISK_GET_DRIVE_GEOMETRY"} {
		if c, ok := ioctl.Lookup(name); ok {
			t.Errorf("Lookup(%q) = %s, true; want not found", name, c)
		}
	}
}

func TestUnknownCodeString(t *testing.T) {
	for code, want := range map[ioctl.Code]string{
		0x1B0084:   "IOCTL(0x001b0084)", // function 33, GET_COMMCONFIG, not handled
		0:          "IOCTL(0x00000000)",
		0x002D1400: "IOCTL(0x002d1400)",
	} {
		if got := code.String(); got != want {
			t.Errorf("Code(%#x).String() = %q, want %q", uint32(code), got, want)
		}
	}
}

// The "invalid" masks must be exactly the complement of the defined bits,
// or Validate lets an undefined bit through or rejects a defined one.
func TestFlagMasksPartitionTheWord(t *testing.T) {
	control := uint32(ioctl.DTRMask | ioctl.CTSHandshake | ioctl.DSRHandshake | ioctl.DCDHandshake | ioctl.DSRSensitivity | ioctl.ErrorAbort)
	if control&ioctl.ControlInvalid != 0 || control|ioctl.ControlInvalid != ^uint32(0) {
		t.Errorf("ControlHandShake: defined %#x and ControlInvalid %#x do not partition 32 bits", control, uint32(ioctl.ControlInvalid))
	}
	if ioctl.FlowReplaceValid&ioctl.FlowInvalid != 0 || ioctl.FlowReplaceValid|ioctl.FlowInvalid != ^uint32(0) {
		t.Errorf("FlowReplace: FlowReplaceValid %#x and FlowInvalid %#x do not partition 32 bits", uint32(ioctl.FlowReplaceValid), uint32(ioctl.FlowInvalid))
	}
	if ioctl.OutHandshakeAll != 0x38 {
		t.Errorf("OutHandshakeAll = %#x, want SERIAL_OUT_HANDSHAKEMASK 0x38", ioctl.OutHandshakeAll)
	}
}

func TestFlagStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{ioctl.EvRxChar.String(), "RXCHAR"},
		{(ioctl.EvRxChar | ioctl.EvCTS).String(), "RXCHAR|CTS"},
		{ioctl.EvAll.String(), "RXCHAR|RXFLAG|TXEMPTY|CTS|DSR|RLSD|BREAK|ERR|RING|PERR|RX80FULL|EVENT1|EVENT2"},
		{ioctl.WaitMask(0).String(), "0"},
		{(ioctl.EvEvent2 | 0x8000).String(), "EVENT2|0x8000"},
		{(ioctl.PurgeTxAbort | ioctl.PurgeTxClear).String(), "TXABORT|TXCLEAR"},
		{ioctl.ErrorString(ioctl.ErrFraming | ioctl.ErrParity), "FRAMING|PARITY"},
		{ioctl.HoldString(ioctl.TxWaitingForXon | ioctl.RxWaitingForDSR), "XON|RX_DSR"},
		{ioctl.LineControl{WordLength: 8}.String(), "8N1"},
		{ioctl.LineControl{WordLength: 7, Parity: ioctl.EvenParity, StopBits: ioctl.StopBits2}.String(), "7E2"},
		{ioctl.LineControl{WordLength: 5, Parity: ioctl.SpaceParity, StopBits: ioctl.StopBits1_5}.String(), "5S1.5"},
		{ioctl.LineControl{WordLength: 8, Parity: 9, StopBits: 7}.String(), "8??"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestParseWaitMask(t *testing.T) {
	for _, m := range []ioctl.WaitMask{0, ioctl.EvRxChar, ioctl.EvRxChar | ioctl.EvCTS, ioctl.EvAll} {
		got, err := ioctl.ParseWaitMask(m.String())
		if m == 0 {
			// "0" is how String shows an empty mask but not a flag name.
			got, err = ioctl.ParseWaitMask("")
		}
		if err != nil || got != m {
			t.Errorf("ParseWaitMask(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	if got, err := ioctl.ParseWaitMask("rxchar, cts"); err != nil || got != ioctl.EvRxChar|ioctl.EvCTS {
		t.Errorf(`ParseWaitMask("rxchar, cts") = %v, %v`, got, err)
	}
	_, err := ioctl.ParseWaitMask("RXCHAR|BOGUS")
	if err == nil || !strings.Contains(err.Error(), `"BOGUS"`) {
		t.Errorf("ParseWaitMask with an unknown flag: err = %v, want one naming BOGUS", err)
	}
}
