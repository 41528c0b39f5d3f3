package ptyfront

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/internal/rawio"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/session"
)

// fromMaster reads what the program did on the slave, in order: data to
// send, flushes, flow stops and starts, termios changes. It takes data as
// soon as the program writes it and hands it to the driver at once; how
// far the program may write ahead of the line is set by pausing the
// slave's output (see pace), as the serial core's transmit buffer does,
// and never by leaving data in the pty, where a flush or a flow stop of
// the program's would wait behind it.
func (p *Port) fromMaster() {
	defer p.wg.Done()
	defer p.waitWrite()
	var buf []byte
	for {
		instant := p.dev.Instant()
		buf = readBuf(buf, instant)
		n, err := p.rwait.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) && p.ctx.Err() == nil {
			// A wake-up: a last close wants the pty drained, or the
			// output queue has drained enough to let the program write.
			_ = p.rwait.SetDeadline(time.Time{})
			p.serveDrain(buf)
			p.pace()
			continue
		}
		if err != nil {
			if p.ctx.Err() == nil {
				p.log.Error().Err(err).Str("pty", p.path).Msg("reading the pty master")
			}
			return
		}
		if n >= ptyReadSize && buf[0] == unix.TIOCPKT_DATA && instant {
			var next []byte
			n, next = p.gather(buf, n)
			p.data(buf[1:n], len(next) > 0)
			p.packet(next)
		} else {
			p.packet(buf[:n])
		}
		p.pace()
	}
}

// readSize is the most the reader takes from the master at once, after
// the packet's status byte: at timing off it gathers that much into one
// write request (see gather). Otherwise one read is all it takes, and the
// pty gives at most ptyReadSize.
const (
	readSize    = 64 << 10
	ptyReadSize = 4 << 10
)

// readBuf returns a buffer of the reader's size for timing off (instant)
// or realistic timing, buf itself when it has that size.
func readBuf(buf []byte, instant bool) []byte {
	size := 1 + ptyReadSize
	if instant {
		size = 1 + readSize
	}
	if len(buf) != size {
		buf = make([]byte, size)
	}
	return buf
}

// gather adds to the data packet in buf[:n] what else the master holds
// now, up to a chunk, without waiting for more: at timing off a chunk
// costs a write request and its completion whatever its size, and the pty
// gives at most 4 KiB a read, its status byte included (4 095 bytes of
// data; a read that data outran while it copied may take more). The
// reader gathers only after a read that took those 4 KiB: a shorter one
// emptied the master, and a second look would cost a small write (a
// keystroke, a round trip's byte) a system call for nothing. It returns the packet's new length and,
// when it met a packet other than data, that packet (in buf, after the
// data), which comes after the data.
func (p *Port) gather(buf []byte, n int) (int, []byte) {
	limit := len(buf)
	for limit-n > 1 {
		m, err := p.readNow(buf[n:limit])
		if err != nil || m <= 1 {
			return n, nil
		}
		if buf[n] != unix.TIOCPKT_DATA {
			return n, buf[n : n+m]
		}
		n += copy(buf[n:], buf[n+1:n+m]) // drop the packet's status byte
	}
	return n, nil
}

