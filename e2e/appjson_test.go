package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBuildsAsUsersBringThem pushes apps the way Heroku and Dokku users
// write them: an app.json with comments, a formation, a health check's
// content and a postdeploy script; a worker-only Node app; a web process
// that never listens; a Ruby app no buildpack builds.
func TestBuildsAsUsersBringThem(t *testing.T) {
	forEachRuntime(t, testBuildsAsUsersBringThem)
}

func testBuildsAsUsersBringThem(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt, "PAAS_BOOT_TIMEOUT=12s")

	t.Run("app.json", func(t *testing.T) {
		app := "ajson-demo"
		requireOK(t, "apps:create", s.ssh("apps:create "+app))
		requireOK(t, "config:set", s.ssh("config:set "+app+" GREETING=hello"))
		dir := s.newRepo("appjson", app)
		r := s.push(dir, "paas", "main")
		requireOK(t, "push", r)
		for _, want := range []string{
			"app.json: ignoring description, env, name (not used by this platform)",
			"warning: app.json: unknown key(s) \"bogus\" ignored",
			"First deploy: scaling to web=2",
			"web.2: health check \"ready page\" passed",
			"-----> Running postdeploy command: python3 seed.py",
			"seeded the database with hello",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("push output lacks %q:\n%s", want, r.stderr)
			}
		}
		if strings.Count(r.stderr, "unknown key") != 1 {
			t.Errorf("unknown keys not warned of in one line:\n%s", r.stderr)
		}
		ps := s.paas(dir, "", "ps")
		requireOK(t, "ps", ps)
		if !strings.Contains(ps.stdout, "web.1") || !strings.Contains(ps.stdout, "web.2") {
			t.Errorf("ps after the first deploy:\n%s", ps.stdout)
		}
		s.mustGet(app, "/", "says hello")
		waitFor(t, func() bool {
			return strings.Contains(s.paas(dir, "", "logs").stdout, "app[postdeploy.1]: seeded the database with hello")
		})

		// ps:scale wins over app.json on later deploys, which do not
		// run the postdeploy again.
		requireOK(t, "scale", s.paas(dir, "", "ps:scale", "web=1"))
		s.git(dir, "commit", "-q", "--allow-empty", "-m", "again")
		r = s.push(dir, "paas", "main")
		requireOK(t, "second push", r)
		if strings.Contains(r.stderr, "Running postdeploy") || strings.Contains(r.stderr, "First deploy") {
			t.Errorf("second push applied the first deploy's app.json:\n%s", r.stderr)
		}
		ps = s.paas(dir, "", "ps")
		if !strings.Contains(ps.stdout, "web.1") || strings.Contains(ps.stdout, "web.2") {
			t.Errorf("ps after the second deploy:\n%s", ps.stdout)
		}
	})

	t.Run("worker-only node", func(t *testing.T) {
		dir := s.newRepo("nodeworker", "ajson-worker")
		r := s.push(dir, "paas", "main")
		requireOK(t, "push", r)
		if !strings.Contains(r.stderr, "Default types for buildpack not in the Procfile, not used -> web") {
			t.Errorf("push output:\n%s", r.stderr)
		}
		waitFor(t, func() bool {
			return strings.Contains(s.paas(dir, "", "logs").stdout, "app[worker.1]: node worker tick 2 on worker.1")
		})
		if ps := s.paas(dir, "", "ps"); strings.Contains(ps.stdout, "web.") {
			t.Errorf("a web process runs:\n%s", ps.stdout)
		}
	})

	t.Run("never listens", func(t *testing.T) {
		dir := s.newRepo("appjson", "ajson-deaf")
		s.git(dir, "rm", "-q", "app.json")
		writeFile(t, dir, "Procfile", "web: python3 -c 'import time; time.sleep(600)'")
		s.commitAll(dir, "a web process that never listens")
		r := s.push(dir, "paas", "main")
		if r.code == 0 {
			t.Fatalf("push of a web process that never listens succeeded:\n%s", r.stderr)
		}
		m := regexp.MustCompile(`web\.1 did not listen on \$PORT \(([0-9]+)\) within 12s`).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("push output does not name the port:\n%s", r.stderr)
		}
		if rt == "docker" && m[1] != "5000" {
			t.Errorf("docker web instance told PORT=%s, want 5000", m[1])
		}
		for _, want := range []string{"waiting for web.1 to listen on port " + m[1] + " (5s)", "waiting for web.1 to listen on port " + m[1] + " (10s)"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("push output lacks %q:\n%s", want, r.stderr)
			}
		}
	})

	t.Run("ruby", func(t *testing.T) {
		dir := s.newRepo("sinatra", "ajson-ruby")
		r := s.push(dir, "paas", "main")
		if r.code == 0 {
			t.Fatalf("push of a Ruby app succeeded:\n%s", r.stderr)
		}
		for _, want := range []string{
			"warning: this looks like a Ruby app (Gemfile, config.ru), and no built-in buildpack builds Ruby",
			"web.1 exited with status 127 (command not found: web runs 'bundle exec rackup config.ru -p $PORT' and the app has no bundle: check the Procfile and the buildpack)",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("push output lacks %q:\n%s", want, r.stderr)
			}
		}
		// Without its Procfile no buildpack applies: the build fails
		// naming what it looked for.
		s.git(dir, "rm", "-q", "Procfile")
		s.commitAll(dir, "no Procfile")
		r = s.push(dir, "paas", "main")
		if r.code == 0 || !strings.Contains(r.stderr, "no buildpack detected: looked for go.mod (Go), package.json (Node.js)") {
			t.Errorf("push without a Procfile: exit %d\n%s", r.code, r.stderr)
		}
	})
}

// writeFile writes body to name in dir.
func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
