// Command atmodem is a small Hayes-style modem to put on the far end of a
// vcomd port:
//
//	vcomd --connect ttyM0=exec:'go run ./examples/atmodem'
//	minicom -D /run/vcom/ttyM0
//
// It reads what the program on the port sends from stdin and answers on
// stdout, and drives the port's carrier (DCD) and ring indicator (RI)
// through vcomd's control API, found as VCOM_SOCKET and VCOM_PORT in its
// environment. vcomd itself holds DSR and CTS up while it runs.
//
// Commands, each line starting with AT and ending with a carriage return:
//
//	AT         OK
//	ATI        an identification line, then OK
//	ATE0 ATE1  echo of what is typed off or on (on at start, as modems are)
//	ATDnumber  dial: CONNECT, DCD up, and data mode
//	ATA        answer a RING the same way
//	ATH        hang up: NO CARRIER if a call was up, DCD down, OK
//	ATZ        hang up and echo on, OK
//
// In data mode the far end is a loopback: what is sent comes back. The
// escape to command mode is the Hayes one: a pause of the guard time, +++,
// and another pause; the call stays up until ATH. SIGUSR1 rings: RI goes
// up for two seconds, as a line rings, and the modem says RING.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vcomd/vcomd/control"
)

func main() {
	guard := flag.Duration("guard", time.Second, "the pause before and after +++ (the Hayes S12 register)")
	flag.Parse()
	log.SetPrefix("atmodem: ")
	log.SetFlags(0)
	m := &modem{out: bufio.NewWriter(os.Stdout), lines: newLines(), echo: true, guard: *guard}
	if err := m.run(os.Stdin); err != nil {
		log.Fatal(err)
	}
}

// lines are the port's DCD and RI, set through vcomd's control API.
type lines struct {
	c    *control.Client // nil without VCOM_SOCKET: the lines stay as they are
	port string
}

func newLines() lines {
	sock, port := os.Getenv("VCOM_SOCKET"), os.Getenv("VCOM_PORT")
	if sock == "" || port == "" {
		log.Print("no VCOM_SOCKET and VCOM_PORT: DCD and RI will not move")
		return lines{}
	}
	return lines{c: control.NewClient(sock), port: port}
}

// set sets DCD, RI or both; a failure is said on stderr (vcomd's log) and
// the modem goes on.
func (l lines) set(req control.ModemRequest) {
	if l.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.c.SetModem(ctx, l.port, req); err != nil {
		log.Printf("setting the modem lines: %v", err)
	}
}

func on(b bool) *bool { return &b }

// modem is the modem's state; one goroutine (run) owns it.
type modem struct {
	out     *bufio.Writer
	lines   lines
	echo    bool
	guard   time.Duration
	online  bool   // data mode
	carrier bool   // a call is up (DCD)
	cmd     []byte // the command line typed so far
	plus    int    // '+' of an escape held back, 0 to 3
	lastRx  time.Time
}

// run serves input until stdin ends.
func (m *modem) run(stdin io.Reader) error {
	in := make(chan []byte)
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				in <- bytes.Clone(buf[:n])
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	ring := make(chan os.Signal, 1)
	signal.Notify(ring, syscall.SIGUSR1)
	escape := time.NewTimer(0)
	<-escape.C
	for {
		select {
		case p := <-in:
			for _, b := range p {
				if m.online {
					m.data(b, escape)
				} else {
					m.command(b)
				}
				m.lastRx = time.Now()
			}
		case <-escape.C:
			// +++ and a pause: back to command mode, the call kept.
			m.online, m.plus = false, 0
			m.result("OK")
		case <-ring:
			m.lines.set(control.ModemRequest{RI: on(true)})
			m.result("RING")
			time.AfterFunc(2*time.Second, func() { m.lines.set(control.ModemRequest{RI: on(false)}) })
		case err := <-errc:
			if err == io.EOF {
				return nil
			}
			return err
		}
		if err := m.out.Flush(); err != nil {
			return err
		}
	}
}

// data handles a byte in data mode: it comes back, unless it is part of
// an escape (the '+' are held until the escape fails).
func (m *modem) data(b byte, escape *time.Timer) {
	paused := time.Since(m.lastRx) >= m.guard
	if b == '+' && m.plus < 3 && (m.plus > 0 || paused) {
		m.plus++
		if m.plus == 3 {
			escape.Reset(m.guard)
		}
		return
	}
	escape.Stop()
	m.out.Write(bytes.Repeat([]byte{'+'}, m.plus))
	m.plus = 0
	m.out.WriteByte(b)
}

// command handles a byte in command mode: echoed if echo is on, and a
// carriage return ends the command line.
func (m *modem) command(b byte) {
	if m.echo {
		m.out.WriteByte(b)
	}
	switch b {
	case '\r':
		line := bytes.ToUpper(bytes.TrimSpace(m.cmd))
		m.cmd = m.cmd[:0]
		if len(line) > 0 {
			m.execute(line)
		}
	case '\n':
	case '\b', 0x7F:
		if len(m.cmd) > 0 {
			m.cmd = m.cmd[:len(m.cmd)-1]
		}
	default:
		if len(m.cmd) < 256 {
			m.cmd = append(m.cmd, b)
		}
	}
}

// execute runs a command line: AT and commands after it, each a letter
// and perhaps a digit.
func (m *modem) execute(line []byte) {
	if !bytes.HasPrefix(line, []byte("AT")) {
		m.result("ERROR")
		return
	}
	s := line[2:]
	for len(s) > 0 {
		c := s[0]
		s = s[1:]
		if c == 'D' || c == 'A' {
			m.connect() // the rest of the line is the number, which any line answers
			return
		}
		arg := byte('0')
		if len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
			arg, s = s[0], s[1:]
		}
		switch c {
		case ' ':
		case 'E':
			m.echo = arg == '1'
		case 'I':
			m.result("vcomd example modem (examples/atmodem)")
		case 'H':
			m.hangUp()
		case 'Z':
			m.hangUp()
			m.echo = true
		default:
			m.result("ERROR")
			return
		}
	}
	m.result("OK")
}

// connect brings a call up: DCD, CONNECT, data mode.
func (m *modem) connect() {
	m.carrier, m.online = true, true
	m.lines.set(control.ModemRequest{DCD: on(true)})
	m.result("CONNECT")
}

// hangUp ends the call, if one is up.
func (m *modem) hangUp() {
	if !m.carrier {
		return
	}
	m.carrier = false
	m.lines.set(control.ModemRequest{DCD: on(false)})
	m.result("NO CARRIER")
}

// result writes a result code as modems do in verbose mode.
func (m *modem) result(s string) {
	fmt.Fprintf(m.out, "\r\n%s\r\n", s)
}
