package rfc2217_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/vcomd/vcomd/internal/pyserial"
	"github.com/vcomd/vcomd/rfc2217"
)

// pyserialScript drives a port through pyserial's rfc2217:// client with
// its default options, against the loopback plug (RTS drives CTS, DTR
// drives DSR and CD).
const pyserialScript = `
import sys, serial
p = serial.serial_for_url(sys.argv[1], baudrate=19200, timeout=5)
def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
msg = b"abc\xff\xffdef\xff"
p.write(msg)
check(p.read(len(msg)) == msg, "data with IAC bytes comes back")
check(p.cts and p.dsr and p.cd, "lines after open (DTR and RTS on)")
p.rts = False
check(not p.cts and p.dsr, "CTS follows RTS off")
p.dtr = False
check(not p.dsr and not p.cd, "DSR and CD follow DTR off")
p.reset_input_buffer()
p.reset_output_buffer()
p.send_break(0.01)
p.baudrate = 38400
p.close()
print("ok")
`

// TestPyserialClient checks that the server role is what pyserial's
// client needs: answers to every setting, PURGE and SET-CONTROL, and
// modem state pushed after negotiation and on each change.
func TestPyserialClient(t *testing.T) {
	python := pyserial.Need(t)
	s := startLoopServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", pyserialScript, "rfc2217://"+s.addr()).CombinedOutput()
	if err != nil {
		t.Fatalf("pyserial: %v\n%s", err, out)
	}
	settings, _, purges := s.snapshot()
	if settings[rfc2217.SetBaudRate] != 38400 || settings[rfc2217.SetDataSize] != 8 {
		t.Errorf("settings after pyserial %v, want 38400 8", settings)
	}
	// pyserial purges both buffers at open, then the script does.
	if n := len(purges); n < 2 || purges[n-2] != rfc2217.PurgeReceive || purges[n-1] != rfc2217.PurgeTransmit {
		t.Errorf("purges %v, want them to end with 1 2", purges)
	}
}
