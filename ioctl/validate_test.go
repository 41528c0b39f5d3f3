package ioctl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vcomd/vcomd/ioctl"
	lookalike "github.com/vcomd/vcomd/ioctl/internal/lookalike"
)

func TestValidateRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		code  ioctl.Code
		input any
		field string
	}{
		{"baud 0", ioctl.SetBaudRate, ioctl.BaudRate{}, "baud_rate"},
		{"baud above MaxBaud", ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: ioctl.MaxBaud + 1}, "baud_rate"},
		{"baud MAXULONG", ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: ^uint32(0)}, "baud_rate"},

		{"word length 0", ioctl.SetLineControl, ioctl.LineControl{WordLength: 0}, "word_length"},
		{"word length 4", ioctl.SetLineControl, ioctl.LineControl{WordLength: 4}, "word_length"},
		{"word length 9", ioctl.SetLineControl, ioctl.LineControl{WordLength: 9}, "word_length"},
		{"parity 5", ioctl.SetLineControl, ioctl.LineControl{WordLength: 8, Parity: 5}, "parity"},
		{"parity 255", ioctl.SetLineControl, ioctl.LineControl{WordLength: 8, Parity: 255}, "parity"},
		{"stop bits 3", ioctl.SetLineControl, ioctl.LineControl{WordLength: 8, StopBits: 3}, "stop_bits"},
		{"1.5 stop bits with 8 data bits", ioctl.SetLineControl, ioctl.LineControl{WordLength: 8, StopBits: ioctl.StopBits1_5}, "stop_bits"},
		{"1.5 stop bits with 6 data bits", ioctl.SetLineControl, ioctl.LineControl{WordLength: 6, StopBits: ioctl.StopBits1_5}, "stop_bits"},
		{"2 stop bits with 5 data bits", ioctl.SetLineControl, ioctl.LineControl{WordLength: 5, StopBits: ioctl.StopBits2}, "stop_bits"},

		{"control handshake bit 2", ioctl.SetHandflow, ioctl.HandFlow{ControlHandShake: 0x04}, "control_handshake"},
		{"control handshake bit 8", ioctl.SetHandflow, ioctl.HandFlow{ControlHandShake: 0x100}, "control_handshake"},
		{"control handshake bit 30", ioctl.SetHandflow, ioctl.HandFlow{ControlHandShake: 0x40000000}, "control_handshake"},
		{"DTR control and handshake", ioctl.SetHandflow, ioctl.HandFlow{ControlHandShake: ioctl.DTRMask}, "control_handshake"},
		{"flow replace bit 5", ioctl.SetHandflow, ioctl.HandFlow{FlowReplace: 0x20}, "flow_replace"},
		{"flow replace bit 8", ioctl.SetHandflow, ioctl.HandFlow{FlowReplace: 0x100}, "flow_replace"},
		{"negative xon limit", ioctl.SetHandflow, ioctl.HandFlow{XonLimit: -1}, "xon_limit"},
		{"negative xoff limit", ioctl.SetHandflow, ioctl.HandFlow{XoffLimit: -1}, "xoff_limit"},

		{"all read timeouts MAXULONG", ioctl.SetTimeouts, ioctl.Timeouts{ReadIntervalTimeout: ioctl.MaxTimeout, ReadTotalTimeoutMultiplier: ioctl.MaxTimeout, ReadTotalTimeoutConstant: ioctl.MaxTimeout}, "read_total_timeout_constant"},

		{"queue in size 0", ioctl.SetQueueSize, ioctl.QueueSize{OutSize: 4096}, "in_size"},
		{"queue in size 4 GiB", ioctl.SetQueueSize, ioctl.QueueSize{InSize: ioctl.MaxQueueSize + 1}, "in_size"},
		{"xoff counter 0", ioctl.XoffCounter, ioctl.XoffCounterArgs{Timeout: 100, XoffChar: 0x13}, "counter"},
		{"xoff counter negative", ioctl.XoffCounter, ioctl.XoffCounterArgs{Counter: -5}, "counter"},

		{"wait mask bit 13", ioctl.SetWaitMask, ioctl.WaitMask(0x2000), "wait_mask"},
		{"wait mask high bit", ioctl.SetWaitMask, ioctl.EvRxChar | 0x80000000, "wait_mask"},
		{"purge mask 0", ioctl.Purge, ioctl.PurgeMask(0), "purge_mask"},
		{"purge mask bit 4", ioctl.Purge, ioctl.PurgeMask(0x10), "purge_mask"},
		{"purge mask all plus one", ioctl.Purge, ioctl.PurgeAll | 0x100, "purge_mask"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ioctl.ValidateInput(tc.code, tc.input)
			var ipe *ioctl.InvalidParameterError
			if !errors.As(err, &ipe) {
				t.Fatalf("ValidateInput(%s, %+v) = %v, want an *InvalidParameterError", tc.code, tc.input, err)
			}
			if ipe.Field != tc.field {
				t.Errorf("Field = %q, want %q (error %q)", ipe.Field, tc.field, err)
			}
			if ipe.Code != tc.code {
				t.Errorf("Code = %s, want %s", ipe.Code, tc.code)
			}
			if ipe.Reason == "" {
				t.Errorf("no reason given: %q", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.field) || !strings.HasPrefix(msg, tc.code.String()+": ") {
				t.Errorf("message %q should start with %s and name %s", msg, tc.code, tc.field)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		code  ioctl.Code
		input any
	}{
		{ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 1}},
		{ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 9600}},
		{ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: 250000}},
		{ioctl.SetBaudRate, ioctl.BaudRate{BaudRate: ioctl.MaxBaud}},
		{ioctl.SetLineControl, ioctl.LineControl{WordLength: 5, StopBits: ioctl.StopBit1}},
		{ioctl.SetLineControl, ioctl.LineControl{WordLength: 5, StopBits: ioctl.StopBits1_5, Parity: ioctl.MarkParity}},
		{ioctl.SetLineControl, ioctl.LineControl{WordLength: 6, StopBits: ioctl.StopBits2, Parity: ioctl.OddParity}},
		{ioctl.SetLineControl, ioctl.LineControl{WordLength: 7, Parity: ioctl.EvenParity}},
		{ioctl.SetLineControl, ioctl.LineControl{WordLength: 8, StopBits: ioctl.StopBits2, Parity: ioctl.SpaceParity}},
		{ioctl.SetHandflow, ioctl.HandFlow{}},
		{ioctl.SetHandflow, ioctl.HandFlow{
			ControlHandShake: ioctl.DTRHandshake | ioctl.OutHandshakeAll | ioctl.DSRSensitivity | ioctl.ErrorAbort,
			FlowReplace:      ioctl.FlowReplaceValid,
			XonLimit:         2048, XoffLimit: 512,
		}},
		{ioctl.SetHandflow, ioctl.HandFlow{ControlHandShake: ioctl.DTRControl, FlowReplace: ioctl.TransmitToggle}},
		{ioctl.SetTimeouts, ioctl.Timeouts{}},
		{ioctl.SetTimeouts, ioctl.Timeouts{ReadIntervalTimeout: ioctl.MaxTimeout}},
		{ioctl.SetTimeouts, ioctl.Timeouts{ReadIntervalTimeout: ioctl.MaxTimeout, ReadTotalTimeoutMultiplier: ioctl.MaxTimeout, ReadTotalTimeoutConstant: ioctl.MaxTimeout - 1}},
		{ioctl.SetChars, ioctl.Chars{XonChar: 0x11, XoffChar: 0x13}},
		{ioctl.SetChars, ioctl.Chars{XonChar: 0x11, XoffChar: 0x11}},
		{ioctl.SetQueueSize, ioctl.QueueSize{InSize: 1}},
		{ioctl.XoffCounter, ioctl.XoffCounterArgs{Counter: 1}},
		{ioctl.SetWaitMask, ioctl.WaitMask(0)},
		{ioctl.SetWaitMask, ioctl.EvAll},
		{ioctl.Purge, ioctl.PurgeRxClear},
		{ioctl.Purge, ioctl.PurgeAll},
		{ioctl.ImmediateChar, byte(0)},
		{ioctl.LSRMSTInsert, byte(0xFF)},
		{ioctl.SetModemControl, uint32(0x0B)},
		{ioctl.SetFIFOControl, uint32(0xC7)},
		{ioctl.SetDTR, nil},
		{ioctl.GetStats, nil},
		{ioctl.WaitOnMask, nil},
	} {
		if err := ioctl.ValidateInput(tc.code, tc.input); err != nil {
			t.Errorf("ValidateInput(%s, %#v) = %v, want nil", tc.code, tc.input, err)
		}
	}
}

