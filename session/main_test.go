package session

import (
	"os"
	"testing"

	"github.com/vcomd/vcomd/internal/leakcheck"
)

// No goroutine a test started outlives the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }
