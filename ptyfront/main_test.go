package ptyfront_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine of a port, its watcher or a test outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
