package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpgradeDataDirBeforeUsers starts the real paasd on a data dir
// written before users existed (the store's testdata/old.db, where every
// key was an admin): its apps are still there, the operator's key acts on
// them, and, paasd stopped, paasd keys lists every old key with the user
// it became, and the operator's key with its own.
func TestUpgradeDataDirBeforeUsers(t *testing.T) {
	s := newServer(t)
	old, err := os.ReadFile(filepath.Join("..", "store", "testdata", "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dataDir, "paas.db"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	s.launch([]string{"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0", "PAAS_HTTPS_ADDR=127.0.0.1:0", "PAAS_RUNTIME=exec"})
	t.Cleanup(func() {
		s.destroyAll()
		s.stop()
		if t.Failed() {
			t.Logf("paasd output:\n%s", s.out.String())
		}
	})

	r := s.ssh("apps")
	requireOK(t, "apps", r)
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		names = append(names, strings.Fields(line)[0])
	}
	if got := strings.Join(names, " "); got != "blog shop wiki" {
		t.Fatalf("apps after the upgrade: %q", got)
	}
	// blog belongs to another admin now; the operator's key, an admin
	// too, acts on it.
	requireOK(t, "config:set on blog", s.ssh("config:set blog SEEN=yes"))
	r = s.ssh("config blog")
	requireOK(t, "config blog", r)
	if !strings.Contains(r.stdout, "GREETING") || !strings.Contains(r.stdout, "SEEN") {
		t.Fatalf("blog's config after the upgrade:\n%s", r.stdout)
	}

	// The operator is an admin; blog's owner is the user its creator's
	// key became.
	if r := s.ssh("whoami"); r.code != 0 || !strings.Contains(r.stdout, "tester") || !strings.Contains(r.stdout, "admin") {
		t.Errorf("whoami after the upgrade: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := s.ssh("access blog"); r.code != 0 || !strings.Contains(r.stdout, "alice-laptop") || !strings.Contains(r.stdout, "owner") {
		t.Errorf("access blog after the upgrade: %d %q %q", r.code, r.stdout, r.stderr)
	}

	s.stop()
	cmd := exec.Command(filepath.Join(binDir, "paasd"), "keys")
	cmd.Env = s.paasdEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("paasd keys: %v\n%s", err, out)
	}
	var users []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		users = append(users, strings.Fields(line)[0])
	}
	if got := strings.Join(users, " "); got != "admin alice-laptop alice-laptop ci tester" {
		t.Fatalf("paasd keys after the upgrade: users %q\n%s", got, out)
	}
}
