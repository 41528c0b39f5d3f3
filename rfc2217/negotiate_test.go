package rfc2217

import (
	"bytes"
	"testing"
)

func TestNegotiator(t *testing.T) {
	neg := func() *Negotiator {
		n := NewNegotiator()
		n.Accept(OptBinary, true, true)
		return n
	}
	cases := []struct {
		name          string
		opt           byte                       // OptBinary (0) unless set
		ask           func(n *Negotiator) []byte // our opening, may be nil
		verb          byte                       // what the peer sends, twice
		first, second []byte                     // our answers to it
		local, remote bool
	}{
		{name: "peer WILL accepted once", verb: WILL,
			first: []byte{IAC, DO, OptBinary}, remote: true},
		{name: "peer DO accepted once", verb: DO,
			first: []byte{IAC, WILL, OptBinary}, local: true},
		{name: "refused option", opt: OptEcho, verb: WILL,
			first: []byte{IAC, DONT, OptEcho}, second: []byte{IAC, DONT, OptEcho}},
		{name: "our DO answered", ask: func(n *Negotiator) []byte { return n.EnableRemote(OptBinary, nil) },
			verb: WILL, remote: true},
		{name: "our WILL refused", ask: func(n *Negotiator) []byte { return n.EnableLocal(OptBinary, nil) },
			verb: DONT},
		{name: "WONT while enabled-wanted", ask: func(n *Negotiator) []byte { return n.EnableRemote(OptBinary, nil) },
			verb: WONT},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := neg()
			opt := tc.opt
			if tc.ask != nil {
				if out := tc.ask(n); len(out) != 3 {
					t.Fatalf("opening %v", out)
				}
			}
			out, _ := n.Receive(tc.verb, opt, nil)
			if !bytes.Equal(out, tc.first) {
				t.Errorf("first answer %v, want %v", out, tc.first)
			}
			out, _ = n.Receive(tc.verb, opt, nil)
			if !bytes.Equal(out, tc.second) {
				t.Errorf("second answer %v, want %v (a repeated request must not be re-acknowledged)", out, tc.second)
			}
			if n.Local(opt) != tc.local || n.Remote(opt) != tc.remote {
				t.Errorf("local %v remote %v, want %v %v", n.Local(opt), n.Remote(opt), tc.local, tc.remote)
			}
		})
	}
}

// TestNegotiatorQueue checks RFC 1143's queue: asking to disable while
// an enable is unanswered sends nothing until the answer, then DONT.
func TestNegotiatorQueue(t *testing.T) {
	n := NewNegotiator()
	if out := n.EnableRemote(OptSGA, nil); !bytes.Equal(out, []byte{IAC, DO, OptSGA}) {
		t.Fatalf("enable sent %v", out)
	}
	if out := n.DisableRemote(OptSGA, nil); len(out) != 0 {
		t.Fatalf("disable while pending sent %v, want nothing", out)
	}
	out, _ := n.Receive(WILL, OptSGA, nil)
	if !bytes.Equal(out, []byte{IAC, DONT, OptSGA}) || n.Remote(OptSGA) {
		t.Fatalf("after WILL: sent %v, enabled %v", out, n.Remote(OptSGA))
	}
	out, changed := n.Receive(WONT, OptSGA, nil)
	if len(out) != 0 || changed || n.Remote(OptSGA) {
		t.Fatalf("after WONT: sent %v, changed %v", out, changed)
	}
}

// TestNegotiationNoLoop plays two negotiators against each other, both
// eager for the same options: the exchange must end, with them enabled.
func TestNegotiationNoLoop(t *testing.T) {
	s, c := NewServer("s"), NewClient()
	toClient, toServer := s.Start(), c.Start()
	for round := 0; len(toClient)+len(toServer) > 0; round++ {
		if round > 10 {
			t.Fatal("negotiation does not settle")
		}
		rs := s.Feed(toServer)
		toServer = nil
		next := append([]byte(nil), rs.Out...)
		rc := c.Feed(toClient)
		toServer = append(toServer, rc.Out...)
		toClient = next
	}
	if !c.Ready() || !s.Ready() || !s.ep.neg.Local(OptBinary) || !c.ep.neg.Local(OptBinary) {
		t.Fatalf("client ready %v, server ready %v, binary %v %v", c.Ready(), s.Ready(), s.ep.neg.Local(OptBinary), c.ep.neg.Local(OptBinary))
	}
}
