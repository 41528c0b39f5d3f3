package driver

import "fmt"

// Status is how a request ended, with the NTSTATUS values a Windows serial
// driver completes its IRPs with, so traces read like Portmon's.
type Status uint32

// The statuses a serial driver uses.
const (
	StatusSuccess              Status = 0x00000000
	StatusPending              Status = 0x00000103
	StatusTimeout              Status = 0x00000102
	StatusSerialMoreWrites     Status = 0x40000008
	StatusSerialCounterTimeout Status = 0x4000000C
	StatusInvalidParameter     Status = 0xC000000D
	StatusInvalidDeviceRequest Status = 0xC0000010
	StatusBufferTooSmall       Status = 0xC0000023
	StatusInsufficientRes      Status = 0xC000009A
	StatusCancelled            Status = 0xC0000120
	StatusDeviceRemoved        Status = 0xC00002B6
)

// String returns the NTSTATUS name without its STATUS_ prefix.
func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "SUCCESS"
	case StatusPending:
		return "PENDING"
	case StatusTimeout:
		return "TIMEOUT"
	case StatusSerialMoreWrites:
		return "SERIAL_MORE_WRITES"
	case StatusSerialCounterTimeout:
		return "SERIAL_COUNTER_TIMEOUT"
	case StatusInvalidParameter:
		return "INVALID_PARAMETER"
	case StatusInvalidDeviceRequest:
		return "INVALID_DEVICE_REQUEST"
	case StatusBufferTooSmall:
		return "BUFFER_TOO_SMALL"
	case StatusInsufficientRes:
		return "INSUFFICIENT_RESOURCES"
	case StatusCancelled:
		return "CANCELLED"
	case StatusDeviceRemoved:
		return "DEVICE_REMOVED"
	}
	return fmt.Sprintf("STATUS(%#08x)", uint32(s))
}

// Error reports a failure status as an error, so callers can wrap it.
func (s Status) Error() string { return s.String() }

// OK reports whether the status is a success (NT_SUCCESS: severity bits 0 or 1).
func (s Status) OK() bool { return s < 0x80000000 }
