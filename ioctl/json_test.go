package ioctl_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vcomd/vcomd/ioctl"
)

// sampleInputs gives a valid, non-zero input for every code that takes one,
// so that a field lost on the way through JSON shows.
func sampleInputs() map[ioctl.Code]any {
	return map[ioctl.Code]any{
		ioctl.SetBaudRate:    ioctl.BaudRate{BaudRate: 250000},
		ioctl.SetLineControl: ioctl.LineControl{StopBits: ioctl.StopBits2, Parity: ioctl.MarkParity, WordLength: 7},
		ioctl.SetHandflow: ioctl.HandFlow{
			ControlHandShake: ioctl.DTRHandshake | ioctl.CTSHandshake | ioctl.ErrorAbort,
			FlowReplace:      ioctl.AutoTransmit | ioctl.RTSHandshake | ioctl.XoffContinue,
			XonLimit:         1024, XoffLimit: 256,
		},
		ioctl.SetTimeouts: ioctl.Timeouts{
			ReadIntervalTimeout: ioctl.MaxTimeout, ReadTotalTimeoutMultiplier: 2,
			ReadTotalTimeoutConstant: 3, WriteTotalTimeoutMultiplier: 4, WriteTotalTimeoutConstant: 5,
		},
		ioctl.SetChars:        ioctl.Chars{EofChar: 0x1A, ErrorChar: '?', BreakChar: 0xFF, EventChar: '\n', XonChar: 0x11, XoffChar: 0x13},
		ioctl.SetQueueSize:    ioctl.QueueSize{InSize: 4096, OutSize: 2048},
		ioctl.XoffCounter:     ioctl.XoffCounterArgs{Timeout: 1000, Counter: 7, XoffChar: 0x13},
		ioctl.SetWaitMask:     ioctl.EvRxChar | ioctl.EvCTS | ioctl.EvEvent2,
		ioctl.Purge:           ioctl.PurgeTxAbort | ioctl.PurgeRxClear,
		ioctl.ImmediateChar:   byte('A'),
		ioctl.LSRMSTInsert:    byte(0xFE),
		ioctl.SetModemControl: uint32(0x0B),
		ioctl.SetFIFOControl:  uint32(0xC7),
	}
}

func TestRequestJSONRoundTrip(t *testing.T) {
	samples := sampleInputs()
	for _, c := range ioctl.Codes() {
		want := ioctl.Request{Code: c, Input: samples[c]}
		if in, _ := ioctl.NewInput(c); (in != nil) != (want.Input != nil) {
			t.Fatalf("sampleInputs and NewInput disagree about %s", c)
		}
		b, err := json.Marshal(want)
		if err != nil {
			t.Errorf("Marshal(%s): %v", c, err)
			continue
		}
		short := strings.TrimPrefix(c.String(), "IOCTL_SERIAL_")
		if !strings.HasPrefix(string(b), `{"ioctl":"`+short+`"`) {
			t.Errorf("%s marshals as %s, want the short name first", c, b)
		}
		if want.Input == nil && strings.Contains(string(b), "input") {
			t.Errorf("%s has no input but marshals as %s", c, b)
		}
		var got ioctl.Request
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("Unmarshal(%s): %v", b, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip gave %#v, want %#v", b, got, want)
		}
	}
}

func TestRequestJSONForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ioctl.Request
	}{
		{`{"ioctl":"SET_BAUD_RATE","input":{"baud_rate":9600}}`, ioctl.Request{Code: ioctl.SetBaudRate, Input: ioctl.BaudRate{BaudRate: 9600}}},
		{`{"ioctl":"IOCTL_SERIAL_SET_BAUD_RATE","input":{"baud_rate":9600}}`, ioctl.Request{Code: ioctl.SetBaudRate, Input: ioctl.BaudRate{BaudRate: 9600}}},
		{` {"input":{"baud_rate":9600}, "ioctl":"set_baud_rate"} `, ioctl.Request{Code: ioctl.SetBaudRate, Input: ioctl.BaudRate{BaudRate: 9600}}},
		{`{"ioctl":"set_dtr"}`, ioctl.Request{Code: ioctl.SetDTR}},
		{`{"ioctl":"SET_DTR","input":null}`, ioctl.Request{Code: ioctl.SetDTR}},
		{`{"ioctl":"PURGE","input":15}`, ioctl.Request{Code: ioctl.Purge, Input: ioctl.PurgeAll}},
		{`{"ioctl":"IMMEDIATE_CHAR","input":0}`, ioctl.Request{Code: ioctl.ImmediateChar, Input: byte(0)}},
		{`{"ioctl":"SET_LINE_CONTROL","input":{"word_length":8}}`, ioctl.Request{Code: ioctl.SetLineControl, Input: ioctl.LineControl{WordLength: 8}}},
	} {
		var got ioctl.Request
		if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
		} else if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Unmarshal(%s) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestRequestJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // in the error message
		invalid  string // the field, when it is an *InvalidParameterError
	}{
		{"unknown ioctl", `{"ioctl":"SET_SPEED"}`, `unknown ioctl "SET_SPEED"`, ""},
		{"unhandled ioctl", `{"ioctl":"GET_COMMCONFIG"}`, `unknown ioctl "GET_COMMCONFIG"`, ""},
		{"missing ioctl", `{"input":{"baud_rate":9600}}`, `"ioctl" is missing`, ""},
		{"empty object", `{}`, `"ioctl" is missing`, ""},
		{"null", `null`, `"ioctl" is missing`, ""},
		{"ioctl is a number", `{"ioctl":1769476}`, `cannot unmarshal number`, ""},
		{"unknown top field", `{"ioctl":"SET_DTR","code":1}`, `unknown field "code"`, ""},
		{"unknown input field", `{"ioctl":"SET_BAUD_RATE","input":{"baud":9600}}`, `IOCTL_SERIAL_SET_BAUD_RATE input: json: unknown field "baud"`, ""},
		{"input wrong type", `{"ioctl":"SET_BAUD_RATE","input":{"baud_rate":"fast"}}`, `IOCTL_SERIAL_SET_BAUD_RATE input:`, ""},
		{"input not an object", `{"ioctl":"SET_BAUD_RATE","input":9600}`, `IOCTL_SERIAL_SET_BAUD_RATE input:`, ""},
		{"negative into unsigned", `{"ioctl":"SET_BAUD_RATE","input":{"baud_rate":-1}}`, `IOCTL_SERIAL_SET_BAUD_RATE input:`, ""},
		{"fraction", `{"ioctl":"SET_BAUD_RATE","input":{"baud_rate":9600.5}}`, `IOCTL_SERIAL_SET_BAUD_RATE input:`, ""},
		{"byte overflow", `{"ioctl":"IMMEDIATE_CHAR","input":256}`, `IOCTL_SERIAL_IMMEDIATE_CHAR input:`, ""},
		{"mask as names", `{"ioctl":"SET_WAIT_MASK","input":"RXCHAR"}`, `IOCTL_SERIAL_SET_WAIT_MASK input:`, ""},
		{"input to no-input ioctl", `{"ioctl":"SET_DTR","input":{}}`, `IOCTL_SERIAL_SET_DTR takes no input`, ""},
		{"missing input", `{"ioctl":"SET_CHARS"}`, `IOCTL_SERIAL_SET_CHARS needs an input`, ""},
		{"null input", `{"ioctl":"SET_WAIT_MASK","input":null}`, `IOCTL_SERIAL_SET_WAIT_MASK needs an input`, ""},
		{"trailing data", `{"ioctl":"SET_DTR"} {"ioctl":"CLR_DTR"}`, `unexpected data after the JSON value`, ""},
		{"truncated", `{"ioctl":"SET_DTR"`, `request:`, ""},
		{"invalid baud", `{"ioctl":"SET_BAUD_RATE","input":{"baud_rate":0}}`, `baud_rate = 0`, "baud_rate"},
		{"invalid parity", `{"ioctl":"SET_LINE_CONTROL","input":{"word_length":8,"parity":5}}`, `IOCTL_SERIAL_SET_LINE_CONTROL: parity = 5`, "parity"},
		{"invalid purge", `{"ioctl":"PURGE","input":0}`, `purge_mask`, "purge_mask"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ioctl.Request{Code: ioctl.ClrRTS}
			r := before
			// Call UnmarshalJSON directly: json.Unmarshal would catch
			// some of these (trailing data) before it got the chance.
			err := r.UnmarshalJSON([]byte(tc.in))
			if err == nil {
				t.Fatalf("accepted as %#v", r)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var ipe *ioctl.InvalidParameterError
			if got := errors.As(err, &ipe); got != (tc.invalid != "") {
				t.Errorf("error %q: *InvalidParameterError %v, want %v", err, got, tc.invalid != "")
			} else if got && ipe.Field != tc.invalid {
				t.Errorf("Field = %q, want %q", ipe.Field, tc.invalid)
			}
			if !reflect.DeepEqual(r, before) {
				t.Errorf("a failed unmarshal changed the request to %#v", r)
			}
		})
	}
}

func TestRequestMarshalErrors(t *testing.T) {
	if b, err := json.Marshal(ioctl.Request{Code: 0x1B0084}); err == nil {
		t.Errorf("an unknown code marshals as %s", b)
	} else if !strings.Contains(err.Error(), "IOCTL(0x001b0084)") {
		t.Errorf("error %q does not name the code", err)
	}
	if b, err := json.Marshal(ioctl.Request{Code: ioctl.SetBaudRate, Input: func() {}}); err == nil {
		t.Errorf("an unencodable input marshals as %s", b)
	} else if !strings.Contains(err.Error(), "IOCTL_SERIAL_SET_BAUD_RATE input") {
		t.Errorf("error %q does not say which request", err)
	}
}

// FuzzRequestJSON checks that no input makes UnmarshalJSON panic and that
// whatever it accepts is valid and survives a trip back through JSON.
func FuzzRequestJSON(f *testing.F) {
	samples := sampleInputs()
	for _, c := range ioctl.Codes() {
		b, err := json.Marshal(ioctl.Request{Code: c, Input: samples[c]})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"ioctl":"set_dtr","input":null}`,
		`{"IOCTL":"purge","INPUT":3}`,
		`{"ioctl":"SET_HANDFLOW","input":{"control_handshake":2147483649,"flow_replace":64,"xon_limit":-1}}`,
		`{"ioctl":"SET_LINE_CONTROL","input":{"word_length":5,"stop_bits":1}}`,
		`{"ioctl":"ſet_dtr"}`,
		`{"ioctl":"SET_DTR"}{}`,
		`[]`, `null`, `""`, `{"ioctl":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r ioctl.Request
		if err := r.UnmarshalJSON(b); err != nil {
			return
		}
		if err := ioctl.ValidateInput(r.Code, r.Input); err != nil {
			t.Fatalf("accepted %q as %#v, which fails validation: %v", b, r, err)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("accepted %q as %#v but cannot marshal it: %v", b, r, err)
		}
		var again ioctl.Request
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%q -> %s does not parse back: %v", b, out, err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("%q -> %#v -> %s -> %#v", b, r, out, again)
		}
	})
}
