package driver

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vcomd/vcomd/ioctl"
)

// Major is an IRP's major function code.
type Major uint8

// The major functions a serial driver handles.
const (
	MajorCreate Major = iota
	MajorClose
	MajorCleanup
	MajorRead
	MajorWrite
	MajorDeviceControl
	MajorFlush
)

// String returns the IRP_MJ_ name without its prefix.
func (m Major) String() string {
	switch m {
	case MajorCreate:
		return "CREATE"
	case MajorClose:
		return "CLOSE"
	case MajorCleanup:
		return "CLEANUP"
	case MajorRead:
		return "READ"
	case MajorWrite:
		return "WRITE"
	case MajorDeviceControl:
		return "DEVICE_CONTROL"
	case MajorFlush:
		return "FLUSH_BUFFERS"
	}
	return fmt.Sprintf("MAJOR(%d)", uint8(m))
}

// IRP is one request to a device: the user-space counterpart of an I/O
// request packet. The issuer fills in the request fields, hands it to
// Device.Submit, and waits on Done; the driver owns it (and its Buffer)
// until then. Result accessors are valid once Done is closed.
type IRP struct {
	Major  Major
	Code   ioctl.Code // MajorDeviceControl: which IOCTL_SERIAL_*
	Input  any        // MajorDeviceControl: the IOCTL's input struct, if it has one
	Buffer []byte     // MajorRead: where data goes; MajorWrite: what to send
	Owner  uint64     // who issued it (a file object); MajorCleanup cancels this owner's requests
	// OnComplete, if set, is the request's completion routine
	// (IoSetCompletionRoutine): called once the request completes, if
	// Submit returned StatusPending, on the goroutine that completed it,
	// with no lock held. It must not block: it may run on a goroutine in
	// the middle of an ISR pass. A request Submit completed at once gets
	// no call; Submit's status says how it ended.
	OnComplete func(*IRP)

	// Set by the driver.
	routine     atomic.Uint32 // who calls OnComplete: routineUndecided, ...
	id          uint64
	issued      time.Time
	done        chan struct{}
	status      Status
	information int
	output      any

	// Guarded by the device lock.
	queued   bool               // waiting in one of the device's queues
	onCancel func(*afterUnlock) // takes a current IRP back from the ISR and completes it CANCELLED
}

// The handshake between Submit returning and the request completing, for
// OnComplete: whichever of the two comes second decides.
const (
	routineUndecided uint32 = iota // Submit has not returned
	routineOwed                    // Submit returned StatusPending: the completer calls OnComplete
	routineNotOwed                 // completed before Submit returned: Submit reports it
)

// NewRead returns a read request for up to len(buf) bytes.
func NewRead(buf []byte) *IRP { return &IRP{Major: MajorRead, Buffer: buf} }

// NewWrite returns a write request for data.
func NewWrite(data []byte) *IRP { return &IRP{Major: MajorWrite, Buffer: data} }

// NewIoctl returns a device-control request.
func NewIoctl(code ioctl.Code, input any) *IRP {
	return &IRP{Major: MajorDeviceControl, Code: code, Input: input}
}

// Done is closed when the driver completes the request.
func (irp *IRP) Done() <-chan struct{} { return irp.done }

// Wait blocks until the request completes or ctx ends. It returns the
// request's status, or ctx's error (the request then stays with the driver;
// cancel it with Device.Cancel).
func (irp *IRP) Wait(ctx context.Context) (Status, error) {
	select {
	case <-irp.done:
		return irp.status, nil
	case <-ctx.Done():
		return StatusPending, fmt.Errorf("waiting for %s: %w", irp.Major, ctx.Err())
	}
}

// Status is how the request ended.
func (irp *IRP) Status() Status { return irp.status }

// Information is the number of bytes moved (reads and writes) or the size
// of the output (device control).
func (irp *IRP) Information() int { return irp.information }

// Output is a device-control request's output struct, or nil.
func (irp *IRP) Output() any { return irp.output }

// ID is the sequence number the device gave the request, for traces.
func (irp *IRP) ID() uint64 { return irp.id }

// Data is what a completed read returned or a write sent.
func (irp *IRP) Data() []byte {
	if irp.Major != MajorRead && irp.Major != MajorWrite {
		return nil
	}
	return irp.Buffer[:irp.information]
}

// popFront is q without its first request. The slot is cleared first: a
// queue's array outlives what it held, and a completed request left in it
// would keep its buffer (a 4 KiB write's data) alive until an append
// happened to move the queue.
func popFront(q []*IRP) []*IRP {
	q[0] = nil
	return q[1:]
}
