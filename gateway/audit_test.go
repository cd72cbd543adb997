package gateway

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"paas"
	"paas/store"
)

func TestAuditCommandMasksSecrets(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		line, app string
	}{
		{nil, "(interactive shell)", ""},
		{[]string{"apps"}, "apps", ""},
		{[]string{"config:set", "web", "SECRET=hunter2", "B=two words", "--no-wait"}, "config:set web SECRET=*** B=*** --no-wait", "web"},
		// A value split into words, and a line without its APP: every
		// value is masked still.
		{[]string{"config:set", "web", "A=x", "y"}, "config:set web A=*** ***", "web"},
		{[]string{"config:set", "SECRET=hunter2"}, "config:set SECRET=***", ""},
		{[]string{"config:set", "web", "=hunter2", "not a key=hunter2"}, "config:set web *** ***", "web"},
		{[]string{"config:unset", "web", "SECRET"}, "config:unset web SECRET", "web"},
		{[]string{"config:get", "web", "SECRET"}, "config:get web SECRET", "web"},
		{[]string{"ps:scale", "web", "web=2"}, "ps:scale web web=2", "web"},
		{[]string{"drains:add", "web", "https://user:hunter2@logs.example.com/in?token=hunter2"}, "drains:add web 'https://user:***@logs.example.com/in?token=***'", "web"},
		{[]string{"run", "web", "--", "env", "TOKEN=hunter2", "psql", "postgres://u:hunter2@db/x"}, "run web -- env TOKEN=*** psql 'postgres://u:***@db/x'", "web"},
		{[]string{"run", "web", "psql", "--password=hunter2", "a b=hunter2"}, "run web psql --password=*** 'a b'=***", "web"},
		{[]string{"git-receive-pack", "web"}, "git-receive-pack web", "web"},
		{[]string{"git-upload-pack", "/web.git"}, "git-upload-pack /web.git", "web"},
		{[]string{"git-upload-pack", "/etc/passwd"}, "git-upload-pack /etc/passwd", ""},
		{[]string{"git-receive-pack"}, "git-receive-pack", ""},
		// A mistyped command may hold a secret: its arguments are not
		// kept.
		{[]string{"config:sett", "web", "SECRET=hunter2"}, "config:sett [2 argument(s) not recorded]", ""},
		{[]string{"apps:info", "Bad\x1b[31m"}, `apps:info $'Bad\E[31m'`, ""},
		{[]string{"keys:add", "bob", "--admin"}, "keys:add bob --admin", ""},
		{[]string{"audit", "-n", "5"}, "audit -n 5", ""},
	} {
		line, app := auditCommand(tc.args)
		if line != tc.line || app != tc.app {
			t.Errorf("%q: recorded as %q (app %q), want %q (app %q)", tc.args, line, app, tc.line, tc.app)
		}
	}
	long, _ := auditCommand([]string{"apps:info", strings.Repeat("é", 1000)})
	if len(long) > maxAuditLine+20 || !strings.Contains(long, "...") {
		t.Errorf("a long word is kept whole: %d bytes", len(long))
	}
	many := []string{"run", "web"}
	for range 100 {
		many = append(many, strings.Repeat("x", 100))
	}
	if line, _ := auditCommand(many); len(line) > maxAuditLine+20 || !strings.HasSuffix(line, "[truncated]") {
		t.Errorf("a long line is kept whole: %d bytes", len(line))
	}
}

// storeAudit is the audit log of the real store, as paasd wires it.
type storeAudit struct{ st *store.Store }

func (a storeAudit) Record(e paas.AuditEntry) error {
	_, err := a.st.RecordAudit(e, 0)
	return err
}

func (a storeAudit) Entries(n int) ([]paas.AuditEntry, error) { return a.st.AuditEntries(n) }

// auditEntries reads the log as alice with audit --json.
func (e *env) auditEntries() []paas.AuditEntry {
	e.t.Helper()
	st, out, errs := e.ssh("", nil, "audit", "--json", "-n", "1000")
	if st != 0 {
		e.t.Fatalf("audit --json: %d %q", st, errs)
	}
	var entries []paas.AuditEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		e.t.Fatalf("audit --json %q: %v", out, err)
	}
	return entries
}

