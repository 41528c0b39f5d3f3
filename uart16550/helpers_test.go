package uart16550

import (
	"testing"
	"time"
)

// newChip returns a chip fresh from power-on.
func newChip(t testing.TB, opts Options) *UART {
	t.Helper()
	return New(opts)
}

// fifoChip returns a chip with FIFOs on at the given trigger bits, 8N1 at
// 9600 baud (divisor 12), and OUT2 on so that INTR follows the chip.
func fifoChip(t testing.TB, trigger byte) *UART {
	t.Helper()
	u := newChip(t, Options{})
	u.Write(LCR, 0x03)
	u.Write(FCR, FCREnable|FCRRxReset|FCRTxReset|trigger)
	u.Write(MCR, MCROUT2)
	u.TakeSignals(nil)
	return u
}

func wantReg(t *testing.T, u *UART, off uint8, want byte, what string) {
	t.Helper()
	if got := u.Read(off); got != want {
		t.Fatalf("%s: read offset %d = %#02x, want %#02x", what, off, got, want)
	}
}

func wantIIR(t *testing.T, u *UART, want byte, what string) {
	t.Helper()
	wantReg(t, u, IIR, want, what+" (IIR)")
}

// receive delivers characters one by one at the chip's present time.
func receive(u *UART, data ...byte) {
	for _, c := range data {
		u.Receive(c, 0)
	}
}

// drain reads RBR while LSR says data is ready and returns what it read.
func drain(u *UART) []byte {
	var out []byte
	for u.Read(LSR)&LSRDataReady != 0 {
		out = append(out, u.Read(RBR))
	}
	return out
}

// chars returns the characters among signals.
func chars(signals []Signal) []byte {
	var out []byte
	for _, s := range signals {
		if s.Kind == SignalChar {
			out = append(out, s.Char)
		}
	}
	return out
}

// time1s is long enough for anything queued in a test to finish.
const time1s = time.Second

// charTime9600 is 10 bits at 9600 baud from the 1.8432 MHz clock: 10 x 16 x
// 12 cycles = 1920 cycles = 1041666.67 ns, truncated.
const charTime9600 = 1041666 * time.Nanosecond
