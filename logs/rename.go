package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Rename moves app old's stream to the name new: its history (on disk,
// or the lines held in memory) continues under new, with the same
// sequence numbers. Readers of old end, as on Remove; lines written for
// new before the rename are dropped.
func (a *Aggregator) Rename(old, new string) error {
	a.mu.Lock()
	l := a.apps[old]
	stale := a.apps[new]
	delete(a.apps, old)
	delete(a.apps, new)
	useDisk := a.cfg.Dir != "" && !a.closed && onDisk(old) && onDisk(new)
	a.mu.Unlock()

	var moved *appLog
	for _, x := range []*appLog{stale, l} {
		if x == nil {
			continue
		}
		x.mu.Lock()
		x.removed = true
		x.wakeReaders()
		var err error
		if x.disk != nil {
			if x == l {
				err = x.disk.close()
			} else {
				err = x.disk.remove()
			}
			x.disk = nil
		}
		if x == l && !useDisk {
			// The history is the lines in memory: they move.
			moved = &appLog{history: newRing(a.cfg.TailLines), seq: x.seq, last: x.last}
			for _, line := range x.history.lines[x.history.next:] {
				line.App = new
				moved.history.add(line)
			}
			for _, line := range x.history.lines[:x.history.next] {
				line.App = new
				moved.history.add(line)
			}
		}
		x.mu.Unlock()
		if err != nil {
			a.log.Error("closing log history", "app", old, "err", err)
		}
	}
	if useDisk {
		from, to := filepath.Join(a.cfg.Dir, old), filepath.Join(a.cfg.Dir, new)
		if err := os.RemoveAll(to); err != nil {
			return fmt.Errorf("moving log history: %w", err)
		}
		if err := os.Rename(from, to); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("moving log history: %w", err)
		}
		return nil
	}
	if moved != nil {
		a.mu.Lock()
		a.apps[new] = moved
		a.mu.Unlock()
	}
	return nil
}
