package driver

import "github.com/vcomd/vcomd/uart16550"

// An ISR pass hands the wire the characters the chip sent in a buffer of
// the device's own: the chip (ReuseRunData) writes over its copy at the
// next TakeSignals. The wire reads them until it calls the pass's taken
// callback, and the buffer then comes back for a later pass. A stream at
// timing off, a FIFO round of up to 4 KiB a pass, so allocates nothing
// for its data once its first rounds are back, where a new buffer a pass
// allocated as many bytes as it moved and kept the garbage collector
// running every few tens of milliseconds.

// A device keeps at most maxFreeRunBufs buffers that came back, enough for
// the rounds and batches a stream has out at once; a buffer is made at
// least minRunBuf long, so that a pass at realistic timing (a quantum's
// characters, a few hundred at most below 921600 baud) fits in any.
const (
	maxFreeRunBufs = 4
	minRunBuf      = 256
)

// runBuf is a buffer of run data and the taken callback of the pass that
// uses it, made once with the buffer so that a pass allocates neither.
type runBuf struct {
	data  []byte
	acks  ack  // what the pass's taken acknowledges besides the buffer
	out   bool // with a wire that has not yet called taken
	taken func()
}

// ack is what a pass's taken acknowledges to the transmitter.
type ack uint8

const (
	// ackRound: at timing off, the FIFO round is with the far end, so
	// the next may go.
	ackRound ack = 1 << iota
	// ackBatch: at realistic timing, the oldest batch of characters on
	// the wire is applied (the wire delivers and acknowledges in order).
	ackBatch
)

// ownRunDataLocked gives the runs among signals Data of their own, all in
// one buffer, and returns that buffer's runBuf, out with the wire until
// its taken is called. The caller sets its acks.
func (d *Device) ownRunDataLocked(signals []uart16550.Signal) *runBuf {
	total := 0
	for _, s := range signals {
		if s.Kind == uart16550.SignalChars {
			total += len(s.Data)
		}
	}
	s := &d.s
	var rb *runBuf
	for i := len(s.freeRuns) - 1; i >= 0; i-- {
		if cap(s.freeRuns[i].data) >= total {
			rb = s.freeRuns[i]
			s.freeRuns = append(s.freeRuns[:i], s.freeRuns[i+1:]...)
			break
		}
	}
	if rb == nil {
		rb = &runBuf{data: make([]byte, 0, max(total, minRunBuf))}
		rb.taken = func() { d.runTaken(rb) }
	}
	buf := rb.data[:total]
	for i := range signals {
		if sg := &signals[i]; sg.Kind == uart16550.SignalChars {
			n := copy(buf, sg.Data)
			sg.Data, buf = buf[:n:n], buf[n:]
		}
	}
	rb.out = true
	return rb
}

// runTaken is a runBuf's taken callback: the wire is done with its data,
// and the far end has applied what the pass sent.
func (d *Device) runTaken(rb *runBuf) {
	d.mu.Lock()
	s := &d.s
	if !rb.out {
		// Called twice: the buffer may already serve another pass.
		d.mu.Unlock()
		return
	}
	rb.out = false
	wake := d.ackLocked(rb.acks)
	if len(s.freeRuns) < maxFreeRunBufs {
		s.freeRuns = append(s.freeRuns, rb)
	}
	d.unlock(&afterUnlock{})
	if wake {
		d.kick()
	}
}

// ackLocked records what a pass's taken acknowledges and reports whether
// the ISR goroutine must look again: always for a round, whose end lets
// the next go; for a batch only if write data waits for the window.
func (d *Device) ackLocked(acks ack) bool {
	s := &d.s
	wake := false
	if acks&ackRound != 0 {
		s.txRound = false
		s.touched = true
		wake = true
	}
	if acks&ackBatch != 0 {
		if len(s.txBatches) > 0 {
			s.txUnacked -= s.txBatches[0]
			s.txBatches = s.txBatches[1:]
		}
		if s.txWindowFull && s.txUnacked < txWindow {
			s.txWindowFull = false
			s.touched = true
			wake = true
		}
	}
	return wake
}
