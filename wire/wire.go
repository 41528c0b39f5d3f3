// Package wire is what a virtual port's UART pins reach: the other end of
// a null-modem cable (nullmodem.go), a loopback plug (loopback.go), a
// network server, RFC 2217 or raw TCP (remote.go), a real tty such as a
// USB serial adapter (adapter.go), a device program on a child process's
// stdin and stdout (exec.go), or a recording of a device played back
// (replay.go, format in package record). Each kind of wire
// implements driver.Wire, and driver.InputDriver for the pins it drives;
// convert.go is what the cables share.
package wire

// Options configure a cable.
type Options struct {
	// CheckFraming makes a character sent with a baud rate or framing the
	// receiver does not match arrive with a framing error, as on a real
	// cable. Off, every character arrives intact whatever the settings.
	CheckFraming bool
}
