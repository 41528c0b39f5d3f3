package driver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
)

// InputDriver is a Wire that drives some of a device's modem inputs (a
// null-modem cable drives CTS, DSR and DCD from the far end's RTS and
// DTR). VCOM_SET_MODEM_INPUTS refuses those pins: the wire would undo the
// change at its next signal, and a test that set them would be testing a
// cable that cannot exist. A wire that is not an InputDriver drives none.
type InputDriver interface {
	Wire
	// DrivenInputs reports which of to's inputs the wire drives.
	DrivenInputs(to *Device) uart16550.ModemInputs
}

// ErrWireDriven is wrapped by the error of a request to set a modem input
// that the port's wire drives.
var ErrWireDriven = errors.New("driven by the wire")

// drivenBitsLocked are the MSR bits of the inputs the wire drives.
func (d *Device) drivenBitsLocked() uint8 {
	w, ok := d.s.wire.(InputDriver)
	if !ok {
		return 0
	}
	return msrBits(w.DrivenInputs(d))
}

func msrBits(m uart16550.ModemInputs) uint8 {
	var v uint8
	for _, p := range []struct {
		on  bool
		bit uint8
	}{{m.CTS, ioctl.MSRCTS}, {m.DSR, ioctl.MSRDSR}, {m.RI, ioctl.MSRRI}, {m.DCD, ioctl.MSRDCD}} {
		if p.on {
			v |= p.bit
		}
	}
	return v
}

