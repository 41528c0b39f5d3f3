package rfc2217

import (
	"bytes"
	"errors"
	"testing"
)

// agreed returns a server that has agreed COM-PORT-OPTION, and what it
// sent on agreeing.
func agreed(t *testing.T) (*Server, []byte) {
	t.Helper()
	s := NewServer("vcomd test")
	s.Start()
	r := s.Feed([]byte{IAC, WILL, OptComPort})
	if !s.Ready() {
		t.Fatal("not ready after WILL COM-PORT-OPTION")
	}
	return s, append([]byte(nil), r.Out...)
}

func TestServerRequests(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want Message
		out  []byte // what the server answers by itself
		bad  bool   // a problem is reported
	}{
		{name: "baud with IAC bytes", in: AppendRequest(nil, SetBaudRate, 0xFF00FF, nil), want: Message{Cmd: SetBaudRate, Value: 0xFF00FF}},
		{name: "baud query", in: AppendRequest(nil, SetBaudRate, 0, nil), want: Message{Cmd: SetBaudRate}},
		{name: "data size", in: AppendRequest(nil, SetDataSize, 7, nil), want: Message{Cmd: SetDataSize, Value: 7}},
		{name: "data size 9 becomes a query", in: AppendRequest(nil, SetDataSize, 9, nil), want: Message{Cmd: SetDataSize}, bad: true},
		{name: "short baud becomes a query", in: AppendSubnegotiation(nil, OptComPort, []byte{1, 0, 1}), want: Message{Cmd: SetBaudRate}, bad: true},
		{name: "parity", in: AppendRequest(nil, SetParity, ParityEven, nil), want: Message{Cmd: SetParity, Value: ParityEven}},
		{name: "stop size", in: AppendRequest(nil, SetStopSize, StopTwo, nil), want: Message{Cmd: SetStopSize, Value: StopTwo}},
		{name: "control DTR", in: AppendRequest(nil, SetControl, ControlDTROn, nil), want: Message{Cmd: SetControl, Value: ControlDTROn}},
		{name: "purge", in: AppendRequest(nil, PurgeData, PurgeBoth, nil), want: Message{Cmd: PurgeData, Value: PurgeBoth}},
		{name: "signature query", in: AppendRequest(nil, Signature, 0, nil), want: Message{Cmd: Signature},
			out: AppendReply(nil, Signature, 0, []byte("vcomd test"))},
		{name: "modem mask", in: AppendRequest(nil, SetModemStateMask, 0xF0, nil), want: Message{Cmd: SetModemStateMask, Value: 0xF0},
			out: AppendReply(nil, SetModemStateMask, 0xF0, nil)},
		{name: "suspend", in: AppendRequest(nil, FlowControlSuspend, 0, nil), want: Message{Cmd: FlowControlSuspend}},
		{name: "modem poll", in: AppendRequest(nil, NotifyModemState, 0, nil), want: Message{Cmd: NotifyModemState},
			out: AppendReply(nil, NotifyModemState, 0, nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := agreed(t)
			r := s.Feed(tc.in)
			if len(r.Messages) != 1 {
				t.Fatalf("messages %+v", r.Messages)
			}
			m := r.Messages[0]
			if m.Cmd != tc.want.Cmd || m.Value != tc.want.Value || (m.Err != nil) != tc.bad || (len(r.Problems) > 0) != tc.bad {
				t.Errorf("got %+v problems %v, want %+v bad %v", m, r.Problems, tc.want, tc.bad)
			}
			if !bytes.Equal(r.Out, tc.out) {
				t.Errorf("answered %v, want %v", r.Out, tc.out)
			}
		})
	}
}

func TestServerDropsBadControl(t *testing.T) {
	s, _ := agreed(t)
	r := s.Feed(AppendRequest(nil, SetControl, 99, nil))
	if len(r.Messages) != 0 || len(r.Problems) != 1 || !errors.Is(r.Problems[0], ErrComPort) {
		t.Fatalf("messages %+v problems %v", r.Messages, r.Problems)
	}
}

func TestServerModemState(t *testing.T) {
	s := NewServer("")
	if out := s.ModemState(ModemCTS | ModemDSR); out != nil {
		t.Fatalf("notified before agreement: %v", out)
	}
	r := s.Feed([]byte{IAC, WILL, OptComPort})
	if want := AppendReply(nil, NotifyModemState, ModemCTS|ModemDSR, nil); !bytes.HasSuffix(r.Out, want) {
		t.Fatalf("agreement sent %v, want the state given before it, %v", r.Out, want)
	}
	s2, first := agreed(t)
	if want := AppendReply(nil, NotifyModemState, 0, nil); !bytes.HasSuffix(first, want) {
		t.Fatalf("agreement sent %v, want it to end with %v", first, want)
	}
	steps := []struct {
		mask, lines byte
		want        []byte
	}{
		{0xFF, ModemCTS, AppendReply(nil, NotifyModemState, ModemCTS|ModemDeltaCTS, nil)},
		{0xFF, ModemCTS, nil},
		{0xFF, ModemCTS | ModemRI, AppendReply(nil, NotifyModemState, ModemCTS|ModemRI, nil)},
		{0xFF, ModemCTS, AppendReply(nil, NotifyModemState, ModemCTS|ModemRIEdge, nil)},
		{ModemDSR | ModemDeltaDSR, ModemCD, nil},
		{ModemDSR | ModemDeltaDSR, ModemCD | ModemDSR, AppendReply(nil, NotifyModemState, ModemDSR|ModemDeltaDSR, nil)},
	}
	for i, st := range steps {
		s2.Feed(AppendRequest(nil, SetModemStateMask, uint32(st.mask), nil))
		if got := s2.ModemState(st.lines); !bytes.Equal(got, st.want) {
			t.Errorf("step %d: %v, want %v", i, got, st.want)
		}
	}
}

func TestServerLineState(t *testing.T) {
	s, _ := agreed(t)
	if out := s.LineState(LineBreak); out != nil {
		t.Fatalf("line state sent with mask 0: %v", out)
	}
	s.Feed(AppendRequest(nil, SetLineStateMask, LineBreak|LineFraming, nil))
	if got, want := s.LineState(LineBreak|LineOverrun), AppendReply(nil, NotifyLineState, LineBreak, nil); !bytes.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

func TestClientMessages(t *testing.T) {
	c := NewClient()
	c.Start()
	in := []byte{IAC, DO, OptComPort}
	in = AppendReply(in, SetBaudRate, 115200, nil)
	in = AppendData(in, []byte{0xFF, 'a'})
	in = AppendReply(in, NotifyModemState, ModemCTS, nil)
	in = AppendRequest(in, SetParity, 1, nil) // a client code from the server
	r := c.Feed(in)
	if !c.Ready() || !bytes.Equal(r.Data, []byte{0xFF, 'a'}) || len(r.Messages) != 2 || len(r.Problems) != 1 {
		t.Fatalf("ready %v result %+v", c.Ready(), r)
	}
	if m := r.Messages[0]; m.Cmd != SetBaudRate || m.Value != 115200 {
		t.Errorf("first %+v", m)
	}
}
