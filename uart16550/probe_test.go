package uart16550

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// This file replays what the Linux 8250 driver does to a port it has not
// met before (autoconfig, the 16550A variant probes, the startup bug checks
// and set_termios), written from the behaviour described in
// shared/reference/uart16550.md section 6. Every read is labelled, so a test
// can both pin each answer and change one answer to show the verdict hangs
// on it.

// bus is the port-I/O view the probe has of the chip. mutate, when set,
// replaces the answer of every read with the given label.
type bus struct {
	u      *UART
	reads  []string
	mutate map[string]func(byte) byte
}

func (b *bus) in(label string, off uint8) byte {
	v := b.u.Read(off)
	if f := b.mutate[label]; f != nil {
		v = f(v)
	}
	b.reads = append(b.reads, fmt.Sprintf("%s=%02x", label, v))
	return v
}

func (b *bus) out(off uint8, v byte) { b.u.Write(off, v) }

// sleep is the driver's mdelay: virtual time passes.
func (b *bus) sleep(d time.Duration) { b.u.Advance(b.u.Now() + d) }

// probeResult is what the kernel would conclude.
type probeResult struct {
	typ      string // "16550A", "16550", "16450", "8250", "unknown", a variant name, or "none"
	fifoSize int    // from the FIFO size probe (variants only)
	bugs     []string
}

// autoconfig follows 8250_port.c autoconfig(): the IER test, the loopback
// test (skipped for PC COM1-3 with UPF_SKIP_TEST), the FIFO detection through
// IIR bits 6-7 and, with fullProbe (CONFIG_SERIAL_8250_16550A_VARIANTS or
// UPF_FULL_PROBE), the 16550A variant probes.
func autoconfig(b *bus, skipTest, fullProbe bool) probeResult {
	var r probeResult
	saveIER := b.in("ier-save", IER)
	b.out(IER, 0)
	ier0 := b.in("ier-after-0", IER) & 0x0F
	b.out(IER, 0x0F)
	ierF := b.in("ier-after-f", IER) & 0x0F
	b.out(IER, saveIER)
	if ier0 != 0 || ierF != 0x0F {
		return probeResult{typ: "none"}
	}
	saveMCR := b.in("mcr-save", MCR)
	saveLCR := b.in("lcr-save", LCR)
	if !skipTest {
		b.out(MCR, MCRLoop|MCROUT2|MCRRTS)
		status := b.in("loopback-msr", MSR) & 0xF0
		b.out(MCR, saveMCR)
		if status != 0x90 {
			return probeResult{typ: "none"}
		}
	}
	// Zero an EFR if there is one; on a 16550A this is FCR=0.
	b.out(LCR, 0xBF)
	b.out(FCR, 0)
	b.out(LCR, 0)
	b.out(FCR, FCREnable)
	switch b.in("iir-fifo", IIR) >> 6 {
	case 0:
		b.out(SCR, 0xA5)
		s1 := b.in("scratch-a5", SCR)
		b.out(SCR, 0x5A)
		s2 := b.in("scratch-5a", SCR)
		r.typ = "8250"
		if s1 == 0xA5 && s2 == 0x5A {
			r.typ = "16450"
		}
	case 1:
		r.typ = "unknown"
	case 2:
		r.typ = "16550"
	case 3:
		r.typ = "16550A"
		if fullProbe {
			r = variants16550A(b)
		}
	}
	b.out(LCR, saveLCR)
	b.out(MCR, saveMCR)
	b.out(FCR, FCREnable)
	b.out(FCR, FCREnable|FCRRxReset|FCRTxReset)
	b.out(FCR, 0)
	b.in("rbr-flush", RBR)
	b.out(IER, 0)
	return r
}

