package rfc2217_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"go.bug.st/serial"

	"github.com/vcomd/vcomd/rfc2217"
)

// Example opens a remote serial port and uses it as a local one. The
// server here is the loopback plug of this package's tests (data comes
// back, RTS drives CTS); against ser2net the address would be its telnet
// (rfc2217) accepter.
func Example() {
	server, err := listenLoop()
	if err != nil {
		log.Fatal(err)
	}
	defer server.close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	port, err := rfc2217.Dial(ctx, server.addr(), &rfc2217.Options{
		Mode: &serial.Mode{BaudRate: 115200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer port.Close()

	var p serial.Port = port // what the rest of a program sees
	if err := p.SetRTS(true); err != nil {
		log.Fatal(err)
	}
	lines, err := p.GetModemStatusBits()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("CTS:", lines.CTS)

	if _, err := p.Write([]byte("ping")); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(p, buf); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", buf)
	// Output:
	// CTS: true
	// ping
}
