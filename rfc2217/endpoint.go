package rfc2217

// Result is what one Feed of received bytes produced. Its slices are
// reused by the next Feed.
type Result struct {
	Data     []byte    // data bytes, unescaped, for the serial side
	Messages []Message // COM-PORT-OPTION commands, in stream order
	Out      []byte    // bytes to send to the peer now (negotiation answers, replies)
	Problems []error   // malformed input that was dropped, for a log
}

// handler is what a role does with the decoded telnet events.
type handler interface {
	message(m Message, r *Result)
	negotiated(r *Result)
}

// endpoint is the telnet layer shared by both roles: a decoder and the
// option state.
type endpoint struct {
	dec        Decoder
	neg        *Negotiator
	res        Result
	fromServer bool
}

func (e *endpoint) feed(p []byte, h handler) *Result {
	r := &e.res
	r.Messages, r.Out, r.Problems = r.Messages[:0], r.Out[:0], r.Problems[:0]
	data, events := e.dec.Decode(p)
	r.Data = data
	for _, ev := range events {
		switch ev.Kind {
		case EventNegotiation:
			var changed bool
			r.Out, changed = e.neg.Receive(ev.Command, ev.Option, r.Out)
			if changed {
				h.negotiated(r)
			}
		case EventSubnegotiation:
			// A COM-PORT-OPTION sub-negotiation is taken even before the
			// option is agreed: refusing it would only break a peer that
			// hurries, and it carries nothing the option state guards.
			if ev.Option == OptComPort {
				h.message(parseMessage(ev.Payload, e.fromServer), r)
			}
		case EventMalformed:
			r.Problems = append(r.Problems, ev.Err)
		}
	}
	return r
}
