// Package rfc2217 speaks Telnet (RFC 854, 855, 856, 858) with the RFC 2217
// COM-PORT-OPTION, the protocol of serial ports over the network that
// ser2net, pyserial and terminal servers use. It knows nothing of vcomd.
//
// Three layers:
//
//	codec   Decoder splits a byte stream into data and telnet commands
//	        (IAC undoubled, sub-negotiations bounded by MaxSubnegotiation,
//	        malformed sequences reported and dropped); AppendData and the
//	        other Append functions encode. Negotiator keeps option state by
//	        RFC 1143's Q method.
//	roles   Server and Client turn the telnet layer into RFC 2217 messages
//	        for an access server and for a client. Like the codec they are
//	        state machines: bytes in, data, messages and bytes to send out;
//	        no sockets, no goroutines, no clock.
//	port    Dial connects to a server and returns a Port that satisfies
//	        go.bug.st/serial's Port, so code written for a local serial
//	        port runs against a remote one.
//
// The data stream is treated as 8-bit clean, as in BINARY mode, which both
// roles offer: only IAC is special.
package rfc2217