// TestAuditRecordsSessions: commands, a refused command, a push and a
// fetch through the real ssh and git clients are in the audit log with
// the user, the key's fingerprint, the address, the masked command line
// and the exit status; only an admin reads it.
func TestAuditRecordsSessions(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "paas.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := startServerWith(t, func(c *Config) { c.Audit = storeAudit{st} })
	aliceFP := gossh.FingerprintSHA256(genKeyPub(t, e.key+".pub"))
	bob, bobFP := e.addUserKey("bob", false)

	const secret = "hunter2-very-secret"
	if s, _, errs := e.ssh("", nil, "apps:create", "alice-app"); s != 0 {
		t.Fatalf("apps:create: %q", errs)
	}
	if s, _, errs := e.ssh("", nil, "config:set", "alice-app", "TOKEN="+secret, "'PLAIN=two "+secret+"'"); s != 0 {
		t.Fatalf("config:set: %q", errs)
	}
	// bob may not see alice's app: refused as for a missing one.
	if s, _, _ := e.sshWith(bob, "", "config:set", "alice-app", "TOKEN="+secret); s != 1 {
		t.Fatalf("bob's config:set on alice's app: status %d", s)
	}
	if s, _, _ := e.sshWith(bob, "", "apps"); s != 0 {
		t.Fatalf("bob's apps: status %d", s)
	}
	// Only an admin reads the log, through the one rule.
	s, out, errs := e.sshWith(bob, "", "audit")
	if s != 1 || out != "" || errs != "paas: permission denied: only an admin may do this\n" {
		t.Fatalf("audit as bob: %d %q %q", s, out, errs)
	}
	work := e.workRepo("work", map[string]string{"Procfile": "web: x\n"})
	e.mustGit(work, "push", e.url("alice-app"), "main")
	e.mustGit(e.dir, "clone", "-q", e.url("alice-app"), filepath.Join(e.dir, "clone"))
	// A push whose deploy fails: git push fails, and so does its entry.
	e.commit(work, map[string]string{"FAIL": "build exploded"})
	if out, err := e.git(work, "push", e.url("alice-app"), "main"); err == nil {
		t.Fatalf("a failing push succeeded:\n%s", out)
	}
	if s, _, _ := e.ssh("", nil, "no-such-command", secret); s != 1 {
		t.Fatalf("an unknown command: status %d", s)
	}

	entries := e.auditEntries()
	type row struct {
		user, fp, command, app string
		status                 int
	}
	want := []row{
		{"alice", aliceFP, "keys:add bob", "", 0},
		{"alice", aliceFP, "apps:create alice-app", "", 0},
		{"alice", aliceFP, "config:set alice-app TOKEN=*** PLAIN=***", "alice-app", 0},
		{"bob", bobFP, "config:set alice-app TOKEN=***", "alice-app", 1},
		{"bob", bobFP, "apps", "", 0},
		{"bob", bobFP, "audit", "", 1},
		{"alice", aliceFP, "git-receive-pack /alice-app", "alice-app", 0},
		{"alice", aliceFP, "git-upload-pack /alice-app", "alice-app", 0},
		{"alice", aliceFP, "git-receive-pack /alice-app", "alice-app", 1},
		{"alice", aliceFP, "no-such-command [1 argument(s) not recorded]", "", 1},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for i, w := range want {
		got := entries[i]
		if g := (row{got.User, got.Fingerprint, got.Command, got.App, got.Status}); g != w {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
		if !strings.HasPrefix(got.Remote, "127.0.0.1:") || got.Time.IsZero() || got.Seq != uint64(i+1) {
			t.Errorf("entry %d: remote %q, time %v, seq %d", i, got.Remote, got.Time, got.Seq)
		}
	}

	// The table, and neither form shows a value.
	s, table, errs := e.ssh("", nil, "audit", "-n", "3")
	if s != 0 || !strings.HasPrefix(table, "TIME ") || strings.Count(table, "\n") != 4 ||
		!strings.Contains(table, "alice  127.0.0.1  ") || !strings.Contains(table, "git-receive-pack /alice-app") {
		t.Errorf("audit -n 3: %d %q\n%s", s, errs, table)
	}
	_, all, _ := e.ssh("", nil, "audit", "--json")
	for _, text := range []string{all, table, e.log.String()} {
		if strings.Contains(text, "hunter2") {
			t.Errorf("a config value reached the audit log or the server's log:\n%s", text)
		}
	}

	// Bad input: one line, non-zero.
	for _, args := range [][]string{{"audit", "-n", "0"}, {"audit", "-n", "x"}, {"audit", "extra"}, {"audit", "--since", "1h"}} {
		s, out, errs := e.ssh("", nil, args...)
		if s != 1 || out != "" || strings.Count(errs, "\n") != 1 {
			t.Errorf("%q: %d %q %q", args, s, out, errs)
		}
	}
}

// FuzzAuditCommand: whatever the command line, its entry is one bounded
// line with no control character, and no config:set value (nor a run's
// environment assignment) shows in it.
func FuzzAuditCommand(f *testing.F) {
	f.Add("config:set", "web", "KEY", "value", "more")
	f.Add("run", "web", "TOKEN", "x", "postgres://u:p@h/db")
	f.Add("drains:add", "web", "", "", "https://u:p@h/x?t=1")
	f.Add("config:set", "KEY=v", "A", "b\nc", "")
	f.Fuzz(func(t *testing.T, name, app, key, value, extra string) {
		const marker = "~~v~~"
		args := []string{name, app, key + "=" + marker + value, extra}
		line, _ := auditCommand(args)
		if len(line) > maxAuditLine+len(" [truncated]") {
			t.Fatalf("%d bytes", len(line))
		}
		for _, r := range line {
			if r < ' ' || r == 0x7f {
				t.Fatalf("control character in %q", line)
			}
		}
		if strings.Contains(name+app+key+extra, marker) {
			return
		}
		if (name == "config:set" || name == "run") && strings.Contains(line, marker) {
			t.Fatalf("%q: a value shows in %q", args, line)
		}
	})
}
