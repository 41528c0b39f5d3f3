package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.bug.st/serial"
)

// playModem answers on p as a modem with echo on would: every byte back,
// and at each CR "OK" (ATI: its name first). It ends when p is closed.
func playModem(t *testing.T, p serial.Port) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var line []byte
		buf := make([]byte, 64)
		for {
			n, err := p.Read(buf)
			if err != nil || n == 0 {
				return // closed
			}
			for _, c := range buf[:n] {
				out := []byte{c}
				if c == '\r' {
					if strings.EqualFold(strings.TrimSpace(string(line)), "ATI") {
						out = append(out, "\r\nvcomd-test-modem"...)
					}
					out = append(out, "\r\nOK\r\n"...)
					line = line[:0]
				} else {
					line = append(line, c)
				}
				if _, err := p.Write(out); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() { p.Close(); wg.Wait() })
}

// session types two commands into minicom and waits for their answers,
// and returns the part of the screen they drew: from the first command to
// the line above the status bar, which (with the welcome) names the pty
// and the time and so differs between runs.
func session(t *testing.T, tm *tmux) string {
	t.Helper()
	tm.waitScreen("Welcome to minicom")
	tm.keys("AT\r")
	tm.waitScreen("OK")
	tm.keys("ATI\r")
	tm.waitScreen("vcomd-test-modem\nOK")
	lines := strings.Split(tm.screen(), "\n")
	start, end := -1, len(lines)
	for i, l := range lines {
		if start < 0 && strings.HasPrefix(l, "AT") {
			start = i
		}
		if strings.Contains(l, "CTRL-A Z for help") {
			end = i
		}
	}
	if start < 0 {
		t.Fatalf("no command on the screen:\n%s", tm.screen())
	}
	return strings.TrimRight(strings.Join(lines[start:end], "\n"), "\n ")
}

// record runs vcomctl record PORT FILE until stop, which ends it with
// SIGINT and returns what it printed.
func record(t *testing.T, socket, port, file string) (stop func() string) {
	t.Helper()
	cmd := exec.Command(vcomctl, "record", port, file)
	cmd.Env = append(os.Environ(), "VCOM_SOCKET="+socket)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() string {
		ended, err := stopProcess(cmd, os.Interrupt)
		if !ended || err != nil {
			t.Fatalf("vcomctl record: ended on SIGINT %v, %v: %s", ended, err, errb.String())
		}
		return out.String()
	}
}

// recordSession records minicom on port M of a pair against a modem the
// test plays on D, and returns the recording and the screen.
func recordSession(t *testing.T) (file, screen string) {
	links := startDaemon(t, "--pair", "M:D")
	socket := filepath.Join(filepath.Dir(links["M"]), "vcomd.sock")
	playModem(t, openGo(t, links["D"], 9600)) // before the recording: its lines are up at the start
	file = filepath.Join(t.TempDir(), "modem.jsonl")
	stop := record(t, socket, "M", file)
	// The recorder is subscribed once the header is in the file.
	eventually(t, "the recording's header", func() (bool, any) {
		b, _ := os.ReadFile(file)
		return bytes.Contains(b, []byte("\n")), string(b)
	})
	tm := startTmux(t, "minicom -o -b 9600 -D "+links["M"])
	screen = session(t, tm)
	if out := stop(); !strings.Contains(out, "events of M to "+file) {
		t.Errorf("vcomctl record printed %q", out)
	}
	return file, screen
}

// hostAt finds the host byte at pos (from 0) of everything the host
// sent in a recording: the line of its event, the event's data, and its
// offset there.
func hostAt(t *testing.T, file string, pos int) (line int, data string, off int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var ev struct{ Kind, Text string }
		json.Unmarshal(sc.Bytes(), &ev)
		if ev.Kind != "host" {
			continue
		}
		if pos < len(ev.Text) {
			return line, ev.Text, pos
		}
		pos -= len(ev.Text)
	}
	t.Fatalf("%s: the host sent fewer bytes than asked", file)
	return 0, "", 0
}

