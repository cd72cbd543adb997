package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"paas"
)

// fingerprintOf is the SHA256 fingerprint ssh-keygen shows for a public
// key file.
func fingerprintOf(t *testing.T, pubFile string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", pubFile).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		t.Fatalf("ssh-keygen -l said %q", out)
	}
	return f[1]
}

// TestAuditTrail: an admin reads, with `paas audit`, the entries of
// another user's commands, push and clone through the real ssh and git
// clients: who (user and key fingerprint), from where, what (config
// values masked) and the exit status; the member may not read the log;
// the app's log names the member for each change; a config value appears
// nowhere.
func TestAuditTrail(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec")
	admin := member{name: "admin", keyFile: s.keyFile}
	bob := s.newMember("bob")
	const app = "audit-trail"
	const canary = "c4n4ry-audit-5ecret"

	requireOK(t, "keys:add bob", s.sshAs(admin, bob.pub, "keys:add bob"))
	dir := s.newRepo("python", app)
	requireOK(t, "bob's push", s.gitAs(bob, dir, "push", "paas", "main"))
	s.mustGet(app, "/", "hello one from web.1 v1")
	requireOK(t, "config:set as bob", s.sshAs(bob, "", "config:set "+app+" SECRET_TOKEN="+canary+" 'GREETING=hi "+canary+"'"))
	requireOK(t, "ps:scale as bob", s.sshAs(bob, "", "ps:scale "+app+" web=2"))
	requireOK(t, "drains:add as bob", s.sshAs(bob, "", "drains:add "+app+" https://logs:"+canary+"@127.0.0.1:9/in?token="+canary))
	requireFail(t, "audit as bob", s.sshAs(bob, "", "audit"), "permission denied: only an admin may do this")
	requireFail(t, "audit --json as bob", s.sshAs(bob, "", "audit --json"), "permission denied: only an admin may do this")
	clone := filepath.Join(t.TempDir(), "clone")
	requireOK(t, "bob's clone", s.gitAs(bob, "", "clone", "-q", "ssh://paas@127.0.0.1:"+s.port()+"/"+app, clone))

	// The admin reads the log with the client.
	r := s.paas(dir, "", "audit", "--json", "-n", "50")
	requireOK(t, "paas audit --json", r)
	var entries []paas.AuditEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatalf("paas audit --json %q: %v", r.stdout, err)
	}
	bobFP, adminFP := fingerprintOf(t, bob.keyFile+".pub"), fingerprintOf(t, s.keyFile+".pub")
	type row struct {
		user, fp, command, app string
		status                 int
	}
	want := []row{
		{"tester", adminFP, "keys:add bob", "", 0},
		{"bob", bobFP, "git-receive-pack /" + app, app, 0},
		{"bob", bobFP, "config:set " + app + " SECRET_TOKEN=*** GREETING=***", app, 0},
		{"bob", bobFP, "ps:scale " + app + " web=2", app, 0},
		{"bob", bobFP, "drains:add " + app + " 'https://logs:***@127.0.0.1:9/in?token=***'", app, 0},
		{"bob", bobFP, "audit", "", 1},
		{"bob", bobFP, "audit --json", "", 1},
		{"bob", bobFP, "git-upload-pack /" + app, app, 0},
	}
	var got []row
	for _, e := range entries {
		if e.User == "bob" || strings.HasPrefix(e.Command, "keys:add") {
			got = append(got, row{e.User, e.Fingerprint, e.Command, e.App, e.Status})
		}
		if !strings.HasPrefix(e.Remote, "127.0.0.1:") || e.Time.IsZero() || e.Seq == 0 {
			t.Errorf("entry %+v: want a loopback address, a time and a number", e)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("bob's entries:\n%+v\nwant\n%+v\nall:\n%s", got, want, r.stdout)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	table := s.paas(dir, "", "audit", "-n", "3")
	requireOK(t, "paas audit -n 3", table)
	if lines := strings.Split(strings.TrimSpace(table.stdout), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1])[3:], " "), "bob 127.0.0.1 1 audit --json") || !strings.Contains(lines[2], "git-upload-pack /"+app) {
		t.Errorf("paas audit -n 3:\n%s", table.stdout)
	}

	// The app's log names bob for each of his changes.
	logs := s.ssh("logs " + app + " --source paas -n 500")
	requireOK(t, "logs", logs)
	for _, line := range []string{
		"Build 1 started by bob",
		"Config vars changed by bob: set GREETING, SECRET_TOKEN",
		"Scaled to web=2 by bob",
		"Log drain https://logs:***@127.0.0.1:9/in?token=*** added by bob",
	} {
		if !strings.Contains(logs.stdout, line) {
			t.Errorf("no %q in the app's log:\n%s", line, logs.stdout)
		}
	}
	for what, text := range map[string]string{"audit --json": r.stdout, "audit": table.stdout, "the app's log": logs.stdout, "paasd's output": s.out.String()} {
		if strings.Contains(text, canary) {
			t.Errorf("the config value shows in %s:\n%s", what, text)
		}
	}
}
