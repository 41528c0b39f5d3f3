package ttybench

import (
	"context"
	"time"
)

// End is one end of a line as Throughput, RoundTrip and Sync drive it:
// a tty (Open), a TCP socket (DialTCP) or an RFC 2217 client (DialRFC2217),
// so that one copy of each measurement times all three and figures from
// any two compare.
type End interface {
	// Name says which end it is, for errors.
	Name() string
	// read reads what is there, waiting up to timeout for at least a
	// byte; it fails with errTimeout if none comes.
	read(ctx context.Context, b []byte, timeout time.Duration) (int, error)
	// write writes all of b, waiting up to timeout each time the end
	// has no room.
	write(ctx context.Context, b []byte, timeout time.Duration) error
	// dropInput drops what has been received and not read.
	dropInput() error
}

var (
	_ End = (*Port)(nil)
	_ End = (*RFC2217)(nil)
)
