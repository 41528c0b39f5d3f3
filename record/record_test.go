package record_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/record"
)

var started = time.Date(2026, 12, 2, 0, 41, 19, 123456000, time.UTC)

func header() record.Header {
	return record.Header{Port: "ttyV0", Started: started, Baud: 9600, Framing: "8N1",
		Lines: record.Lines{CTS: record.Bool(true), DSR: record.Bool(true), RI: record.Bool(false), DCD: record.Bool(true), DTR: record.Bool(false), RTS: record.Bool(false)}}
}

func events() []record.Event {
	return []record.Event{
		{T: 0, Kind: record.Open},
		{T: 1234 * time.Microsecond, Kind: record.Host, Data: []byte("AT\r")},
		{T: 12 * time.Millisecond, Kind: record.Device, Data: []byte("OK\r\n<&>\x1b[0m")},
		{T: 20 * time.Millisecond, Kind: record.Device, Data: []byte{0xff, 0x00, 0x80}},
		{T: 30 * time.Millisecond, Kind: record.Baud, Baud: 115200},
		{T: 30 * time.Millisecond, Kind: record.Framing, Framing: "7E1"},
		{T: 30 * time.Millisecond, Kind: record.HandFlow, HandFlow: &ioctl.HandFlow{ControlHandShake: 9, FlowReplace: 0x80, XonLimit: 10, XoffLimit: 20}},
		{T: 40 * time.Millisecond, Kind: record.ModemLn, Lines: record.Lines{DTR: record.Bool(false), DCD: record.Bool(true)}},
		{T: 50 * time.Millisecond, Kind: record.Break, On: true},
		{T: 51 * time.Millisecond, Kind: record.Break, On: false},
		{T: 70 * time.Millisecond, Kind: record.Lost, Count: 12},
		{T: 3723*time.Second + 5*time.Microsecond, Kind: record.Close},
	}
}

func write(t *testing.T, h record.Header, evs []record.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := record.NewWriter(&b, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	out := write(t, header(), events())
	rec, err := record.Read(bytes.NewReader(out), "rec.jsonl")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	h := header()
	h.Format, h.Version = record.FormatName, record.Version
	if !reflect.DeepEqual(rec.Header, h) {
		t.Errorf("header %+v, want %+v", rec.Header, h)
	}
	want := events()
	for i := range want {
		want[i].Line = i + 2
	}
	if !reflect.DeepEqual(rec.Events, want) {
		t.Errorf("events\n%+v\nwant\n%+v", rec.Events, want)
	}
}

// TestReadable pins the lines people read: text for UTF-8, hex for the
// rest, seconds with six decimals, HTML characters unescaped.
func TestReadable(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(string(write(t, header(), events()))), "\n")
	for i, want := range map[int]string{
		0:  `{"format":"vcomd-recording","version":1,"port":"ttyV0","started":"2026-12-02T00:41:19.123456Z","baud":9600,"framing":"8N1","lines":{"cts":true,"dsr":true,"ri":false,"dcd":true,"dtr":false,"rts":false}}`,
		2:  `{"t":0.001234,"kind":"host","text":"AT\r"}`,
		3:  `{"t":0.012000,"kind":"device","text":"OK\r\n<&>\u001b[0m"}`,
		4:  `{"t":0.020000,"kind":"device","hex":"ff0080"}`,
		8:  `{"t":0.040000,"kind":"lines","lines":{"dcd":true,"dtr":false}}`,
		10: `{"t":0.051000,"kind":"break","on":false}`,
		12: `{"t":3723.000005,"kind":"close"}`,
	} {
		if lines[i] != want {
			t.Errorf("line %d:\n%s\nwant\n%s", i+1, lines[i], want)
		}
	}
}