// variants16550A follows autoconfig_16550a(): a true 16550A must answer
// every probe of the chips that extend it the way a 16550A does.
func variants16550A(b *bus) probeResult {
	r := probeResult{typ: "16550A"}
	b.out(LCR, LCRDLAB)
	if b.in("dlab-iir", IIR) == 0 {
		return probeResult{typ: "ST16650/FSL"}
	}
	b.out(LCR, 0xBF)
	if b.in("efr-iir", IIR) == 0 {
		return probeResult{typ: "EFR family"}
	}
	// NatSemi: IIR bit 4 in bank 0xE0 would follow MCR's loop bit.
	b.out(LCR, 0)
	m := b.in("ns-mcr", MCR)
	b.out(LCR, 0xE0)
	i := b.in("ns-iir", IIR)
	if (i^m)&MCRLoop == 0 {
		b.out(LCR, 0)
		b.out(MCR, m^MCRLoop)
		b.out(LCR, 0xE0)
		i = b.in("ns-iir-loop", IIR)
		b.out(LCR, 0)
		b.out(MCR, m)
		if (i^m)&MCRLoop != 0 {
			return probeResult{typ: "NS16550A"}
		}
	}
	// TI16750: FCR bit 5 would enable 64-byte FIFOs, shown in IIR bit 5,
	// and only while DLAB is set.
	b.out(LCR, 0)
	b.out(FCR, FCREnable|0x20)
	s1 := b.in("16750-iir", IIR) & 0xE0
	b.out(FCR, FCREnable)
	b.out(LCR, LCRDLAB)
	b.out(FCR, FCREnable|0x20)
	s2 := b.in("16750-iir-dlab", IIR) & 0xE0
	b.out(FCR, FCREnable)
	b.out(LCR, 0)
	if s1 == 0xC0 && s2 == 0xE0 {
		return probeResult{typ: "16750"}
	}
	// XScale: IER bit 6 (UUE) would stick.
	ier := b.in("xscale-ier", IER)
	b.out(IER, ier&^0x40)
	if b.in("xscale-ier-clear", IER)&0x40 == 0 {
		b.out(IER, ier|0x40)
		if b.in("xscale-ier-set", IER)&0x40 != 0 {
			b.out(IER, ier)
			return probeResult{typ: "XScale"}
		}
	}
	b.out(IER, ier)
	// FIFO size: fill the transmitter in loopback at divisor 1, wait, and
	// count what arrived.
	b.out(LCR, 0)
	oldFCR := b.in("size-iir", IIR)
	oldMCR := b.in("size-mcr", MCR)
	b.out(FCR, FCREnable|FCRRxReset|FCRTxReset)
	b.out(MCR, MCRLoop)
	b.out(LCR, LCRDLAB)
	oldDLL := b.in("size-dll", DLL)
	oldDLM := b.in("size-dlm", DLM)
	b.out(DLL, 1)
	b.out(DLM, 0)
	b.out(LCR, 0x03)
	for i := range 256 {
		b.out(THR, byte(i))
	}
	b.sleep(20 * time.Millisecond)
	for r.fifoSize < 256 && b.in("size-lsr", LSR)&LSRDataReady != 0 {
		b.in("size-rbr", RBR)
		r.fifoSize++
	}
	b.out(FCR, oldFCR)
	b.out(MCR, oldMCR)
	b.out(LCR, LCRDLAB)
	b.out(DLL, oldDLL)
	b.out(DLM, oldDLM)
	b.out(LCR, 0)
	if r.fifoSize == 64 {
		r.typ = "U6_16550A"
	}
	return r
}

// startup follows serial8250_do_startup's checks: the LSR sanity check, the
// THRE re-assertion test (UART_BUG_THRE) and the TX-enable test
// (UART_BUG_TXEN), then set_termios for 115200 8N1 with the FIFO at
// trigger 8.
func startup(b *bus) probeResult {
	var r probeResult
	b.out(FCR, FCREnable)
	b.out(FCR, FCREnable|FCRRxReset|FCRTxReset)
	b.out(FCR, 0)
	b.in("start-lsr", LSR)
	b.in("start-rbr", RBR)
	b.in("start-iir", IIR)
	b.in("start-msr", MSR)
	if b.in("lsr-sanity", LSR) == 0xFF {
		return probeResult{typ: "none"}
	}
	b.out(IER, IERTxEmpty)
	iir1 := b.in("thre-iir1", IIR)
	b.out(IER, 0)
	b.out(IER, IERTxEmpty)
	iir2 := b.in("thre-iir2", IIR)
	b.out(IER, 0)
	if iir1&IIRNone == 0 && iir2&IIRNone != 0 {
		r.bugs = append(r.bugs, "UART_BUG_THRE")
	}
	b.out(LCR, 0x03)
	b.out(MCR, MCROUT2|MCRDTR|MCRRTS)
	b.out(IER, IERTxEmpty)
	lsr := b.in("txen-lsr", LSR)
	iir := b.in("txen-iir", IIR)
	b.out(IER, 0)
	if lsr&LSRTEMT != 0 && iir&IIRNone != 0 {
		r.bugs = append(r.bugs, "UART_BUG_TXEN")
	}
	// set_termios
	b.out(IER, IERLineStatus|IERRxData)
	b.out(LCR, 0x03|LCRDLAB)
	b.out(DLL, 1)
	b.out(DLM, 0)
	b.out(LCR, 0x03)
	b.out(FCR, FCREnable)
	b.out(FCR, FCREnable|FCRTrigger8)
	return r
}

