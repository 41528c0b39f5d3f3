package control_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine of the server, the client, the daemon or a test outlives
// the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
