package gateway

import (
	"maps"
	"strings"
	"testing"
)

// TestConfigSetFromStdin sets the vars of a .env file sent on stdin in
// one release; a file with a mistake changes nothing and names the line.
func TestConfigSetFromStdin(t *testing.T) {
	e := startServer(t)
	if st, _, errs := e.ssh("", nil, "apps:create", "dotenv-app"); st != 0 {
		t.Fatalf("apps:create: %s", errs)
	}
	e.f.mu.Lock()
	e.f.config["dotenv-app"]["KEEP"] = "kept"
	e.f.newReleaseLocked(e.f.apps["dotenv-app"], "Deploy", "alice")
	e.f.mu.Unlock()
	releases := func() int {
		e.f.mu.Lock()
		defer e.f.mu.Unlock()
		return len(e.f.releases["dotenv-app"])
	}
	config := func() map[string]string {
		e.f.mu.Lock()
		defer e.f.mu.Unlock()
		return maps.Clone(e.f.config["dotenv-app"])
	}
	before := releases()

	env := "# comment\nexport A=1\nB='$HOME'\nC=\"x\\ny\"\n"
	st, out, errs := e.ssh(env, nil, "config:set", "dotenv-app")
	if st != 0 {
		t.Fatalf("config:set < .env: status %d, %q", st, errs)
	}
	if !strings.Contains(out, "Set A, B, C on dotenv-app") {
		t.Errorf("stdout %q", out)
	}
	want := map[string]string{"KEEP": "kept", "A": "1", "B": "$HOME", "C": "x\ny"}
	if got := config(); !maps.Equal(got, want) {
		t.Errorf("config %q, want %q", got, want)
	}
	if n := releases(); n != before+1 {
		t.Errorf("%d releases made, want one", n-before)
	}

	before = releases()
	for _, tc := range []struct{ stdin, want string }{
		{"D=4\nE='open\n", "paas: .env line 2: the value's ' quote is never closed\n"},
		{"D=4\n2X=5\n", "paas: .env line 2: invalid config key \"2X\""},
		{"# only a comment\n", "paas: the .env file on stdin sets no variable\n"},
		{"", "paas: usage: config:set APP KEY=VALUE... | < .env\n"},
	} {
		st, out, errs := e.ssh(tc.stdin, nil, "config:set", "dotenv-app")
		if st != 1 || !strings.HasPrefix(errs, tc.want) || out != "" {
			t.Errorf("config:set < %q: status %d, stdout %q, stderr %q, want %q", tc.stdin, st, out, errs, tc.want)
		}
	}
	// A terminal is not read as a .env file.
	st, _, errs = e.ssh("", []string{"-tt"}, "config:set", "dotenv-app")
	if st != 1 || !strings.Contains(errs, "usage: config:set APP KEY=VALUE... | < .env") {
		t.Errorf("config:set on a terminal: status %d, %q", st, errs)
	}
	if got := config(); !maps.Equal(got, want) {
		t.Errorf("a refused config:set changed the config to %q", got)
	}
	if n := releases(); n != before {
		t.Errorf("a refused config:set made %d releases", n-before)
	}
}
