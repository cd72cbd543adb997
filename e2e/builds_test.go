package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBuildsListing pushes a commit no buildpack builds, then one that
// deploys: builds lists both, newest first, with status, duration,
// commit and pusher, in a table and as JSON.
func TestBuildsListing(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	app := "buildsy"
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	dir := s.newRepoOf(app, map[string]string{"README": "nothing to build\n"})
	empty := s.paas(dir, "", "builds")
	if empty.code != 0 || empty.stdout != "" || !strings.Contains(empty.stderr, app+" has no builds yet") {
		t.Errorf("builds before a push: %+v", empty)
	}
	if r := s.push(dir, "paas", "main"); r.code == 0 {
		t.Fatalf("a push nothing builds succeeded:\n%s", r.stderr)
	}
	bad := strings.TrimSpace(s.git(dir, "rev-parse", "HEAD").stdout)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "apps", "python"))); err != nil {
		t.Fatal(err)
	}
	s.commitAll(dir, "python")
	requireOK(t, "push", s.push(dir, "paas", "main"))
	good := strings.TrimSpace(s.git(dir, "rev-parse", "HEAD").stdout)

	r := s.paas(dir, "", "builds")
	requireOK(t, "builds", r)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "BUILD  STATUS") {
		t.Fatalf("builds:\n%s", r.stdout)
	}
	row := regexp.MustCompile(`^(\d+)\s+(\w+)\s+(\S+)\s+([0-9a-f]{7})\s+(\S+)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`)
	for i, want := range [][]string{{"2", "succeeded", good[:7]}, {"1", "failed", bad[:7]}} {
		m := row.FindStringSubmatch(lines[i+1])
		if m == nil || m[1] != want[0] || m[2] != want[1] || m[4] != want[2] || m[5] != "tester" || m[3] == "-" {
			t.Errorf("row %d %q, want build %s %s of %s by tester with a duration", i+1, lines[i+1], want[0], want[1], want[2])
		}
	}
	for _, l := range lines {
		if len(l) > 80 {
			t.Errorf("row wider than 80 columns: %q", l)
		}
	}

	r = s.paas(dir, "", "builds", "--json")
	requireOK(t, "builds --json", r)
	var builds []struct {
		Number     int       `json:"number"`
		Status     string    `json:"status"`
		Commit     string    `json:"commit"`
		By         string    `json:"by"`
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
		Duration   float64   `json:"duration"`
		Failure    string    `json:"failure"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &builds); err != nil || len(builds) != 2 {
		t.Fatalf("builds --json: %v\n%s", err, r.stdout)
	}
	if b := builds[1]; b.Status != "failed" || b.Commit != bad || b.Failure == "" || b.By != "tester" || b.FinishedAt.Before(b.StartedAt) {
		t.Errorf("failed build: %+v", b)
	}
	if b := builds[0]; b.Status != "succeeded" || b.Commit != good || b.Duration <= 0 || b.StartedAt.IsZero() {
		t.Errorf("succeeded build: %+v", b)
	}
}
