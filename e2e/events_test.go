package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// eventsServer answers on $PORT, exits with status 3 on /crash, and fails
// /health while HEALTH_FAIL=1. It never prints its environment.
const eventsServer = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/crash":
            os._exit(3)
        bad = self.path == "/health" and os.environ.get("HEALTH_FAIL") == "1"
        body = ("ok from %s %s\n" % (os.environ["DYNO"], os.environ["PAAS_RELEASE"])).encode()
        self.send_response(500 if bad else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("listening on", os.environ["PORT"], flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// newRepoOf makes a git repo of files with a paas remote for app and
// commits it.
func (s *server) newRepoOf(app string, files map[string]string) string {
	s.t.Helper()
	dir := filepath.Join(s.t.TempDir(), app)
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	s.git(dir, "init", "-q", "-b", "main")
	s.git(dir, "remote", "add", "paas", fmt.Sprintf("ssh://paas@%s:%s/%s", s.host(), s.port(), app))
	s.commitAll(dir, "initial")
	return dir
}

// TestPlatformEventsInLogs drives an app through a deploy, config
// changes, scaling, a crash, a release failing its health check, a
// restart, a rollback, maintenance, limits, a stop timeout and a failed
// build, and checks that each shows as a paas[deploy] (or, for a change a
// user made, paas[api]) line in the app's
// log, that the config change names its key, and that the config value
// set (a canary) appears nowhere in the app's log nor in paasd's own.
func TestPlatformEventsInLogs(t *testing.T) {
	const app, canary = "eventful", "canary-3c9b7e21d4f0"
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_STOP_TIMEOUT=3s")
	dir := s.newRepoOf(app, map[string]string{
		"Procfile":  "web: python3 server.py\n",
		"server.py": eventsServer,
		"app.json":  `{"healthchecks": {"web": [{"path": "/health", "attempts": 1, "timeout": 3}]}}`,
	})
	requireOK(t, "push", s.push(dir, "paas", "main"))
	s.mustGet(app, "/", "ok from web.1 v1")
	requireOK(t, "config:set", s.paas(dir, "", "config:set", "SECRET_TOKEN="+canary))
	s.mustGet(app, "/", "ok from web.1 v2")
	requireOK(t, "ps:scale", s.paas(dir, "", "ps:scale", "web=2"))

	s.get(app, "/crash")
	waitFor(t, func() bool {
		return strings.Contains(s.paas(dir, "", "ps").stdout, "up (restarts 1")
	})

	if r := s.paas(dir, "", "config:set", "HEALTH_FAIL=1"); r.code == 0 {
		t.Fatalf("a release failing its health check went live:\n%s", r.stdout)
	}
	requireOK(t, "ps:restart", s.paas(dir, "", "ps:restart", "web.2"))
	requireOK(t, "config:set", s.paas(dir, "", "config:set", "COLOUR=blue"))
	requireOK(t, "rollback", s.paas(dir, "", "rollback", "v2"))
	s.mustGet(app, "/", "ok from web.1 v5")
	requireOK(t, "maintenance:on", s.paas(dir, "", "maintenance:on"))
	requireOK(t, "maintenance:off", s.paas(dir, "", "maintenance:off"))
	requireOK(t, "ps:set limits", s.paas(dir, "", "ps:set", "web", "memory=256M"))
	requireOK(t, "ps:set stop-timeout", s.paas(dir, "", "ps:set", "stop-timeout=4"))

	// A tree no buildpack detects fails its build.
	s.git(dir, "rm", "-q", "Procfile", "app.json")
	s.commitAll(dir, "no procfile")
	if r := s.push(dir, "paas", "main"); r.code == 0 {
		t.Fatalf("a tree without a Procfile deployed:\n%s", r.stderr)
	}

	all := s.paas(dir, "", "logs", "-n", "5000")
	requireOK(t, "logs", all)
	for _, secret := range []string{canary, "do-not-leak"} {
		if strings.Contains(all.stdout, secret) {
			t.Errorf("%q in the app's log:\n%s", secret, all.stdout)
		}
		if strings.Contains(s.out.String(), secret) {
			t.Errorf("%q in paasd's log:\n%s", secret, s.out.String())
		}
	}

	platform := s.paas(dir, "", "logs", "-n", "5000", "--source", "paas")
	requireOK(t, "logs --source paas", platform)
	var events []string
	for _, l := range strings.Split(platform.stdout, "\n") {
		if strings.Contains(l, " app[") {
			t.Errorf("--source paas shows an app line: %s", l)
		}
		if _, ev, ok := strings.Cut(l, " paas[deploy]: "); ok {
			events = append(events, ev)
		}
		if _, ev, ok := strings.Cut(l, " paas[api]: "); ok {
			events = append(events, ev)
			if !strings.Contains(ev, " by ") {
				t.Errorf("a paas[api] line names no user: %s", l)
			}
		}
	}
	for _, want := range []string{
		"Build 1 started by tester (commit ",
		"Build 1 finished in ",
		"Release v1 created by tester: Deploy ",
		"web.1 started (v1): python3 server.py",
		"Release v1 is live",
		"Config vars changed by tester: set SECRET_TOKEN",
		"Release v2 created by tester: Set SECRET_TOKEN config vars",
		"web.1 stopped (v1)",
		"Scaled to web=2",
		"web.2 started (v2)",
		" crashed with status 3; restarting in 0s",
		" restarted in 0s (v2, restart 1)",
		"failed its health check \"GET /health\": status 500",
		"Release v3 failed: ",
		"Restarting 1 instance(s)",
		"Release v5 created by tester: Rollback to v2",
		"Release v5 is live",
		"Maintenance mode on",
		"Maintenance mode off",
		"Limits of web set to memory=256m",
		"Stop timeout set to 4s",
		"Build 2 started by tester (commit ",
		"Build 2 failed after ",
	} {
		found := false
		for _, ev := range events {
			if strings.Contains(ev, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no paas[deploy] or paas[api] line containing %q in:\n%s", want, platform.stdout)
		}
	}

	// Events name the release they are about.
	js := s.paas(dir, "", "logs", "-n", "5000", "--source", "paas", "--json")
	requireOK(t, "logs --json", js)
	releaseOf := map[string]int{
		"Release v1 is live":                        1,
		"Release v3 failed: ":                       3,
		"Release v5 is live":                        5,
		"web.1 crashed with status 3":               2,
		"web.2 crashed with status 3":               2,
		"Maintenance mode on":                       5,
		"Config vars changed by tester: set COLOUR": 4,
	}
	seen := 0
	for _, l := range strings.Split(strings.TrimSpace(js.stdout), "\n") {
		var rec struct {
			Source, Instance, Message string
			Release                   int
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("logs --json line %q: %v", l, err)
		}
		if rec.Source != "paas" || (rec.Instance != "deploy" && rec.Instance != "api") {
			continue
		}
		for prefix, rel := range releaseOf {
			if strings.HasPrefix(rec.Message, prefix) {
				seen++
				if rec.Release != rel {
					t.Errorf("%q has release %d, want %d", rec.Message, rec.Release, rel)
				}
			}
		}
	}
	if seen < len(releaseOf)-1 { // one instance crashed, not both
		t.Errorf("only %d of the checked events in --json output:\n%s", seen, js.stdout)
	}
}
