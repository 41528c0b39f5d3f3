package rfc2217

// Option negotiation by the Q method of RFC 1143: each option has a state
// on each side of the connection, and a request made while a previous one
// is still unanswered is queued instead of sent, so two peers that both
// insist never loop and a peer that answers twice is not answered again.

// qState is one side's state of one option (RFC 1143 section 7).
type qState uint8

const (
	qNo qState = iota
	qYes
	qWantNo
	qWantYes
	qOpposite qState = 4 // queue bit: flip again once the pending answer arrives
)

func (q qState) stage() qState     { return q &^ qOpposite }
func (q qState) enabled() bool     { return q == qYes }
func (q qState) withQueue() qState { return q | qOpposite }

// side is the state of every option on one side: "us" (what we WILL do,
// asked by DO/DONT, answered with WILL/WONT) or "him" (what the peer
// WILLs, answered with DO/DONT).
type side struct {
	state  [256]qState
	accept [256]bool
	yes    byte // verb we send to agree/ask: WILL for us, DO for him
	no     byte // verb we send to refuse/stop: WONT for us, DONT for him
}

// received applies the peer's yes (WILL or DO) or no (WONT or DONT) for
// opt, appends any answer to out, and reports whether the option's
// enabled state changed.
func (s *side) received(opt byte, yes bool, out []byte) ([]byte, bool) {
	was := s.state[opt].enabled()
	if yes {
		out = s.receivedYes(opt, out)
	} else {
		out = s.receivedNo(opt, out)
	}
	return out, s.state[opt].enabled() != was
}

func (s *side) receivedYes(opt byte, out []byte) []byte {
	q := &s.state[opt]
	switch {
	case *q == qNo && s.accept[opt]:
		*q = qYes
		return AppendNegotiation(out, s.yes, opt)
	case *q == qNo:
		return AppendNegotiation(out, s.no, opt)
	case *q == qWantNo:
		// The peer answered our refusal with a yes: it is in error, and
		// RFC 1143 settles on "no" without answering again.
		*q = qNo
	case *q == qWantNo.withQueue():
		*q = qYes
	case *q == qWantYes:
		*q = qYes
	case *q == qWantYes.withQueue():
		*q = qWantNo
		return AppendNegotiation(out, s.no, opt)
	}
	return out
}

func (s *side) receivedNo(opt byte, out []byte) []byte {
	q := &s.state[opt]
	switch {
	case *q == qYes:
		*q = qNo
		return AppendNegotiation(out, s.no, opt)
	case *q == qWantNo.withQueue():
		*q = qWantYes
		return AppendNegotiation(out, s.yes, opt)
	case *q != qNo:
		*q = qNo
	}
	return out
}

// ask starts enabling (enable) or disabling opt on this side and appends
// the request to out, or queues it behind an unanswered one.
func (s *side) ask(opt byte, enable bool, out []byte) []byte {
	q := &s.state[opt]
	done, want, other, verb := qYes, qWantYes, qWantNo, s.yes
	if !enable {
		done, want, other, verb = qNo, qWantNo, qWantYes, s.no
	}
	switch q.stage() {
	case done:
	case qNo, qYes:
		*q = want
		return AppendNegotiation(out, verb, opt)
	case other:
		*q = other.withQueue()
	case want:
		*q = want // drops a queued opposite request
	}
	return out
}

// Negotiator holds the option state of both sides of one telnet
// connection and answers the peer's WILL/WONT/DO/DONT by the policy set
// with Accept. It has no goroutines and does no I/O.
type Negotiator struct {
	us, him side
}

// NewNegotiator returns a negotiator that refuses every option until
// told otherwise by Accept.
func NewNegotiator() *Negotiator {
	n := &Negotiator{}
	n.us.yes, n.us.no = WILL, WONT
	n.him.yes, n.him.no = DO, DONT
	return n
}

// Accept sets whether the peer may enable opt on our side (local: we
// answer DO with WILL) and on its side (remote: we answer WILL with DO).
func (n *Negotiator) Accept(opt byte, local, remote bool) {
	n.us.accept[opt], n.him.accept[opt] = local, remote
}

// Receive applies the peer's verb (WILL, WONT, DO or DONT) for opt,
// appends the answer the protocol requires to out, and reports whether
// the option's enabled state changed on either side.
func (n *Negotiator) Receive(verb, opt byte, out []byte) ([]byte, bool) {
	switch verb {
	case WILL, WONT:
		return n.him.received(opt, verb == WILL, out)
	case DO, DONT:
		return n.us.received(opt, verb == DO, out)
	}
	return out, false
}

// EnableLocal asks to enable opt on our side (IAC WILL) and appends the
// request to out. It also marks the option acceptable locally.
func (n *Negotiator) EnableLocal(opt byte, out []byte) []byte {
	n.us.accept[opt] = true
	return n.us.ask(opt, true, out)
}

// EnableRemote asks the peer to enable opt on its side (IAC DO) and
// appends the request to out. It also marks the option acceptable remotely.
func (n *Negotiator) EnableRemote(opt byte, out []byte) []byte {
	n.him.accept[opt] = true
	return n.him.ask(opt, true, out)
}

// DisableLocal stops opt on our side (IAC WONT).
func (n *Negotiator) DisableLocal(opt byte, out []byte) []byte {
	n.us.accept[opt] = false
	return n.us.ask(opt, false, out)
}

// DisableRemote asks the peer to stop opt on its side (IAC DONT).
func (n *Negotiator) DisableRemote(opt byte, out []byte) []byte {
	n.him.accept[opt] = false
	return n.him.ask(opt, false, out)
}

// Local reports whether opt is enabled on our side.
func (n *Negotiator) Local(opt byte) bool { return n.us.state[opt].enabled() }

// Remote reports whether opt is enabled on the peer's side.
func (n *Negotiator) Remote(opt byte) bool { return n.him.state[opt].enabled() }
