package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPythonAppLifecycle walks the quickstart: push, config, scale, run,
// logs, redeploy, no-op and force pushes, refused pushes, a failed build.
func TestPythonAppLifecycle(t *testing.T) {
	forEachRuntime(t, testPythonAppLifecycle)
}

func testPythonAppLifecycle(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt, "PAAS_KEEP_RELEASES=2")
	dir := s.newRepo("python", "hello")

	r := s.push(dir, "paas", "main")
	requireOK(t, "first push", r)
	for _, want := range []string{"remote: -----> ", "Python", "v1", "http://hello.localhost:"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("push output lacks %q:\n%s", want, r.stderr)
		}
	}
	s.mustGet("hello", "/", "hello one from web.1 v1")
	// The app is reachable case-insensitively and with any port in Host.
	if code, _, _ := s.get("HELLO", "/"); code != 200 {
		t.Fatalf("upper-case host: %d", code)
	}
	if code, _, _ := s.get("nosuchapp", "/"); code != 404 {
		t.Fatalf("unknown app: %d, want 404", code)
	}

	// config:set makes a new release and restarts with the new env; values
	// are taken literally.
	requireOK(t, "config:set", s.paas(dir, "", "config:set", "GREETING=hi", "ODD=$(id) `x`"))
	s.mustGet("hello", "/", "hi one from web.1 v2")
	if r := s.paas(dir, "", "config:get", "ODD"); r.stdout != "$(id) `x`\n" {
		t.Fatalf("config:get ODD = %q", r.stdout)
	}
	r = s.paas(dir, "", "releases", "--json")
	requireOK(t, "releases", r)
	if !strings.Contains(r.stdout, `"version": 2`) || !strings.Contains(r.stdout, `"description": "Set GREETING, ODD config vars"`) || strings.Index(r.stdout, `"version": 2`) > strings.Index(r.stdout, `"version": 1`) {
		t.Fatalf("releases:\n%s", r.stdout)
	}

	// Scaling starts the difference; the router balances over both web
	// instances.
	requireOK(t, "ps:scale", s.paas(dir, "", "ps:scale", "web=2", "worker=1"))
	r = s.paas(dir, "", "ps")
	for _, want := range []string{"web.1", "web.2", "worker.1"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("ps lacks %s:\n%s", want, r.stdout)
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 10; i++ {
		seen[s.mustGet("hello", "/", "hi one")] = true
	}
	if len(seen) != 2 {
		t.Fatalf("router used %d distinct instances, want 2: %v", len(seen), seen)
	}

	// A one-off of the current release: its exit status is paas's.
	r = s.paas(dir, "", "run", "--", "python3", "migrate.py")
	if r.code != 3 || !strings.Contains(r.stdout, "migrating v2 with GREETING=hi") {
		t.Fatalf("run migrate: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = s.paas(dir, "piped input\n", "run", "--", "python3", "-c", "import sys; print(sys.stdin.read().upper(), end='')")
	if r.code != 0 || r.stdout != "PIPED INPUT\n" {
		t.Fatalf("run with stdin: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// paasd's own environment never reaches an app.
	r = s.paas(dir, "", "run", "--", "sh", "-c", "echo canary=$PAAS_CANARY_SECRET dyno=$DYNO")
	if !strings.Contains(r.stdout, "canary= dyno=run.") {
		t.Fatalf("run env: %q", r.stdout)
	}

	// Logs: history tagged by instance, and a live tail.
	r = s.paas(dir, "", "logs", "-n", "200")
	for _, want := range []string{"app[web.1]: listening on", "paas[api]: Release v2 created", "app[worker.1]: worker worker.1 tick"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("logs lack %q:\n%s", want, r.stdout)
		}
	}
	s.checkTail(dir)

	// A second push of changed code (a thin pack) deploys v3.
	replaceInFile(t, filepath.Join(dir, "app.py"), `VERSION = "one"`, `VERSION = "two"`)
	s.commitAll(dir, "two")
	requireOK(t, "second push", s.push(dir, "paas", "main"))
	s.mustGet("hello", "/", "hi two from web.")
	r = s.paas(dir, "", "ps")
	if strings.Count(r.stdout, "web.") != 2 || !strings.Contains(r.stdout, "worker.1") {
		t.Fatalf("formation not kept across deploy:\n%s", r.stdout)
	}

	// Nothing new: git says so and nothing is built.
	r = s.push(dir, "paas", "main")
	requireOK(t, "no-op push", r)
	if !strings.Contains(r.stderr, "Everything up-to-date") {
		t.Fatalf("no-op push: %s", r.stderr)
	}

	// A force push of rewritten history deploys.
	replaceInFile(t, filepath.Join(dir, "app.py"), `VERSION = "two"`, `VERSION = "three"`)
	s.git(dir, "add", "-A")
	s.git(dir, "commit", "-q", "--amend", "-m", "three")
	if r := s.push(dir, "paas", "main"); r.code == 0 {
		t.Fatalf("non-fast-forward push without --force succeeded")
	}
	requireOK(t, "force push", s.push(dir, "--force", "paas", "main"))
	s.mustGet("hello", "/", "hi three")

	// With PAAS_KEEP_RELEASES=2 the force push (v4, build 3) keeps the
	// builds of v4 and v3; v1 and v2 shared build 1, which is pruned.
	r = s.paas(dir, "", "releases")
	for v, pruned := range map[string]bool{"v4": false, "v3": false, "v2": true, "v1": true} {
		if f := strings.Fields(rowOf(r.stdout, v)); len(f) < 2 || (f[1] == "pruned") != pruned {
			t.Fatalf("release %s pruned should be %v:\n%s", v, pruned, r.stdout)
		}
	}

	// Deleting the deploy branch and pushing another branch are refused.
	r = s.push(dir, "paas", ":main")
	if r.code == 0 || !strings.Contains(r.stderr, "deleting") {
		t.Fatalf("delete: exit %d\n%s", r.code, r.stderr)
	}
	s.git(dir, "checkout", "-q", "-b", "feature")
	r = s.push(dir, "paas", "feature")
	if r.code == 0 || !strings.Contains(r.stderr, "main") {
		t.Fatalf("feature push: exit %d\n%s", r.code, r.stderr)
	}
	s.git(dir, "checkout", "-q", "main")

	// A failed build rejects the push and the old release keeps serving.
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: python3 app.py\nthis is not a process line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	replaceInFile(t, filepath.Join(dir, "app.py"), `VERSION = "three"`, `VERSION = "broken"`)
	s.commitAll(dir, "broken")
	r = s.push(dir, "paas", "main")
	if r.code == 0 || !strings.Contains(r.stderr, "Procfile line 2") {
		t.Fatalf("bad Procfile push: exit %d\n%s", r.code, r.stderr)
	}
	s.mustGet("hello", "/", "hi three")
	remoteHead := s.git(dir, "ls-remote", "paas", "refs/heads/main").stdout
	localPrev := s.git(dir, "rev-parse", "HEAD~1").stdout
	if !strings.HasPrefix(remoteHead, strings.TrimSpace(localPrev)) {
		t.Fatalf("rejected push moved the remote ref: remote %q, want %q", remoteHead, localPrev)
	}
}

// checkTail starts `paas logs -t`, makes a request and expects its line.
func (s *server) checkTail(dir string) {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "paas"), "logs", "-t", "-n", "0")
	cmd.Dir = dir
	cmd.Env = s.env()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// The tail is live once requests show up in it; keep requesting a
	// marker path until its line arrives.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("logs -t ended before the request line arrived")
			}
			if strings.Contains(l, "app[web.") && strings.Contains(l, "served /tail-marker") {
				return
			}
		case <-tick.C:
			s.get("hello", "/tail-marker")
		case <-ctx.Done():
			t.Fatal("request line never reached logs -t")
		}
	}
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lineOf returns the first line of text containing sub.
func lineOf(text, sub string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
