package uart16550

// Register offsets from the chip's base address. Offsets 0 and 1 mean the
// divisor latch while LCR.DLAB is set; offset 2 is IIR when read and FCR when
// written, whatever DLAB says.
const (
	RBR = 0 // receiver buffer (read, DLAB=0)
	THR = 0 // transmitter holding register (write, DLAB=0)
	DLL = 0 // divisor latch, low byte (DLAB=1)
	IER = 1 // interrupt enable (DLAB=0)
	DLM = 1 // divisor latch, high byte (DLAB=1)
	IIR = 2 // interrupt identification (read)
	FCR = 2 // FIFO control (write)
	LCR = 3 // line control
	MCR = 4 // modem control
	LSR = 5 // line status
	MSR = 6 // modem status
	SCR = 7 // scratch
)

// IER bits. Bits 4-7 do not exist on a 16550A and always read 0: the Linux
// probe relies on that.
const (
	IERRxData     = 0b0000_0001 // ERBFI: received data available, and the FIFO character timeout
	IERTxEmpty    = 0b0000_0010 // ETBEI: transmitter holding register empty
	IERLineStatus = 0b0000_0100 // ELSI: receiver line status (OE, PE, FE, BI)
	IERModem      = 0b0000_1000 // EDSSI: modem status (any MSR delta bit)
	ierWritable   = 0b0000_1111
)

// IIR values. Bit 0 is 0 while an interrupt is pending; bits 1-3 identify the
// highest-priority source; bits 6-7 are both set while the FIFOs are enabled.
// Bits 4 and 5 always read 0 (a 1 in bit 5 would make Linux call the chip a
// 16750).
const (
	IIRNone        = 0b0000_0001 // no interrupt pending
	IIRLineStatus  = 0b0000_0110 // priority 1: OE, PE, FE or BI
	IIRRxData      = 0b0000_0100 // priority 2: RX FIFO at trigger level (or RBR full without FIFOs)
	IIRCharTimeout = 0b0000_1100 // priority 2: data in the FIFO, untouched for four character times
	IIRTxEmpty     = 0b0000_0010 // priority 3: THR empty
	IIRModem       = 0b0000_0000 // priority 4: CTS, DSR, RI or DCD changed
	IIRFIFOs       = 0b1100_0000 // FIFOs enabled
	iirIDMask      = 0b0000_1111
)

// FCR bits. FCR is write-only; the chip keeps a copy.
const (
	FCREnable     = 0b0000_0001 // enable both FIFOs; changing it empties them
	FCRRxReset    = 0b0000_0010 // empty the RX FIFO (self-clearing)
	FCRTxReset    = 0b0000_0100 // empty the TX FIFO (self-clearing)
	FCRDMAMode    = 0b0000_1000 // RXRDY/TXRDY pin mode 1; no register-visible effect
	FCRTrigger    = 0b1100_0000 // RX trigger level: 1, 4, 8 or 14 bytes
	FCRTrigger1   = 0b0000_0000
	FCRTrigger4   = 0b0100_0000
	FCRTrigger8   = 0b1000_0000
	FCRTrigger14  = 0b1100_0000
	fcrStoredBits = FCREnable | FCRDMAMode | FCRTrigger
)

// LCR bits.
const (
	LCRWordLength  = 0b0000_0011 // 00=5, 01=6, 10=7, 11=8 data bits
	LCRStopBits    = 0b0000_0100 // 1.5 stop bits with 5-bit words, else 2
	LCRParity      = 0b0000_1000 // parity enable
	LCREvenParity  = 0b0001_0000 // even (1) or odd (0) parity
	LCRStickParity = 0b0010_0000 // parity bit forced: 0 when EPS=1, 1 when EPS=0
	LCRBreak       = 0b0100_0000 // hold the serial output at space
	LCRDLAB        = 0b1000_0000 // divisor latch access
)

// MCR bits. Bits 5-7 do not exist on a 16550A (auto flow control in bit 5 is
// a TL16C550C and 16750 addition) and read 0.
const (
	MCRDTR      = 0b0000_0001
	MCRRTS      = 0b0000_0010
	MCROUT1     = 0b0000_0100
	MCROUT2     = 0b0000_1000 // on PC boards, lets INTR through to the IRQ line
	MCRLoop     = 0b0001_0000 // local loopback
	mcrWritable = 0b0001_1111
)

// LSR bits.
const (
	LSRDataReady   = 0b0000_0001 // DR: at least one character to read
	LSROverrun     = 0b0000_0010 // OE: a character was lost (cleared by reading LSR)
	LSRParityError = 0b0000_0100 // PE of the character at the head of the RX FIFO
	LSRFramingErr  = 0b0000_1000 // FE of the character at the head of the RX FIFO
	LSRBreak       = 0b0001_0000 // BI: the character at the head is a break
	LSRTHRE        = 0b0010_0000 // THR (or TX FIFO) empty
	LSRTEMT        = 0b0100_0000 // THR, TX FIFO and shift register all empty
	LSRFIFOError   = 0b1000_0000 // an errored character is in the RX FIFO (FIFO mode only)
	lsrErrorBits   = LSROverrun | LSRParityError | LSRFramingErr | LSRBreak
)

// MSR bits. The low nibble holds the deltas (sticky until MSR is read); the
// high nibble the present state of the inputs, 1 meaning asserted.
const (
	MSRDeltaCTS    = 0b0000_0001
	MSRDeltaDSR    = 0b0000_0010
	MSRTrailingRI  = 0b0000_0100 // RI went from asserted to deasserted
	MSRDeltaDCD    = 0b0000_1000
	MSRCTS         = 0b0001_0000
	MSRDSR         = 0b0010_0000
	MSRRI          = 0b0100_0000
	MSRDCD         = 0b1000_0000
	msrDeltaBits   = 0b0000_1111
	msrStatusBits  = 0b1111_0000
	msrDeltaShift  = 4
	msrTrailingRIs = MSRRI >> msrDeltaShift
)

// Power-on values the datasheet leaves to the implementation.
const (
	// ClockHz is the PC reference clock: 1.8432 MHz / 16 / divisor gives
	// the standard rates (divisor 1 = 115200 baud).
	ClockHz = 1_843_200
	// powerOnDivisor makes a fresh chip run at 9600 baud rather than at the
	// undefined divisor 0.
	powerOnDivisor = 12
	// DefaultFIFODepth is the 16550A's FIFO size.
	DefaultFIFODepth = 16
)
