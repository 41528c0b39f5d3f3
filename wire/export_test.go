package wire

import (
	"context"
	"fmt"
	"sync"

	"github.com/vcomd/vcomd/rfc2217"
)

// WaitRemote waits until cond holds for r's state, woken by each change
// of the connection rather than by polling, and returns that state.
func WaitRemote(ctx context.Context, r *Remote, cond func(RemoteState) bool) (RemoteState, error) {
	return waitState(ctx, &r.mu, func() (RemoteState, <-chan struct{}) { return r.state, r.stateChanged.C() }, cond)
}

// waitState waits until cond holds for what get returns, read under mu,
// woken by the channel get returns with it, which is closed at a change.
func waitState[S any](ctx context.Context, mu *sync.Mutex, get func() (S, <-chan struct{}), cond func(S) bool) (S, error) {
	for {
		mu.Lock()
		st, ch := get()
		mu.Unlock()
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

// WaitSettled waits (bounded by ctx) until the writer has sent the port's
// present settings and the server has answered them all (the line
// settings and flow control; not DTR, RTS or break, which a server may
// leave unanswered).
func WaitSettled(ctx context.Context, r *Remote) error {
	for {
		r.mu.Lock()
		ch := r.stateChanged.C()
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

// WaitExec waits until cond holds for e's state, woken by each start and
// exit of the child rather than by polling, and returns that state. An
// exit's change comes after the port's lines went down.
func WaitExec(ctx context.Context, e *Exec, cond func(ExecState) bool) (ExecState, error) {
	return waitState(ctx, &e.mu, func() (ExecState, <-chan struct{}) { return e.state, e.stateChanged.C() }, cond)
}

// WaitReplay waits until cond holds for r's state, woken by each change
// of state rather than by polling, and returns that state.
func WaitReplay(ctx context.Context, r *Replay, cond func(ReplayState) bool) (ReplayState, error) {
	for {
		r.mu.Lock()
		st, ch := r.state, r.stateChanged.C()
		r.mu.Unlock()
		if cond(st) {
			return r.State(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return r.State(), ctx.Err()
		}
	}
}

// WaitReplayHeld waits until r holds back a Transmit's taken, woken by
// each Transmit.
func WaitReplayHeld(ctx context.Context, r *Replay) error {
	for {
		r.mu.Lock()
		held, ch := len(r.held), r.changed.C()
		r.mu.Unlock()
		if held > 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitAdapter waits until cond holds for a's state, woken by each change,
// and returns that state.
func WaitAdapter(ctx context.Context, a *Adapter, cond func(AdapterState) bool) (AdapterState, error) {
	return waitState(ctx, &a.mu, func() (AdapterState, <-chan struct{}) { return a.state, a.stateChanged.C() }, cond)
}
