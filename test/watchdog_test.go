package test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// watchdog bounds every wait of these tests on a program or a port: one
// that hangs or a byte that is lost fails the test in seconds, not at the
// suite's timeout.
const watchdog = 10 * time.Second

// bounded is a command the test waits on to finish, killed if it runs
// past d.
func bounded(t *testing.T, d time.Duration, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return exec.CommandContext(ctx, name, args...)
}

// killAfter kills a started program unless the returned function is
// called within the watchdog; that function reports whether it was.
// It bounds a wait on a program that runs on: its output or its exit.
func killAfter(cmd *exec.Cmd) (stop func() bool) {
	return time.AfterFunc(watchdog, func() { cmd.Process.Kill() }).Stop
}

// stopProcess asks a long-running program to end with sig and waits for
// it, killing it after the watchdog; ended says whether it ended on its
// own.
func stopProcess(cmd *exec.Cmd, sig os.Signal) (ended bool, err error) {
	cmd.Process.Signal(sig)
	stop := killAfter(cmd)
	err = cmd.Wait()
	return stop(), err
}
