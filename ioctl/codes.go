// Package ioctl holds the serial IOCTLs of Windows' ntddser.h: their codes
// and names, the structs they carry, the flag bits inside those structs,
// and the checks that reject impossible values.
//
// The codes are the real ones (CTL_CODE(FILE_DEVICE_SERIAL_PORT, function,
// METHOD_BUFFERED, FILE_ANY_ACCESS) = 0x001B0000 | function<<2), so a trace
// reads like Portmon's. Struct and field names follow ntddser.h in Go
// spelling; the flag constants keep their SERIAL_ names' meaning.
package ioctl

import (
	"fmt"
	"strings"
)

// Code is an IOCTL_SERIAL_* control code.
type Code uint32

// serialCode builds CTL_CODE(FILE_DEVICE_SERIAL_PORT, fn, METHOD_BUFFERED, FILE_ANY_ACCESS).
func serialCode(fn uint32) Code { return Code(0x1B<<16 | fn<<2) }

// The serial IOCTLs a Windows serial driver handles: 0x001B0000 | function<<2.
const (
	SetBaudRate     Code = 0x1B0000 | 1<<2
	SetQueueSize    Code = 0x1B0000 | 2<<2
	SetLineControl  Code = 0x1B0000 | 3<<2
	SetBreakOn      Code = 0x1B0000 | 4<<2
	SetBreakOff     Code = 0x1B0000 | 5<<2
	ImmediateChar   Code = 0x1B0000 | 6<<2
	SetTimeouts     Code = 0x1B0000 | 7<<2
	GetTimeouts     Code = 0x1B0000 | 8<<2
	SetDTR          Code = 0x1B0000 | 9<<2
	ClrDTR          Code = 0x1B0000 | 10<<2
	ResetDevice     Code = 0x1B0000 | 11<<2
	SetRTS          Code = 0x1B0000 | 12<<2
	ClrRTS          Code = 0x1B0000 | 13<<2
	SetXoff         Code = 0x1B0000 | 14<<2
	SetXon          Code = 0x1B0000 | 15<<2
	GetWaitMask     Code = 0x1B0000 | 16<<2
	SetWaitMask     Code = 0x1B0000 | 17<<2
	WaitOnMask      Code = 0x1B0000 | 18<<2
	Purge           Code = 0x1B0000 | 19<<2
	GetBaudRate     Code = 0x1B0000 | 20<<2
	GetLineControl  Code = 0x1B0000 | 21<<2
	GetChars        Code = 0x1B0000 | 22<<2
	SetChars        Code = 0x1B0000 | 23<<2
	GetHandflow     Code = 0x1B0000 | 24<<2
	SetHandflow     Code = 0x1B0000 | 25<<2
	GetModemStatus  Code = 0x1B0000 | 26<<2
	GetCommStatus   Code = 0x1B0000 | 27<<2
	XoffCounter     Code = 0x1B0000 | 28<<2
	GetProperties   Code = 0x1B0000 | 29<<2
	GetDTRRTS       Code = 0x1B0000 | 30<<2
	LSRMSTInsert    Code = 0x1B0000 | 31<<2
	ConfigSize      Code = 0x1B0000 | 32<<2
	GetStats        Code = 0x1B0000 | 35<<2
	ClearStats      Code = 0x1B0000 | 36<<2
	GetModemControl Code = 0x1B0000 | 37<<2
	SetModemControl Code = 0x1B0000 | 38<<2
	SetFIFOControl  Code = 0x1B0000 | 39<<2
)

// Codes lists every code this package knows, in function order.
func Codes() []Code {
	return []Code{
		SetBaudRate,
		SetQueueSize,
		SetLineControl,
		SetBreakOn,
		SetBreakOff,
		ImmediateChar,
		SetTimeouts,
		GetTimeouts,
		SetDTR,
		ClrDTR,
		ResetDevice,
		SetRTS,
		ClrRTS,
		SetXoff,
		SetXon,
		GetWaitMask,
		SetWaitMask,
		WaitOnMask,
		Purge,
		GetBaudRate,
		GetLineControl,
		GetChars,
		SetChars,
		GetHandflow,
		SetHandflow,
		GetModemStatus,
		GetCommStatus,
		XoffCounter,
		GetProperties,
		GetDTRRTS,
		LSRMSTInsert,
		ConfigSize,
		GetStats,
		ClearStats,
		GetModemControl,
		SetModemControl,
		SetFIFOControl,
	}
}

