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

// index is where the i-th oldest element (i < len(r.buf)) lives. A
// compare instead of a modulo: the ring is stepped once per character.
func (r *ring[T]) index(i int) int {
	if i += r.head; i >= len(r.buf) {
		i -= len(r.buf)
	}
	return i
}

// push appends v; the caller checks full first.
func (r *ring[T]) push(v T) {
	r.buf[r.index(r.n)] = v
	r.n++
}

// write appends as much of p as fits and returns how much.
func (r *ring[T]) write(p []T) int {
	k := min(len(p), r.limit-r.n)
	a, b := r.grow(k)
	copy(b, p[copy(a, p[:k]):k])
	return k
}

// grow appends n places (the caller checks there is room) and returns them,
// oldest first, as up to two stretches of the backing array.
func (r *ring[T]) grow(n int) (a, b []T) {
	tail := r.head + r.n
	if tail >= len(r.buf) {
		tail -= len(r.buf)
	}
	r.n += n
	if end := tail + n; end <= len(r.buf) {
		return r.buf[tail:end], nil
	}
	return r.buf[tail:], r.buf[:tail+n-len(r.buf)]
}

// oldest returns the n oldest elements (the caller checks there are that
// many) as up to two stretches of the backing array, without removing them.
func (r *ring[T]) oldest(n int) (a, b []T) {
	if end := r.head + n; end <= len(r.buf) {
		return r.buf[r.head:end], nil
	}
	return r.buf[r.head:], r.buf[:r.head+n-len(r.buf)]
}

// drop removes the n oldest elements, as n pops would.
func (r *ring[T]) drop(n int) {
	r.head += n
	if r.head >= len(r.buf) {
		r.head -= len(r.buf)
	}
	r.n -= n
}

// pop removes and returns the oldest element; the caller checks empty first.
func (r *ring[T]) pop() T {
	v := r.buf[r.head]
	r.head = r.index(1)
	r.n--
	return v
}

// peek returns the oldest element without removing it.
func (r *ring[T]) peek() T { return r.buf[r.head] }

// at returns the i-th oldest element.
func (r *ring[T]) at(i int) T { return r.buf[r.index(i)] }

// overwriteLast replaces the newest element: the 16450 overrun rule, where a
// new character overwrites the unread one in RBR.
func (r *ring[T]) overwriteLast(v T) {
	r.buf[r.index(r.n-1)] = v
}

// rxEntry is one received character with the error flags the 16550 keeps
// beside it in the RX FIFO (PE, FE and BI in their LSR bit positions).
type rxEntry struct {
	data  byte
	flags byte
}

// rxFIFO is the receive FIFO: characters and their error flags in two
// rings that move together, so that characters can be copied in bulk.
type rxFIFO struct {
	data, flags ring[byte]
}

func newRxFIFO(capacity int) rxFIFO {
	return rxFIFO{data: newRing[byte](capacity), flags: newRing[byte](capacity)}
}

func (f *rxFIFO) len() int         { return f.data.n }
func (f *rxFIFO) limit() int       { return f.data.limit }
func (f *rxFIFO) setLimit(n int)   { f.data.limit, f.flags.limit = n, n }
func (f *rxFIFO) full() bool       { return f.data.full() }
func (f *rxFIFO) empty() bool      { return f.data.empty() }
func (f *rxFIFO) reset()           { f.data.reset(); f.flags.reset() }
func (f *rxFIFO) push(e rxEntry)   { f.data.push(e.data); f.flags.push(e.flags) }
func (f *rxFIFO) pop() rxEntry     { return rxEntry{data: f.data.pop(), flags: f.flags.pop()} }
func (f *rxFIFO) peek() rxEntry    { return rxEntry{data: f.data.peek(), flags: f.flags.peek()} }
func (f *rxFIFO) at(i int) rxEntry { return rxEntry{data: f.data.at(i), flags: f.flags.at(i)} }
func (f *rxFIFO) drop(n int)       { f.data.drop(n); f.flags.drop(n) }

func (f *rxFIFO) overwriteLast(e rxEntry) {
	f.data.overwriteLast(e.data)
	f.flags.overwriteLast(e.flags)
}
