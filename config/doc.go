// Package config turns vcomd's command-line flags and its TOML config file
// into one checked description of the ports to create: a [Config].
//
// # Sources and precedence
//
// [Parse] reads the flags
//
//	--config FILE          TOML file (layout below)
//	--dir DIR              directory of the port links
//	--pair A:B             a null-modem pair (repeatable)
//	--loopback NAME        a loopback port (repeatable)
//	--connect NAME=URL     a port whose wire is the server at URL (repeatable)
//	--serve NAME=URL       serve port NAME at URL instead of a pty (repeatable)
//	--timing realistic|off characters take their real time on the wire, or none
//	--log-level LEVEL      trace, debug, info (default), warn or error
//	--log-format FORMAT    console, json or auto (default: console on a terminal)
//
// Each global setting comes from, in rising order of precedence: the built-in
// default, the file, the flag. Ports add up: those of the file first, in the
// file's order (pairs, then loopbacks, then connects), then those of the
// flags in command-line order; serves add up the same way, and may name a
// port of either. With neither a config file nor a --pair, --loopback or
// --connect flag, the built-in default.toml is used, which is the pair
// ttyV0:ttyV1 (so --serve alone serves one of its ports); it goes through
// the same decoder as a user's file. A config file that defines
// no ports gives a Config with no ports, which is valid (ports may be created
// later through the control socket); the built-in pair is not added to it.
//
// The default directory is /run/vcom for root; otherwise
// $XDG_RUNTIME_DIR/vcom when that variable holds an absolute path; otherwise
// $TMPDIR/vcom-UID (/tmp/vcom-UID without TMPDIR), which the caller creates
// with mode 0700. See [DefaultDir].
//
// # The network
//
// A URL is rfc2217://HOST:PORT (RFC 2217: data, line settings, modem lines,
// break, purge) or socket://HOST:PORT (raw TCP, data only); IPv6 addresses
// go in brackets. All are read in net.go.
//
// A connect port (--connect, [[connect]]) is a pty like any other whose
// wire is the server at the URL; HOST may be a name, PORT is 1 to 65535.
// Its timing is off unless its [[port]] block sets one, whatever the
// global timing: the far end has a real line that takes its time already.
//
// A served port (--serve, [[serve]]) has the network as its front instead
// of a pty, so it has no link ([Port].Link is "", and a [[port]] block may
// not set one). Any port can be served, once, and no two serves may listen
// on the same socket. HOST is an IP address, "localhost", or empty for
// every address; PORT 0 takes any free one. A --serve URL takes its
// options in its query, joined by '&':
//
//	allow=PREFIX,...   client networks let in: prefixes (10.0.0.0/8) or
//	                   single addresses (10.1.2.3, a /32); default loopback
//	                   clients only
//	handover           a new client replaces the connected one
//
// for example rfc2217://0.0.0.0:7000?allow=10.0.0.0/8,192.168.1.0/24&handover;
// an unknown option is an error. [[serve]] has them as the keys allow and
// handover, and its address takes no query. Secure by default: a serve that
// listens beyond this machine (any host but a loopback address or
// "localhost") without allow is refused, and the error says what to add.
//
// # File layout
//
// The file sample.toml beside this package shows and explains every key; the
// tests parse it, so it stays true. In short:
//
//	dir = "/run/vcom"
//	timing = "realistic"   # or "off"
//	log_level = "info"
//	log_format = "auto"    # or "console", "json"
//	framing_errors = false
//
//	[socket]               # the control socket
//	group = "dialout"
//	mode = "0660"
//
//	[[pair]]               # a null-modem pair
//	a = "ttyV0"
//	b = "ttyV1"
//
//	[[loopback]]           # a port wired to itself
//	name = "ttyL0"
//
//	[[connect]]            # a port whose wire is a remote server
//	name = "ttyR0"
//	address = "rfc2217://ser2net.example.net:2217"
//
//	[[serve]]              # a port served on the network
//	port = "ttyV1"
//	address = "rfc2217://0.0.0.0:7000"
//	allow = ["192.168.1.0/24", "10.1.2.3"]
//	handover = false
//
//	[[port]]               # optional settings of one port, by name
//	name = "ttyV0"
//	link = "/dev/ttyV0"
//	mode = "0660"
//	owner = "root"
//	group = "dialout"
//	timing = "off"
//	fifo_depth = 16
//	data_bits = 8
//	parity = "none"
//	stop_bits = "1"
//
// Decoding is strict: an unknown key (keys are case-sensitive), a value of
// the wrong type, or a [[port]] block for a port that no pair, loopback or
// connect (of the file or of the flags) names is an error. Modes are strings of
// octal digits. A port without a [[port]] block gets the defaults listed on
// [Port]. No port's link may be a file the daemon makes itself: the control
// socket DIR/vcomd.sock, or a name of the form NAME.PID.tmp, under which a
// link is made before it is renamed into place.
//
// # Errors
//
// Every error is one line that names the problem and where it is, for
// example
//
//	config /etc/vcomd.toml: port "ttyV0": fifo_depth 0: must be 1..4096
//	config /etc/vcomd.toml: line 7: unknown key "speed" in [[port]]
//	--pair "ttyV0": want A:B
//	serve "ttyV1" at rfc2217://0.0.0.0:7000: listens beyond this machine; give allow ...
//
// so that a caller can print it and exit with status 2.
package config