// name is the IOCTL_SERIAL_ name of a known code.
func (c Code) name() string {
	switch c {
	case SetBaudRate:
		return "SET_BAUD_RATE"
	case SetQueueSize:
		return "SET_QUEUE_SIZE"
	case SetLineControl:
		return "SET_LINE_CONTROL"
	case SetBreakOn:
		return "SET_BREAK_ON"
	case SetBreakOff:
		return "SET_BREAK_OFF"
	case ImmediateChar:
		return "IMMEDIATE_CHAR"
	case SetTimeouts:
		return "SET_TIMEOUTS"
	case GetTimeouts:
		return "GET_TIMEOUTS"
	case SetDTR:
		return "SET_DTR"
	case ClrDTR:
		return "CLR_DTR"
	case ResetDevice:
		return "RESET_DEVICE"
	case SetRTS:
		return "SET_RTS"
	case ClrRTS:
		return "CLR_RTS"
	case SetXoff:
		return "SET_XOFF"
	case SetXon:
		return "SET_XON"
	case GetWaitMask:
		return "GET_WAIT_MASK"
	case SetWaitMask:
		return "SET_WAIT_MASK"
	case WaitOnMask:
		return "WAIT_ON_MASK"
	case Purge:
		return "PURGE"
	case GetBaudRate:
		return "GET_BAUD_RATE"
	case GetLineControl:
		return "GET_LINE_CONTROL"
	case GetChars:
		return "GET_CHARS"
	case SetChars:
		return "SET_CHARS"
	case GetHandflow:
		return "GET_HANDFLOW"
	case SetHandflow:
		return "SET_HANDFLOW"
	case GetModemStatus:
		return "GET_MODEMSTATUS"
	case GetCommStatus:
		return "GET_COMMSTATUS"
	case XoffCounter:
		return "XOFF_COUNTER"
	case GetProperties:
		return "GET_PROPERTIES"
	case GetDTRRTS:
		return "GET_DTRRTS"
	case LSRMSTInsert:
		return "LSRMST_INSERT"
	case ConfigSize:
		return "CONFIG_SIZE"
	case GetStats:
		return "GET_STATS"
	case ClearStats:
		return "CLEAR_STATS"
	case GetModemControl:
		return "GET_MODEM_CONTROL"
	case SetModemControl:
		return "SET_MODEM_CONTROL"
	case SetFIFOControl:
		return "SET_FIFO_CONTROL"
	}
	return c.vcomName()
}

// String returns the code's IOCTL_SERIAL_ name (IOCTL_VCOM_ for vcomd's
// own), or the number in hex.
func (c Code) String() string {
	if n := c.vcomName(); n != "" {
		return "IOCTL_" + n
	}
	if n := c.name(); n != "" {
		return "IOCTL_SERIAL_" + n
	}
	return fmt.Sprintf("IOCTL(%#08x)", uint32(c))
}

// Lookup finds a code by name: "IOCTL_SERIAL_SET_BAUD_RATE",
// "SET_BAUD_RATE" and "set_baud_rate" all name the same code, as
// "IOCTL_VCOM_INJECT" and "VCOM_INJECT" name one of vcomd's own.
func Lookup(name string) (Code, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "IOCTL_VCOM_") {
		n = strings.TrimPrefix(n, "IOCTL_SERIAL_")
	}
	n = strings.TrimPrefix(n, "IOCTL_")
	for _, c := range append(Codes(), VcomCodes()...) {
		if c.name() == n {
			return c, true
		}
	}
	return 0, false
}
