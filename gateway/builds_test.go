package gateway

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"paas"
)

// TestBuilds lists builds newest first in a table with a header that
// fits 80 columns, and as JSON; an empty list says so on stderr, or is
// [] in JSON.
func TestBuilds(t *testing.T) {
	s, f := newTestServer(t)
	if r := run(s, "builds", "web-app"); r.status != 0 || r.stdout != "" || r.stderr != "web-app has no builds yet\n" {
		t.Errorf("no builds: %d %q %q", r.status, r.stdout, r.stderr)
	}
	if r := run(s, "builds", "web-app", "--json"); r.status != 0 || r.stdout != "[]\n" {
		t.Errorf("no builds, JSON: %d %q %q", r.status, r.stdout, r.stderr)
	}
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	f.mu.Lock()
	f.builds = map[string][]paas.Build{"web-app": {
		{Number: 4, Status: paas.StatusPending, Commit: "4444444444444444", By: "dave", StartedAt: at.Add(2 * time.Minute), CreatedAt: at.Add(2 * time.Minute)},
		{Number: 3, Status: paas.StatusFailed, Commit: "3333333333333333", By: "a-very-long-user-name", StartedAt: at, CreatedAt: at.Add(75 * time.Second), Failure: "no buildpack matched"},
		{Number: 2, Status: paas.StatusSucceeded, Commit: "2222222222222222", By: "bob\x1b[31m", StartedAt: at.Add(-time.Hour), CreatedAt: at.Add(-time.Hour + 42*time.Second), Buildpacks: []string{"python"}},
		{Number: 1, Status: paas.StatusSucceeded, Commit: "1111111111111111", By: "old", CreatedAt: at.Add(-2 * time.Hour)},
	}}
	f.mu.Unlock()
	r := run(s, "builds", "web-app")
	want := "" +
		"BUILD  STATUS     DURATION  COMMIT   BY                  STARTED\n" +
		"4      pending    1m00s+    4444444  dave                2026-11-26 10:02:00 UTC\n" +
		"3      failed     1m15s     3333333  a-very-long-user-…  2026-11-26 10:00:00 UTC\n" +
		"2      succeeded  42s       2222222  bob\\x1b[31m         2026-11-26 09:00:00 UTC\n" +
		"1      succeeded  -         1111111  old                 2026-11-26 08:00:00 UTC\n"
	if r.status != 0 || r.stdout != want {
		t.Errorf("builds: %d\n%s\nwant\n%s", r.status, r.stdout, want)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("row of %d columns: %q", n, l)
		}
	}

	r = run(s, "builds", "web-app", "--json")
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 4 {
		t.Fatalf("JSON: %v %q", err, r.stdout)
	}
	if b := got[1]; b["number"] != 3.0 || b["status"] != "failed" || b["duration"] != 75.0 || b["failure"] != "no buildpack matched" ||
		b["started_at"] != "2026-11-26T10:00:00Z" || b["finished_at"] != "2026-11-26T10:01:15Z" || b["commit"] != "3333333333333333" || b["by"] != "a-very-long-user-name" {
		t.Errorf("failed build: %v", b)
	}
	if b := got[0]; b["finished_at"] != nil || b["duration"] != nil {
		t.Errorf("pending build: %v", b)
	}
	if b := got[3]; b["started_at"] != nil || b["duration"] != nil || b["finished_at"] != "2026-11-26T08:00:00Z" {
		t.Errorf("old build: %v", b)
	}
	if r := run(s, "builds", "web-app", "extra"); r.status == 0 || !strings.Contains(r.stderr, "usage: builds APP") {
		t.Errorf("extra argument: %d %q", r.status, r.stderr)
	}
}
