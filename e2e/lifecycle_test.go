package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"paas/internal/syncbuf"
	"paas/loadgen"
)

// TestZeroDowntime keeps dozens of keep-alive connections busy against an
// app through the router while it is redeployed, reconfigured, scaled,
// restarted and rolled back, and while releases whose health check or
// release phase fails are pushed: not one request may fail, and every
// response comes from a release that was live.
func TestZeroDowntime(t *testing.T) {
	forEachRuntime(t, testZeroDowntime)
}

func testZeroDowntime(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt, "PAAS_STOP_TIMEOUT=10s")
	dir := s.newRepo("graceful", "steady")
	r := s.push(dir, "paas", "main")
	requireOK(t, "first push", r)
	if !strings.Contains(r.stderr, "release phase ran for v1") || !strings.Contains(r.stderr, `health check "web check" passed`) {
		t.Fatalf("push output lacks the release phase or the health check:\n%s", r.stderr)
	}
	s.mustGet("steady", "/", "ok from web.1 v1")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The web instances' lines, followed live: the router's request lines
	// would push them out of the in-memory history during the load.
	webLogs := &syncbuf.Buffer{}
	tail := exec.CommandContext(ctx, filepath.Join(binDir, "paas"), "logs", "-t", "-n", "0", "--ps", "web")
	tail.Dir, tail.Env, tail.Stdout = dir, s.env(), webLogs
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); tail.Wait() }()
	load := loadgen.Start(ctx, loadgen.Config{
		URL:     "http://" + s.httpAddr + "/?delay=0.02",
		Host:    "steady.localhost",
		Conns:   24,
		Timeout: 20 * time.Second,
	})
	stopped := false
	defer func() {
		if !stopped {
			load.Stop()
		}
	}()
	step := func(name, wantRelease string, f func()) {
		t.Helper()
		before := load.Snapshot()
		f()
		s.mustGet("steady", "/", " "+wantRelease+"\n")
		after := load.Snapshot()
		if after.Failures != before.Failures {
			t.Fatalf("%s: %d requests failed: statuses %v, errors %v", name, after.Failures-before.Failures, after.ByStatus, after.Errors)
		}
		if after.Requests-before.Requests < 10 {
			t.Fatalf("%s: only %d requests were made during it", name, after.Requests-before.Requests)
		}
	}

	step("redeploy", "v2", func() {
		replaceInFile(t, dir+"/release.py", "release phase ran", "release phase (2) ran")
		s.commitAll(dir, "two")
		requireOK(t, "push", s.push(dir, "paas", "main"))
	})
	step("config change", "v3", func() { requireOK(t, "config:set", s.paas(dir, "", "config:set", "COLOUR=blue")) })
	step("scale up", "v3", func() {
		requireOK(t, "scale up", s.paas(dir, "", "ps:scale", "web=3"))
		if ps := s.paas(dir, "", "ps").stdout; strings.Count(ps, "web.") != 3 {
			t.Fatalf("ps after scale up:\n%s", ps)
		}
	})
	step("scale down", "v3", func() { requireOK(t, "scale down", s.paas(dir, "", "ps:scale", "web=1")) })
	step("restart", "v3", func() { requireOK(t, "restart", s.paas(dir, "", "ps:restart")) })
	step("rollback", "v4", func() {
		r := s.paas(dir, "", "rollback")
		requireOK(t, "rollback", r)
		if !strings.Contains(r.stdout, "Rollback to v2") {
			t.Fatalf("rollback: %s", r.stdout)
		}
		if v := s.paas(dir, "", "config:get", "COLOUR"); v.code == 0 {
			t.Fatalf("rollback to v2 kept v3's config: %q", v.stdout)
		}
	})
	step("failing health check", "v4", func() {
		r := s.paas(dir, "", "config:set", "HEALTH_FAIL=1")
		if r.code == 0 || !strings.Contains(r.stderr, `failed its health check "web check"`) {
			t.Fatalf("unhealthy release: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	step("failing release phase", "v4", func() {
		r := s.paas(dir, "", "config:set", "RELEASE_EXIT=3")
		if r.code == 0 || !strings.Contains(r.stderr, "release phase failed") {
			t.Fatalf("failing release phase: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	res := load.Stop()
	stopped = true
	if res.Failures != 0 {
		t.Fatalf("%d of %d requests failed: %v %v", res.Failures, res.Requests, res.ByStatus, res.Errors)
	}
	for _, bad := range []string{"v5", "v6"} {
		if res.ByRelease[bad] != 0 {
			t.Fatalf("%d responses came from failed release %s", res.ByRelease[bad], bad)
		}
	}
	t.Logf("%d requests, none failed, by release %v", res.Requests, res.ByRelease)

	// The failed releases are listed as such and never became current.
	rels := s.paas(dir, "", "releases").stdout
	for v, status := range map[string]string{"v4": "current", "v5": "failed", "v6": "failed"} {
		if f := strings.Fields(rowOf(rels, v)); len(f) < 2 || f[1] != status {
			t.Fatalf("release %s is not listed %s:\n%s", v, status, rels)
		}
	}
	info := s.paas(dir, "", "releases:info", "v5").stdout
	if !strings.Contains(info, "failed its health check") {
		t.Fatalf("releases:info v5:\n%s", info)
	}
	// Old instances got SIGTERM and drained before exiting.
	logs := webLogs.String()
	if !strings.Contains(logs, "got SIGTERM at") || !strings.Contains(logs, "drained, exiting") {
		t.Fatalf("no graceful stop in the logs:\n%s", logs)
	}
}

// TestSupervision kills an instance and expects it back, showing the
// signal that killed it, and checks maintenance mode, ps:stop and
// ps:start.
func TestSupervision(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		s := startServer(t, "PAAS_RUNTIME="+rt, "PAAS_STOP_TIMEOUT=5s")
		dir := s.newRepo("graceful", "phoenix")
		requireOK(t, "push", s.push(dir, "paas", "main"))
		s.mustGet("phoenix", "/", "ok from web.1 v1")

		killWeb(t, s, rt, "phoenix")
		waitFor(t, func() bool {
			ps := s.paas(dir, "", "ps").stdout
			return strings.Contains(ps, "up (restarts 1, last exit ")
		})
		if ps := s.paas(dir, "", "ps").stdout; !strings.Contains(ps, "up (restarts 1, last exit 137 SIGKILL)") {
			t.Fatalf("ps after a kill:\n%s", ps)
		}
		s.mustGet("phoenix", "/", "ok from web.1 v1")
		logs := s.paas(dir, "", "logs", "-n", "500").stdout
		if !strings.Contains(logs, "web.1 crashed with status") {
			t.Fatalf("no crash event:\n%s", logs)
		}

		requireOK(t, "maintenance:on", s.paas(dir, "", "maintenance:on"))
		if code, body, _ := s.get("phoenix", "/"); code != 503 || !strings.Contains(strings.ToLower(body), "maintenance") {
			t.Fatalf("maintenance: %d %q", code, body)
		}
		requireOK(t, "maintenance:off", s.paas(dir, "", "maintenance:off"))
		s.mustGet("phoenix", "/", "ok from web.1")

		requireOK(t, "ps:stop", s.paas(dir, "", "ps:stop", "web"))
		if code, _, _ := s.get("phoenix", "/"); code != 503 {
			t.Fatalf("after ps:stop web: %d", code)
		}
		requireOK(t, "ps:start", s.paas(dir, "", "ps:start", "web"))
		s.mustGet("phoenix", "/", "ok from web.1")
	})
}

// killWeb kills the app's web.1 process from outside the platform.
func killWeb(t *testing.T, s *server, rt, app string) {
	t.Helper()
	if rt == "docker" {
		r := s.run("", "", "docker", "ps", "-q", "--filter", "label=paas.app="+app, "--filter", "label=paas.type=web")
		id := strings.TrimSpace(r.stdout)
		if id == "" {
			t.Fatal("no web container found")
		}
		if r := s.run("", "", "docker", "kill", id); r.code != 0 {
			t.Fatalf("docker kill: %s", r.stderr)
		}
		return
	}
	pids := webPIDs(s, app)
	if len(pids) != 1 {
		t.Fatalf("found %d web processes of %s, want 1", len(pids), app)
	}
	pid, _ := strconv.Atoi(pids[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// webPIDs finds the python web processes of an app on the exec runtime:
// an instance runs in its slug directory.
func webPIDs(s *server, app string) []string {
	slugs := filepath.Join(s.dataDir, "slugs", app) + "/"
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []string
	for _, p := range procs {
		cwd, err := os.Readlink(p + "/cwd")
		cmdline, _ := os.ReadFile(p + "/cmdline")
		argv := strings.Split(string(cmdline), "\x00")
		if err != nil || !strings.HasPrefix(cwd, slugs) || !strings.Contains(filepath.Base(argv[0]), "python") || !slices.Contains(argv, "app.py") {
			continue
		}
		pids = append(pids, filepath.Base(p))
	}
	slices.Sort(pids)
	return pids
}