func TestValidateInputType(t *testing.T) {
	for _, tc := range []struct {
		name  string
		code  ioctl.Code
		input any
		want  string
	}{
		{"pointer", ioctl.SetBaudRate, &ioctl.BaudRate{BaudRate: 9600}, "takes a ioctl.BaudRate, got *ioctl.BaudRate"},
		{"other struct", ioctl.SetBaudRate, ioctl.LineControl{WordLength: 8}, "got ioctl.LineControl"},
		{"bare number", ioctl.SetWaitMask, uint32(1), "takes a ioctl.WaitMask, got uint32"},
		{"missing", ioctl.SetChars, nil, "got <nil>"},
		{"input to no-input code", ioctl.SetDTR, byte(1), "IOCTL_SERIAL_SET_DTR takes no input, got uint8"},
		{"unknown code", ioctl.Code(0x1B0084), nil, "unknown IOCTL IOCTL(0x001b0084)"},
		// A look-alike type from another package must not pass: the
		// driver type-asserts the real one.
		{"look-alike type", ioctl.SetBaudRate, lookalike.BaudRate{BaudRate: 9600}, "takes a ioctl.BaudRate, got ioctl.BaudRate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ioctl.ValidateInput(tc.code, tc.input)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateInput = %v, want an error containing %q", err, tc.want)
			}
			var ipe *ioctl.InvalidParameterError
			if errors.As(err, &ipe) {
				t.Errorf("a type mismatch is not an invalid value, got %#v", ipe)
			}
		})
	}
}

