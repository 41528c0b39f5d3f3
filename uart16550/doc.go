// Package uart16550 emulates the National Semiconductor PC16550D UART (the
// "16550A" that the Linux 8250 driver and Windows Serial.sys expect) register
// for register, in virtual time.
//
// The chip is a passive state machine. It has no goroutines, does no I/O,
// logs nothing and never reads a clock: callers serialise access (the driver
// holds its interrupt lock) and move time forward with [UART.Advance]. The
// chip says when something will next happen on its own ([UART.NextEvent]:
// a character leaves the transmit shift register, the receive FIFO times out,
// a break has lasted a whole frame), so a caller can sleep until then and a
// test never has to sleep at all.
//
// Three sides:
//
//	CPU side   Read(off) / Write(off, v) at offsets 0-7, as on the ISA bus;
//	           INTR() is the interrupt output, gated by MCR.OUT2 as on a PC.
//	wire side  TakeSignals drains what the chip put on its pins (characters
//	           with their framing, break, modem outputs), each stamped with the
//	           virtual time it happened; Receive, SetBreakInput and
//	           SetModemInputs are what the far end does to the chip's inputs.
//	time       Advance(now) and NextEvent().
//
// For timing off, where characters take no time and per-call costs are all
// there is, WriteTHR, ReadRBR and ReceiveRun do what runs of THR writes,
// LSR-and-RBR reads and Receive calls do, with the same results, and with
// [Options.CharRuns] a FIFO's worth leaving at one instant goes on the wire
// as one SignalChars.
//
// At realistic timing the same holds per run instead of per character:
// with [Options.TimedRuns] characters that leave back to back go on the
// wire as one SignalChars whose [Signal.End] gives each one's exact end,
// [UART.ReceiveSpaced] takes such a run with each character arriving at
// its own end, and [UART.RunUntil] advances over the chip's events until
// one raises the interrupt. Each stops exactly where a caller stepping
// character by character and event by event would have had to service the
// interrupt, so the register reads an ISR makes, the times and the
// counters are the same either way. [Options.ReuseRunData] lets the runs'
// Data share one buffer, valid until the next TakeSignals.
//
// Behaviour follows the PC16550D datasheet and its compatible TI TL16C550C
// description: FIFOs with trigger levels 1/4/8/14 and per-byte error flags,
// the overrun rule (the character in the shift register is lost, the FIFO is
// kept), the IIR priority encoder and every interrupt clear rule, the
// character timeout after four character times, loopback wiring inside the
// chip, break sent and received, and 16450 behaviour when the FIFOs are off.
// Interrupt state is derived from the registers on every look rather than
// stored, so IIR can never disagree with LSR, MSR and the FIFOs; the only
// stored interrupt fact is the THRE latch, which the datasheet defines as an
// event ("cleared by an IIR read that reports it").
//
// Where the datasheet leaves behaviour undefined the package picks one and
// says so: divisor 0 counts as 65536, a THR write into a full transmit FIFO
// is dropped (and counted), and a break shorter than one frame is not
// received.
package uart16550
