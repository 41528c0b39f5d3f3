package leakcheck

import (
	"strings"
	"testing"
	"time"
)

// A goroutine that ends a while after the check begins passes; one that
// runs on is reported, by the function it runs, once the grace is over.
func TestFind(t *testing.T) {
	const grace = 2 * time.Second
	done := make(chan struct{})
	// Ends later than goleak's own retries would wait.
	go func() { <-time.After(700 * time.Millisecond); close(done) }()
	if err := findWithin(grace); err != nil {
		t.Fatalf("a goroutine ending after 700 ms: %v", err)
	}
	<-done
	stop := make(chan struct{})
	defer close(stop)
	go runsOn(stop)
	start := time.Now()
	err := findWithin(grace)
	if err == nil || !strings.Contains(err.Error(), "leakcheck.runsOn") {
		t.Fatalf("a goroutine that runs on: %v", err)
	}
	if waited := time.Since(start); waited < grace {
		t.Errorf("reported after %v, want after the grace of %v", waited, grace)
	}
}

func runsOn(stop <-chan struct{}) { <-stop }
