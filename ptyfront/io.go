package ptyfront

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
)

// fromMaster reads what the program did on the slave, in order: data to
// send, flushes, flow stops and starts, termios changes. Of data it keeps
// at most two writes with the driver: it reads the next chunk while the
// UART sends the last, so the line never idles waiting for it, and reads
// no further until that write has completed. A program's writes then block
// at the line's pace once the pty's own buffer is full, as on a real port.
func (p *Port) fromMaster() {
	defer p.wg.Done()
	defer p.waitWrite()
	bufs := [2][]byte{make([]byte, 1+64<<10), make([]byte, 1+64<<10)}
	for i := 0; ; i ^= 1 {
		buf := bufs[i]
		n, err := p.master.Read(buf[:1+p.chunk()])
		if errors.Is(err, os.ErrDeadlineExceeded) && p.ctx.Err() == nil {
			p.serveDrain(buf)
			continue
		}
		if err != nil {
			if p.ctx.Err() == nil {
				p.log.Error().Err(err).Str("pty", p.path).Msg("reading the pty master")
			}
			return
		}
		if n > 1 && buf[0] == unix.TIOCPKT_DATA && p.dev.Instant() {
			var next []byte
			n, next = p.gather(buf, n)
			p.packet(buf[:n])
			p.packet(next)
			continue
		}
		p.packet(buf[:n])
	}
}

// gather adds to the data packet in buf[:n] what else the master holds
// now, up to a chunk, without waiting for more: at timing off a chunk
// costs a write request and its completion whatever its size, and the pty
// gives at most 4 KiB a read. It returns the packet's new length and,
// when it met a packet other than data, that packet (in buf, after the
// data), which comes after the data.
func (p *Port) gather(buf []byte, n int) (int, []byte) {
	rc, err := p.master.SyscallConn()
	if err != nil {
		return n, nil
	}
	limit := 1 + p.chunk()
	for limit-n > 1 {
		var m int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			m, rerr = unix.Read(int(fd), buf[n:limit])
			return true // what is there now, or nothing
		})
		if err != nil || rerr != nil || m <= 1 {
			return n, nil
		}
		if buf[n] != unix.TIOCPKT_DATA {
			return n, buf[n : n+m]
		}
		n += copy(buf[n:], buf[n+1:n+m]) // drop the packet's status byte
	}
	return n, nil
}

// chunk is how much to take from the pty at once: about 100 ms of the
// line's time (1 KiB at 115200 baud; the Linux serial core's transmit
// buffer holds 4 KiB), so a program's writes return about as early as on
// a real port. Smaller chunks cost line time: between two writes the
// UART can run dry while the completion DPC starts the next. At timing
// off the line takes no time, and each chunk costs a write request and
// its rounds through the UART, so take all there is.
func (p *Port) chunk() int {
	if p.dev.Instant() {
		return 64 << 10
	}
	return min(64<<10, max(64, int(p.settings.Baud.BaudRate)/100))
}

// packet handles one read of the master: a status byte, then data when
// the status is zero.
func (p *Port) packet(b []byte) {
	if len(b) == 0 {
		return
	}
	st, data := b[0], b[1:]
	if st == unix.TIOCPKT_DATA {
		if len(data) > 0 {
			p.settle()
			p.lastWrite, p.prevWrite = driver.NewWrite(data), p.lastWrite
			p.dev.Submit(p.lastWrite)
			p.waitPrev()
		}
		return
	}
	p.progress.update(func(n *counts) { n.statusRead++ })
	defer p.statusDone()
	if st&unix.TIOCPKT_FLUSHREAD != 0 {
		if p.selfFlush.Load() > 0 {
			// Our own flush at the last close, reported late: the
			// next session's data may already be in the driver.
			p.selfFlush.Add(-1)
		} else {
			// The kernel emptied the slave's input; empty the
			// driver's too.
			p.purge(ioctl.PurgeRxAbort | ioctl.PurgeRxClear)
		}
	}
	if st&unix.TIOCPKT_FLUSHWRITE != 0 {
		p.purge(ioctl.PurgeTxAbort | ioctl.PurgeTxClear)
	}
	// A pty's tcdrain does not wait for this port's UART, so a program that
	// drains before changing speed or flow relies on this wait to have its
	// data sent with the old settings, as a real port would. The peer
	// need not wait for that: its data is not ordered behind ours.
	if p.lastWrite != nil {
		p.statusDone()
	}
	p.waitWrite()
	if st&unix.TIOCPKT_STOP != 0 {
		p.report(p.ioctl(ioctl.SetXoff, nil), "tcflow(TCOOFF)")
	}
	if st&unix.TIOCPKT_START != 0 {
		p.report(p.ioctl(ioctl.SetXon, nil), "tcflow(TCOON)")
	}
	if st&unix.TIOCPKT_IOCTL != 0 {
		p.report(p.applyTermios(), "termios")
	}
}

