package wire

import (
	"bytes"
	"testing"
)

// appendChar, the single-character path of Transmit, encodes every byte
// as appendData of that byte does: as it is on a raw socket, IAC doubled
// over RFC 2217.
func TestAppendCharIsAppendData(t *testing.T) {
	for _, raw := range []bool{true, false} {
		r := &Remote{opts: RemoteOptions{Raw: raw}}
		for c := range 256 {
			prefix := []byte("p")
			got := r.appendChar(bytes.Clone(prefix), byte(c))
			want := r.appendData(bytes.Clone(prefix), []byte{byte(c)})
			if !bytes.Equal(got, want) {
				t.Fatalf("raw %v, byte %#x: appendChar %x, appendData %x", raw, c, got, want)
			}
		}
	}
}
