package rfc2217

// Client is the client role of RFC 2217 as a state machine: fed the bytes
// a server sent, it returns the serial data, the server's answers and
// notifications (Message.Cmd without the server offset), and negotiation
// answers to send. Requests are encoded with [AppendRequest] and data with
// [AppendData]. It has no goroutines and does no I/O; [Dial] builds a
// serial port on it.
type Client struct {
	ep endpoint
}

// NewClient returns a client role.
func NewClient() *Client {
	neg := NewNegotiator()
	neg.Accept(OptBinary, true, true)
	neg.Accept(OptSGA, true, true)
	neg.Accept(OptEcho, false, true)
	neg.Accept(OptComPort, true, true)
	return &Client{ep: endpoint{neg: neg, fromServer: true}}
}

// Start returns the client's opening negotiation: WILL COM-PORT-OPTION and
// BINARY and SGA both ways.
func (c *Client) Start() []byte {
	n := c.ep.neg
	out := n.EnableLocal(OptComPort, nil)
	out = n.EnableLocal(OptBinary, out)
	out = n.EnableRemote(OptBinary, out)
	out = n.EnableLocal(OptSGA, out)
	return n.EnableRemote(OptSGA, out)
}

// Feed consumes bytes received from the server.
func (c *Client) Feed(p []byte) *Result { return c.ep.feed(p, c) }

// Ready reports whether the server has agreed to COM-PORT-OPTION (IAC DO).
func (c *Client) Ready() bool { return c.ep.neg.Local(OptComPort) }

func (c *Client) negotiated(*Result) {}

func (c *Client) message(m Message, r *Result) {
	if m.Err != nil {
		r.Problems = append(r.Problems, m.Err)
		return
	}
	r.Messages = append(r.Messages, m)
}
