// Package procstat reads from /proc what a running process costs (the CPU
// time it has used, the context switches of its threads, the memory it
// holds) and which TCP ports it listens on; and how busy the whole
// machine was, to tell other work apart.
package procstat

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat. The kernel
// reports them in USER_HZ, which is 100 on every architecture Go runs on
// with Linux, whatever the kernel's own tick rate.
const userHZ = 100

// Tick is the resolution of CPU: one USER_HZ clock tick.
const Tick = time.Second / userHZ

// CPU returns the user plus system CPU time that process pid has used,
// all of its threads together (utime + stime of /proc/PID/stat).
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time of pid %d: %w", pid, err)
	}
	return parseStat(b)
}

// parseStat takes utime and stime (fields 14 and 15) from a stat line.
// The command name in field 2 may hold spaces and parentheses, so fields
// are counted from the last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat %q: %d fields after the name, want at least 13", b, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: utime/stime %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * Tick, nil
}

// Memory is a process's resident memory, in KiB.
type Memory struct {
	// RSS counts every page the process has in RAM, shared ones in full.
	RSS int64
	// PSS divides each shared page among the processes sharing it, so
	// that the PSS of a set of processes adds up to what they cost
	// together.
	PSS int64
}

// Mem returns the resident memory of process pid, from
// /proc/PID/smaps_rollup.
func Mem(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	defer f.Close()
	m, err := parseRollup(f)
	if err != nil {
		return Memory{}, fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	return m, nil
}

func parseRollup(r io.Reader) (Memory, error) {
	var m Memory
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "Rss":
			dst = &m.RSS
		case "Pss":
			dst = &m.PSS
		default:
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("smaps_rollup %s: %w", key, err)
		}
		*dst = v
		seen++
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("smaps_rollup: %w", err)
	}
	if seen < 2 {
		return m, fmt.Errorf("smaps_rollup: no Rss and Pss lines")
	}
	return m, nil
}

// FDs returns how many file descriptors process pid has open: the
// entries of /proc/PID/fd.
func FDs(pid int) (int, error) {
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("open files of pid %d: %w", pid, err)
	}
	return len(es), nil
}
