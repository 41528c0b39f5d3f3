package test

import (
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/internal/ttybench"
)

// What is typed into minicom at 9600 baud arrives at 9600 baud's pace: the
// receiver on the other end of the pair timestamps each read, and the rate
// they show is paced, not instant: 0.8 to 1.25 times 960 characters a
// second (8N1: ten bits a character), what a wall clock on a loaded
// machine holds. The precise pace is asserted in virtual time (uart16550,
// driver).
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

	const n = 1300 // 1.35 s of line time; the fit's window is over a second
	var msg strings.Builder
	for i := 0; msg.Len() < n; i++ {
		msg.WriteString(strings.Repeat(string(rune('a'+i%26)), 9) + ".")
	}
	tm.keys(msg.String()[:n])

	other.SetReadTimeout(10 * time.Second)
	buf := make([]byte, 256)
	var samples []ttybench.Sample
	for total := 0; total < n; {
		k, err := other.Read(buf)
		if err != nil || k == 0 {
			t.Fatalf("after %d of %d bytes: read %d, %v", total, n, k, err)
		}
		total += k
		samples = append(samples, ttybench.Sample{T: time.Now(), N: total})
	}
	// The slope of a least-squares line through the reads, from 5 % to
	// 95 % of the data: a single late wake-up of the reader at either end
	// skews the time from the first read to the last, and says nothing of
	// the line's pace.
	r, err := ttybench.Fit(samples, n*5/100, n*95/100)
	if err != nil {
		t.Fatal(err)
	}
	ratio := r.BytesPerSec / 960
	t.Logf("typed into minicom: %.1f characters/s over %v (%d characters), theory 960, ratio %.4f", r.BytesPerSec, r.Window, r.Bytes, ratio)
	if !r.Paced(960) {
		t.Fatalf("the line ran at %.1f characters/s, want %g to %g times 960", r.BytesPerSec, ttybench.PacedMin, ttybench.PacedMax)
	}
}