// statusDone records that the reader has acted on every packet it took.
func (p *Port) statusDone() {
	p.progress.update(func(n *counts) { n.statusDone = n.statusRead })
}

// waitPrev waits for the write before the last one, freeing its buffer for
// the next read.
func (p *Port) waitPrev() {
	if p.prevWrite != nil {
		p.waitIRP(p.prevWrite)
		p.prevWrite = nil
	}
}

// waitWrite waits for every write this goroutine has issued.
func (p *Port) waitWrite() {
	p.waitPrev()
	if p.lastWrite != nil {
		p.waitIRP(p.lastWrite)
		p.lastWrite = nil
	}
}

func (p *Port) waitIRP(irp *driver.IRP) {
	if _, err := irp.Wait(p.ctx); err != nil {
		p.dev.Cancel(irp)
		<-irp.Done()
	}
}

func (p *Port) purge(m ioctl.PurgeMask) { p.report(p.ioctl(ioctl.Purge, m), "purge") }

func (p *Port) report(err error, what string) {
	if err != nil && p.ctx.Err() == nil {
		p.log.Warn().Err(err).Str("pty", p.path).Msgf("applying %s", what)
	}
}

// applyTermios reads the slave's termios and sends the device the IOCTLs
// for what changed. A program that clears EXTPROC gets it back, or the
// next change would go unseen.
func (p *Port) applyTermios() error {
	var t *unix.Termios
	var err error
	cerr := control(p.master, func(fd int) {
		if t, err = unix.IoctlGetTermios(fd, unix.TCGETS2); err != nil {
			return
		}
		if t.Lflag&unix.EXTPROC == 0 {
			t.Lflag |= unix.EXTPROC
			err = unix.IoctlSetTermios(fd, unix.TCSETS2, t)
		}
	})
	if err = errors.Join(cerr, err); err != nil {
		return fmt.Errorf("reading termios of %s: %w", p.path, err)
	}
	// Data bits and parity are the device's, not the pty's, and the
	// control API may have changed them since: start from what the
	// device has, or this change would put the old framing back.
	ctx := p.ctx
	if ctx == nil {
		ctx = context.Background() // setup, before the port serves
	}
	lc := driver.NewIoctl(ioctl.GetLineControl, nil)
	if _, err := p.dev.Call(ctx, lc); err != nil {
		return fmt.Errorf("reading line control of %s: %w", p.path, err)
	}
	p.settings.Line = lc.Output().(ioctl.LineControl)
	next := ioctl.FromTermios(t, p.settings)
	// B0 means hang up: drop DTR, as the serial core does, and keep the
	// last real rate.
	hangUp := t.Cflag&unix.CBAUD == unix.B0
	if hangUp {
		next.Baud = p.settings.Baud
	}
	var errs []error
	for _, r := range ioctl.Diff(p.settings, next) {
		if err := p.ioctl(r.Code, r.Input); err != nil {
			errs = append(errs, err)
		}
	}
	if hangUp != p.hungUp {
		code := ioctl.SetDTR
		if hangUp {
			code = ioctl.ClrDTR
		}
		errs = append(errs, p.ioctl(code, nil))
		p.hungUp = hangUp
	}
	p.settings = next
	return errors.Join(errs...)
}

// serveDrain answers a session's request to take everything the program
// wrote before it closed the slave: read the master until it is empty.
func (p *Port) serveDrain(buf []byte) {
	_ = p.master.SetReadDeadline(time.Time{})
	var reply chan struct{}
	select {
	case reply = <-p.drain:
	default:
		return // a stale deadline
	}
	defer close(reply)
	for p.ctx.Err() == nil {
		var n int
		if cerr := control(p.master, func(fd int) { n, _ = unix.IoctlGetInt(fd, unix.TIOCINQ) }); cerr != nil || n <= 0 {
			return
		}
		m, err := p.master.Read(buf[:1+p.chunk()])
		if err != nil {
			return
		}
		p.packet(buf[:m])
	}
}

// sessions follows the slave's opens and closes: the first open of the
// slave is IRP_MJ_CREATE (DTR and RTS go up), the last close lets written
// data go out and then cleans up and closes (DTR and RTS drop). Between
// the two, a pump keeps a read pending and copies what arrives into the
// master.
func (p *Port) sessions() {
	defer p.wg.Done()
	var owner uint64
	var stopPump func()
	for {
		select {
		case <-p.ctx.Done():
			if stopPump != nil {
				stopPump()
			}
			return
		case <-p.changed:
		}
		seen, _ := p.progress.snapshot()
		open := p.opens.Load() > 0
		switch {
		case open && stopPump == nil:
			owner++
			stopPump = p.openSession(owner)
			p.setState(true)
		case !open && stopPump != nil:
			p.setState(false)
			p.progress.update(func(n *counts) { n.closing = true })
			p.closeSession(owner, stopPump)
			stopPump = nil
		}
		p.progress.update(func(n *counts) { n.sessions, n.closing = seen.events, false })
	}
}

