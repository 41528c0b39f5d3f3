package wire

// notifier wakes every goroutine that waits for a change: C is a channel
// that the next notify closes. Each wire keeps two, guarded by its own
// lock: one for its writer (work queued), one for whoever waits on its
// state. The zero value is ready.
type notifier struct{ ch chan struct{} }

// C is the channel the next notify closes. The owner's lock must be held.
func (n *notifier) C() <-chan struct{} {
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// notify wakes whoever waits on C. The owner's lock must be held.
func (n *notifier) notify() {
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
