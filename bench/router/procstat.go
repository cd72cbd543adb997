package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat reads a process's parent and utime+stime from /proc/PID/stat.
func procStat(pid int) (ppid int, cpu time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: bad fields", pid)
	}
	return ppid, time.Duration(ut+st) * time.Second / clockTicks, nil
}

// rss is a process's resident memory in bytes, from VmRSS in
// /proc/PID/status.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmRSS %q", pid, v)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// tree returns pid and its descendants (nginx's workers, say).
func tree(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pid}
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, err := procStat(p); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	all := []int{pid}
	for i := 0; i < len(all); i++ {
		all = append(all, children[all[i]]...)
	}
	return all
}

// usage is the CPU time, resident memory and context switches of a
// process tree.
type usage struct {
	cpu time.Duration
	rss int64
	// Context switches of all the tree's threads: voluntary (a thread
	// waited: for a socket, a futex, epoll) and involuntary (the
	// scheduler took the core from it).
	vcs, ics int64
}

// sumUsage sums usage over pids. Processes that have ended are left out.
func sumUsage(pids []int) usage {
	var u usage
	for _, p := range pids {
		if _, cpu, err := procStat(p); err == nil {
			u.cpu += cpu
		}
		if r, err := rss(p); err == nil {
			u.rss += r
		}
		v, i := switches(p)
		u.vcs += v
		u.ics += i
	}
	return u
}

// switches sums the context switches of pid's threads, from
// /proc/PID/task/TID/status (the process's own status counts only its
// first thread). Threads that have ended are not counted.
func switches(pid int) (voluntary, involuntary int64) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, 0
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			name, value, _ := strings.Cut(line, ":")
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			switch {
			case err != nil:
			case name == "voluntary_ctxt_switches":
				voluntary += n
			case name == "nonvoluntary_ctxt_switches":
				involuntary += n
			}
		}
	}
	return voluntary, involuntary
}

// rssSampler records the largest resident memory of processes, summed,
// sampled every 100ms until stopped.
type rssSampler struct {
	pids []int
	stop chan struct{}
	wg   sync.WaitGroup
	max  int64
}

func sampleRSS(pids []int) *rssSampler {
	s := &rssSampler{pids: pids, stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			s.max = max(s.max, sumUsage(s.pids).rss)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// done stops sampling and returns the largest sample.
func (s *rssSampler) done() int64 {
	close(s.stop)
	s.wg.Wait()
	return max(s.max, sumUsage(s.pids).rss)
}
