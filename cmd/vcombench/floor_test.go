package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vcomd/vcomd/internal/benchrig"
)

// The test binary is the floor program too, as vcombench's is.
func TestMain(m *testing.M) {
	if spec, ok := os.LookupEnv(benchrig.FloorEnv); ok {
		if err := runFloor(spec, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The floor program writes its bursts to a raw pty whose slave the bench
// reads: a burst's characters arrive as written, no newline needed, none
// echoed or translated.
func TestFloorProgram(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := benchrig.StartFloor(ctx, os.Args[0], benchrig.FloorSpec{Quantum: 5 * time.Millisecond, Chars: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Stop(); err != nil {
			t.Error(err)
		}
	}()
	slave, err := os.OpenFile(f.Slave, os.O_RDONLY|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	if err := slave.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 300) // three bursts
	if _, err := io.ReadFull(slave, got); err != nil {
		t.Fatalf("reading the floor program's pty: %v", err)
	}
	for i, b := range got {
		if b != 0 {
			t.Fatalf("byte %d is %#x, want the bursts' zeros", i, b)
		}
	}
}

// A spec FloorEnv carries is read back as written; a bad one is refused
// with the variable named.
func TestFloorSpec(t *testing.T) {
	want := benchrig.FloorSpec{Quantum: 16 * time.Millisecond, Chars: 184}
	if got, err := benchrig.ParseFloorSpec(want.String()); err != nil || got != want {
		t.Errorf("ParseFloorSpec(%q) = %v, %v; want %v", want.String(), got, err, want)
	}
	for _, bad := range []string{"", "16ms", "16ms,", "x,184", "16ms,x", "0s,184", "16ms,0", "-1ms,5"} {
		if _, err := benchrig.ParseFloorSpec(bad); err == nil {
			t.Errorf("ParseFloorSpec(%q) accepted", bad)
		}
	}
}
