package rfc2217

// Server is the access-server role of RFC 2217 as a state machine: fed
// the bytes a client sent, it returns the data for the serial port, the
// client's requests, and what to send back; it encodes replies and
// notifications and keeps what RFC 2217 makes the server remember (the
// two notification masks, flow-control suspension, the signatures). It
// has no goroutines and does no I/O, so a network front drives it from
// its own read loop and serialises calls.
//
// Of the Messages a Feed returns, the front acts on and answers with
// [AppendReply] (carrying the value in force afterwards; a value 0 is a
// query): SET-BAUDRATE, SET-DATASIZE, SET-PARITY, SET-STOPSIZE, SET-CONTROL
// and PURGE-DATA. The Server has already answered the others, which it
// passes on for information: SIGNATURE, SET-LINESTATE-MASK,
// SET-MODEMSTATE-MASK, FLOWCONTROL-SUSPEND/RESUME (see Suspended) and a
// client's NOTIFY polls. A malformed SET-BAUDRATE/-DATASIZE/-PARITY/
// -STOPSIZE arrives as a query with Err set, so answering it with the value
// in force tells the client nothing changed; other malformed requests go
// to Result.Problems only.
type Server struct {
	ep            endpoint
	signature     []byte
	peerSignature []byte
	modemMask     byte
	lineMask      byte
	modem         byte // modem line states last given to ModemState
	ready         bool // COM-PORT-OPTION agreed
	suspended     bool
}

// NewServer returns a server role that sends signature when a client
// asks for it.
func NewServer(signature string) *Server {
	neg := NewNegotiator()
	neg.Accept(OptBinary, true, true)
	neg.Accept(OptSGA, true, true)
	// The client's DO ECHO means "the far end echoes, not me": agreeing
	// to it promises nothing the serial device does not already do.
	neg.Accept(OptEcho, true, false)
	neg.Accept(OptComPort, true, true)
	// RFC 2217 starts with every modem-state change reported and no line
	// state, as pyserial's PortManager and sredird do.
	return &Server{ep: endpoint{neg: neg}, signature: []byte(signature), modemMask: 0xFF}
}

// Start returns the server's opening negotiation: DO COM-PORT-OPTION and
// BINARY and SGA both ways.
func (s *Server) Start() []byte {
	n := s.ep.neg
	out := n.EnableRemote(OptComPort, nil)
	out = n.EnableLocal(OptBinary, out)
	out = n.EnableRemote(OptBinary, out)
	return n.EnableLocal(OptSGA, out)
}

// Feed consumes bytes received from the client.
func (s *Server) Feed(p []byte) *Result { return s.ep.feed(p, s) }

// Ready reports whether COM-PORT-OPTION has been agreed either way.
func (s *Server) Ready() bool { return s.ready }

// Suspended reports whether the client has asked, by FLOWCONTROL-SUSPEND,
// that the server stop sending it data.
func (s *Server) Suspended() bool { return s.suspended }

// PeerSignature returns the signature the client sent, if any.
func (s *Server) PeerSignature() string { return string(s.peerSignature) }

func (s *Server) negotiated(r *Result) {
	n := s.ep.neg
	if s.ready || !(n.Local(OptComPort) || n.Remote(OptComPort)) {
		return
	}
	// pyserial's client refuses to report modem lines until it has had a
	// NOTIFY-MODEMSTATE, so one goes out as soon as the option is agreed.
	s.ready = true
	r.Out = AppendReply(r.Out, NotifyModemState, uint32(s.modem&s.modemMask), nil)
}

func (s *Server) message(m Message, r *Result) {
	if m.Err != nil {
		r.Problems = append(r.Problems, m.Err)
		switch m.Cmd {
		case SetBaudRate, SetDataSize, SetParity, SetStopSize:
		default:
			return
		}
	}
	switch m.Cmd {
	case Signature:
		if len(m.Text) == 0 {
			r.Out = AppendReply(r.Out, Signature, 0, s.signature)
		} else {
			s.peerSignature = m.Text
		}
	case SetLineStateMask:
		s.lineMask = byte(m.Value)
		r.Out = AppendReply(r.Out, SetLineStateMask, m.Value, nil)
	case SetModemStateMask:
		s.modemMask = byte(m.Value)
		r.Out = AppendReply(r.Out, SetModemStateMask, m.Value, nil)
	case FlowControlSuspend, FlowControlResume:
		s.suspended = m.Cmd == FlowControlSuspend
	case NotifyModemState:
		r.Out = AppendReply(r.Out, NotifyModemState, uint32(s.modem&s.modemMask), nil)
	case NotifyLineState:
		// Line-state bits are events, not a level: a poll finds none.
		r.Out = AppendReply(r.Out, NotifyLineState, 0, nil)
	}
	r.Messages = append(r.Messages, m)
}

// ModemState records the modem input lines (ModemCD, ModemRI, ModemDSR,
// ModemCTS; low-nibble change bits may be added for changes too brief to
// see as a level) and returns the NOTIFY-MODEMSTATE to send, or nil when
// nothing the client's mask selects changed or the option is not agreed
// yet (the state is then sent once it is).
func (s *Server) ModemState(lines byte) []byte {
	old := s.modem
	s.modem = lines & modemLines
	changed := old ^ s.modem
	delta := lines &^ modemLines
	for _, b := range [...]struct{ line, delta byte }{{ModemCTS, ModemDeltaCTS}, {ModemDSR, ModemDeltaDSR}, {ModemCD, ModemDeltaCD}} {
		if changed&b.line != 0 {
			delta |= b.delta
		}
	}
	if old&ModemRI != 0 && s.modem&ModemRI == 0 {
		delta |= ModemRIEdge
	}
	if !s.ready || (changed|delta)&s.modemMask == 0 {
		return nil
	}
	return AppendReply(nil, NotifyModemState, uint32((s.modem|delta)&s.modemMask), nil)
}

// LineState returns the NOTIFY-LINESTATE for the line events in bits
// (LineBreak, LineFraming, LineParity, LineOverrun...), or nil when the
// client's mask selects none of them or the option is not agreed yet.
func (s *Server) LineState(bits byte) []byte {
	if !s.ready || bits&s.lineMask == 0 {
		return nil
	}
	return AppendReply(nil, NotifyLineState, uint32(bits&s.lineMask), nil)
}

// FlowControl returns a FLOWCONTROL-SUSPEND (suspend) or -RESUME asking
// the client to stop or resume sending data.
func (s *Server) FlowControl(suspend bool) []byte {
	if suspend {
		return AppendReply(nil, FlowControlSuspend, 0, nil)
	}
	return AppendReply(nil, FlowControlResume, 0, nil)
}
