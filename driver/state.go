package driver

import (
	"time"

	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// state is everything the interrupt lock guards. Names follow Serial.sys's
// device extension where there is one.
type state struct {
	wire   Wire
	closed bool
	seq    uint64 // IRPs ever submitted: the last one's ID
	passes uint64 // ISR passes (runLocked calls)
	chip   *uart16550.UART
	inbox  []Input
	// inboxDone are InputThen callbacks waiting for their input to be
	// applied.
	inboxDone  []pendingDone
	inboxSeq   uint64    // inputs ever put in the inbox
	appliedSeq uint64    // inputs ever applied
	instant    bool      // timing off
	txRound    bool      // timing off: data sent and not yet taken by the far end
	txRoundOut bool      // the wire has the callback that ends txRound
	freeRuns   []*runBuf // run-data buffers the wire gave back (see runbuf.go)
	// Delivered callers waiting for what the chip put on its pins so far
	// to reach the far end.
	deliverWaiters []chan struct{}
	traceEvents    []TraceEvent // modem input changes the ISR goroutine has still to trace

	// A NotifyOutputBelow request: run onLowWater once fewer than
	// lowWater bytes wait to be sent.
	lowWater   int
	onLowWater func()
	// Realistic timing: characters handed to the wire that the far end has
	// not yet applied, in the batches the wire will acknowledge, and
	// whether write data waits for them (see txWindow); and what write
	// data the transmitter loaded since the last pass handed the wire its
	// characters.
	txUnacked    int
	txBatches    []int
	txWindowFull bool
	txLoaded     int
	// A run stopped the chip where passLoadLocked's cap refused a load,
	// short of the present (txResume): the next run loads on from that
	// instant once the far end has taken what went, or runs on without
	// the load from txResumeBy. txAwait holds loads for the rest of a run
	// that found the far end's reaction to the last round waiting in the
	// inbox (see runLocked).
	txResume, txAwait bool
	txResumeBy        time.Duration
	rxBurst           int // characters the last ISR pass received (see quantumLocked)
	// The transmitter has had a backlog at every ISR pass since
	// streamSince (see quantumLocked).
	streaming   bool
	streamSince time.Duration
	inISR       bool // runLocked is servicing the chip at its own virtual instant
	fcr         byte // what the driver last programmed into the write-only FCR
	touched     bool // a locked section outside the ISR accessed the chip
	// The last pass armed the ISR goroutine's timer for wakeAt (virtual
	// time), if wakeArmed; handAt is when a pass last handed the wire
	// characters (see holdCharsLocked).
	wakeAt, handAt time.Duration
	wakeArmed      bool
	// Modem inputs VCOM_SET_MODEM_INPUTS set (MSR bits), which the wire's
	// modem signals do not override.
	forcedMask, forcedValue uint8
	injectEnd               time.Duration // when the last injected character arrives

	// Settings. They persist across opens, as in Serial.sys.
	baud     uint32
	line     ioctl.LineControl
	handflow ioctl.HandFlow
	chars    ioctl.Chars
	timeouts ioctl.Timeouts
	// A SettingsWire is being given the settings (settingsBusy), and
	// they changed again meanwhile (settingsAgain): see notifySettings.
	settingsBusy, settingsAgain bool

	// Open state.
	openCount int
	// overrunsAtClose is the buffer overrun count at the last close:
	// those after it happened while nobody had the port open.
	overrunsAtClose uint64
	errorWord       uint32 // SERIAL_ERROR_* since the last GET_COMMSTATUS
	stats           Stats

	// Typeahead buffer (the "interrupt buffer"): received bytes no read
	// owns, in a ring of rxSize bytes whose memory, rxBuf, grows as it
	// fills (see growRxLocked).
	rxBuf     []byte
	rxSize    int
	rxHead    int
	rxCount   int
	xoffLimit int // engage input flow control when free space falls to this
	xonLimit  int // release it when the count falls to this

	// The ISR's bulk path. byteWise turns it off, so that the ISR moves
	// characters one at a time as SerialISR does: the reference tests hold
	// the bulk path to.
	rxFIFO   []byte // what the ISR read from the RX FIFO and is handling
	byteWise bool

	// Flow control.
	txHolding uint32 // SERIAL_TX_WAITING_* reasons output is held
	rxHolding uint32 // rxHold* reasons input is held (we told the peer to stop)
	sendXon   bool   // an XON must go out ahead of data
	sendXoff  bool

	// Read side.
	readQ      []*IRP
	curRead    *IRP
	readByISR  bool // the ISR stores straight into curRead.Buffer
	readN      int  // bytes in curRead.Buffer so far
	readLen    int  // bytes that satisfy curRead (1 for "return on the first byte")
	readLast   time.Duration
	readDone   bool // the ISR filled curRead; CompleteReadDpc will finish it
	readTimer  timerSlot
	readIntvl  timerSlot
	readIntDur time.Duration

	// Write side.
	writeQ     []*IRP
	curWrite   *IRP
	writeOff   int    // bytes of curWrite handed to the UART
	writeDone  bool   // the ISR handed the last byte; CompleteWriteDpc will finish it
	written    []*IRP // writes the ISR finished and went past; CompleteWriteDpc completes them
	writeTimer timerSlot
	immediate  *IRP // IOCTL_SERIAL_IMMEDIATE_CHAR waiting to go out
	immSent    bool
	emptied    bool // something was transmitted since the last wait was armed

	// Wait-on-mask.
	waitMask  uint32
	history   uint32
	curWait   *IRP
	waitFired bool
	waitOut   uint32

	// Purge.
	purgeQ   []*IRP
	curPurge *IRP
}

// Stats are the counters a serial driver keeps: SERIALPERF_STATS, plus the
// break and modem-line counts Linux's serial_icounter_struct adds.
type Stats struct {
	ReceivedCount           uint64
	TransmittedCount        uint64
	FrameErrorCount         uint64
	SerialOverrunErrorCount uint64
	BufferOverrunErrorCount uint64
	ParityErrorCount        uint64
	BreakCount              uint64
	CTSCount                uint64
	DSRCount                uint64
	RingCount               uint64
	DCDCount                uint64
	// TxHoldCount counts the times output flow control (CTS, DSR, DCD,
	// XOFF or the program's own XOFF) stopped a transmitter that was free
	// to send.
	TxHoldCount uint64
}

// pendingDone is an InputThen callback and the count of inputs that must
// have been applied before it runs.
type pendingDone struct {
	seq uint64
	fn  func()
}

// timerSlot is a one-shot timer that queues a DPC. armed says whether it
// is set; a DPC queued by an earlier arming finds due false and knows it
// is stale.
type timerSlot struct {
	t        *time.Timer // made at the first arming, re-armed after
	deadline time.Time
	armed    bool
	due      bool // fired, and its DPC has not yet acted
}

// Input flow-control hold reasons (Serial.sys's internal RX hold bits).
const (
	rxHoldDTR  = 0x1
	rxHoldXoff = 0x2
	rxHoldRTS  = 0x4
	rxHoldDSR  = 0x8
)
