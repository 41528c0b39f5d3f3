package ioctl_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vcomd/vcomd/ioctl"
)

// vcomd's own IOCTLs have names, round-trip through JSON, and sit outside
// the serial IOCTLs' functions.
func TestVcomCodes(t *testing.T) {
	samples := map[ioctl.Code]any{
		ioctl.SetModemInputs: ioctl.ModemInputs{Mask: ioctl.MSRCTS | ioctl.MSRRI, Value: ioctl.MSRRI},
		ioctl.Inject:         ioctl.Injection{Kind: ioctl.InjectNoise, Count: 9, Rate: 100, Seed: 1<<63 + 5},
		ioctl.GetPortState:   nil,
	}
	for _, c := range ioctl.VcomCodes() {
		if !strings.HasPrefix(c.String(), "IOCTL_VCOM_") {
			t.Errorf("%#x is named %s", uint32(c), c)
		}
		for _, name := range []string{c.String(), strings.TrimPrefix(c.String(), "IOCTL_"), strings.ToLower(c.String())} {
			if got, ok := ioctl.Lookup(name); !ok || got != c {
				t.Errorf("Lookup(%q) = %s, %v", name, got, ok)
			}
		}
		for _, serial := range ioctl.Codes() {
			if serial == c {
				t.Errorf("%s has the code of a serial IOCTL", c)
			}
		}
		want := ioctl.Request{Code: c, Input: samples[c]}
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var got ioctl.Request
		if err := json.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s came back as %+v, %v", c, b, got, err)
		}
	}
}

func TestVcomValidation(t *testing.T) {
	for _, tc := range []struct {
		in   any
		code ioctl.Code
		want string // "" for valid
	}{
		{ioctl.ModemInputs{Mask: ioctl.MSRDCD, Value: ioctl.MSRDCD}, ioctl.SetModemInputs, ""},
		{ioctl.ModemInputs{}, ioctl.SetModemInputs, "name at least one of CTS, DSR, RI, DCD"},
		{ioctl.ModemInputs{Mask: 0x01}, ioctl.SetModemInputs, "are not modem inputs"},
		{ioctl.ModemInputs{Mask: ioctl.MSRCTS, Value: ioctl.MSRDSR}, ioctl.SetModemInputs, "not in the mask"},
		{ioctl.Injection{Kind: ioctl.InjectFraming, Count: 1}, ioctl.Inject, ""},
		{ioctl.Injection{Kind: "gremlins", Count: 1}, ioctl.Inject, "want framing, parity, overrun or noise"},
		{ioctl.Injection{Kind: ioctl.InjectOverrun}, ioctl.Inject, "count = 0: must be 1..65536"},
		{ioctl.Injection{Kind: ioctl.InjectParity, Count: 1, Rate: ioctl.MaxBaud + 1}, ioctl.Inject, "rate"},
	} {
		err := ioctl.ValidateInput(tc.code, tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want an error with %q", tc.in, err, tc.want)
		}
	}
	if s := (ioctl.ModemInputs{Mask: ioctl.MSRCTS | ioctl.MSRRI, Value: ioctl.MSRRI}).String(); s != "CTS=off RI=on" {
		t.Errorf("ModemInputs.String() = %q", s)
	}
}

func TestParseLineControl(t *testing.T) {
	for _, s := range []string{"8N1", "7E1", "5N1.5", "8O2", "6M1", "7S2"} {
		l, err := ioctl.ParseLineControl(strings.ToLower(s))
		if err != nil || l.String() != s {
			t.Errorf("ParseLineControl(%q) = %v, %v", s, l, err)
		}
	}
	for _, s := range []string{"", "8N", "9N1", "4N1", "8X1", "8N3", "8N1.5", "5N2", "8N1x"} {
		if l, err := ioctl.ParseLineControl(s); err == nil {
			t.Errorf("ParseLineControl(%q) = %v, want an error", s, l)
		}
	}
}