func (p *Port) openSession(owner uint64) (stop func()) {
	p.report(p.call(&driver.IRP{Major: driver.MajorCreate, Owner: owner}), "open")
	p.report(p.ioctl(ioctl.SetTimeouts, frontTimeouts), "timeouts")
	ctx, cancel := context.WithCancel(p.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.toMaster(ctx, owner)
	}()
	return func() {
		cancel()
		// A write into a full pty is parked in the poller: wake it.
		_ = p.master.SetWriteDeadline(time.Now())
		<-done
		_ = p.master.SetWriteDeadline(time.Time{})
	}
}

// closeSession is the last close: as the serial core's close, wait (up to
// the closing wait) for what the program wrote to be sent, then drop what
// was received and not read, and lower DTR and RTS.
func (p *Port) closeSession(owner uint64, stopPump func()) {
	ctx, cancel := context.WithTimeout(p.ctx, p.opts.ClosingWait)
	defer cancel()
	reply := make(chan struct{})
	p.drain <- reply // buffered, and only this goroutine sends
	_ = p.master.SetReadDeadline(time.Now())
	select {
	case <-reply:
	case <-ctx.Done():
		// Take the request back if the reader never saw it.
		select {
		case <-p.drain:
		default:
		}
	}
	flush := &driver.IRP{Major: driver.MajorFlush, Owner: owner}
	if _, err := p.dev.Call(ctx, flush); err != nil && p.ctx.Err() == nil {
		p.log.Info().Str("pty", p.path).Msg("closing wait over: output discarded")
		p.purge(ioctl.PurgeTxAbort | ioctl.PurgeTxClear)
	}
	p.report(p.call(&driver.IRP{Major: driver.MajorCleanup, Owner: owner}), "cleanup")
	stopPump()
	p.report(p.call(&driver.IRP{Major: driver.MajorClose, Owner: owner}), "close")
	// Whatever the next program finds must come after its open.
	// The kernel reports this flush to the master like a program's.
	p.selfFlush.Add(1)
	_ = control(p.slave, func(fd int) {
		if unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH) != nil {
			p.selfFlush.Add(-1)
		}
	})
	// go.bug.st/serial and others set TIOCEXCL; it outlives their close
	// because this port holds the slave open, and would lock everyone else
	// out.
	_ = control(p.slave, func(fd int) { _ = unix.IoctlSetInt(fd, unix.TIOCNXCL, 0) })
}

// toMaster keeps a read request pending and writes what it returns into
// the master. When the program does not read, the master write waits, no
// read is pending, and the device's typeahead fills as a real driver's
// does: flow control holds the peer back, or the excess is counted lost.
// A read returns at its first byte and leaves what came with it in the
// typeahead; reads of that complete at once, and the master gets all of it
// in one write.
func (p *Port) toMaster(ctx context.Context, owner uint64) {
	buf := make([]byte, 64<<10)
	for ctx.Err() == nil {
		n, _ := p.read(ctx, buf, owner, nil)
		for n < len(buf) && ctx.Err() == nil {
			q := p.dev.Queued()
			if q == 0 {
				break
			}
			// This read completes at once, unless a purge emptied the
			// typeahead since: then what came before goes to the pty
			// while it waits.
			wrote := false
			m, err := p.read(ctx, buf[n:n+min(q, len(buf)-n)], owner, func() error {
				wrote = true
				_, err := p.master.Write(buf[:n])
				return err
			})
			if err != nil {
				return
			}
			if wrote {
				n = copy(buf, buf[n:n+m])
			} else {
				n += m
			}
		}
		if n > 0 {
			if _, err := p.master.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

// read reads into buf and reports how many bytes it got. If the request
// has to wait and waiting is not nil, waiting runs first; its error
// cancels the request.
func (p *Port) read(ctx context.Context, buf []byte, owner uint64, waiting func() error) (int, error) {
	r := driver.NewRead(buf)
	r.Owner = owner
	if p.dev.Submit(r) == driver.StatusPending && waiting != nil {
		if err := waiting(); err != nil {
			p.dev.Cancel(r)
			<-r.Done()
			return 0, err
		}
	}
	select {
	case <-r.Done():
	case <-ctx.Done():
		p.dev.Cancel(r)
		<-r.Done()
	}
	return len(r.Data()), nil
}
