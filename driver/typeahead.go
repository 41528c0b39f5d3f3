package driver

// The typeahead buffer is a ring of rxSize bytes, the size the program set
// (IOCTL_SERIAL_SET_QUEUE_SIZE; 64 KiB for a pty port). Its memory is
// taken as it fills and given back once it empties at realistic timing:
// a port whose reader keeps up holds a pass's characters (184 bytes per
// 16 ms at 115200) and needs rxGrain, while 64 KiB sat idle in every one
// of them. Only a reader that stops lets the buffer grow toward its size.
// At timing off a buffer that filled once stays, since a stream there
// fills and empties it at every round and would allocate each time.

// rxGrain is the least memory the typeahead takes once a byte arrives.
const rxGrain = 4 << 10

// growRxLocked makes the ring's memory hold total bytes (at most rxSize),
// keeping what it holds in order.
func (d *Device) growRxLocked(total int) {
	s := &d.s
	if total <= len(s.rxBuf) {
		return
	}
	size := min(s.rxSize, max(total, 2*len(s.rxBuf), rxGrain))
	buf := make([]byte, size)
	n := copy(buf, s.rxBuf[s.rxHead:min(len(s.rxBuf), s.rxHead+s.rxCount)])
	copy(buf[n:], s.rxBuf[:s.rxCount-n])
	s.rxBuf, s.rxHead = buf, 0
}

// rxEmptiedLocked resets an empty ring, and gives back at realistic
// timing memory the ring grew past rxGrain.
func (d *Device) rxEmptiedLocked() {
	s := &d.s
	s.rxHead, s.rxCount = 0, 0
	if !s.instant && len(s.rxBuf) > rxGrain {
		s.rxBuf = nil
	}
}