func TestMalformed(t *testing.T) {
	head := string(write(t, header(), nil))
	for _, c := range []struct{ name, body, want string }{
		{"empty", "", "bad.jsonl: empty"},
		{"not json", "hello\n", "bad.jsonl:1: header: invalid character"},
		{"other format", `{"format":"x","version":1,"port":"a","baud":1,"framing":"8N1"}`, `bad.jsonl:1: header: format "x": not a vcomd recording`},
		{"version", `{"format":"vcomd-recording","version":2,"port":"a","baud":1,"framing":"8N1"}`, "bad.jsonl:1: header: version 2: this vcomd reads version 1"},
		{"no port", `{"format":"vcomd-recording","version":1,"baud":1,"framing":"8N1"}`, "bad.jsonl:1: header: missing port"},
		{"bad framing", `{"format":"vcomd-recording","version":1,"port":"a","baud":1,"framing":"9Q3"}`, `bad.jsonl:1: header: framing "9Q3"`},
		{"unknown field", head + `{"t":0,"kind":"open","colour":1}`, `bad.jsonl:2: json: unknown field "colour"`},
		{"unknown kind", head + `{"t":0,"kind":"sing"}`, `bad.jsonl:2: unknown kind "sing"`},
		{"no kind", head + `{"t":0}`, "bad.jsonl:2: missing kind"},
		{"no data", head + `{"t":0,"kind":"host"}`, "bad.jsonl:2: a host event needs text or hex data"},
		{"empty text", head + `{"t":0,"kind":"device","text":""}`, "bad.jsonl:2: a device event needs text or hex data"},
		{"both", head + `{"t":0,"kind":"host","text":"a","hex":"61"}`, "bad.jsonl:2: both text and hex"},
		{"bad hex", head + `{"t":0,"kind":"host","hex":"6"}`, `bad.jsonl:2: hex "6"`},
		{"t back", head + `{"t":2,"kind":"open"}` + "\n" + `{"t":1,"kind":"close"}`, "bad.jsonl:3: t 1.000000 is before the line above's 2.000000"},
		{"t negative", head + `{"t":-1,"kind":"open"}`, "bad.jsonl:2: t: -1 seconds is out of range"},
		{"t string", head + `{"t":"1s","kind":"open"}`, "bad.jsonl:2: t: want seconds"},
		{"no baud", head + `{"t":0,"kind":"baud"}`, "bad.jsonl:2: a baud event needs a baud above 0"},
		{"no lines", head + `{"t":0,"kind":"lines","lines":{}}`, "bad.jsonl:2: a lines event needs at least one"},
		{"no on", head + `{"t":0,"kind":"break"}`, "bad.jsonl:2: a break event needs on"},
		{"no handflow", head + `{"t":0,"kind":"handflow"}`, "bad.jsonl:2: a handflow event needs handflow"},
		{"two values", head + `{"t":0,"kind":"open"} {"t":0,"kind":"open"}`, "bad.jsonl:2: more than one JSON value"},
	} {
		_, err := record.Read(strings.NewReader(c.body), "bad.jsonl")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one starting %q", c.name, err, c.want)
		}
	}
}

