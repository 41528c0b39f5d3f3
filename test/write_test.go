package test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/vcomtest"
)

// timings are the daemon's two timings, as the flags that choose them.
var timings = []struct {
	name string
	args []string
}{
	{"timing off", []string{"--timing", "off"}},
	{"realistic", nil},
}

// pyserial's writes, in test/pyserial_write_check.py: a byte written at
// once after both ends' open() arrives (both opened, or one held while
// the other is reopened, at both timings; pyserial's open flushes the
// input); writes stop being accepted while CTS is low or after XOFF, and
// what was accepted arrives once released; a slow line makes write()
// wait for it; reset_output_buffer discards what is queued.
func TestPyserialWrites(t *testing.T) {
	python := pyserial(t)
	type run struct {
		name, script string
		tries        int
		args         []string
	}
	var runs []run
	for _, tm := range timings {
		runs = append(runs,
			run{"open/" + tm.name, "open", 300, tm.args},
			run{"reopen/" + tm.name, "reopen", 150, tm.args})
	}
	for _, tm := range timings {
		runs = append(runs, run{"cts/" + tm.name, "cts", 0, tm.args})
	}
	for _, c := range []string{"xoff", "slow300", "flush", "flushclose"} {
		runs = append(runs, run{c, c, 0, nil})
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			links := startDaemon(t, append([]string{"--pair", "pa:pb"}, r.args...)...)
			// The script bounds each of its reads; this bounds the whole.
			out, err := bounded(t, time.Minute, python, "pyserial_write_check.py", r.script, links["pa"], links["pb"], fmt.Sprint(r.tries)).CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("pyserial_write_check.py %s: %v", r.script, err)
			}
		})
	}
}

// openGo opens a port with go.bug.st/serial at baud.
func openGo(t *testing.T, path string, baud int) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return p
}

// exchangeGo writes tok on w and reads it on r within 5 s.
func exchangeGo(t *testing.T, try int, w, r serial.Port, tok byte) {
	t.Helper()
	if _, err := w.Write([]byte{tok}); err != nil {
		t.Fatalf("try %d: write: %v", try, err)
	}
	if err := r.SetReadTimeout(5 * time.Second); err != nil {
		t.Fatalf("try %d: %v", try, err)
	}
	var b [1]byte
	n, err := r.Read(b[:])
	if err != nil || n != 1 || b[0] != tok {
		t.Fatalf("try %d: read %d bytes (%#x), %v; want %#x", try, n, b[:n], err, tok)
	}
}

// Once go.bug.st/serial's Open of both ends has returned, a byte written at
// once reaches the other end: ends opened in either order, or one held
// open while the other is reopened, at both timings.
func TestGoSerialByteAfterOpen(t *testing.T) {
	for _, tm := range timings {
		t.Run(tm.name, func(t *testing.T) {
			links := startDaemon(t, append([]string{"--pair", "ga:gb"}, tm.args...)...)
			open := func(name string) serial.Port { return openGo(t, links[name], 115200) }
			for i := range 200 {
				var a, b serial.Port
				if i%2 == 0 {
					a, b = open("ga"), open("gb")
				} else {
					b, a = open("gb"), open("ga")
				}
				speakGo(t, i, a, b)
				a.Close()
				b.Close()
			}
			held := open("gb")
			defer held.Close()
			for i := range 100 {
				a := open("ga")
				speakGo(t, i, a, held)
				a.Close()
			}
		})
	}
}

// speakGo passes a byte each way, the first speaker alternating every two
// tries.
func speakGo(t *testing.T, try int, a, b serial.Port) {
	t.Helper()
	if try%4 >= 2 {
		a, b = b, a
	}
	exchangeGo(t, try, a, b, byte(try))
	exchangeGo(t, try, b, a, ^byte(try))
}

// setCRTSCTS turns on RTS/CTS output flow control on the tty behind path,
// which go.bug.st/serial's Mode cannot: through a descriptor of its own,
// since termios belongs to the tty, not to the descriptor. (The port's
// TIOCEXCL does not stop root, who runs these tests.)
func setCRTSCTS(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s for CRTSCTS: %v", path, err)
	}
	defer unix.Close(fd)
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
	if err != nil {
		t.Fatalf("TCGETS2 %s: %v", path, err)
	}
	tio.Cflag |= unix.CRTSCTS
	if err := unix.IoctlSetTermios(fd, unix.TCSETS2, tio); err != nil {
		t.Fatalf("TCSETS2 %s: %v", path, err)
	}
}

// While CTS is low (the far end closed, its RTS down) and RTS/CTS flow
// control is on, a go.bug.st/serial Write of 128 KiB does not return; once
// the far end opens, it does, and every byte arrives.
func TestGoSerialWriteHeldByCTS(t *testing.T) {
	links := startDaemon(t, "--pair", "ga:gb", "--timing", "off")
	a := openGo(t, links["ga"], 115200)
	defer a.Close()
	setCRTSCTS(t, links["ga"])
	data := make([]byte, 128<<10)
	for i := range data {
		data[i] = byte(i * 7 % 253)
	}
	done := make(chan error, 1)
	go func() { done <- vcomtest.WriteAll(a, data) }()
	select {
	case err := <-done:
		t.Fatalf("Write of 128 KiB returned (%v) while CTS was low", err)
	case <-time.After(time.Second):
	}
	b := openGo(t, links["gb"], 115200)
	defer b.Close()
	setCRTSCTS(t, links["gb"])
	if got := vcomtest.ReadN(t, b, len(data), watchdog); !bytes.Equal(got, data) {
		t.Fatal("the 128 KiB arrived with differences")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(watchdog):
		t.Fatalf("Write of 128 KiB has not returned %v after the data arrived", watchdog)
	}
}

// ResetOutputBuffer discards what a 300 baud port has queued: the far end
// receives at most 20 more characters (the shift register's, what was on
// its way into its typeahead) over 2 s of quiet.
func TestGoSerialResetOutputBuffer(t *testing.T) {
	links := startDaemon(t, "--pair", "ga:gb")
	a := openGo(t, links["ga"], 300)
	defer a.Close()
	b := openGo(t, links["gb"], 300)
	defer b.Close()
	done := make(chan error, 1)
	go func() { _, err := a.Write(bytes.Repeat([]byte("x"), 1024)); done <- err }()
	vcomtest.ReadN(t, b, 3, watchdog) // the line is sending
	if err := a.ResetOutputBuffer(); err != nil {
		t.Fatal(err)
	}
	// At 300 baud a character takes 33 ms: 2 s of nothing means the line
	// has stopped.
	if err := b.SetReadTimeout(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	extra := 0
	for {
		n, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if extra += n; extra > 20 {
			t.Fatalf("%d characters arrived after ResetOutputBuffer, want at most 20", extra)
		}
	}
	t.Logf("%d characters arrived after ResetOutputBuffer", extra)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(watchdog):
		t.Fatalf("Write of 1 KiB has not returned %v after the flush", watchdog)
	}
}
