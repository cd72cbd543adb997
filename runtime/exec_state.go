package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// orphanWait bounds how long ReapOrphans waits for the groups it killed
// to be gone.
const orphanWait = 10 * time.Second

// groupRecord is what StateDir holds per running instance: enough to find
// its process group again after paasd died, and to tell it from a later
// process that reuses the number.
type groupRecord struct {
	ID       string `json:"id"`
	App      string `json:"app"`
	Instance string `json:"instance"`
	PGID     int    `json:"pgid"`
	// Start is the leader's start time, in clock ticks after boot
	// (field 22 of /proc/PID/stat).
	Start uint64 `json:"start"`
	// Boot is the kernel's boot ID: start times of another boot mean
	// nothing.
	Boot string `json:"boot,omitempty"`
}

// recordPath returns the path of instance id's record in dir.
func recordPath(dir, id string) string {
	return filepath.Join(dir, strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		}
		return '_'
	}, id)+".pid")
}

// writeRecord records p's process group in the state directory, replacing
// the file atomically. It is a no-op without a state directory.
func (e *Exec) writeRecord(p *proc) error {
	dir := e.cfg.StateDir
	if dir == "" {
		return nil
	}
	start, err := procStartTime(p.g.pgid)
	if err != nil {
		return err
	}
	b, err := json.Marshal(groupRecord{
		ID:       p.inst.ID,
		App:      p.inst.App,
		Instance: p.inst.Name(),
		PGID:     p.g.pgid,
		Start:    start,
		Boot:     bootID(),
	})
	if err != nil {
		return fmt.Errorf("encoding process record: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making state directory: %w", err)
	}
	path := recordPath(dir, p.inst.ID)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing process record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing process record: %w", err)
	}
	return nil
}

// removeRecord deletes instance id's record; a missing one is fine.
func (e *Exec) removeRecord(id string) {
	if e.cfg.StateDir == "" {
		return
	}
	err := os.Remove(recordPath(e.cfg.StateDir, id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		e.log.Warn("removing process record", "id", id, "err", err)
	}
}

// ReapOrphans kills (SIGKILL to the group) every process group recorded
// in StateDir by an earlier paasd that is still alive, and removes the
// records; it returns how many groups it killed. Call it at start
// before any Start.
//
// A group counts as alive only when its leader runs with the start time
// recorded, in the same boot; any other record (a leader gone, or its
// number reused by another process) is just removed. Groups of this
// runtime's own instances are left alone. It returns once the killed
// groups have no running process left, or with an error after a bound.
// Without a StateDir it does nothing.
func (e *Exec) ReapOrphans() (int, error) {
	dir := e.cfg.StateDir
	if dir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading state directory: %w", err)
	}
	e.mu.Lock()
	own := make(map[string]bool, len(e.procs))
	for id := range e.procs {
		own[recordPath(dir, id)] = true
	}
	e.mu.Unlock()

	boot := bootID()
	var killed []int
	var errs []error
	for _, ent := range entries {
		name := ent.Name()
		path := filepath.Join(dir, name)
		if ent.IsDir() || own[path] {
			continue
		}
		if strings.HasSuffix(name, ".pid.tmp") {
			// A record being written when paasd died: its instance had
			// not been reported started.
			os.Remove(path)
			continue
		}
		if !strings.HasSuffix(name, ".pid") {
			continue
		}
		rec, err := readRecord(path)
		switch {
		case err != nil:
			e.log.Warn("dropping unreadable process record", "path", path, "err", err)
		case recordAlive(rec, boot):
			if err := syscall.Kill(-rec.PGID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("killing process group %d of %s %s: %w", rec.PGID, rec.App, rec.Instance, err))
				continue // the record stays for another try
			}
			killed = append(killed, rec.PGID)
			e.log.Info("orphaned instance killed", "app", rec.App, "instance", rec.Instance, "pgid", rec.PGID)
		default:
			e.log.Info("stale process record dropped", "app", rec.App, "instance", rec.Instance, "pgid", rec.PGID)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing process record: %w", err))
		}
	}
	if err := waitGroupsGone(killed, orphanWait); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return len(killed), fmt.Errorf("reaping orphans: %w", err)
	}
	return len(killed), nil
}

// readRecord reads and checks one record file.
func readRecord(path string) (groupRecord, error) {
	var rec groupRecord
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decoding %s: %w", path, err)
	}
	if rec.PGID <= 1 || rec.Start == 0 {
		return rec, fmt.Errorf("%s: no process group recorded", path)
	}
	return rec, nil
}

// recordAlive reports whether rec's group leader still runs: a process of
// that number exists, started when recorded, in the same boot. A leader
// that is a zombie still counts: the rest of its group may run.
func recordAlive(rec groupRecord, boot string) bool {
	if rec.Boot != "" && boot != "" && rec.Boot != boot {
		return false
	}
	start, err := procStartTime(rec.PGID)
	return err == nil && start == rec.Start
}

// waitGroupsGone polls until no process of the given groups runs (zombies
// do not count), or fails after limit.
func waitGroupsGone(pgids []int, limit time.Duration) error {
	if len(pgids) == 0 {
		return nil
	}
	deadline := time.Now().Add(limit)
	for {
		left := runningInGroups(pgids)
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d killed processes still running after %v", left, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runningInGroups counts the processes that belong to one of pgids and
// are not zombies.
func runningInGroups(pgids []int) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		f, err := procStat(pid)
		if err != nil || f[0] == "Z" || f[0] == "X" {
			continue
		}
		pgrp, err := strconv.Atoi(f[2])
		if err == nil && slices.Contains(pgids, pgrp) {
			n++
		}
	}
	return n
}

// procStartTime returns when process pid started, in clock ticks after
// boot.
func procStartTime(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	// Field 22 of the line; f starts at field 3.
	if len(f) < 20 {
		return 0, fmt.Errorf("reading start time of %d: short stat line", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading start time of %d: %w", pid, err)
	}
	return start, nil
}

// procStat returns the fields of /proc/PID/stat that follow the command
// name, which may itself hold spaces and parentheses: the first is the
// state (field 3 of the line).
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("reading /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return nil, fmt.Errorf("reading /proc/%d/stat: short line", pid)
	}
	return f, nil
}

// bootID returns the kernel's ID of the current boot, or "" when it
// cannot be read.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
