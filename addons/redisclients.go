package addons

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// clientMark is where a redis service's connections stood when it got
// its newest password: the id of a connection paasd made just after (the
// server numbers connections in the order they are made) and the
// server's run id (a restarted server numbers them afresh).
type clientMark struct {
	id  int64
	run string
}

// credentialMarks remembers, per redis service, the mark of its newest
// password, so that removing an older one closes just the connections
// made before it: those that may have logged in with the password
// removed. The connections made since, by the instances that got the new
// URL, stay.
type credentialMarks struct {
	mu    sync.Mutex
	marks map[string]clientMark // by service name
}

// note records m as service name's mark.
func (c *credentialMarks) note(name string, m clientMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.marks == nil {
		c.marks = map[string]clientMark{}
	}
	c.marks[name] = m
}

// forget drops service name's mark (its newest password's place is not
// known).
func (c *credentialMarks) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.marks, name)
}

// get returns service name's mark; ok is false when this process did not
// record one (an earlier paasd added the password, or marking failed).
func (c *credentialMarks) get(name string) (clientMark, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.marks[name]
	return m, ok
}

// redisAdminFunc runs one redis command as paasd's admin user and returns the
// reply.
type redisAdminFunc func(args ...string) (string, error)

// markNow reads where the service run talks to stands: a connection
// made now and the server's run id.
func markNow(run redisAdminFunc) (clientMark, error) {
	cid, err := run("CLIENT", "ID")
	if err != nil {
		return clientMark{}, err
	}
	info, err := run("INFO", "server")
	if err != nil {
		return clientMark{}, err
	}
	return markFrom(cid, info)
}

// closeClientsBefore closes user's connections to the service run talks
// to made before mark; all of them when there is no mark (ok false) or
// the server restarted since it was taken.
func closeClientsBefore(run redisAdminFunc, user string, mark clientMark, ok bool) error {
	if ok {
		info, err := run("INFO", "server")
		if err != nil {
			return err
		}
		ok = runID(info) == mark.run
	}
	if !ok {
		_, err := run("CLIENT", "KILL", "USER", user)
		return err
	}
	list, err := run("CLIENT", "LIST")
	if err != nil {
		return err
	}
	for _, c := range clientsBefore(list, user, mark.id) {
		if _, err := run("CLIENT", "KILL", "ID", c); err != nil && !strings.Contains(err.Error(), "No such client") {
			return err
		}
	}
	return nil
}

// markFrom makes a mark from the replies to CLIENT ID and INFO server.
func markFrom(clientID, info string) (clientMark, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(clientID), 10, 64)
	if err != nil {
		return clientMark{}, fmt.Errorf("redis CLIENT ID: unexpected reply %q", firstLine(clientID))
	}
	run := runID(info)
	if run == "" {
		return clientMark{}, fmt.Errorf("redis INFO server: no run_id")
	}
	return clientMark{id: id, run: run}, nil
}

// runID is the run_id field of an INFO server reply, "" without one.
func runID(info string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return v
		}
	}
	return ""
}

// clientsBefore returns the ids of the connections in a CLIENT LIST reply
// that logged in as user and were made before the connection numbered
// mark (all of user's when mark < 0).
func clientsBefore(list, user string, mark int64) []string {
	var ids []string
	for _, line := range strings.Split(list, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		if f["user"] != user {
			continue
		}
		id, err := strconv.ParseInt(f["id"], 10, 64)
		if err != nil {
			continue
		}
		if mark < 0 || id < mark {
			ids = append(ids, f["id"])
		}
	}
	return ids
}
