package gateway

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployCommitRefusesAStaleBranch: a deploy that is not a push is
// refused, under the app's lock, when the branch moved since it was read
// (a push went live meanwhile), and the branch is left alone.
func TestDeployCommitRefusesAStaleBranch(t *testing.T) {
	e := startServer(t)
	work := e.workRepo("work", map[string]string{"app.txt": "one\n"})
	e.mustGit(work, "push", "-q", e.url("stale-app"), "main")
	first := e.branchOf("stale-app", "main")
	second := e.commit(work, map[string]string{"app.txt": "two\n"})
	e.mustGit(work, "push", "-q", e.url("stale-app"), "main")
	if e.branchOf("stale-app", "main") != second {
		t.Fatal("the second push did not move main")
	}

	// Made on top of the first commit, as if read before the second push.
	var out bytes.Buffer
	r := &request{ctx: context.Background(), by: "alice", user: user{name: "alice"}, stdout: &out, stderr: &out}
	repo := filepath.Join(e.dir, "repos", "stale-app.git")
	err := e.s.deployCommit(r, "stale-app", repo, refUpdate{Old: first, New: first, Ref: "refs/heads/main"}, "test", &out)
	if err == nil || !strings.Contains(err.Error(), "rejected: main moved to "+second[:7]) {
		t.Errorf("deploy on a stale branch: %v", err)
	}
	if got := e.branchOf("stale-app", "main"); got != second {
		t.Errorf("main moved to %s", got)
	}
	if n := len(e.f.deployList()); n != 2 {
		t.Errorf("%d deploys, want the two pushes", n)
	}
}

// TestDeployBranch: git:sync and git:from-archive move main, or master
// when the app was pushed to master only; an archive on an app never
// deployed makes a commit with no parent.
func TestDeployBranch(t *testing.T) {
	e := startServer(t)
	work := e.workRepo("work", map[string]string{"app.txt": "one\n"})
	e.mustGit(work, "push", "-q", e.url("master-app"), "main:master")
	pushed := e.branchOf("master-app", "master")
	archive := string(makeTar(t, true, tarEntry{name: "app.txt", body: "archived\n"}))
	if st, _, errs := e.ssh(archive, nil, "git:from-archive", "master-app"); st != 0 {
		t.Fatalf("git:from-archive: %q", errs)
	}
	if got := e.branchOf("master-app", "master"); got == pushed || got == "" || e.branchOf("master-app", "main") != "" {
		t.Errorf("master %q (pushed %s), main %q", got, pushed, e.branchOf("master-app", "main"))
	}

	if st, _, errs := e.ssh("", nil, "apps:create", "fresh-app"); st != 0 {
		t.Fatalf("apps:create: %q", errs)
	}
	if st, _, errs := e.ssh(archive, nil, "git:from-archive", "fresh-app"); st != 0 {
		t.Fatalf("git:from-archive: %q", errs)
	}
	git := exec.Command("git", "log", "--format=%P|%s", "main")
	git.Env = append(baseEnv(), "GIT_DIR="+filepath.Join(e.dir, "repos", "fresh-app.git"))
	if got, err := git.Output(); err != nil || string(got) != "|Deploy from archive\n" {
		t.Errorf("fresh app's history %q, %v", got, err)
	}
}