// pinNames lists the inputs in MSR bits: "CTS and DSR".
func pinNames(bits uint8) string {
	var names []string
	for _, p := range []struct {
		bit  uint8
		name string
	}{{ioctl.MSRCTS, "CTS"}, {ioctl.MSRDSR, "DSR"}, {ioctl.MSRRI, "RI"}, {ioctl.MSRDCD, "DCD"}} {
		if bits&p.bit != 0 {
			names = append(names, p.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// setModemInputsLocked is VCOM_SET_MODEM_INPUTS. The inputs set stay
// forced: the wire's later modem signals carry all four inputs, and would
// otherwise put back the ones it does not drive.
func (d *Device) setModemInputsLocked(mi ioctl.ModemInputs) error {
	s := &d.s
	if driven := d.drivenBitsLocked(); driven&mi.Mask != 0 {
		verb := "is"
		if bitCount(driven&mi.Mask) > 1 {
			verb = "are"
		}
		return fmt.Errorf("%s %s %w (%v); inputs free to set: %s",
			pinNames(driven&mi.Mask), verb, ErrWireDriven, s.wire, pinNames(0xF0&^driven))
	}
	s.forcedMask |= mi.Mask
	s.forcedValue = s.forcedValue&^mi.Mask | mi.Value
	d.syncTimeLocked()
	s.chip.SetModemInputs(d.forceInputsLocked(s.chip.State().Inputs))
	return nil
}

func bitCount(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// forceInputsLocked overrides m with the inputs VCOM_SET_MODEM_INPUTS set.
func (d *Device) forceInputsLocked(m uart16550.ModemInputs) uart16550.ModemInputs {
	s := &d.s
	for _, p := range []struct {
		pin *bool
		bit uint8
	}{{&m.CTS, ioctl.MSRCTS}, {&m.DSR, ioctl.MSRDSR}, {&m.RI, ioctl.MSRRI}, {&m.DCD, ioctl.MSRDCD}} {
		if s.forcedMask&p.bit != 0 {
			*p.pin = s.forcedValue&p.bit != 0
		}
	}
	return m
}

// injectLocked is VCOM_INJECT: it puts the damaged characters (or the
// overruns) on the line into the UART, spaced by the rate from now, for
// the ISR goroutine to apply in time order with whatever else arrives.
func (d *Device) injectLocked(inj ioctl.Injection) error {
	s := &d.s
	if inj.Kind == ioctl.InjectParity && s.line.Parity == ioctl.NoParity {
		return fmt.Errorf("%s receives %s, without parity, so a parity error cannot show; set a parity first (for example 8E1)", d.name, s.line)
	}
	step := s.chip.Format().CharTime()
	if inj.Rate > 0 {
		step = time.Second / time.Duration(inj.Rate)
	}
	// An injection follows the one before on the line, as characters
	// do: two in a row arrive in the order they were asked for.
	in := injection(inj, max(d.vnow(), s.injectEnd), step)
	s.injectEnd = in[len(in)-1].At
	d.inputLocked(nil, in...)
	return nil
}

// injectionStream is the PCG stream of injections: the seed alone picks
// the sequence.
const injectionStream = 0x7663_6f6d_6421 // "vcomd!"

// injection is what inj puts on the line: the same seed gives the same
// characters, damage and timing after start.
func injection(inj ioctl.Injection, start, step time.Duration) []Input {
	r := rand.New(rand.NewPCG(inj.Seed, injectionStream))
	noise := [...]uart16550.RxError{0, uart16550.FramingError, uart16550.ParityError, uart16550.FramingError | uart16550.ParityError}
	in := make([]Input, inj.Count)
	for i := range in {
		in[i] = Input{At: start + time.Duration(i+1)*step, Kind: InputChar, Char: byte(r.Uint32())}
		switch inj.Kind {
		case ioctl.InjectFraming:
			in[i].Err = uart16550.FramingError
		case ioctl.InjectParity:
			in[i].Err = uart16550.ParityError
		case ioctl.InjectOverrun:
			in[i].Kind = InputOverrun
		case ioctl.InjectNoise:
			in[i].Err = noise[r.IntN(len(noise))]
		}
	}
	return in
}

// portStateLocked is VCOM_GET_PORT_STATE.
func (d *Device) portStateLocked() ioctl.PortState {
	s := &d.s
	st := s.chip.State()
	reads, writes := len(s.readQ), len(s.writeQ)
	if s.curRead != nil {
		reads++
	}
	if s.curWrite != nil {
		writes++
	}
	return ioctl.PortState{
		Baud: s.baud,
		Line: s.line,
		Registers: ioctl.Registers{
			RBR: st.RBR, IER: st.IER, IIR: st.IIR, FCR: st.FCR, LCR: st.LCR, MCR: st.MCR,
			LSR: st.LSR, MSR: st.MSR, SCR: st.SCR, DLL: st.DLL, DLM: st.DLM,
		},
		CTS: st.MSR&uart16550.MSRCTS != 0, DSR: st.MSR&uart16550.MSRDSR != 0,
		RI: st.MSR&uart16550.MSRRI != 0, DCD: st.MSR&uart16550.MSRDCD != 0,
		DTR: st.Outputs.DTR, RTS: st.Outputs.RTS, OUT1: st.Outputs.OUT1, OUT2: st.Outputs.OUT2,
		WireDriven:  d.drivenBitsLocked(),
		BreakIn:     st.BreakIn,
		BreakOut:    st.BreakOut,
		FIFODepth:   st.FIFODepth,
		RxFIFO:      st.RxLevel,
		TxFIFO:      st.TxLevel,
		InQueue:     s.rxCount,
		InQueueSize: s.rxSize,
		OutQueue:    d.outQueueLocked(),
		Reads:       reads,
		Writes:      writes,
		HoldReasons: d.holdReasonsLocked(),
		Errors:      s.errorWord,
		WaitMask:    s.waitMask,
		Opens:       s.openCount,
		Counters: ioctl.Counters{
			PerfStats:  s.stats.perf(),
			BreakCount: s.stats.BreakCount,
			CTSCount:   s.stats.CTSCount,
			DSRCount:   s.stats.DSRCount,
			RingCount:  s.stats.RingCount,
			DCDCount:   s.stats.DCDCount,
			TxHolds:    s.stats.TxHoldCount,
		},
		Work: ioctl.Work{ISRPasses: s.passes, DPCRuns: d.dpcs.Stats().Runs, Requests: s.seq},
	}
}
