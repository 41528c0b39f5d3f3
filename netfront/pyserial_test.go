package netfront

import (
	"context"
	"os/exec"
	"testing"

	"github.com/vcomd/vcomd/internal/pyserial"
	"github.com/vcomd/vcomd/ioctl"
)

// pyserialScript drives a netfront server through pyserial's rfc2217://
// client with its default options, against a loopback plug (RTS drives
// CTS, DTR drives DSR and CD) whose RI the test has raised.
const pyserialScript = `
import sys, serial
p = serial.serial_for_url(sys.argv[1], timeout=5)
def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
msg = bytes(range(256)) + b"\xff\xff\xff"
p.write(msg)
got = b""
while len(got) < len(msg):
    chunk = p.read(len(msg) - len(got))
    check(chunk, "data comes back within the timeout")
    got += chunk
check(got == msg, "data with IAC bytes comes back byte for byte")
check(p.cts and p.dsr and p.cd, "CTS, DSR and CD after open (DTR and RTS on)")
check(p.ri, "RI as the test set it")
p.rts = False
check(not p.cts and p.dsr, "CTS follows RTS off")
p.dtr = False
check(not p.dsr and not p.cd, "DSR and CD follow DTR off")
p.dtr = True
p.rts = True
check(p.cts and p.dsr and p.cd, "CTS, DSR and CD back on")
p.baudrate = 38400
p.bytesize = serial.SEVENBITS
p.parity = serial.PARITY_EVEN
p.stopbits = serial.STOPBITS_TWO
p.send_break(0.05)
p.reset_input_buffer()
p.reset_output_buffer()
p.close()
print("ok")
`

// pyserial's RFC 2217 client, with default options, works against the
// server: every setting is answered with the value asked, the modem lines
// follow, and each request is the IOCTL on the device.
func TestPyserialClient(t *testing.T) {
	python := pyserial.Need(t)
	r := newRig(t, Options{}, loopback)
	r.devIoctl(ioctl.SetModemInputs, ioctl.ModemInputs{Mask: ioctl.MSRRI, Value: ioctl.MSRRI})
	ctx, cancel := context.WithTimeout(context.Background(), 2*watchdog)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", pyserialScript, "rfc2217://"+r.addr()).CombinedOutput()
	if err != nil {
		t.Fatalf("pyserial: %v\n%s\nserver log:\n%s", err, out, r.logs.all())
	}
	r.logs.wait(t, "client disconnected")
	if b := r.devIoctl(ioctl.GetBaudRate, nil).(ioctl.BaudRate); b.BaudRate != 38400 {
		t.Errorf("device at %d baud after pyserial, want 38400", b.BaudRate)
	}
	if lc := r.devIoctl(ioctl.GetLineControl, nil).(ioctl.LineControl); lc.String() != "7E2" {
		t.Errorf("device framing %v after pyserial, want 7E2", lc)
	}
	for _, want := range []struct {
		code ioctl.Code
		in   any
	}{
		{ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 38400}},
		{ioctl.SetLineControl, nil},
		{ioctl.SetHandflow, nil},
		{ioctl.SetBreakOn, nil},
		{ioctl.SetBreakOff, nil},
		{ioctl.ClrRTS, nil},
		{ioctl.ClrDTR, nil},
		{ioctl.Purge, ioctl.PurgeRxClear},
		{ioctl.Purge, ioctl.PurgeTxAbort | ioctl.PurgeTxClear},
	} {
		if !r.sawIoctl(want.code, want.in) {
			t.Errorf("no %v %v in the trace", want.code, want.in)
		}
	}
}
