//go:build !race

// Package race tells whether the race detector is on, so that tests can
// scale work the detector slows tenfold.
package race

// Enabled is true when built with -race.
const Enabled = false
