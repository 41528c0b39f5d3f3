// Package pyserial finds the Python that tests drive pyserial with.
package pyserial

import (
	"os"
	"os/exec"
	"testing"
)

// Python is the interpreter the tests use: the system's, where Debian's
// python3-serial puts the package.
const Python = "/usr/bin/python3"

// Need returns Python if it can import serial. Otherwise it skips t, or
// fails it in CI, where .ci/run installs python3-serial and a skip would
// hide a missing test.
func Need(t testing.TB) string {
	t.Helper()
	if exec.Command(Python, "-c", "import serial").Run() == nil {
		return Python
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("python3 cannot import serial: CI must install the python3-serial package")
	}
	t.Skip("python3 cannot import serial: install the python3-serial package")
	return ""
}
