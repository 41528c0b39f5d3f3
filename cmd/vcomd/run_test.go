package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vcomd/vcomd/control"
)

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ port, want string }{
		{"ttyV0", "VCOM_TTYV0"},
		{"gps.nmea", "VCOM_GPS_NMEA"},
		{"modem-1", "VCOM_MODEM_1"},
		{"a_b", "VCOM_A_B"},
		{"0", "VCOM_0"},
	} {
		if got := envName(tc.port); got != tc.want {
			t.Errorf("envName(%q) = %q, want %q", tc.port, got, tc.want)
		}
	}
}

func TestPortEnv(t *testing.T) {
	links := map[string]string{"a-b": "/d/a-b", "a.b": "/d/a.b", "x": "/d/x", "socket": "/d/socket"}
	env, err := portEnv([]string{"x", "a-b"}, links, "/d/vcomd.sock")
	if err != nil || strings.Join(env, " ") != "VCOM_X=/d/x VCOM_A_B=/d/a-b VCOM_SOCKET=/d/vcomd.sock" {
		t.Errorf("portEnv = %q, %v", env, err)
	}
	for _, ports := range [][]string{{"a-b", "a.b"}, {"socket"}} {
		if _, err := portEnv(ports, links, "/d/vcomd.sock"); err == nil {
			t.Errorf("portEnv(%q) shares a variable and was accepted", ports)
		}
	}
}

func TestSplitRunArgs(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		trace          string
		onFailure      bool
		ports, command string
		bad            bool
	}{
		{args: []string{"--", "true"}, command: "true"},
		{args: []string{"--pair", "A:B", "--trace", "t.json", "--", "sh", "-c", "--trace x"}, trace: "t.json", ports: "--pair A:B", command: "sh -c --trace x"},
		{args: []string{"-trace-on-failure=f", "--timing", "off", "--", "x"}, trace: "f", onFailure: true, ports: "--timing off", command: "x"},
		{args: []string{"--pair", "A:B"}, bad: true},
		{args: []string{"--pair", "A:B", "--"}, bad: true},
		{args: []string{"--trace", "--", "x"}, bad: true},
		{args: []string{"--trace=", "--", "x"}, bad: true},
		{args: []string{"--trace", "a", "--trace-on-failure", "b", "--", "x"}, bad: true},
	} {
		opts, ports, command, err := splitRunArgs(tc.args)
		if tc.bad {
			if err == nil {
				t.Errorf("%q accepted", tc.args)
			}
			continue
		}
		if err != nil || opts.trace != tc.trace || opts.onFailure != tc.onFailure ||
			strings.Join(ports, " ") != tc.ports || strings.Join(command, " ") != tc.command {
			t.Errorf("%q: %+v ports %q command %q, %v", tc.args, opts, ports, command, err)
		}
	}
}

// Past its limit the recorder keeps the newest lines, and its file says
// how many went before them.
func TestRecorderKeepsNewest(t *testing.T) {
	r := newRecorder(true, 1000, 2)
	t0 := time.Unix(0, 0).UTC()
	for i := range 100 {
		r.add(control.TraceLine{Time: t0.Add(time.Duration(i)), Port: "p", ID: uint64(i + 1), Phase: "start", Request: "IRP_MJ_WRITE"})
	}
	var b bytes.Buffer
	if err := r.writeTo(&b); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 1000+100 {
		t.Errorf("wrote %d bytes for a limit of 1000", b.Len())
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	var first, last control.TraceLine
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if first.Dropped != uint64(100-(len(lines)-1)) || last.ID != 100 {
		t.Errorf("marker says %d dropped with %d lines kept, last ID %d; want %d, 100", first.Dropped, len(lines)-1, last.ID, 100-(len(lines)-1))
	}
	if got := r.last["p"]; len(got) != 2 || got[1].ID != 100 {
		t.Errorf("summary keeps %+v, want the last 2", got)
	}
}

// The summary shows one line per request, with a write's data.
func TestSummaryMergesPhases(t *testing.T) {
	r := newRecorder(false, 0, 4)
	r.add(control.TraceLine{Port: "p", ID: 1, Phase: "start", Request: "IRP_MJ_WRITE", Data: "6869"})
	r.add(control.TraceLine{Port: "p", ID: 1, Phase: "complete", Request: "IRP_MJ_WRITE", Status: "SUCCESS", Length: 2})
	var b bytes.Buffer
	r.summary(&b)
	if strings.Count(b.String(), "IRP_MJ_WRITE") != 1 || !strings.Contains(b.String(), "hi") {
		t.Errorf("summary:\n%s\nwant one write line showing hi", b.String())
	}
}
