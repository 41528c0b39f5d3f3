package rfc2217

import "context"

// WaitBuffered waits until the client holds at least n bytes received and
// not yet read, or ctx ends: a test's way to have the reader cross the
// FLOWCONTROL-SUSPEND mark before the test reads.
func (p *Port) WaitBuffered(ctx context.Context, n int) error {
	return p.waitFor(ctx, func() bool { return len(p.in) >= n })
}
