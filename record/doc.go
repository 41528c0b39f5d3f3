// Package record is vcomd's recording format: both directions of one
// port's traffic, with its settings and modem-line changes, as `vcomctl
// record` writes it and the replay wire (wire/replay.go) plays it back.
// It also holds TraceLine, the line of vcomd's trace, because a recording
// is made from the trace and control, which serves the trace, imports the
// daemon and so the wires: the format has to sit below all three.
//
// # Format (version 1)
//
// A recording is JSON lines (UTF-8, one JSON object per line, LF between
// lines). The first line is the header:
//
//	{"format":"vcomd-recording","version":1,"port":"ttyV0","started":"2026-12-02T00:41:19.123456Z",
//	 "baud":9600,"framing":"8N1","lines":{"cts":true,"dsr":true,"ri":false,"dcd":true,"dtr":false,"rts":false}}
//
// port is the port recorded (a replay refuses a recording of another
// port), started the wall time at which the recording began, and baud,
// framing and lines the port's settings and modem lines then: cts, dsr,
// ri and dcd are the inputs (what the device drives), dtr and rts the
// outputs (what the host, the program on the port, drives).
//
// Every other line is one event, in time order; t is the time since
// started in seconds, to the microsecond:
//
//	{"t":0.001234,"kind":"host","text":"AT\r"}          data the host sent
//	{"t":0.012000,"kind":"device","text":"OK\r\n"}     data the device sent (what the host received)
//	{"t":0.020000,"kind":"device","hex":"ff00"}        the same, for bytes that are not UTF-8
//	{"t":0.030000,"kind":"baud","baud":115200}         the host set the speed
//	{"t":0.030000,"kind":"framing","framing":"7E1"}    the host set data bits, parity, stop bits
//	{"t":0.030000,"kind":"handflow","handflow":{...}}  the host set flow control (SERIAL_HANDFLOW)
//	{"t":0.040000,"kind":"lines","lines":{"dtr":false}} modem lines changed (only those named)
//	{"t":0.050000,"kind":"break","on":true}            the host started (or, on false, ended) a break
//	{"t":0.060000,"kind":"open"}                       the host opened the port ("close": closed it)
//	{"t":0.070000,"kind":"lost","count":12}            the recorder lost 12 trace events here
//
// Data is "text" when the bytes are valid UTF-8, so that a session reads
// as what was typed and shown (JSON escapes control characters: "\r",
// "\u001b"), and "hex" (lower case, no spaces) otherwise; exactly one of
// the two is present and neither is empty. Unknown fields and kinds are
// errors: a later version of the format changes "version".
//
// The modem inputs are recorded whoever moves them (the other end of a
// pair raising DTR, a remote server's DCD, vcomctl set): the trace shows
// each change as an "event" line carrying the four inputs. What the trace
// cannot show is not recorded: a break the device sends.
package record