// The golden transcript of a PC COM1 probe (UPF_SKIP_TEST, variants off) on
// a chip fresh from reset, read by read, as section 6.1 of the reference
// lists it.
func TestLinuxProbeDefaultTranscript(t *testing.T) {
	b := &bus{u: newChip(t, Options{})}
	r := autoconfig(b, true, false)
	if r.typ != "16550A" {
		t.Fatalf("Linux would call this chip %q, want 16550A", r.typ)
	}
	want := "ier-save=00 ier-after-0=00 ier-after-f=0f mcr-save=00 lcr-save=00 iir-fifo=c1 rbr-flush=00"
	if got := strings.Join(b.reads, " "); got != want {
		t.Fatalf("probe reads\n got: %s\nwant: %s", got, want)
	}
}

// The full probe: loopback test and every 16550A variant probe, then the
// startup bug checks. Every answer is pinned.
func TestLinuxProbeFull16550A(t *testing.T) {
	b := &bus{u: newChip(t, Options{})}
	r := autoconfig(b, false, true)
	if r.typ != "16550A" || r.fifoSize != 16 {
		t.Fatalf("Linux would call this chip %q with a %d-byte FIFO, want 16550A with 16", r.typ, r.fifoSize)
	}
	s := startup(b)
	if len(s.bugs) != 0 || s.typ == "none" {
		t.Fatalf("startup found %v (type %q), want no bug flags", s.bugs, s.typ)
	}
	// loopback-msr: CTS and DCD from RTS and OUT2, with their deltas.
	// start-msr: those deltas again, from leaving loopback in the size probe.
	want := "ier-save=00 ier-after-0=00 ier-after-f=0f mcr-save=00 lcr-save=00 loopback-msr=99 iir-fifo=c1 " +
		"dlab-iir=c1 efr-iir=c1 ns-mcr=00 ns-iir=c1 ns-iir-loop=c1 16750-iir=c1 16750-iir-dlab=c1 " +
		"xscale-ier=00 xscale-ier-clear=00 xscale-ier-set=00 size-iir=c1 size-mcr=00 size-dll=0c size-dlm=00 " +
		sizeReads(16) + " size-lsr=60 rbr-flush=0f " +
		"start-lsr=60 start-rbr=0f start-iir=01 start-msr=09 lsr-sanity=60 thre-iir1=02 thre-iir2=02 " +
		"txen-lsr=60 txen-iir=02"
	if got := strings.Join(b.reads, " "); got != want {
		t.Fatalf("probe reads\n got: %s\nwant: %s", got, want)
	}
}

// sizeReads is the FIFO size probe's LSR/RBR pairs for n looped characters:
// the loopback of bytes 0..n-1 (bytes written after the transmitter filled
// are dropped, and the one that overran the RX FIFO is lost).
func sizeReads(n int) string {
	var parts []string
	for i := range n {
		lsr := LSRDataReady | LSRTHRE | LSRTEMT
		if i == 0 {
			lsr |= LSROverrun
		}
		parts = append(parts, fmt.Sprintf("size-lsr=%02x size-rbr=%02x", lsr, i))
	}
	return strings.Join(parts, " ")
}

