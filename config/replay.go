package config

import (
	"fmt"
	"strings"
)

// ReplayOptions are a replay port's keys of [[connect]]: how the
// recording plays. "" is the default of each.
type ReplayOptions struct {
	// Pace is "recorded" (the default: answers keep the recorded gaps)
	// or "instant" (each answer as soon as the host sent what precedes
	// it).
	Pace string
	// OnMismatch is "stop" (the default: the replay ends at the first
	// byte the host sends that the recording does not have) or "resync"
	// (it skips ahead to the next host block that matches).
	OnMismatch string
}

// Instant reports whether pace is "instant".
func (o ReplayOptions) Instant() bool { return o.Pace == "instant" }

// Resync reports whether on_mismatch is "resync".
func (o ReplayOptions) Resync() bool { return o.OnMismatch == "resync" }

// check says what is wrong with o for a port that reaches target.
func (o ReplayOptions) check(target string) error {
	if o == (ReplayOptions{}) {
		return nil
	}
	if !strings.HasPrefix(target, string(TargetReplay)+":") {
		return fmt.Errorf("pace and on_mismatch are for a replay:FILE address, not %q", target)
	}
	switch o.Pace {
	case "", "recorded", "instant":
	default:
		return fmt.Errorf("pace %q: want \"recorded\" or \"instant\"", o.Pace)
	}
	switch o.OnMismatch {
	case "", "stop", "resync":
	default:
		return fmt.Errorf("on_mismatch %q: want \"stop\" or \"resync\"", o.OnMismatch)
	}
	return nil
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
