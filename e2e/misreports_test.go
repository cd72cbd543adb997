package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsSayWhatHappened checks, on the exec runtime, that logs and
// ps:restart refuse a process type the app has not got, and that a
// rollback runs the release phase and refuses a failed release unless
// forced.
func TestCommandsSayWhatHappened(t *testing.T) {
	const app = "truthful"
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_STOP_TIMEOUT=3s")
	good := "web: python3 app.py\nrelease: echo release phase ran\n"
	dir := s.newRepoOf(app, map[string]string{"Procfile": good, "app.py": eventsServer})
	requireOK(t, "push", s.push(dir, "paas", "main"))

	r := s.paas(dir, "", "logs", "--ps", "nope")
	if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "truthful has no nope processes; its process types: release, web") {
		t.Errorf("logs --ps nope: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	requireOK(t, "logs --ps web.7", s.paas(dir, "", "logs", "--ps", "web.7"))
	r = s.paas(dir, "", "ps:restart", "nope")
	if r.code == 0 || !strings.Contains(r.stderr, "no nope process type") {
		t.Errorf("ps:restart nope: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// v2 fails to start.
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: exit 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.commitAll(dir, "broken")
	if r := s.push(dir, "paas", "main"); r.code == 0 {
		t.Fatalf("a web process that exits deployed:\n%s", r.stderr)
	}
	r = s.paas(dir, "", "rollback", "v2")
	if r.code == 0 || !strings.Contains(r.stderr, "v2 failed: roll back to it with --force") {
		t.Errorf("rollback to the failed v2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// v3 is good again; a rollback to v1 runs v1's release phase for v4.
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.commitAll(dir, "fixed")
	requireOK(t, "push v3", s.push(dir, "paas", "main"))
	phases := func() int {
		return strings.Count(s.paas(dir, "", "logs", "--ps", "release", "-n", "100").stdout, "release phase ran")
	}
	before := phases()
	requireOK(t, "rollback v1", s.paas(dir, "", "rollback", "v1"))
	if after := phases(); after != before+1 {
		t.Errorf("release phase ran %d times before the rollback, %d after", before, after)
	}
	s.mustGet(app, "/", "ok from web.1")
	r = s.paas(dir, "", "rollback", "v2", "--force")
	if r.code == 0 || !strings.Contains(r.stderr, "web.1 exited with status 4") {
		t.Errorf("forced rollback to v2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