// TestRecorder feeds the recorder trace lines as a client decodes them
// (inputs as JSON maps) and checks the events.
func TestRecorder(t *testing.T) {
	at := func(ms int) time.Time { return started.Add(time.Duration(ms) * time.Millisecond) }
	in := func(v any) any {
		b, _ := json.Marshal(v)
		var m any
		json.Unmarshal(b, &m)
		return m
	}
	lines := []record.TraceLine{
		{Time: at(-5), Port: "A", ID: 1, Phase: "complete", Request: "IRP_MJ_CREATE", Status: "SUCCESS"},
		{Time: at(1), Port: "A", ID: 2, Phase: "start", Request: "IRP_MJ_WRITE", Length: 3, Data: "41540d"},
		{Time: at(1), Port: "B", ID: 3, Phase: "start", Request: "IRP_MJ_WRITE", Length: 1, Data: "41"},
		{Time: at(2), Port: "A", ID: 2, Phase: "complete", Request: "IRP_MJ_WRITE", Length: 3, Status: "SUCCESS"},
		{Time: at(3), Port: "A", ID: 4, Phase: "start", Request: "IRP_MJ_READ", Length: 4096},
		{Time: at(9), Port: "A", ID: 4, Phase: "complete", Request: "IRP_MJ_READ", Length: 4, Status: "SUCCESS", Data: "4f4b0d0a"},
		{Time: at(10), Port: "A", ID: 5, Phase: "start", Request: "IOCTL_SERIAL_SET_BAUD_RATE", Input: in(ioctl.BaudRate{BaudRate: 115200})},
		{Time: at(11), Port: "A", ID: 5, Phase: "complete", Request: "IOCTL_SERIAL_SET_BAUD_RATE", Status: "SUCCESS"},
		{Time: at(12), Port: "A", ID: 6, Phase: "start", Request: "IOCTL_SERIAL_SET_LINE_CONTROL", Input: in(ioctl.LineControl{WordLength: 7, Parity: ioctl.EvenParity})},
		{Time: at(12), Port: "A", ID: 6, Phase: "complete", Request: "IOCTL_SERIAL_SET_LINE_CONTROL", Status: "SUCCESS"},
		{Time: at(13), Port: "A", ID: 7, Phase: "start", Request: "IOCTL_VCOM_SET_MODEM_INPUTS", Input: in(ioctl.ModemInputs{Mask: ioctl.MSRDCD | ioctl.MSRRI, Value: ioctl.MSRRI})},
		{Time: at(13), Port: "A", ID: 7, Phase: "complete", Request: "IOCTL_VCOM_SET_MODEM_INPUTS", Status: "SUCCESS"},
		{Time: at(14), Port: "A", ID: 8, Phase: "start", Request: "IOCTL_VCOM_SET_MODEM_INPUTS", Input: in(ioctl.ModemInputs{Mask: ioctl.MSRDCD})},
		{Time: at(14), Port: "A", ID: 8, Phase: "complete", Request: "IOCTL_VCOM_SET_MODEM_INPUTS", Status: "INVALID_PARAMETER"},
		{Time: at(15), Port: "A", ID: 9, Phase: "start", Request: "IOCTL_SERIAL_CLR_DTR"},
		{Time: at(15), Port: "A", ID: 9, Phase: "complete", Request: "IOCTL_SERIAL_CLR_DTR", Status: "SUCCESS"},
		{Time: at(16), Port: "A", ID: 10, Phase: "start", Request: "IOCTL_SERIAL_SET_BREAK_ON"},
		{Time: at(16), Port: "A", ID: 10, Phase: "complete", Request: "IOCTL_SERIAL_SET_BREAK_ON", Status: "SUCCESS"},
		{Time: at(17), Dropped: 3},
		{Time: at(17), Port: "A", Phase: "event", Request: "IOCTL_SERIAL_GET_MODEMSTATUS", Output: in(ioctl.ModemInputs{Mask: 0xF0, Value: ioctl.MSRCTS | ioctl.MSRDCD})},
		{Time: at(18), Port: "A", ID: 11, Phase: "start", Request: "IOCTL_SERIAL_GET_LINE_CONTROL"},
		{Time: at(18), Port: "A", ID: 11, Phase: "complete", Request: "IOCTL_SERIAL_GET_LINE_CONTROL", Status: "SUCCESS", Output: in(ioctl.LineControl{WordLength: 8})},
		{Time: at(20), Port: "A", ID: 12, Phase: "complete", Request: "IRP_MJ_CLOSE", Status: "SUCCESS"},
	}
	r := record.NewRecorder("A", started)
	var got []record.Event
	for _, l := range lines {
		if e, ok := r.Event(l); ok {
			got = append(got, e)
		}
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	want := []record.Event{
		{T: 0, Kind: record.Open},
		{T: ms(1), Kind: record.Host, Data: []byte("AT\r")},
		{T: ms(9), Kind: record.Device, Data: []byte("OK\r\n")},
		{T: ms(11), Kind: record.Baud, Baud: 115200},
		{T: ms(12), Kind: record.Framing, Framing: "7E1"},
		{T: ms(13), Kind: record.ModemLn, Lines: record.Lines{RI: record.Bool(true), DCD: record.Bool(false)}},
		{T: ms(15), Kind: record.ModemLn, Lines: record.Lines{DTR: record.Bool(false)}},
		{T: ms(16), Kind: record.Break, On: true},
		{T: ms(17), Kind: record.Lost, Count: 3},
		{T: ms(17), Kind: record.ModemLn, Lines: record.Lines{CTS: record.Bool(true), DSR: record.Bool(false), RI: record.Bool(false), DCD: record.Bool(true)}},
		{T: ms(20), Kind: record.Close},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n%+v\nwant\n%+v", got, want)
	}
}
