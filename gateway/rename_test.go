package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppsRename renames an app and its repository; bad names and a
// taken name are refused with one line, changing nothing.
func TestAppsRename(t *testing.T) {
	s, f := newTestServer(t)
	repo := s.repoPath("web-app")
	if err := os.MkdirAll(filepath.Join(repo, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apps:rename", "web-app"}, "usage: apps:rename APP NEW"},
		{[]string{"apps:rename", "web-app", "a", "b"}, "usage: apps:rename APP NEW"},
		{[]string{"apps:rename", "web-app", "../etc"}, "invalid app name"},
		{[]string{"apps:rename", "web-app", "other-app"}, "app other-app already exists"},
	} {
		f.mu.Lock()
		f.apps["other-app"] = f.apps["web-app"]
		f.mu.Unlock()
		r := run(s, tc.args...)
		f.mu.Lock()
		delete(f.apps, "other-app")
		f.apps["web-app"].Name = "web-app"
		f.mu.Unlock()
		if r.status == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: %d %q, want %q", tc.args, r.status, r.stderr, tc.want)
		}
		if _, err := os.Stat(repo); err != nil {
			t.Fatalf("%q moved the repository: %v", tc.args, err)
		}
	}
	r := run(s, "apps:rename", "web-app", "new-web")
	if r.status != 0 || !strings.HasPrefix(r.stdout, "Renamed web-app to new-web\nURL: https://new-web.example.test\n") {
		t.Fatalf("rename: %d %q %q", r.status, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(s.repoPath("new-web"), "refs")); err != nil {
		t.Errorf("repository not moved: %v", err)
	}
	if _, err := os.Stat(repo); !os.IsNotExist(err) {
		t.Errorf("old repository left: %v", err)
	}
}
