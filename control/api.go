package control

import (
	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/ioctl"
)

// SocketName is the control socket's name in the daemon's directory; no
// port may have it (config.Validate refuses it).
const SocketName = config.SocketName

// Error is the body of every failed request.
type Error struct {
	Message string `json:"error"`
}

// Port is a port as GET /v1/ports and GET /v1/ports/{name} show it.
type Port struct {
	Name   string `json:"name"`
	Link   string `json:"link"`
	PTY    string `json:"pty"`
	Wiring string `json:"wiring"`         // "pair" or "loopback"
	Peer   string `json:"peer,omitempty"` // the other end of a pair
	Timing string `json:"timing"`         // "realistic" or "off"
	// Open says whether a program has the pty open; PIDs are the
	// processes that have it open, where /proc tells.
	Open    bool   `json:"open"`
	PIDs    []int  `json:"pids,omitempty"`
	Framing string `json:"framing"` // "8N1"
	// State is the device's VCOM_GET_PORT_STATE.
	State ioctl.PortState `json:"state"`
}

// AddRequest is the body of POST /v1/ports: a pair or a loopback.
type AddRequest struct {
	Pair     []string `json:"pair,omitempty"`
	Loopback string   `json:"loopback,omitempty"`
	Timing   string   `json:"timing,omitempty"` // "realistic" or "off"; default the daemon's
}

// ModemRequest is the body of PUT /v1/ports/{name}/modem: the inputs
// (CTS, DSR, RI, DCD, as the far end would drive them) and the port's own
// outputs (DTR, RTS) to change; the others stay.
type ModemRequest struct {
	CTS *bool `json:"cts,omitempty"`
	DSR *bool `json:"dsr,omitempty"`
	RI  *bool `json:"ri,omitempty"`
	DCD *bool `json:"dcd,omitempty"`
	DTR *bool `json:"dtr,omitempty"`
	RTS *bool `json:"rts,omitempty"`
}

// LineRequest is the body of PUT /v1/ports/{name}/line.
type LineRequest struct {
	Framing string `json:"framing"` // "7E1", as ioctl.ParseLineControl reads it
}

// BreakRequest is the body of POST /v1/ports/{name}/break.
type BreakRequest struct {
	Duration string `json:"duration"` // "250ms"; at most MaxBreak
}

// WaitRequest is the body of POST /v1/ports/{name}/wait.
type WaitRequest struct {
	Events  string `json:"events"`            // SERIAL_EV_ names: "RXCHAR|CTS" or "rxchar,cts"
	Timeout string `json:"timeout,omitempty"` // "5s"; none means until an event or the caller goes
}

// WaitResult is the answer to a wait.
type WaitResult struct {
	Events   string `json:"events"` // what fired: "CTS"; "" when timed out
	Mask     uint32 `json:"mask"`
	TimedOut bool   `json:"timed_out,omitempty"`
}

// PurgeRequest is the body of POST /v1/ports/{name}/purge.
type PurgeRequest struct {
	What string `json:"what"` // "rx", "tx" or "all"
}

// Done is the answer to a request that returns nothing else.
type Done struct {
	Port    string `json:"port"`
	Message string `json:"message"`
}
