package driver

import "github.com/vcomd/vcomd/ioctl"

// Short names for the ntddser.h bits the ISR tests on every byte.
const (
	ctlDTRMask        = ioctl.DTRMask
	ctlDTRControl     = ioctl.DTRControl
	ctlDTRHandshake   = ioctl.DTRHandshake
	ctlCTSHandshake   = ioctl.CTSHandshake
	ctlDSRHandshake   = ioctl.DSRHandshake
	ctlDCDHandshake   = ioctl.DCDHandshake
	ctlDSRSensitivity = ioctl.DSRSensitivity
	ctlErrorAbort     = ioctl.ErrorAbort

	flowAutoTransmit  = ioctl.AutoTransmit
	flowAutoReceive   = ioctl.AutoReceive
	flowErrorChar     = ioctl.ErrorChar
	flowNullStripping = ioctl.NullStripping
	flowBreakChar     = ioctl.BreakChar
	flowRTSMask       = ioctl.RTSMask
	flowRTSControl    = ioctl.RTSControl
	flowRTSHandshake  = ioctl.RTSHandshake
	flowXoffContinue  = ioctl.XoffContinue

	evRxChar   = uint32(ioctl.EvRxChar)
	evRxFlag   = uint32(ioctl.EvRxFlag)
	evTxEmpty  = uint32(ioctl.EvTxEmpty)
	evCTS      = uint32(ioctl.EvCTS)
	evDSR      = uint32(ioctl.EvDSR)
	evRLSD     = uint32(ioctl.EvRLSD)
	evBreak    = uint32(ioctl.EvBreak)
	evErr      = uint32(ioctl.EvErr)
	evRing     = uint32(ioctl.EvRing)
	evRx80Full = uint32(ioctl.EvRx80Full)

	errBreak        = ioctl.ErrBreak
	errFraming      = ioctl.ErrFraming
	errOverrun      = ioctl.ErrOverrun
	errQueueOverrun = ioctl.ErrQueueOverrun
	errParity       = ioctl.ErrParity

	txWaitingForCTS  = ioctl.TxWaitingForCTS
	txWaitingForDSR  = ioctl.TxWaitingForDSR
	txWaitingForDCD  = ioctl.TxWaitingForDCD
	txWaitingForXon  = ioctl.TxWaitingForXon
	txWaitingOnBreak = ioctl.TxWaitingOnBreak

	purgeTxAbort = ioctl.PurgeTxAbort
	purgeRxAbort = ioctl.PurgeRxAbort
	purgeTxClear = ioctl.PurgeTxClear
	purgeRxClear = ioctl.PurgeRxClear

	codeGetCommStatus = ioctl.GetCommStatus
)

func purgeFlags(irp *IRP) ioctl.PurgeMask {
	m, _ := irp.Input.(ioctl.PurgeMask)
	return m
}
