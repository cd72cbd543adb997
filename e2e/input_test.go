package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadInput checks that bad input gets one clear line, a non-zero exit,
// and changes nothing.
func TestBadInput(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	requireOK(t, "apps:create", s.ssh("apps:create empty"))

	for _, c := range []struct{ cmd, want string }{
		{"apps:create ../x", "invalid app name"},
		{"apps:create -rf", "invalid app name"},
		{"apps:create 'a;id'", "invalid app name"},
		{"apps:create Upper", "invalid app name"},
		{"apps:create ''", "invalid app name"},
		{"apps:create empty", "already exists"},
		{"config:set empty 1BAD=x", "invalid config key"},
		{"config:set empty NOEQUALS", "KEY=VALUE"},
		{"config:get empty MISSING", "MISSING"},
		{"config:get nosuch X", "not found"},
		{"ps:scale empty web=-1", "invalid count"},
		{"ps:scale empty web=abc", "invalid count"},
		{"run empty true", "no release"},
		{"frobnicate", "unknown command"},
		{"apps:destroy empty", "--confirm"},
		{"config:set empty 'A=unterminated", ""},
	} {
		requireFail(t, c.cmd, s.ssh(c.cmd), c.want)
	}
	// Nothing was written: one app, no config.
	r := s.ssh("apps --json")
	if !strings.HasPrefix(r.stdout, "[\n  {\n    \"name\": \"empty\",") || strings.Count(r.stdout, `"name"`) != 1 {
		t.Fatalf("apps after bad input:\n%s", r.stdout)
	}
	if r := s.ssh("config empty"); strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("config after bad input: %q", r.stdout)
	}
	// A bad app name on push creates nothing on disk.
	dir := s.newRepo("python", "x")
	s.git(dir, "remote", "set-url", "paas", "ssh://paas@127.0.0.1:"+s.port()+"/../evil")
	if r := s.push(dir, "paas", "main"); r.code == 0 {
		t.Fatalf("push to ../evil succeeded")
	}
	entries, _ := os.ReadDir(filepath.Join(s.dataDir, "repos"))
	for _, e := range entries {
		if strings.Contains(e.Name(), "evil") {
			t.Fatalf("bad push left %s", e.Name())
		}
	}
	// A tree with no buildpack is refused with what was looked for.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("just text"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.git(dir, "rm", "-q", "-r", "--cached", ".")
	s.git(dir, "add", "notes.txt")
	s.git(dir, "commit", "-q", "-m", "text only")
	s.git(dir, "remote", "set-url", "paas", "ssh://paas@127.0.0.1:"+s.port()+"/textonly")
	r = s.push(dir, "paas", "main")
	if r.code == 0 || !strings.Contains(r.stderr, "no buildpack") || !strings.Contains(r.stderr, "package.json") {
		t.Fatalf("undetectable push: exit %d\n%s", r.code, r.stderr)
	}
	// An unknown key is refused.
	other := startServer(t, "PAAS_RUNTIME=exec")
	s2 := *s
	s2.keyFile = other.keyFile
	if r := s2.ssh("apps"); r.code == 0 {
		t.Fatalf("unknown key admitted")
	}
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
