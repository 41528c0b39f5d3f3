// Package control is vcomd's control API: HTTP with JSON bodies on a Unix
// socket (DIR/vcomd.sock), curl-able, and a Go client for it. It lists
// and inspects ports, drives their modem lines, sends breaks, injects
// line errors, waits on events, purges, adds and removes ports, and
// streams a trace of every request on every port.
//
// Every call that acts on a port is an IOCTL IRP on the port's device, so
// the trace shows it like any request a program makes; the package has no
// port logic of its own. What no Windows serial IOCTL can do (drive a
// modem input, damage received characters, read the whole port's state)
// goes through vcomd's own IOCTLs in package ioctl.
//
// # Requests
//
//	GET    /v1/ports                  every port: ports, wiring, open, framing, counters
//	POST   /v1/ports                  add {"pair":["A","B"]} or {"loopback":"L"}, "timing"
//	GET    /v1/ports/{name}           one port, with registers, modem lines, queues
//	DELETE /v1/ports/{name}[?pair=1]  remove a loopback, or with pair=1 the pair name is in
//	GET    /v1/ports/{name}/stats     SERIALPERF_STATS
//	PUT    /v1/ports/{name}/modem     {"cts":true,"dsr":false,"ri":true,"dcd":true,"dtr":true,"rts":false}
//	PUT    /v1/ports/{name}/line      {"framing":"7E1"}
//	POST   /v1/ports/{name}/break     {"duration":"250ms"}
//	POST   /v1/ports/{name}/inject    {"kind":"framing","count":10,"rate":100,"seed":1}
//	POST   /v1/ports/{name}/wait      {"events":"RXCHAR|CTS","timeout":"5s"}
//	POST   /v1/ports/{name}/purge     {"what":"rx"}
//	GET    /v1/trace[?port=name]      one JSON line per request start and completion, and per modem input change
//
// For example:
//
//	curl --unix-socket /run/vcom/vcomd.sock http://vcomd/v1/ports
//
// A failed request has a JSON body {"error": "..."} that names the problem,
// and a status that fits it: 400 for a malformed or impossible request,
// 403 when the caller may not change the port, 404 for an unknown port or
// request, 405 for a known request with the wrong method, 409 when the
// port's state forbids it (a pin its wire drives, a wait already pending)
// or the host's does (a port that exists already, a file vcomd did not
// make where the new link goes, no pty to be had), 413 for a body over
// 64 KiB, 410 when the port went away meanwhile. A 5xx is a bug in vcomd.
//
// # Access
//
// The socket has the mode and group of the config's [socket] table.
// Anyone who can connect may read (list, status, stats, trace); changing
// anything (modem lines, line settings, break, inject, wait, purge, add,
// remove) needs root, the daemon's own user, or membership of the
// socket's group, checked with SO_PEERCRED and SO_PEERGROUPS.
package control
