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
//	--timing realistic|off characters take their real time on the wire, or none
//	--log-level LEVEL      trace, debug, info (default), warn or error
//	--log-format FORMAT    console, json or auto (default: console on a terminal)
//
// Each global setting comes from, in rising order of precedence: the built-in
// default, the file, the flag. Ports add up: those of the file first, in the
// file's order (pairs, then loopbacks), then those of the flags in
// command-line order. With neither a config file nor a --pair or --loopback
// flag, the built-in default.toml is used, which is the pair ttyV0:ttyV1; it
// goes through the same decoder as a user's file. A config file that defines
// no ports gives a Config with no ports, which is valid (ports may be created
// later through the control socket); the built-in pair is not added to it.
//
// The default directory is /run/vcom for root; otherwise
// $XDG_RUNTIME_DIR/vcom when that variable holds an absolute path; otherwise
// $TMPDIR/vcom-UID (/tmp/vcom-UID without TMPDIR), which the caller creates
// with mode 0700. See [DefaultDir].
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
// the wrong type, or a [[port]] block for a port that no pair or loopback
// (of the file or of the flags) names is an error. Modes are strings of
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
//
// so that a caller can print it and exit with status 2.
package config
