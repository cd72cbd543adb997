package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"paas/loadgen"
)

// TestPaasdRestart starts a second paasd on the same data dir while the
// first one serves under load: the first hands over its HTTP listener and
// exits, the second adopts (docker) or replaces (exec) the instances, and
// no request fails. Then paasd is killed with SIGKILL in the middle of a
// deploy: the next start marks that release failed, keeps the previous
// one serving, leaves no orphan instance and takes new deploys.
func TestPaasdRestart(t *testing.T) {
	forEachRuntime(t, testPaasdRestart)
}

func testPaasdRestart(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt)
	dir := s.newRepo("graceful", "survivor")
	requireOK(t, "push", s.push(dir, "paas", "main"))
	requireOK(t, "scale", s.paas(dir, "", "ps:scale", "web=2"))
	s.mustGet("survivor", "/", " v1\n")
	before := instanceIDs(t, s, rt, "survivor")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	load := loadgen.Start(ctx, loadgen.Config{URL: "http://" + s.httpAddr + "/?delay=0.02", Host: "survivor.localhost", Conns: 24, Timeout: 20 * time.Second})
	s2 := s.successor("PAAS_RUNTIME=" + rt)
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		load.Stop()
		t.Fatal("the first paasd did not exit after handing over")
	}
	time.Sleep(500 * time.Millisecond) // requests keep flowing through the new paasd
	res := load.Stop()
	if res.Failures != 0 || res.Requests < 50 {
		t.Fatalf("%d of %d requests failed across the restart: %v %v", res.Failures, res.Requests, res.ByStatus, res.Errors)
	}
	t.Logf("%d requests across the restart, none failed", res.Requests)
	if !strings.Contains(s.out.String(), "handing over to a new paasd") {
		t.Fatalf("the first paasd did not hand over:\n%s", s.out.String())
	}
	if rt == "docker" {
		if after := instanceIDs(t, s2, rt, "survivor"); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Fatalf("containers changed across the restart: %v -> %v", before, after)
		}
	}
	s2.mustGet("survivor", "/", " v1\n")

	// kill -9 during a deploy's release phase.
	replaceInFile(t, dir+"/release.py", "import time\n", "import time\ntime.sleep(60)\n")
	s2.commitAll(dir, "slow release phase")
	pushDone := make(chan result, 1)
	go func() { pushDone <- s2.runQuiet(dir, "git", "push", "paas", "main") }()
	waitFor(t, func() bool { return strings.Contains(s2.out.String(), `"instance":"release.1"`) })
	s2.cmd.Process.Kill()
	<-s2.done
	if r := <-pushDone; r.code == 0 {
		t.Fatal("the interrupted push succeeded")
	}
	s3 := s2.successor("PAAS_RUNTIME=" + rt)
	s3.mustGet("survivor", "/", " v1\n")
	rels := s3.paas(dir, "", "releases").stdout
	if f := strings.Fields(lineOf(rels, "v2 ")); len(f) < 2 || f[0] != "v2" || f[1] != "failed" {
		t.Fatalf("releases after kill -9:\n%s", rels)
	}
	if f := strings.Fields(lineOf(rels, "v1 ")); len(f) < 2 || f[0] != "v1" || f[1] != "current" {
		t.Fatalf("releases after kill -9:\n%s", rels)
	}
	info := s3.paas(dir, "", "releases:info", "v2").stdout
	if !strings.Contains(info, "interrupted") {
		t.Fatalf("releases:info v3:\n%s", info)
	}
	if ids := instanceIDs(t, s3, rt, "survivor"); len(ids) != 2 {
		t.Fatalf("instances after kill -9 and restart: %v", ids)
	}
	// The lock is free: a new deploy goes through.
	replaceInFile(t, dir+"/release.py", "time.sleep(60)\n", "")
	s3.commitAll(dir, "fast release phase")
	requireOK(t, "push after restart", s3.push(dir, "paas", "main"))
	s3.mustGet("survivor", "/", " v3\n")
}

// instanceIDs lists the app's running web instances as the runtime sees
// them: container ids on docker, process ids of the web processes on exec.
func instanceIDs(t *testing.T, s *server, rt, app string) []string {
	t.Helper()
	if rt == "docker" {
		r := s.run("", "", "docker", "ps", "-q", "--no-trunc", "--filter", "label=paas.app="+app, "--filter", "label=paas.type=web")
		ids := strings.Fields(r.stdout)
		slices.Sort(ids)
		return ids
	}
	return webPIDs(s, app)
}
