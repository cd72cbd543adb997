package e2e

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOneOffsInLogs runs one-offs through the client and ssh: an attached
// one-off's stdout and stderr reach the user and the log as app[run.N];
// a terminal's colours are removed from its log lines; a detached one
// (run -d) answers at once with its name, is listed by ps, writes to the
// log, and is stopped when its app is destroyed.
func TestOneOffsInLogs(t *testing.T) {
	forEachRuntime(t, testOneOffsInLogs)
}

func testOneOffsInLogs(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt)
	app := "oneoffy-" + rt
	dir := s.newRepo("python", app)
	requireOK(t, "push", s.push(dir, "paas", "main"))

	r := s.paas(dir, "", "run", "--", "sh", "-c", "echo attached-out $DYNO; echo attached-err >&2")
	requireOK(t, "run", r)
	m := regexp.MustCompile(`attached-out (run\.\d+)`).FindStringSubmatch(r.stdout)
	if m == nil || !strings.Contains(r.stderr, "attached-err") {
		t.Fatalf("run: stdout %q stderr %q", r.stdout, r.stderr)
	}
	name := m[1]
	logs := s.ssh("logs " + app + " --ps " + name)
	requireOK(t, "logs --ps "+name, logs)
	for _, want := range []string{"app[" + name + "]: attached-out " + name, "app[" + name + "]: attached-err"} {
		if !strings.Contains(logs.stdout, want) {
			t.Errorf("logs lack %q:\n%s", want, logs.stdout)
		}
	}

	// Over a terminal: the log gets the text, not the escape sequences.
	ttyArgs := append(strings.Fields(s.sshCommand())[1:], "-tt", "-p", s.port(), "paas@127.0.0.1",
		`run `+app+` -- printf '\033[31mred-on-a-tty\033[0m\n'`)
	tty := s.run("", "", "ssh", ttyArgs...)
	requireOK(t, "run over a terminal", tty)
	if !strings.Contains(tty.stdout, "\x1b[31mred-on-a-tty\x1b[0m") {
		t.Fatalf("run over a terminal: %q", tty.stdout)
	}
	logs = s.ssh("logs " + app + " --ps run")
	if !regexp.MustCompile(`app\[run\.\d+\]: red-on-a-tty\n`).MatchString(logs.stdout) || strings.Contains(logs.stdout, `\x1b`) {
		t.Errorf("terminal output in the log:\n%s", logs.stdout)
	}

	// Detached: the answer names the one-off; its output is in the log
	// (its history: a tail started just before might subscribe after the
	// line was written).
	r = s.paas(dir, "", "run", "-d", "--", "sh", "-c", "echo detached-out $DYNO; exec sleep 600")
	requireOK(t, "run -d", r)
	m = regexp.MustCompile(`^Running sh -c 'echo detached-out \$DYNO; exec sleep 600' on ` + app + `\.\.\. up, (run\.\d+)\n`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("run -d: %q %q", r.stdout, r.stderr)
	}
	name = m[1]
	waitFor(t, func() bool {
		return strings.Contains(s.ssh("logs "+app+" --ps "+name).stdout, "detached-out "+name)
	})
	ps := s.paas(dir, "", "ps", "--json")
	var procs []struct{ Name, State, Command string }
	if err := json.Unmarshal([]byte(ps.stdout), &procs); err != nil {
		t.Fatalf("ps --json: %v: %q", err, ps.stdout)
	}
	if !slices.ContainsFunc(procs, func(p struct{ Name, State, Command string }) bool {
		return p.Name == name && p.State == "up" && strings.Contains(p.Command, "sleep 600")
	}) {
		t.Errorf("ps lacks %s: %s", name, ps.stdout)
	}
	start := time.Now()
	requireOK(t, "apps:destroy", s.paas(dir, "", "apps:destroy", "--confirm", app))
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("apps:destroy took %s", d)
	}
	// The detached one-off ended with its app: an app made again under
	// the name runs nothing.
	requireOK(t, "apps:create again", s.ssh("apps:create "+app))
	if ps := s.ssh("ps " + app); strings.Contains(ps.stdout, name) {
		t.Errorf("%s outlived its app:\n%s", name, ps.stdout)
	}
}