// readNow reads what the master holds now, without waiting (it is
// non-blocking): unix.EAGAIN when it holds nothing.
func (p *Port) readNow(b []byte) (int, error) {
	var n int
	var rerr error
	err := p.mraw.Read(func(fd uintptr) bool {
		n, rerr = rawio.Read(int(fd), b)
		return true
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// packet handles one read of the master: a status byte, then data when
// the status is zero.
func (p *Port) packet(b []byte) {
	if len(b) == 0 {
		return
	}
	st := b[0]
	if st == unix.TIOCPKT_DATA {
		p.data(b[1:], false)
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
		// The kernel emptied the pty; what the driver holds goes too,
		// the UART's FIFO with it: only the character in the shift
		// register still leaves.
		p.purge(ioctl.PurgeTxAbort | ioctl.PurgeTxClear)
		p.reap()
	}
	p.flow(st & (unix.TIOCPKT_STOP | unix.TIOCPKT_START))
	if st&unix.TIOCPKT_IOCTL == 0 {
		return
	}
	// A pty's tcdrain does not wait for this port's UART, so a program that
	// drains before changing speed or flow relies on this wait to have its
	// data sent with the old settings, as a real port would. The peer
	// need not wait for that: its data is not ordered behind ours.
	if len(p.tx.writes) > 0 {
		p.statusDone()
	}
	p.waitWrite()
	p.report(p.applyTermios(), "termios")
}

// data hands the driver what the program wrote, after stopping the
// slave's output if it fills the transmit buffer (see holdAhead); later
// says a packet read along with it comes after it.
func (p *Port) data(b []byte, later bool) {
	if len(b) == 0 {
		return
	}
	// Settled first: our own stop, left on the master as a packet, would
	// make a peer that settles on us wait for our reader, which would be
	// waiting for it.
	p.settle()
	p.holdAhead(len(b), later)
	w := driver.NewWrite(p.writeData(b))
	p.dev.SubmitHere(w)
	p.tx.writes = append(p.tx.writes, w)
	p.reap()
}

// statusDone records that the reader has acted on every packet it took.
func (p *Port) statusDone() {
	p.progress.update(func(n *counts) { n.statusDone = n.statusRead })
}

// waitWrite waits for every write the reader has handed the driver.
func (p *Port) waitWrite() {
	for _, w := range p.tx.writes {
		p.waitIRP(w)
	}
	clear(p.tx.writes)
	p.tx.writes = p.tx.writes[:0]
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
	var reply chan struct{}
	select {
	case reply = <-p.drain:
	default:
		return // a wake-up for pace
	}
	defer close(reply)
	for p.ctx.Err() == nil && (p.statusPending() || p.masterQueued() > 0) {
		m, err := p.rwait.Read(buf)
		if err != nil {
			return
		}
		p.packet(buf[:m])
	}
	p.endProgramStop()
}

// masterQueued is how much data the program has written that the master
// has not read yet.
func (p *Port) masterQueued() int {
	n := 0
	if control(p.master, func(fd int) { n, _ = unix.IoctlGetInt(fd, unix.TIOCINQ) }) != nil {
		return 0
	}
	return n
}

// sessions follows the slave's opens and closes: the first open of the
// slave is IRP_MJ_CREATE (DTR and RTS go up), the last close lets written
// data go out and then cleans up and closes (DTR and RTS drop). Between
// the two, the session's pump keeps a read pending and copies what
// arrives into the master.
func (p *Port) sessions() {
	defer p.wg.Done()
	var owner uint64
	var sess *session.Session
	for {
		select {
		case <-p.ctx.Done():
			if sess != nil {
				sess.Stop()
			}
			return
		case <-p.changed:
		}
		seen, _ := p.progress.snapshot()
		open := p.opens.Load() > 0
		switch {
		case open && sess == nil:
			owner++
			sess = session.Open(p.ctx, p.dev, owner, masterOut{p.mraw, p.wwait}, session.Options{
				ClosingWait: p.opts.ClosingWait,
				Logger:      p.log.With().Str("pty", p.path).Logger(),
			})
			p.setState(true)
		case !open && sess != nil:
			p.setState(false)
			p.progress.update(func(n *counts) { n.closing = true })
			p.closeSession(sess)
			sess = nil
		}
		p.progress.update(func(n *counts) { n.sessions, n.closing = seen.events, false })
	}
}

// closeSession is the last close: the master reader first takes what the
// program wrote before it closed, then the session closes with the
// closing wait over both.
func (p *Port) closeSession(sess *session.Session) {
	sess.Close(func(ctx context.Context) {
		reply := make(chan struct{})
		p.drain <- reply // buffered, and only this goroutine sends
		_ = p.rwait.SetDeadline(time.Now())
		select {
		case <-reply:
		case <-ctx.Done():
			// Take the request back if the reader never saw it.
			select {
			case <-p.drain:
			default:
			}
		}
	})
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

// masterOut is the pty master as the session's output, with the write
// that does not wait which lets the session's pump run where its reads
// complete (session.TryWriter). raw is the master's RawConn, taken once:
// SyscallConn makes a new one at each call. A write that waits parks on
// wait.
type masterOut struct {
	raw  syscall.RawConn
	wait *rawio.Waiter
}

// Write writes all of p, waiting while the pty is full.
func (m masterOut) Write(p []byte) (int, error) { return m.wait.Write(p) }

// SetWriteDeadline ends a Write that waits once t has passed.
func (m masterOut) SetWriteDeadline(t time.Time) error { return m.wait.SetDeadline(t) }

// TryWrite writes what the pty takes now; a full pty takes nothing.
func (m masterOut) TryWrite(p []byte) (int, error) {
	return rawio.TryWrite(m.raw, p, "pty master")
}
