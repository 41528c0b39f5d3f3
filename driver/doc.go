// Package driver is a serial port driver in the manner of the Windows
// serial driver (Serial.sys), running in user space against an emulated
// 16550A (package uart16550).
//
// Requests arrive as IRPs (Device.Submit). Reads, writes, wait-mask
// requests and purges each have their own queue and one current request, as
// in Serial.sys; every other IOCTL completes at once. The chip is serviced
// by ISR passes, and the ISR never completes a request: it moves bytes
// between the chip's FIFOs and the driver's buffers and queues CustomDpc
// objects (package dpc) that do. A pass runs on the device's interrupt
// goroutine (woken by its timer or a kick), or on the goroutine that
// raised the interrupt (InputHere, SubmitHere), one goroutine at a time;
// the DPCs it queued then run on that same goroutine once the interrupt
// lock is released, as Windows runs a DPC on the processor whose ISR
// queued it.
//
//	Submit(IRP) ─> queue ─> Start routine ─┐         (dispatch, any goroutine)
//	                                       │ hands the request to the ISR
//	                                       v
//	timer / line input / INTR ─> ISR pass:   catch the chip up to now,
//	                             loop on IIR: LSR errors, RX FIFO ->
//	                             typeahead or the read's buffer, TX FIFO <-
//	                             XON/XOFF, immediate char, write data,
//	                             MSR -> holds and events
//	                                       │ KeInsertQueueDpc
//	                                       v
//	DPC drain:     CompleteRead, CompleteWrite, CommWait, Purge, CommError,
//	(same goroutine) and the timer DPCs (read total/interval, write total)
//	                                       │ complete, start next
//	                                       v
//	                      IRP.Done closed, trace event, IRP.OnComplete
//
// Locking: Serial.sys has a device lock (queues, current requests) and an
// interrupt lock (ISR state). In user space there is no interrupt level to
// protect, so one mutex per device, the interrupt lock, guards the chip and
// all driver state; ISR passes, DPC routines and dispatch all take
// it. Completions and trace callbacks run after it is released, never
// under it, so a completion callback may submit the next request. Since
// everything that can finish a request runs under that one lock, the
// first path to reach a current request (ISR-fed DPC, timer, cancel or
// purge) completes it and clears the slot; later paths find it gone. This
// replaces Serial.sys's reference bits (SERIAL_REF_*).
//
// Bulk: at timing off the wire carries what leaves a FIFO at one instant
// as one run of characters (InputChars), the ISR reads the RX FIFO a
// FIFO's worth at a time and writes the TX FIFO the same way, and stores
// runs that need no per-character work with one copy. Every bulk step
// leaves the driver as the byte-wise steps it stands for would; XON/XOFF
// processing, damaged characters and character events go one at a time.
//
// Time: the chip runs in virtual time measured from the device's creation.
// The interrupt goroutine arms a timer only for the chip's next event, so
// an idle port costs nothing; at realistic timing a quantum later (see
// lineQuantum, and streamQuantum while a write streams), servicing the
// interval's interrupts in virtual time. Tests run devices inside
// testing/synctest, where that timer runs on the bubble's fake clock.
package driver