// The structs report SET_* codes; ValidateInput must report the code the
// request was made with.
func TestValidateInputReportsRequestCode(t *testing.T) {
	err := ioctl.ValidateInput(ioctl.SetWaitMask, ioctl.WaitMask(0x4000))
	var ipe *ioctl.InvalidParameterError
	if !errors.As(err, &ipe) || ipe.Code != ioctl.SetWaitMask {
		t.Fatalf("got %v", err)
	}
	if err := (ioctl.BaudRate{}).Validate(); !strings.HasPrefix(err.Error(), "IOCTL_SERIAL_SET_BAUD_RATE: baud_rate = 0: ") {
		t.Errorf("BaudRate{}.Validate() = %q", err)
	}
}

func TestValidateLimits(t *testing.T) {
	const queue = 4096
	for _, tc := range []struct {
		h     ioctl.HandFlow
		field string // "" when valid
	}{
		{ioctl.HandFlow{XonLimit: 0, XoffLimit: 0}, ""},
		{ioctl.HandFlow{XonLimit: queue, XoffLimit: queue}, ""},
		{ioctl.HandFlow{XonLimit: queue + 1}, "xon_limit"},
		{ioctl.HandFlow{XoffLimit: queue + 1}, "xoff_limit"},
		{ioctl.HandFlow{XonLimit: 1 << 30, XoffLimit: 1 << 30}, "xon_limit"},
	} {
		err := tc.h.ValidateLimits(queue)
		if tc.field == "" {
			if err != nil {
				t.Errorf("ValidateLimits(%+v) = %v, want nil", tc.h, err)
			}
			continue
		}
		var ipe *ioctl.InvalidParameterError
		if !errors.As(err, &ipe) || ipe.Field != tc.field || ipe.Code != ioctl.SetHandflow {
			t.Errorf("ValidateLimits(%+v) = %v, want an invalid %s", tc.h, err, tc.field)
		} else if !strings.Contains(err.Error(), "4096-byte receive queue") {
			t.Errorf("message %q does not give the queue size", err)
		}
	}
}

func TestNewInput(t *testing.T) {
	withInput := map[ioctl.Code]bool{
		ioctl.SetBaudRate: true, ioctl.SetLineControl: true, ioctl.SetHandflow: true,
		ioctl.SetTimeouts: true, ioctl.SetChars: true, ioctl.SetQueueSize: true,
		ioctl.XoffCounter: true, ioctl.SetWaitMask: true, ioctl.Purge: true,
		ioctl.ImmediateChar: true, ioctl.LSRMSTInsert: true,
		ioctl.SetModemControl: true, ioctl.SetFIFOControl: true,
	}
	for _, c := range ioctl.Codes() {
		in, ok := ioctl.NewInput(c)
		if !ok {
			t.Errorf("NewInput(%s): not known", c)
		}
		if (in != nil) != withInput[c] {
			t.Errorf("NewInput(%s) = %T, want an input: %v", c, in, withInput[c])
		}
	}
	if in, ok := ioctl.NewInput(0x1B0084); ok || in != nil {
		t.Errorf("NewInput(unknown) = %v, %v", in, ok)
	}
}
