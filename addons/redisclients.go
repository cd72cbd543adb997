package addons

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// credentialTimes remembers when a redis service last got a password, so
// that removing an older one can close just the connections made before
// it: those that may have logged in with the password removed. The
// connections made since, by the instances that got the new URL, stay.
type credentialTimes struct {
	mu    sync.Mutex
	added map[string]time.Time // by service name
}

// note records that service name got a password now.
func (c *credentialTimes) note(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.added == nil {
		c.added = map[string]time.Time{}
	}
	c.added[name] = time.Now()
}

// since is how long ago service name last got a password; ok is false
// when this process did not see it (an earlier paasd did).
func (c *credentialTimes) since(name string) (d time.Duration, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.added[name]
	return time.Since(t), ok
}

// clientsBefore returns the ids of the connections in a CLIENT LIST reply
// that logged in as user at least d ago (all of user's when d < 0). A
// connection's age is in whole seconds: one made within the second before
// the cut may be left, one made after it never is.
func clientsBefore(list, user string, d time.Duration) []string {
	minAge := int64(math.Ceil(d.Seconds()))
	var ids []string
	for _, line := range strings.Split(list, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		if f["user"] != user || f["id"] == "" {
			continue
		}
		age, err := strconv.ParseInt(f["age"], 10, 64)
		if err != nil {
			continue
		}
		if d < 0 || age >= minAge {
			ids = append(ids, f["id"])
		}
	}
	return ids
}
