package ptyfront

import (
	"bytes"
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/rawio"
	"github.com/vcomd/vcomd/ioctl"
)

// On a real port the serial core keeps a program's written data in a
// 4 KiB transmit buffer: write() blocks once it is full, and poll()
// reports POLLOUT only once fewer than 256 characters (WAKEUP_CHARS) wait,
// so a writer waits for the line, and one whose output flow control holds
// stops after 4 KiB. A pty accepts about 64 KiB ahead of its reader, and
// for it POLLOUT and a write that does not block are one condition: the
// slave has room and its output is not stopped. The front takes what the
// program writes at once and stops the slave's output (TCXONC TCOOFF on
// its own descriptor of the slave, the tcflow(TCOOFF) that stops every
// holder's writes) while the output queue is at its limit:
//
//   - at realistic timing the limit is 256 characters, or writeAhead of
//     the line where that is more, so that the program has time to write
//     again before the line runs dry;
//   - with output flow control holding the transmitter, at most 4 KiB;
//   - at timing off, where only a slow receiver or flow control holds the
//     line, 128 KiB, or 4 KiB while held.
//
// The device says when the queue has drained below half the limit
// (NotifyOutputBelow; see holdWrites), and the reader starts the slave's
// output again.
const (
	wakeupChars = 256     // the serial core's WAKEUP_CHARS
	xmitSize    = 4 << 10 // the serial core's transmit buffer (UART_XMIT_SIZE)
	instantCap  = 128 << 10
)

// writeAhead is how much of the line the front takes ahead of the UART at
// realistic timing, where that is more than 256 characters. A held
// program writes again once half of it is left (holdWrites), which is the
// time it has to do so before the line runs dry: the device's call comes
// up to a stretched quantum late, and then the front and the program must
// both be scheduled. Restarting at the limit itself, in vcombench's soak
// (128 ports streaming on a 2-core machine), 50 ms left the slowest
// direction at 0.985 of the line rate and the median one at 0.997, 200 ms
// at 0.998 and 1.000; 200 ms restarting at half, 0.999 and 1.000. A real
// port's 4 KiB buffer is 355 ms of line at 115200.
const writeAhead = 200 * time.Millisecond

// txState is the front's half of the transmit buffer. Owned by the master
// reader goroutine.
type txState struct {
	writes  []*driver.IRP         // handed to the driver, oldest first
	free    [freeClasses][][]byte // data buffers of completed writes, by freeSize, for the next ones
	stopped bool                  // the slave's output is stopped (TCOOFF in force)
	program bool                  // by the program's own tcflow(TCOOFF)
	// posted is the packet bit (TIOCPKT_STOP or _START) our last TCXONC
	// left for the master, until a read shows it: the program's own
	// tcflow reaches the master as the same bits.
	posted byte
}

// pace stops or starts the slave's output so that the program writes no
// further ahead than the limit, and arms the device's low-water call to
// start it again.
func (p *Port) pace() {
	p.reap()
	for {
		hold, below := p.holdWrites(0)
		if hold == p.tx.stopped {
			if !hold || p.tx.program || p.dev.NotifyOutputBelow(below, p.wake) {
				return
			}
			continue // drained while we looked: start at once
		}
		// A tcflow of the program's waiting on the master goes first,
		// or our TCXONC would hide it.
		if p.statusPending() {
			if !p.takeStatus() {
				return // the port is closing (its reads fail now)
			}
			continue
		}
		if !p.stopSlave(hold) {
			return
		}
	}
}

// holdAhead stops the slave's output before n bytes the reader has
// taken go to the driver, when they bring the queue to its limit. The
// program's write() of them has returned, and on a real port its next
// write() would find the transmit buffer full; had the stop waited for
// pace, after the device has the data, the program could write again in
// between: whoever saw the device take the data (a test, through the
// trace) and then polled found the port writable, and 1 KiB more went
// in. A packet of the program's that comes after the data (still on the
// master, or read along with it: later) leaves the stop to pace, which
// acts on the packet first; the packet must not be acted on before the
// data, nor our TCXONC hide it.
func (p *Port) holdAhead(n int, later bool) {
	if p.tx.stopped || later {
		return
	}
	if hold, _ := p.holdWrites(n); hold && !p.statusPending() {
		p.stopSlave(true)
	}
}

// stopSlave stops or starts the slave's output with TCXONC on the
// front's own descriptor, and reports whether it could.
func (p *Port) stopSlave(stop bool) bool {
	arg, bit := unix.TCOON, byte(unix.TIOCPKT_START)
	if stop {
		arg, bit = unix.TCOOFF, unix.TIOCPKT_STOP
	}
	var err error
	if cerr := control(p.slave, func(fd int) { err = rawio.IoctlInt(fd, unix.TCXONC, arg) }); cerr != nil || err != nil {
		p.report(errors.Join(cerr, err), "TCXONC on the slave")
		return false
	}
	p.tx.stopped, p.tx.posted = stop, bit
	return true
}

