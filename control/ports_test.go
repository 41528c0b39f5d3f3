package control_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/vcomd/vcomd/control"
)

// add and remove change the set of ports at run time without touching
// the others: data keeps flowing on a pair while ports come and go.
func TestAddRemove(t *testing.T) {
	r := newRig(t, "--pair", "ttyV0:ttyV1", "--timing", "off")
	ctx := context.Background()
	a := r.open(t, "ttyV0", 115200)
	b := r.open(t, "ttyV1", 115200)

	added, err := r.c.Add(ctx, control.AddRequest{Pair: []string{"ttyV2", "ttyV3"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 2 || added[0].Name != "ttyV2" || added[0].Peer != "ttyV3" || added[1].Timing != "off" {
		t.Fatalf("added %+v", added)
	}
	if _, err := r.c.Add(ctx, control.AddRequest{Loopback: "ttyL9", Timing: "realistic"}); err != nil {
		t.Fatal(err)
	}
	c := r.open(t, "ttyV2", 115200)
	d := r.open(t, "ttyV3", 115200)
	l := r.open(t, "ttyL9", 115200)
	write(t, c, []byte("to V3"))
	write(t, l, []byte("echo"))
	write(t, a, []byte("to V1"))
	if got := readN(t, d, 5); string(got) != "to V3" {
		t.Errorf("ttyV3 read %q", got)
	}
	if got := readN(t, l, 4); string(got) != "echo" {
		t.Errorf("ttyL9 read %q", got)
	}
	if got := readN(t, b, 5); string(got) != "to V1" {
		t.Errorf("ttyV1 read %q", got)
	}

	for _, tc := range []struct {
		req    control.AddRequest
		status int
		want   string
	}{
		{control.AddRequest{Loopback: "ttyV0"}, http.StatusConflict, `port "ttyV0" exists already`},
		{control.AddRequest{Pair: []string{"ttyV4", "ttyV4"}}, http.StatusBadRequest, "a port cannot be paired with itself"},
		{control.AddRequest{Pair: []string{"ttyV4"}}, http.StatusBadRequest, `"pair" needs two names`},
		{control.AddRequest{Loopback: "../etc"}, http.StatusBadRequest, `port name "../etc"`},
		{control.AddRequest{Loopback: "ttyL8", Timing: "warp"}, http.StatusBadRequest, `timing "warp"`},
		{control.AddRequest{}, http.StatusBadRequest, `give "pair"`},
	} {
		_, err := r.c.Add(ctx, tc.req)
		apiError(t, err, tc.status, tc.want)
	}

	_, err = r.c.Remove(ctx, "ttyV2", false)
	apiError(t, err, http.StatusConflict, `port "ttyV2" is one end of the pair ttyV2:ttyV3`)
	if _, err := r.c.Remove(ctx, "ttyV3", true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.Remove(ctx, "ttyL9", false); err != nil {
		t.Fatal(err)
	}
	_, err = r.c.Remove(ctx, "ttyL9", false)
	apiError(t, err, http.StatusNotFound, `unknown port "ttyL9"`)
	ports, err := r.c.Ports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 2 {
		t.Errorf("after removing, %d ports: %+v", len(ports), ports)
	}
	for _, gone := range added {
		if _, err := os.Lstat(gone.Link); !os.IsNotExist(err) {
			t.Errorf("%s: link %s still there (%v)", gone.Name, gone.Link, err)
		}
	}
	msg := bytes.Repeat([]byte("still here "), 100)
	write(t, b, msg)
	if got := readN(t, a, len(msg)); !bytes.Equal(got, msg) {
		t.Errorf("ttyV0 read %q after the others came and went", got)
	}
}
