package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestJSONAfterPush: after a real push, ps --json and releases --json
// (through ssh and through the paas client) are one JSON document each
// that decodes to what runs; the tables have their header rows; an app
// with nothing to list says so on stderr only. Exec runtime: JSON output
// does not depend on the runtime.
func TestJSONAfterPush(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	const app = "json-out"
	requireOK(t, "apps:create", s.ssh("apps:create "+app))

	// Nothing yet: one line on stderr, nothing on stdout, exit 0; [] with
	// --json.
	for _, cmd := range []string{"ps " + app, "releases " + app} {
		r := s.ssh(cmd)
		if r.code != 0 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, app+" has no ") {
			t.Errorf("%s before a push: %d %q %q", cmd, r.code, r.stdout, r.stderr)
		}
		if r := s.ssh(cmd + " --json"); r.code != 0 || r.stdout != "[]\n" || r.stderr != "" {
			t.Errorf("%s --json before a push: %d %q %q", cmd, r.code, r.stdout, r.stderr)
		}
	}

	dir := s.newRepo("python", app)
	requireOK(t, "push", s.push(dir, "paas", "main"))
	s.mustGet(app, "/", "hello one from web.1")
	head := strings.TrimSpace(s.git(dir, "rev-parse", "HEAD").stdout)

	r := s.ssh("ps " + app + " --json")
	requireOK(t, "ps --json", r)
	var procs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Index    int    `json:"index"`
		Release  int    `json:"release"`
		State    string `json:"state"`
		Since    string `json:"since"`
		Command  string `json:"command"`
		Restarts int    `json:"restarts"`
		LastExit *int   `json:"last_exit"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &procs); err != nil || r.stderr != "" {
		t.Fatalf("ps --json: %v %q\n%s", err, r.stderr, r.stdout)
	}
	if len(procs) != 1 || procs[0].Name != "web.1" || procs[0].Type != "web" || procs[0].Index != 1 || procs[0].Release != 1 ||
		procs[0].State != "up" || procs[0].Command == "" || procs[0].Restarts != 0 || procs[0].LastExit != nil {
		t.Fatalf("ps --json: %+v", procs)
	}
	if since, err := time.Parse(time.RFC3339, procs[0].Since); err != nil || time.Since(since) > 10*time.Minute || !strings.HasSuffix(procs[0].Since, "Z") {
		t.Errorf("ps --json since = %q: %v", procs[0].Since, err)
	}

	requireOK(t, "config:set", s.ssh("config:set "+app+" GREETING=hi"))
	r = s.paas(dir, "", "releases", "--json")
	requireOK(t, "paas releases --json", r)
	var rels []struct {
		Version     int     `json:"version"`
		Current     bool    `json:"current"`
		Status      string  `json:"status"`
		Description string  `json:"description"`
		CreatedAt   string  `json:"created_at"`
		CreatedBy   *string `json:"created_by"`
		Commit      *string `json:"commit"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rels); err != nil {
		t.Fatalf("releases --json: %v\n%s", err, r.stdout)
	}
	if len(rels) != 2 || rels[0].Version != 2 || !rels[0].Current || rels[0].Status != "succeeded" || !strings.Contains(rels[0].Description, "GREETING") ||
		rels[1].Version != 1 || rels[1].Current || rels[1].Commit == nil || *rels[1].Commit != head || rels[1].CreatedBy == nil {
		t.Fatalf("releases --json: %+v", rels)
	}
	if _, err := time.Parse(time.RFC3339, rels[0].CreatedAt); err != nil {
		t.Errorf("releases --json created_at = %q: %v", rels[0].CreatedAt, err)
	}

	// The tables, with their header rows, within 80 columns.
	for _, c := range []struct{ cmd, header string }{{"ps " + app, "NAME "}, {"releases " + app, "RELEASE "}} {
		r := s.ssh(c.cmd)
		requireOK(t, c.cmd, r)
		if !strings.HasPrefix(r.stdout, c.header) {
			t.Errorf("%s has no header row:\n%s", c.cmd, r.stdout)
		}
		for _, l := range strings.Split(r.stdout, "\n") {
			if len([]rune(l)) > 80 {
				t.Errorf("%s: a line wider than 80 columns:\n%s", c.cmd, r.stdout)
			}
		}
	}
}

// rowOf returns the row of a table whose first column is first.
func rowOf(table, first string) string {
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == first {
			return l
		}
	}
	return ""
}
