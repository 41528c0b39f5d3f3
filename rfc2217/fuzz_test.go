package rfc2217

import (
	"bytes"
	"testing"
)

// FuzzDecoder feeds arbitrary bytes, cut at an arbitrary point, to the
// decoder and to both roles, and checks what must hold for any input: no
// panic, the result does not depend on the cut, the sub-negotiation buffer
// stays bounded, no more data comes out than went in, and data escaped by
// AppendData comes back unchanged.
func FuzzDecoder(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add(tc.in, uint16(len(tc.in)/2), tc.data)
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16, plain []byte) {
		c := int(cut) % (len(in) + 1)
		whole, wholeEv := decodeAll(in)
		split, splitEv := decodeAll(in, c)
		if !bytes.Equal(whole, split) || len(wholeEv) != len(splitEv) {
			t.Fatalf("cut at %d changed the result: %q/%d events vs %q/%d", c, whole, len(wholeEv), split, len(splitEv))
		}
		if len(whole) > len(in) {
			t.Fatalf("%d data bytes out of %d in", len(whole), len(in))
		}
		for _, ev := range wholeEv {
			if len(ev.Payload) > MaxSubnegotiation {
				t.Fatalf("payload of %d bytes passed the bound", len(ev.Payload))
			}
		}
		if got, _ := decodeAll(AppendData(nil, plain)); !bytes.Equal(got, plain) {
			t.Fatalf("escaped data %q came back %q", plain, got)
		}
		s := NewServer("fuzz")
		s.Feed(in)
		s.ModemState(cut8(cut))
		s.LineState(cut8(cut >> 8))
		NewClient().Feed(in)
		if cap(s.ep.dec.sb) > 2*MaxSubnegotiation {
			t.Fatalf("server sub-negotiation buffer %d bytes", cap(s.ep.dec.sb))
		}
	})
}

func cut8(v uint16) byte { return byte(v) }
