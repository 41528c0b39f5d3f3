// Package leakcheck fails tests that leave goroutines running, with
// go.uber.org/goleak, but gives goroutines that are on their way out the
// time a loaded machine may take to schedule them: goleak alone retries
// for about half a second.
package leakcheck

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// grace is how long goroutines have to end after the code that started
// them has returned.
const grace = 10 * time.Second

// Run runs the tests and returns their exit code, or 1 if they passed
// but goroutines they started were still running grace later. A TestMain
// calls it as os.Exit(leakcheck.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	if err := Find(); err != nil {
		fmt.Fprintf(os.Stderr, "leakcheck: goroutines outlived the tests: %v\n", err)
		return 1
	}
	return 0
}

// Verify fails t if goroutines other than the tests' own (and those opts
// ignore) are still running grace after it is called.
func Verify(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	if err := Find(opts...); err != nil {
		t.Errorf("goroutines outlived the test: %v", err)
	}
}

// Find is goleak.Find retried until no goroutine is left or grace has
// passed; each try waits out goleak's own retries, so this does not spin.
func Find(opts ...goleak.Option) error { return findWithin(grace, opts...) }

func findWithin(grace time.Duration, opts ...goleak.Option) error {
	deadline := time.Now().Add(grace)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}
