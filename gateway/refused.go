package gateway

import (
	"log/slog"
	"strings"
	"sync"
	"time"
)

// maxOfferedKeys bounds the unknown keys remembered of one connection: a
// client offering more is a scanner, and the first few tell an admin
// which key a user meant.
const maxOfferedKeys = 8

// refusedBudget is how many refused logins are logged per refusedWindow;
// the rest are counted and reported with the next line logged.
const (
	refusedBudget = 10
	refusedWindow = time.Minute
)

// refusedLog logs logins refused because no user has the keys offered,
// with the keys' fingerprints, so that an admin can add the key a user
// tried. It logs at most refusedBudget lines a window.
type refusedLog struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	start   time.Time // of the current window
	logged  int       // in the current window
	skipped int       // since the last line logged
}

// note logs that a client at remote left without authenticating after
// offering the keys of fingerprints fps, none of them known.
func (r *refusedLog) note(remote string, fps []string) {
	if len(fps) == 0 {
		return
	}
	r.mu.Lock()
	now := r.now()
	if now.Sub(r.start) >= refusedWindow {
		r.start, r.logged = now, 0
	}
	if r.logged >= refusedBudget {
		r.skipped++
		r.mu.Unlock()
		return
	}
	r.logged++
	skipped := r.skipped
	r.skipped = 0
	r.mu.Unlock()
	r.log.Warn("ssh: refused a login: no user has the key offered; an admin adds it with `paas keys:add USER < KEY.pub`",
		"remote", remote, "fingerprints", strings.Join(fps, " "), "unlogged_since_last", skipped)
}

// offered remembers that the client of c offered a key of fingerprint fp
// that no user has.
func (c *guardedConn) offered(fp string) {
	g := c.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.state != stateWaiting || len(c.unknownKeys) >= maxOfferedKeys {
		return
	}
	for _, k := range c.unknownKeys {
		if k == fp {
			return
		}
	}
	c.unknownKeys = append(c.unknownKeys, fp)
}