// A minicom session against a modem, recorded with vcomctl record, then
// replayed with --connect M=replay:FILE to a fresh minicom, draws the
// same screen; the replay says it reached the end. A program that sends
// something else stops the replay at that line, and status says where and
// what.
func TestRecordReplayMinicom(t *testing.T) {
	need(t, "minicom", "minicom")
	file, recorded := recordSession(t)
	t.Logf("recorded screen:\n%s", recorded)
	if !strings.Contains(recorded, "vcomd-test-modem") {
		t.Fatalf("recorded screen:\n%s", recorded)
	}

	t.Run("replay", func(t *testing.T) {
		links := startPorts(t, 1, "--connect", "M=replay:"+file)
		socket := filepath.Join(filepath.Dir(links["M"]), "vcomd.sock")
		tm := startTmux(t, "minicom -o -b 9600 -D "+links["M"])
		if got := session(t, tm); got != recorded {
			t.Errorf("replayed screen:\n%s\nrecorded:\n%s", got, recorded)
		}
		eventually(t, "the end of the replay", func() (bool, any) {
			r := status(t, socket, "M").Replay
			return r != nil && r.State == "ended" && r.Mismatches == 0, r
		})
		if out := ok(t, socket, "status", "M"); !strings.Contains(out, "replay     "+file+"  ended") {
			t.Errorf("status:\n%s", out)
		}
	})

	t.Run("mismatch", func(t *testing.T) {
		links := startPorts(t, 1, "--connect", "M=replay:"+file)
		socket := filepath.Join(filepath.Dir(links["M"]), "vcomd.sock")
		p := openGo(t, links["M"], 9600)
		defer p.Close()
		// The recording has AT, CR: Z in place of the CR, wherever
		// minicom's writes split them.
		if _, err := p.Write([]byte("ATZ\r")); err != nil {
			t.Fatal(err)
		}
		line, data, off := hostAt(t, file, 2)
		eventually(t, "the stop", func() (bool, any) {
			r := status(t, socket, "M").Replay
			return r != nil && r.State == "stopped", r
		})
		r := status(t, socket, "M").Replay
		m := r.Mismatch
		if m == nil || m.Line != line || m.Offset != off || m.Expected != strconv.Quote(data) || !strings.HasPrefix(m.Received, strconv.Quote(data[:off] + "Z")[:off+2]) || r.Line != line {
			t.Fatalf("replay %+v, mismatch %+v; want a stop at line %d, byte %d of %q, with Z there", r, m, line, off, data)
		}
		out := ok(t, socket, "status", "M")
		if want := "mismatch   " + m.Message; !strings.Contains(out, want) || !strings.Contains(m.Message, "line "+strconv.Itoa(line)+": host sent ") {
			t.Errorf("status:\n%s\nwant %s", out, want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.jsonl")
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bad, append(body, "{\"t\":1e9,\"kind\":\"sing\"}\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(body, []byte("\n")) + 1
		for target, want := range map[string]string{
			"X=replay:" + file: file + `:1: a recording of port "M", not of "X"`,
			"M=replay:" + bad:  bad + ":" + strconv.Itoa(lines) + `: unknown kind "sing"`,
		} {
			out, err := bounded(t, watchdog, vcomd, "--dir", filepath.Join(t.TempDir(), "vcom"), "--connect", target).CombinedOutput()
			if code := exitCode(t, err); code == 0 || !strings.Contains(string(out), want) {
				t.Errorf("vcomd --connect %s: exit %d, %s; want a refusal with %q", target, code, out, want)
			}
		}
		// At run time the same refusal leaves the daemon and its ports.
		links := startDaemon(t, "--loopback", "L")
		socket := filepath.Join(filepath.Dir(links["L"]), "vcomd.sock")
		refused(t, socket, `unknown kind "sing"`, "add", "connect", "M=replay:"+bad)
		ok(t, socket, "status", "L")
		// Recording a port that is not there makes no file.
		none := filepath.Join(t.TempDir(), "none.jsonl")
		refused(t, socket, `"nope"`, "record", "nope", none)
		if _, err := os.Stat(none); !os.IsNotExist(err) {
			t.Errorf("a refused record left %s: %v", none, err)
		}
	})
}
