package wire_test

import (
	"os"
	"testing"

	"github.com/vcomd/vcomd/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }
