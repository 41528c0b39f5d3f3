package wire

import (
	"context"
	"fmt"

	"github.com/vcomd/vcomd/rfc2217"
)

// waitFor waits until cond holds for the state snap returns, woken by the
// channel snap returns with it (closed at each change) rather than by
// polling, and returns that state.
func waitFor[S any](ctx context.Context, snap func() (S, chan struct{}), cond func(S) bool) (S, error) {
	for {
		st, ch := snap()
		if cond(st) {
			return st, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// WaitRemote waits until cond holds for r's state, woken by each change
// of the connection, and returns that state.
func WaitRemote(ctx context.Context, r *Remote, cond func(RemoteState) bool) (RemoteState, error) {
	return waitFor(ctx, func() (RemoteState, chan struct{}) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.state, r.stateChanged
	}, cond)
}

// WaitSettled waits (bounded by ctx) until the writer has sent the port's
// present settings and the server has answered them all (the line
// settings and flow control; not DTR, RTS or break, which a server may
// leave unanswered).
func WaitSettled(ctx context.Context, r *Remote) error {
	for {
		r.mu.Lock()
		ch := r.stateChanged
		done := r.sess != nil && r.sess.started && r.sess.sent == wantSent(r.settings)
		if done {
			for k := range r.sess.asked {
				if k.cmd != rfc2217.SetControl || k.group == 1 || k.group == 5 {
					done = false
				}
			}
		}
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.sess == nil {
				return fmt.Errorf("not connected: %w", ctx.Err())
			}
			return fmt.Errorf("unanswered %v, queued %d: %w", r.sess.asked, len(r.out), ctx.Err())
		}
	}
}

// WaitAdapter waits until cond holds for a's state, woken by each change,
// and returns that state.
func WaitAdapter(ctx context.Context, a *Adapter, cond func(AdapterState) bool) (AdapterState, error) {
	return waitFor(ctx, func() (AdapterState, chan struct{}) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.state, a.stateChanged
	}, cond)
}
