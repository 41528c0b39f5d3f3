package rfc2217

import (
	"context"
	"fmt"
	"time"

	"go.bug.st/serial"
)

// modeValues turns mode into SET-BAUDRATE, -DATASIZE, -PARITY and
// -STOPSIZE values, or says what is wrong with it.
func modeValues(mode *serial.Mode) ([4]uint32, error) {
	var v [4]uint32
	if mode.BaudRate <= 0 || int64(mode.BaudRate) > 1<<32-1 {
		return v, fmt.Errorf("rfc2217: baud rate %d out of range 1..4294967295", mode.BaudRate)
	}
	if mode.DataBits < 5 || mode.DataBits > 8 {
		return v, fmt.Errorf("rfc2217: data bits %d, want 5 to 8", mode.DataBits)
	}
	parity := map[serial.Parity]uint32{serial.NoParity: ParityNone, serial.OddParity: ParityOdd,
		serial.EvenParity: ParityEven, serial.MarkParity: ParityMark, serial.SpaceParity: ParitySpace}[mode.Parity]
	if parity == 0 {
		return v, fmt.Errorf("rfc2217: unknown parity %d", mode.Parity)
	}
	stop := map[serial.StopBits]uint32{serial.OneStopBit: StopOne, serial.OnePointFiveStopBits: StopOneHalf,
		serial.TwoStopBits: StopTwo}[mode.StopBits]
	if stop == 0 {
		return v, fmt.Errorf("rfc2217: unknown stop bits %d", mode.StopBits)
	}
	return [4]uint32{uint32(mode.BaudRate), uint32(mode.DataBits), parity, stop}, nil
}

// SetMode sends the baud rate, data bits, parity and stop bits together
// and waits, bounded by Options.Timeout, for the server to answer each; it
// fails if the server answers a value other than the one asked. It leaves
// DTR and RTS alone.
func (p *Port) SetMode(mode *serial.Mode) error {
	v, err := modeValues(mode)
	if err != nil {
		return err
	}
	cmds := [4]Command{SetBaudRate, SetDataSize, SetParity, SetStopSize}
	reqs := make([]request, 4)
	for i := range reqs {
		reqs[i] = request{cmds[i], v[i]}
	}
	msgs, err := p.exchange(reqs...)
	if err != nil {
		return err
	}
	for i, m := range msgs {
		if m.Value != v[i] {
			return fmt.Errorf("rfc2217: server refused %v %d, keeps %d", cmds[i], v[i], m.Value)
		}
	}
	return nil
}

// Read waits for at least one byte, up to the read timeout, and returns
// what has arrived. At the timeout it returns (0, nil), as go.bug.st/serial
// does; after Close or the end of the connection it returns an error.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.take(b)
}

// take waits for data as Read does and moves it into b, and queues a
// FLOWCONTROL-RESUME once the buffer has drained after a SUSPEND. mu is
// held.
func (p *Port) take(b []byte) (n int, err error) {
	select {
	case <-p.closed:
		return 0, errClosed()
	default:
	}
	var timeout <-chan time.Time
	if p.readTimeout >= 0 {
		t := time.NewTimer(p.readTimeout)
		defer t.Stop()
		timeout = t.C
	}
	for len(p.in) == 0 {
		if err := p.readBlocked(); err != nil {
			return 0, err
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.closed:
		case <-timeout:
			p.mu.Lock()
			return 0, nil
		}
		p.mu.Lock()
	}
	n = copy(b, p.in)
	p.in = p.in[:copy(p.in, p.in[n:])]
	p.broadcast() // room for the reader
	if p.suspendSent && len(p.in) <= resumeAt {
		p.suspendSent = false
		p.queueLocked(AppendRequest(nil, FlowControlResume, 0, nil))
	}
	return n, nil
}

// readBlocked says why a Read with nothing buffered cannot wait; mu is held.
func (p *Port) readBlocked() error {
	select {
	case <-p.closed:
		return errClosed()
	default:
	}
	if p.err != nil {
		return p.readerErr()
	}
	return nil
}

