package control

import (
	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/ioctl"
	"time"
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
	Wiring string `json:"wiring"`         // "pair", "loopback" or "connect"
	Peer   string `json:"peer,omitempty"` // the other end of a pair
	Timing string `json:"timing"`         // "realistic" or "off"
	// Open says whether a program has the pty open; PIDs are the
	// processes that have it open, where /proc tells.
	Open    bool   `json:"open"`
	PIDs    []int  `json:"pids,omitempty"`
	Framing string `json:"framing"` // "8N1"
	// State is the device's VCOM_GET_PORT_STATE.
	State ioctl.PortState `json:"state"`
	// Serve is the network front of a served port (which has no pty).
	Serve *ServeState `json:"serve,omitempty"`
	// Remote is the wire of a connect port: the server its pins reach.
	Remote *RemoteState `json:"remote,omitempty"`
	// Exec is the wire of a connect port whose far end is a device
	// program (exec:COMMAND).
	Exec *ExecState `json:"exec,omitempty"`
	// Replay is the wire of a connect port that plays a recording.
	Replay *ReplayState `json:"replay,omitempty"`
	// Device is the wire of a connect port whose far end is a real tty.
	Device *DeviceState `json:"device,omitempty"`
}

// ServeState is a served port's network front.
type ServeState struct {
	Address  string    `json:"address"` // "rfc2217://127.0.0.1:7000", as bound
	Allow    []string  `json:"allow,omitempty"`
	Handover bool      `json:"handover,omitempty"`
	Client   string    `json:"client,omitempty"` // the connected client's address
	Since    time.Time `json:"since,omitzero"`   // when it connected
	Accepted uint64    `json:"accepted"`         // clients served so far
	Refused  uint64    `json:"refused"`          // clients turned away (not allowed, port in use)
	Dropped  uint64    `json:"dropped"`          // clients cut off (bad stream, never reading)
	// LastRefusal says why the last client was turned away.
	LastRefusal string `json:"last_refusal,omitempty"`
}

// RemoteState is a connect port's wire to its server.
type RemoteState struct {
	Address   string    `json:"address"` // "rfc2217://host:2217"
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since,omitzero"` // when the present connection (or outage) began
	Connects  uint64    `json:"connects"`       // connections made so far
	LostTx    uint64    `json:"lost_tx"`        // bytes sent while no server took them
	LastError string    `json:"last_error,omitempty"`
	Peer      string    `json:"peer,omitempty"` // the server's RFC 2217 signature
}

// ExecState is a connect port's device program.
type ExecState struct {
	Command  string    `json:"command"`        // as given, run by /bin/sh -c
	PID      int       `json:"pid,omitempty"`  // the running child's
	Running  bool      `json:"running"`        // a child runs (DSR and CTS are up)
	Since    time.Time `json:"since,omitzero"` // when it started or exited last
	Restarts uint64    `json:"restarts"`       // starts after the first
	LastExit string    `json:"last_exit,omitempty"`
	LostTx   uint64    `json:"lost_tx"` // bytes sent while no child took them
}

// ReplayState is a replay port's wire: where in the recording it is.
type ReplayState struct {
	File  string `json:"file"`
	State string `json:"state"` // "waiting for open", "waiting for host", "playing", "ended" or "stopped"
	Line  int    `json:"line"`  // the recording's line waited on or played, or where it stopped; 0 once ended
	Lines int    `json:"lines"` // lines in the recording, the header included
	// Played counts the events done; Extra the bytes the program sent
	// after the end or a stop.
	Played     int    `json:"played"`
	Extra      uint64 `json:"extra"`
	Mismatches uint64 `json:"mismatches"`
	// Mismatch is the last place the program sent what the recording
	// does not have.
	Mismatch *ReplayMismatch `json:"mismatch,omitempty"`
}

// ReplayMismatch is where a program sent what the recording does not
// have. Expected and Received are the bytes as Go quotes them ("AT\r").
type ReplayMismatch struct {
	Line     int       `json:"line"`   // the recording's line of what the program should have sent
	Offset   int       `json:"offset"` // the first byte that differs, in that line's data
	Expected string    `json:"expected"`
	Received string    `json:"received"`
	At       time.Time `json:"at"`
	Resynced int       `json:"resynced,omitempty"` // the line the replay went on from (resync)
	Message  string    `json:"message"`            // all of it in a sentence
}

// DeviceState is a connect port's wire to a real serial device.
type DeviceState struct {
	Path   string    `json:"path"` // "/dev/ttyUSB0"
	Open   bool      `json:"open"`
	Since  time.Time `json:"since,omitzero"` // when the present open (or absence) began
	Opens  uint64    `json:"opens"`          // times the device was opened
	LostTx uint64    `json:"lost_tx"`        // bytes sent while the device was gone
	// ModemLines says the device reports CTS, DSR, RI and DCD; false for
	// one that cannot (a pty), whose CTS, DSR and DCD are held up while
	// it is open.
	ModemLines bool   `json:"modem_lines"`
	LastError  string `json:"last_error,omitempty"`
}

// AddRequest is the body of POST /v1/ports: a pair, a loopback or a
// connect port.
type AddRequest struct {
	Pair     []string        `json:"pair,omitempty"`
	Loopback string          `json:"loopback,omitempty"`
	Connect  *ConnectRequest `json:"connect,omitempty"`
	Timing   string          `json:"timing,omitempty"` // "realistic" or "off"; default the daemon's (off for a connect port)
}

// ConnectRequest names a connect port and the server its wire reaches.
type ConnectRequest struct {
	Name    string `json:"name"`
	Address string `json:"address"` // "rfc2217://host:port", "socket://host:port", "/dev/ttyUSB0", "exec:COMMAND", "replay:FILE"
	// Restart false leaves an exec: port's program stopped once it exits;
	// none restarts it.
	Restart *bool `json:"restart,omitempty"`
	// Pace ("recorded" or "instant") and OnMismatch ("stop" or "resync")
	// are a replay: port's options.
	Pace       string `json:"pace,omitempty"`
	OnMismatch string `json:"on_mismatch,omitempty"`
}

// ServeRequest is the body of PUT /v1/ports/{name}/serve: serve the port
// on the network instead of its pty.
type ServeRequest struct {
	Address  string   `json:"address"`         // "rfc2217://127.0.0.1:7000" or "socket://..."
	Allow    []string `json:"allow,omitempty"` // client networks let in; none: loopback clients only
	Handover bool     `json:"handover,omitempty"`
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
