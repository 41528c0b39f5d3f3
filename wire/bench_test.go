package wire_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/vcomd/vcomd/driver"
	"github.com/vcomd/vcomd/ioctl"
	"github.com/vcomd/vcomd/uart16550"
	"github.com/vcomd/vcomd/wire"
)

// BenchmarkNullModemTransmit measures what the null-modem cable costs per
// FIFO round at timing off: one Transmit of a 16-character SignalChars and
// three single SignalChars from a to b, converted and applied by b's ISR
// pass on the benchmark's goroutine (InputHere), as the sender's pass
// hands them over. b's typeahead is large and purged, with the timer
// stopped, before it fills, so that b's line never waits and the inbox
// stays short.
func BenchmarkNullModemTransmit(b *testing.B) {
	const queue = 1 << 20
	mk := func(name string) *driver.Device {
		return driver.New(driver.Options{Name: name, Instant: true, QueueSize: queue})
	}
	da, db := mk("A"), mk("B")
	defer da.Close()
	defer db.Close()
	n := wire.Connect(da, db, wire.Options{})
	ctx := context.Background()
	for _, d := range []*driver.Device{da, db} {
		if _, err := d.Call(ctx, &driver.IRP{Major: driver.MajorCreate}); err != nil {
			b.Fatal(err)
		}
	}
	purge := func() {
		if _, err := db.Call(ctx, driver.NewIoctl(ioctl.Purge, ioctl.PurgeRxClear)); err != nil {
			b.Fatal(err)
		}
	}
	f := uart16550.Format{ClockHz: 1843200, Divisor: 1, DataBits: 8}
	run := []byte("0123456789abcdef")
	signals := []uart16550.Signal{
		{Kind: uart16550.SignalChars, Data: run, Format: f},
		{Kind: uart16550.SignalChar, Char: 'x', Format: f},
		{Kind: uart16550.SignalChar, Char: 'y', Format: f},
		{Kind: uart16550.SignalChar, Char: 'z', Format: f},
	}
	perOp := len(run) + 3
	taken := 0
	takenFn := func() { taken++ }
	sent := 0
	b.ReportAllocs()
	for b.Loop() {
		if sent+perOp > queue {
			b.StopTimer()
			purge()
			sent = 0
			b.StartTimer()
		}
		n.Transmit(da, signals, takenFn)
		sent += perOp
	}
	b.StopTimer()
	if taken != b.N {
		b.Fatalf("taken called %d times for %d Transmits", taken, b.N)
	}
	irp := driver.NewIoctl(ioctl.GetCommStatus, nil)
	if _, err := db.Call(ctx, irp); err != nil {
		b.Fatal(err)
	}
	if got := irp.Output().(ioctl.CommStatus).AmountInInQueue; got != uint32(sent) {
		b.Fatalf("b holds %d characters, want the %d sent since the last purge", got, sent)
	}
}

// BenchmarkRemoteTransmit measures a raw socket:// wire per FIFO round: one
// Transmit of a 16-character SignalChars and three single SignalChars, and
// the writer's socket write that acknowledges it (the benchmark waits for
// taken each time, so every op is one write), against a local server that
// discards what it reads.
func BenchmarkRemoteTransmit(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	d := driver.New(driver.Options{Name: "R", Instant: true})
	defer d.Close()
	r := wire.DialRemote(d, ln.Addr().String(), wire.RemoteOptions{Raw: true})
	defer r.Close()
	c, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, c) //nolint:errcheck // ends when the wire closes
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := wire.WaitRemote(ctx, r, func(s wire.RemoteState) bool { return s.Connected }); err != nil {
		b.Fatal(err)
	}
	f := uart16550.Format{ClockHz: 1843200, Divisor: 1, DataBits: 8}
	signals := []uart16550.Signal{
		{Kind: uart16550.SignalChars, Data: []byte("0123456789abcdef"), Format: f},
		{Kind: uart16550.SignalChar, Char: 'x', Format: f},
		{Kind: uart16550.SignalChar, Char: 'y', Format: f},
		{Kind: uart16550.SignalChar, Char: 'z', Format: f},
	}
	taken := make(chan struct{}, 1)
	takenFn := func() { taken <- struct{}{} }
	b.ReportAllocs()
	for b.Loop() {
		r.Transmit(d, signals, takenFn)
		<-taken
	}
	b.StopTimer()
	if lost := r.State().LostTx; lost != 0 {
		b.Fatalf("%d characters lost", lost)
	}
	r.Close()
	c.Close()
	<-drained
}
