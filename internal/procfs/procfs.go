// Package procfs reads what paasd needs of Linux's /proc to find process
// groups and processes it started again after a restart: a process's
// state, group and start time, whether its environment holds a marker,
// and the boot they belong to; and what a process uses (CPU time and
// resident memory).
package procfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stat is what /proc/PID/stat tells of a process.
type Stat struct {
	State byte   // R, S, D, Z (zombie), X (dead), ...
	PGID  int    // process group
	Start uint64 // start time, in clock ticks after boot
}

// Running reports whether the process is neither a zombie nor dead.
func (s Stat) Running() bool { return s.State != 'Z' && s.State != 'X' }

// ReadStat reads /proc/PID/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	// The command name may hold spaces and parentheses: the fields that
	// follow start after its last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("reading /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("reading /proc/%d/stat: short line", pid)
	}
	pgid, err := strconv.Atoi(f[2])
	if err != nil {
		return Stat{}, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
	}
	return Stat{State: f[0][0], PGID: pgid, Start: start}, nil
}

// PIDs lists the processes of the system.
func PIDs() ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Environ returns process pid's initial environment, "KEY=value" entries.
// A process this one may not inspect has none.
func Environ(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil
	}
	var env []string
	for _, e := range bytes.Split(b, []byte{0}) {
		if len(e) > 0 {
			env = append(env, string(e))
		}
	}
	return env
}

// BootID returns the kernel's ID of the current boot, or "" when it
// cannot be read.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// ticksPerSecond is the unit of the CPU times in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 for this interface on every architecture.
const ticksPerSecond = 100

// Usage is what /proc/PID/stat tells of a process's use of the machine.
type Usage struct {
	PGID int
	// CPU is the CPU time the process and its waited-for children used,
	// user and system.
	CPU time.Duration
	// RSS is its resident set, in bytes.
	RSS int64
}

// ReadUsage reads process pid's CPU time and resident memory.
func ReadUsage(pid int) (Usage, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Usage{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Usage{}, fmt.Errorf("reading /proc/%d/stat: no command name", pid)
	}
	// After the command name: state (field 3) is f[0], so field N is
	// f[N-3]: pgrp 5, utime 14, stime 15, cutime 16, cstime 17, rss 24.
	f := strings.Fields(s[i+1:])
	if len(f) < 22 {
		return Usage{}, fmt.Errorf("reading /proc/%d/stat: short line", pid)
	}
	pgid, err := strconv.Atoi(f[2])
	if err != nil {
		return Usage{}, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
	}
	var ticks int64
	for _, n := range f[11:15] {
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return Usage{}, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
		}
		ticks += max(v, 0)
	}
	rss, err := strconv.ParseInt(f[21], 10, 64)
	if err != nil {
		return Usage{}, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
	}
	return Usage{
		PGID: pgid,
		CPU:  time.Duration(ticks) * (time.Second / ticksPerSecond),
		RSS:  rss * int64(os.Getpagesize()),
	}, nil
}
