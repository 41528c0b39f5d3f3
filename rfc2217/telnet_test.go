package rfc2217

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// decodeCases is the codec table; the fuzz target is seeded from it.
var decodeCases = []struct {
	name   string
	in     []byte
	data   []byte
	events []Event
}{
	{name: "plain", in: []byte("hello"), data: []byte("hello")},
	{name: "doubled IAC", in: []byte{'a', IAC, IAC, 'b', IAC, IAC}, data: []byte{'a', 0xFF, 'b', 0xFF}},
	{name: "negotiation", in: []byte{'x', IAC, WILL, OptComPort, 'y', IAC, DONT, OptEcho},
		data:   []byte("xy"),
		events: []Event{{Kind: EventNegotiation, Command: WILL, Option: OptComPort}, {Kind: EventNegotiation, Command: DONT, Option: OptEcho}}},
	{name: "command", in: []byte{IAC, BRK, 'z', IAC, NOP}, data: []byte("z"),
		events: []Event{{Kind: EventCommand, Command: BRK}, {Kind: EventCommand, Command: NOP}}},
	{name: "sub-negotiation with doubled IAC", in: []byte{IAC, SB, OptComPort, 1, 0, IAC, IAC, 0, IAC, IAC, IAC, SE, 'd'},
		data:   []byte("d"),
		events: []Event{{Kind: EventSubnegotiation, Command: SB, Option: OptComPort, Payload: []byte{1, 0, 0xFF, 0, 0xFF}}}},
	{name: "empty sub-negotiation", in: []byte{IAC, SB, OptComPort, IAC, SE},
		events: []Event{{Kind: EventSubnegotiation, Command: SB, Option: OptComPort}}},
	{name: "IAC then no command", in: []byte{'a', IAC, 0x10, 'b'}, data: []byte("ab"),
		events: []Event{{Kind: EventMalformed, Err: ErrBadCommand}}},
	{name: "stray SE", in: []byte{IAC, SE, 'b'}, data: []byte("b"),
		events: []Event{{Kind: EventMalformed, Err: ErrSubnegotiation}}},
	{name: "IAC where the option belongs", in: []byte{IAC, SB, IAC, IAC, 'q'}, data: []byte{0xFF, 'q'},
		events: []Event{{Kind: EventMalformed, Err: ErrSubnegotiation}}},
	{name: "sub-negotiation cut by a command", in: []byte{IAC, SB, OptComPort, 5, IAC, WILL, OptBinary, 'k'},
		data:   []byte("k"),
		events: []Event{{Kind: EventMalformed, Err: ErrSubnegotiation}, {Kind: EventNegotiation, Command: WILL, Option: OptBinary}}},
	{name: "sub-negotiation at the bound", in: subneg(MaxSubnegotiation),
		events: []Event{{Kind: EventSubnegotiation, Command: SB, Option: OptComPort, Payload: bytes.Repeat([]byte{7}, MaxSubnegotiation)}}},
	{name: "oversize sub-negotiation", in: append(subneg(MaxSubnegotiation+1), 'o', 'k'), data: []byte("ok"),
		events: []Event{{Kind: EventMalformed, Err: ErrSubnegotiationTooLong}}},
}

func subneg(n int) []byte {
	b := []byte{IAC, SB, OptComPort}
	b = append(b, bytes.Repeat([]byte{7}, n)...)
	return append(b, IAC, SE)
}

// decodeAll feeds in in pieces cut at cuts and gathers everything.
func decodeAll(in []byte, cuts ...int) ([]byte, []Event) {
	var d Decoder
	var data []byte
	var events []Event
	last := 0
	for _, c := range append(cuts, len(in)) {
		dd, ev := d.Decode(in[last:c])
		data = append(data, dd...)
		events = append(events, ev...)
		last = c
	}
	return data, events
}

func sameEvents(got, want []Event) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d events %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if w.Err != nil {
			if g.Kind != w.Kind || !errors.Is(g.Err, w.Err) {
				return fmt.Errorf("event %d = %+v, want %v", i, g, w.Err)
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			return fmt.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}
	return nil
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			data, events := decodeAll(tc.in)
			if !bytes.Equal(data, tc.data) {
				t.Errorf("data %q, want %q", data, tc.data)
			}
			if err := sameEvents(events, tc.events); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestDecodeSplit cuts every case at every byte boundary, and also feeds
// it a byte at a time: the result must not depend on how reads fall.
func TestDecodeSplit(t *testing.T) {
	for _, tc := range decodeCases {
		for cut := 0; cut <= len(tc.in); cut++ {
			data, events := decodeAll(tc.in, cut)
			if !bytes.Equal(data, tc.data) || sameEvents(events, tc.events) != nil {
				t.Fatalf("%s cut at %d: data %q events %+v", tc.name, cut, data, events)
			}
		}
		every := make([]int, len(tc.in))
		for i := range every {
			every[i] = i
		}
		data, events := decodeAll(tc.in, every...)
		if !bytes.Equal(data, tc.data) || sameEvents(events, tc.events) != nil {
			t.Fatalf("%s byte by byte: data %q events %+v", tc.name, data, events)
		}
	}
}

// TestUnendedSubnegotiationBounded feeds a sub-negotiation that never
// ends: the decoder's buffer must stay at the bound however much comes.
func TestUnendedSubnegotiationBounded(t *testing.T) {
	var d Decoder
	d.Decode([]byte{IAC, SB, OptComPort})
	chunk := bytes.Repeat([]byte{'x'}, 4096)
	for range 256 { // 1 MiB
		data, events := d.Decode(chunk)
		if len(data) != 0 || len(events) != 0 {
			t.Fatalf("inside a sub-negotiation: data %d bytes, events %+v", len(data), events)
		}
	}
	if cap(d.sb) > 2*MaxSubnegotiation {
		t.Fatalf("sub-negotiation buffer grew to %d bytes, bound %d", cap(d.sb), MaxSubnegotiation)
	}
	data, events := d.Decode([]byte{IAC, SE, 'a'})
	if string(data) != "a" || len(events) != 1 || !errors.Is(events[0].Err, ErrSubnegotiationTooLong) {
		t.Fatalf("after the end: data %q events %+v", data, events)
	}
}

func TestEncoders(t *testing.T) {
	if got := AppendData(nil, []byte{1, 0xFF, 2}); !bytes.Equal(got, []byte{1, IAC, IAC, 2}) {
		t.Errorf("AppendData = %v", got)
	}
	got := AppendSubnegotiation(nil, OptComPort, []byte{1, 0xFF})
	if want := []byte{IAC, SB, OptComPort, 1, IAC, IAC, IAC, SE}; !bytes.Equal(got, want) {
		t.Errorf("AppendSubnegotiation = %v, want %v", got, want)
	}
	// A baud rate with 0xFF bytes round-trips through request and reply.
	baud := uint32(0x00FFFF00)
	for _, wire := range [][]byte{AppendRequest(nil, SetBaudRate, baud, nil), AppendReply(nil, SetBaudRate, baud, nil)} {
		_, ev := decodeAll(wire)
		if len(ev) != 1 {
			t.Fatalf("%v decoded to %+v", wire, ev)
		}
		m := parseMessage(ev[0].Payload, ev[0].Payload[0] >= ServerOffset)
		if m.Err != nil || m.Cmd != SetBaudRate || m.Value != baud {
			t.Errorf("%v decoded to %+v", wire, m)
		}
	}
}