// Write sends b as data, IAC doubled. While the server has asked, by
// FLOWCONTROL-SUSPEND, that the client stop sending, Write waits.
func (p *Port) Write(b []byte) (int, error) {
	if err := p.waitFor(context.Background(), func() bool { return !p.held }); err != nil {
		return 0, err
	}
	if err := p.send(AppendData(make([]byte, 0, len(b)+8), b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Drain waits until the server has taken every byte written before it:
// it asks the baud rate and waits for the answer, which the server sends
// only after reading what came first. Whether the device has sent them
// on its wire is not something RFC 2217 can tell.
func (p *Port) Drain() error {
	_, err := p.exchange(request{SetBaudRate, 0})
	return err
}

// ResetInputBuffer asks the server to purge what it received from the
// device and not yet sent (PURGE-DATA 1), and drops what this side holds.
func (p *Port) ResetInputBuffer() error {
	return p.setting(PurgeData, PurgeReceive, "purging its receive buffer")
}

// ResetOutputBuffer asks the server to purge what it holds for the
// device (PURGE-DATA 2).
func (p *Port) ResetOutputBuffer() error {
	return p.setting(PurgeData, PurgeTransmit, "purging its transmit buffer")
}

// SetDTR sets DTR through SET-CONTROL and waits for the answer.
func (p *Port) SetDTR(dtr bool) error {
	return p.setting(SetControl, pick(dtr, ControlDTROn, ControlDTROff), "DTR")
}

// SetRTS sets RTS through SET-CONTROL and waits for the answer.
func (p *Port) SetRTS(rts bool) error {
	return p.setting(SetControl, pick(rts, ControlRTSOn, ControlRTSOff), "RTS")
}

func pick(b bool, yes, no uint32) uint32 {
	if b {
		return yes
	}
	return no
}

// GetModemStatusBits returns the modem lines of the server's last
// NOTIFY-MODEMSTATE. Before the first one it waits for it, bounded by
// Options.Timeout, and fails if none comes.
func (p *Port) GetModemStatusBits() (*serial.ModemStatusBits, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	if err := p.waitFor(ctx, func() bool { return p.haveModem }); err != nil {
		return nil, fmt.Errorf("rfc2217: server sent no NOTIFY-MODEMSTATE: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return &serial.ModemStatusBits{
		CTS: p.modem&ModemCTS != 0,
		DSR: p.modem&ModemDSR != 0,
		RI:  p.modem&ModemRI != 0,
		DCD: p.modem&ModemCD != 0,
	}, nil
}

// SetReadTimeout sets how long Read waits for a byte: serial.NoTimeout
// waits for ever, zero returns at once.
func (p *Port) SetReadTimeout(t time.Duration) error {
	if t < 0 && t != serial.NoTimeout {
		return fmt.Errorf("rfc2217: read timeout %v: negative and not serial.NoTimeout", t)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.readTimeout = t
	p.broadcast()
	return nil
}

// Break holds a break for d (SET-CONTROL BREAK on, then off), waiting for
// each answer.
func (p *Port) Break(d time.Duration) error {
	if err := p.setting(SetControl, ControlBreakOn, "BREAK on"); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.closed:
		return errClosed()
	}
	return p.setting(SetControl, ControlBreakOff, "BREAK off")
}

// Close ends the connection. A Read, Write or exchange waiting returns
// an error; a socket read or write in progress is cut by a deadline in
// the past before the socket closes.
func (p *Port) Close() error {
	var err error
	p.closing.Do(func() {
		close(p.closed)
		p.conn.SetDeadline(time.Now()) //nolint:errcheck // the close below reports
		err = p.conn.Close()
		<-p.done
		<-p.sent
	})
	if err != nil {
		return fmt.Errorf("rfc2217: close: %w", err)
	}
	return nil
}
