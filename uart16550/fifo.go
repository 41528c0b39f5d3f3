package uart16550

// ring is a fixed-capacity FIFO. Its backing array is sized once for the
// deepest the FIFO can be; limit is how deep it is now (1 while the chip is
// in 16450 mode, the FIFO depth otherwise).
type ring[T any] struct {
	buf   []T
	head  int
	n     int
	limit int
}

func newRing[T any](capacity int) ring[T] {
	return ring[T]{buf: make([]T, capacity), limit: capacity}
}

func (r *ring[T]) len() int    { return r.n }
func (r *ring[T]) full() bool  { return r.n >= r.limit }
func (r *ring[T]) empty() bool { return r.n == 0 }
func (r *ring[T]) reset()      { r.head, r.n = 0, 0 }

// push appends v; the caller checks full first.
func (r *ring[T]) push(v T) {
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
}

// pop removes and returns the oldest element; the caller checks empty first.
func (r *ring[T]) pop() T {
	v := r.buf[r.head]
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v
}

// peek returns the oldest element without removing it.
func (r *ring[T]) peek() T { return r.buf[r.head] }

// at returns the i-th oldest element.
func (r *ring[T]) at(i int) T { return r.buf[(r.head+i)%len(r.buf)] }

// overwriteLast replaces the newest element: the 16450 overrun rule, where a
// new character overwrites the unread one in RBR.
func (r *ring[T]) overwriteLast(v T) {
	r.buf[(r.head+r.n-1)%len(r.buf)] = v
}

// rxEntry is one received character with the error flags the 16550 keeps
// beside it in the RX FIFO (PE, FE and BI in their LSR bit positions).
type rxEntry struct {
	data  byte
	flags byte
}
