package test

import (
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"
)

// What is typed into minicom at 9600 baud arrives at 9600 baud's pace: the
// receiver on the other end of the pair timestamps each read, and the rate
// from the first read to the last is within 1 % of 960 characters a second
// (8N1: ten bits a character).
func TestMinicomAt9600Pace(t *testing.T) {
	need(t, "minicom", "minicom")
	links := startDaemon(t)
	tm := startTmux(t, "minicom -o -b 9600 -D "+links["ttyV0"])
	tm.waitScreen("Welcome to minicom")
	other, err := serial.Open(links["ttyV1"], &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// minicom has the port open once it shows what arrives.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(tm.screen(), "ready?"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("minicom never showed what was sent:\n%s", tm.screen())
		}
		other.Write([]byte("ready?\r\n"))
	}
	other.ResetInputBuffer()

	const n = 1200 // 1.25 s of line time
	var msg strings.Builder
	for i := 0; msg.Len() < n; i++ {
		msg.WriteString(strings.Repeat(string(rune('a'+i%26)), 9) + ".")
	}
	tm.keys(msg.String()[:n])

	other.SetReadTimeout(5 * time.Second)
	buf := make([]byte, 256)
	var first, last time.Time
	firstLen, total := 0, 0
	for total < n {
		k, err := other.Read(buf)
		if err != nil || k == 0 {
			t.Fatalf("after %d of %d bytes: read %d, %v", total, n, k, err)
		}
		now := time.Now()
		if total == 0 {
			first, firstLen = now, k
		}
		last = now
		total += k
	}
	// From the first read to the last, the line carried everything after
	// the first read's bytes.
	got := last.Sub(first)
	want := time.Duration(n-firstLen) * 10 * time.Second / 9600
	ratio := float64(got) / float64(want)
	t.Logf("%d characters typed in minicom: %v from first read to last, theory %v, ratio %.4f", n-firstLen, got, want, ratio)
	if ratio < 0.99 || ratio > 1.01 {
		t.Fatalf("took %v, want %v within 1 %%", got, want)
	}
}
