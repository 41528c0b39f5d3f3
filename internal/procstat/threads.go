package procstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Threads is what the threads of a process have used so far, summed over
// /proc/PID/task/*: a process's own /proc/PID/status counts the context
// switches of its first thread only, and a Go program or a daemon does its
// work on others.
//
// Threads that have exited are no longer listed, so what they used is
// missing from the sums; a Go runtime keeps its threads for the life of
// the process, so over a measurement window that loses nothing.
type Threads struct {
	// Run is the time the threads spent on a CPU, user and system,
	// from the scheduler's sum_exec_runtime (schedstat's first field),
	// in nanoseconds: the figure the kernel splits into utime and stime
	// of /proc/PID/stat, which those round down to 10 ms ticks. Where
	// the kernel has no schedstat, it is utime + stime, and Coarse is
	// set.
	Run    time.Duration
	Coarse bool
	// Voluntary switches are waits (a read, a futex, a poll); Involuntary
	// ones are the scheduler taking the CPU from a thread that could have
	// run on.
	Voluntary, Involuntary uint64
	// Count is how many threads there were.
	Count int
}

// Switches is the context switches of both kinds.
func (t Threads) Switches() uint64 { return t.Voluntary + t.Involuntary }

// Sub is what was used between u and t, u the earlier reading.
func (t Threads) Sub(u Threads) Threads {
	return Threads{
		Run: t.Run - u.Run, Coarse: t.Coarse || u.Coarse,
		Voluntary: t.Voluntary - u.Voluntary, Involuntary: t.Involuntary - u.Involuntary,
		Count: t.Count,
	}
}

// Add sums two measurements, of two windows or two processes.
func (t Threads) Add(u Threads) Threads {
	return Threads{
		Run: t.Run + u.Run, Coarse: t.Coarse || u.Coarse,
		Voluntary: t.Voluntary + u.Voluntary, Involuntary: t.Involuntary + u.Involuntary,
		Count: max(t.Count, u.Count),
	}
}

// ReadThreads reads the run time and context switches of every thread of
// process pid.
func ReadThreads(pid int) (Threads, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	es, err := os.ReadDir(dir)
	if err != nil {
		return Threads{}, fmt.Errorf("threads of pid %d: %w", pid, err)
	}
	var t Threads
	for _, e := range es {
		status, err := os.ReadFile(dir + "/" + e.Name() + "/status")
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			continue // the thread exited since the listing
		}
		if err != nil {
			return Threads{}, fmt.Errorf("thread %s of pid %d: %w", e.Name(), pid, err)
		}
		vol, invol, err := parseSwitches(bytes.NewReader(status))
		if err != nil {
			return Threads{}, fmt.Errorf("thread %s of pid %d: %w", e.Name(), pid, err)
		}
		t.Voluntary += vol
		t.Involuntary += invol
		t.Count++
		if t.Coarse {
			continue
		}
		sched, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		switch {
		case errors.Is(err, fs.ErrNotExist) && t.Count == 1:
			// No schedstat in this kernel (CONFIG_SCHED_INFO off).
			t.Coarse = true
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH):
			// The thread exited between its status and its schedstat.
		case err != nil:
			return Threads{}, fmt.Errorf("thread %s of pid %d: %w", e.Name(), pid, err)
		default:
			run, err := parseSchedstat(sched)
			if err != nil {
				return Threads{}, fmt.Errorf("thread %s of pid %d: %w", e.Name(), pid, err)
			}
			t.Run += run
		}
	}
	if t.Count == 0 {
		return Threads{}, fmt.Errorf("threads of pid %d: none listed (the process exited)", pid)
	}
	if t.Coarse {
		if t.Run, err = CPU(pid); err != nil {
			return Threads{}, err
		}
	}
	return t, nil
}

// parseSchedstat takes the time on a CPU, in nanoseconds, from a
// schedstat line: "run wait timeslices".
func parseSchedstat(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, fmt.Errorf("schedstat %q: empty", b)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat %q: %w", b, err)
	}
	return time.Duration(ns), nil
}

// parseSwitches takes voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches from a status file.
func parseSwitches(r io.Reader) (vol, invol uint64, err error) {
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "voluntary_ctxt_switches":
			dst = &vol
		case "nonvoluntary_ctxt_switches":
			dst = &invol
		default:
			continue
		}
		if *dst, err = strconv.ParseUint(strings.TrimSpace(rest), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("status %s: %w", key, err)
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("status: %w", err)
	}
	if seen < 2 {
		return 0, 0, errors.New("status: no voluntary_ctxt_switches and nonvoluntary_ctxt_switches lines")
	}
	return vol, invol, nil
}

// MachineTimes is the CPU time of the whole machine, all CPUs together,
// from the first line of /proc/stat. Its resolution is a tick per CPU.
type MachineTimes struct {
	// Busy is the time spent on work: user, nice, system, irq, softirq
	// and steal, not idle or iowait.
	Busy time.Duration
	// Steal, part of Busy, is the time a hypervisor gave to another
	// guest, which this machine's programs waited out as if it were
	// work: on a VM whose host is busy, a stall of every program at once.
	Steal time.Duration
}

// Machine reads the machine's CPU times.
func Machine() (MachineTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineTimes{}, fmt.Errorf("machine cpu time: %w", err)
	}
	return parseProcStat(b)
}

func parseProcStat(b []byte) (MachineTimes, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	// cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return MachineTimes{}, fmt.Errorf("/proc/stat: first line %q, want cpu and at least 8 figures", line)
	}
	const steal = 8
	var t MachineTimes
	for _, i := range []int{1, 2, 3, 6, 7, steal} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return MachineTimes{}, fmt.Errorf("/proc/stat: field %d %q: %w", i, f[i], err)
		}
		t.Busy += time.Duration(n) * Tick
		if i == steal {
			t.Steal = time.Duration(n) * Tick
		}
	}
	return t, nil
}

// Own is the CPU time, user and system, that this process has used, and
// its children that have exited and been waited for: what a benchmark
// itself costs the machine, for telling other work apart.
func Own() (time.Duration, error) {
	var total time.Duration
	for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if err := unix.Getrusage(who, &ru); err != nil {
			return 0, fmt.Errorf("getrusage: %w", err)
		}
		total += time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())
	}
	return total, nil
}