// Changing any one decisive answer changes the verdict: the probe really
// hangs on each of them, so the chip's answers are the ones that make it a
// 16550A.
func TestLinuxProbeEachAnswerDecides(t *testing.T) {
	for _, tc := range []struct {
		label  string
		mutate func(byte) byte
		want   string
	}{
		{"ier-after-0", func(v byte) byte { return v | 0x01 }, "none"},
		{"ier-after-f", func(v byte) byte { return v &^ 0x08 }, "none"},
		{"loopback-msr", func(v byte) byte { return v | MSRDSR }, "none"},
		{"iir-fifo", func(v byte) byte { return v &^ 0xC0 }, "16450"},
		{"iir-fifo", func(v byte) byte { return v&^0xC0 | 0x80 }, "16550"},
		{"iir-fifo", func(v byte) byte { return v&^0xC0 | 0x40 }, "unknown"},
		{"dlab-iir", func(byte) byte { return 0 }, "ST16650/FSL"},
		{"efr-iir", func(byte) byte { return 0 }, "EFR family"},
		{"ns-iir-loop", func(v byte) byte { return v | 0x10 }, "NS16550A"},
		{"16750-iir-dlab", func(v byte) byte { return v | 0x20 }, "16750"},
		{"xscale-ier-set", func(v byte) byte { return v | 0x40 }, "XScale"},
		{"size-lsr", func(v byte) byte { return v | LSRDataReady }, "U6_16550A-or-other"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			b := &bus{u: newChip(t, Options{}), mutate: map[string]func(byte) byte{tc.label: tc.mutate}}
			r := autoconfig(b, false, true)
			if r.typ == "16550A" && r.fifoSize == 16 {
				t.Fatalf("changing %s left the verdict 16550A with a 16-byte FIFO", tc.label)
			}
			if tc.want != "U6_16550A-or-other" && r.typ != tc.want {
				t.Fatalf("changing %s: verdict %q, want %q", tc.label, r.typ, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		label  string
		mutate func(byte) byte
		bug    string
	}{
		{"thre-iir2", func(byte) byte { return IIRNone }, "UART_BUG_THRE"},
		{"txen-iir", func(byte) byte { return IIRNone }, "UART_BUG_TXEN"},
	} {
		b := &bus{u: newChip(t, Options{}), mutate: map[string]func(byte) byte{tc.label: tc.mutate}}
		autoconfig(b, true, false)
		if r := startup(b); len(r.bugs) != 1 || r.bugs[0] != tc.bug {
			t.Fatalf("changing %s: bugs %v, want %s", tc.label, r.bugs, tc.bug)
		}
	}
}

// After the probe and startup the port works as Linux programs it:
// interrupt-driven transmit and receive through the loopback. In loopback
// OUT2 is inactive at its pin, so a PC board's IRQ line stays low; the test
// services the chip's own interrupt output instead.
func TestLinuxProgrammedPortWorks(t *testing.T) {
	b := &bus{u: newChip(t, Options{})}
	autoconfig(b, false, true)
	startup(b)
	u := b.u
	u.Write(MCR, MCROUT2|MCRDTR|MCRRTS|MCRLoop)
	u.Write(IER, IERLineStatus|IERRxData|IERTxEmpty)
	const want = "hello, 8250"
	msg := []byte(want)
	var got []byte
	for step := 0; len(got) < len(want) && step < 1000; step++ {
		if u.INTR() {
			t.Fatal("INTR reached the IRQ line in loopback")
		}
		for u.Interrupt() {
			switch u.Read(IIR) & iirIDMask {
			case IIRTxEmpty:
				n := min(16, len(msg))
				for _, c := range msg[:n] {
					u.Write(THR, c)
				}
				msg = msg[n:]
				if len(msg) == 0 {
					u.Write(IER, IERLineStatus|IERRxData)
				}
			case IIRRxData, IIRCharTimeout:
				got = append(got, drain(u)...)
			default:
				t.Fatalf("unexpected interrupt, IIR %#02x", u.State().IIR)
			}
		}
		if at, ok := u.NextEvent(); ok {
			u.Advance(at)
		}
	}
	if string(got) != want {
		t.Fatalf("looped back %q", got)
	}
}