// holdWrites reports whether the program's writes must wait once the
// output queue holds pending bytes more than it does now, and if so
// below what output queue they may go on.
//
// Stopped, they go on only below half the limit at realistic timing, as
// a real port's writer is woken only once its transmit buffer is nearly
// empty: restarting as soon as the queue dipped below the limit cost, at
// 4 Mbaud, a stop and a start of the slave (and a wake-up of the reader)
// for every 4 KiB the program wrote, and half the limit is still 100 ms
// of line for the program's next write.
func (p *Port) holdWrites(pending int) (hold bool, below int) {
	if p.tx.program {
		return true, 0
	}
	limit, resume := instantCap, instantCap
	if !p.dev.Instant() {
		// 8N1 is ten bits a character.
		limit = max(wakeupChars, int(time.Duration(p.settings.Baud.BaudRate)/10*writeAhead/time.Second))
		resume = max(wakeupChars, limit/2)
	}
	q := p.dev.OutputQueued() + pending
	if q >= xmitSize && p.dev.OutputHeld() {
		return true, min(resume, xmitSize)
	}
	if p.tx.stopped {
		return q >= resume, resume
	}
	return q >= limit, resume
}

// wake brings the reader out of its read of the master, to pace again;
// the device calls it when the output queue has drained.
func (p *Port) wake() { _ = p.rwait.SetDeadline(time.Now()) }

// takeStatus reads and acts on the packet the program left on the
// master; the pty hands it out alone, ahead of any data. It reports
// whether it read one.
func (p *Port) takeStatus() bool {
	var b [16]byte
	n, err := p.readNow(b[:])
	if err != nil || n == 0 {
		return false
	}
	p.packet(b[:n])
	return true
}

// flow acts on the stop and start bits of a packet: our own TCXONC comes
// back as one; any other is the program's tcflow, which holds or releases
// the UART's transmitter as it does on a real port.
func (p *Port) flow(bit byte) {
	ours := bit != 0 && bit == p.tx.posted
	p.tx.posted = 0 // a read shows every post made before it
	if bit == 0 || ours {
		return
	}
	stop := bit == unix.TIOCPKT_STOP
	p.tx.stopped, p.tx.program = stop, stop
	if stop {
		p.report(p.ioctl(ioctl.SetXoff, nil), "tcflow(TCOOFF)")
	} else {
		p.report(p.ioctl(ioctl.SetXon, nil), "tcflow(TCOON)")
	}
}

// endProgramStop restarts output the last program stopped with tcflow, so
// that the next one starts with it running, as on a freshly opened port.
func (p *Port) endProgramStop() {
	if p.tx.program {
		p.tx.program = false
		p.report(p.ioctl(ioctl.SetXon, nil), "output restart at close")
	}
}

// reap forgets the writes the driver has completed.
func (p *Port) reap() {
	n := 0
	for n < len(p.tx.writes) && isDone(p.tx.writes[n]) {
		// The driver is done with a completed write's data (a trace took
		// its own copy), so the next write can reuse it.
		p.keepFree(p.tx.writes[n].Buffer)
		n++
	}
	rest := copy(p.tx.writes, p.tx.writes[n:])
	clear(p.tx.writes[rest:])
	p.tx.writes = p.tx.writes[:rest]
}

// The front keeps the buffers of completed writes for the next writes, so
// that a port streaming makes no garbage per write, which under load is
// what the daemon's memory grows with. There are two sizes: maxFreeSize,
// what one read of a pty gives, and at timing off readSize, for the data
// the reader gathered past that (4-64 KiB). At realistic timing a port
// streaming has a write on the line and the next queued behind it, so two
// of the first are kept (8 KiB). At timing off the queue of writes grows
// and drains with the far end's reader, up to instantCap, and each write
// it grows by after a drain needs a buffer, so as many of each size as
// fill instantCap are kept: up to 256 KiB for a port that streamed at
// timing off. With two kept there, a stream took new buffers for about two
// fifths of the bytes it moved.
const (
	maxFree     = 2
	maxFreeSize = 4 << 10
)

// freeClasses is how many sizes of buffer writeData uses; freeSize gives
// them, smallest first.
const freeClasses = 2

func freeSize(k int) int {
	if k == 0 {
		return maxFreeSize
	}
	return readSize
}

// keepFree keeps a completed write's buffer for the next writes, if fewer
// of its size than freeLimit are kept.
func (p *Port) keepFree(buf []byte) {
	for k := range freeClasses {
		if cap(buf) == freeSize(k) && len(p.tx.free[k]) < p.freeLimit(k) {
			p.tx.free[k] = append(p.tx.free[k], buf[:0])
		}
	}
}

// freeLimit is how many buffers of freeSize(k) keepFree keeps.
func (p *Port) freeLimit(k int) int {
	if p.dev.Instant() {
		return instantCap / freeSize(k)
	}
	if k == 0 {
		return maxFree
	}
	return 0
}

// writeData is a copy of b for a write request, in a buffer of the
// smallest freeSize that holds it, a kept one when there is one.
func (p *Port) writeData(b []byte) []byte {
	for k := range freeClasses {
		size := freeSize(k)
		if len(b) > size {
			continue
		}
		if free := p.tx.free[k]; len(free) > 0 {
			p.tx.free[k] = free[:len(free)-1]
			return append(free[len(free)-1], b...)
		}
		return append(make([]byte, 0, size), b...)
	}
	return bytes.Clone(b)
}

func isDone(irp *driver.IRP) bool {
	select {
	case <-irp.Done():
		return true
	default:
		return false
	}
}
