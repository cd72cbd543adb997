package gateway

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"paas/builder/gitfetch"
	"paas/internal/gittest"
)

// startSyncServer is a server whose git:sync runs this test binary as
// its fetch program, allowed to reach the loopback when loopback is set
// (where the tests' git servers listen), as paasd's is not.
func startSyncServer(t *testing.T, loopback bool) *env {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startServerWith(t, func(c *Config) {
		c.SourceFetchCommand = []string{exe, gitfetch.SourceCommand}
		if loopback {
			c.SourceFetchCommand = append(c.SourceFetchCommand, gitfetch.AllowLoopbackFlag)
		}
	})
}

// branchOf is the value of branch in app's repo on the server.
func (e *env) branchOf(app, branch string) string {
	e.t.Helper()
	cmd := exec.Command("git", "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	cmd.Env = append(baseEnv(), "GIT_DIR="+filepath.Join(e.dir, "repos", app+".git"))
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// TestGitSync deploys the commit of a branch, a tag, a commit id and the
// remote's HEAD fetched from a git URL, moving the app's branch to each
// once it is live, with the build output and the live message of a push.
func TestGitSync(t *testing.T) {
	srv := gittest.NewServer(t)
	src := srv.NewRepo(t, "src.git")
	gittest.WriteFiles(t, src, map[string]string{"app.txt": "one\n"})
	c1 := gittest.Commit(t, src, "one")
	gittest.Git(t, src, "tag", "-a", "-m", "first", "v1")
	gittest.WriteFiles(t, src, map[string]string{"app.txt": "two\n"})
	c2 := gittest.Commit(t, src, "two")
	gittest.Git(t, src, "checkout", "-q", "-b", "other")
	gittest.WriteFiles(t, src, map[string]string{"app.txt": "three\n"})
	c3 := gittest.Commit(t, src, "three")
	gittest.Git(t, src, "checkout", "-q", "main")
	url := srv.RepoURL("src.git")

	e := startSyncServer(t, true)
	if st, _, errs := e.ssh("", nil, "apps:create", "sync-app"); st != 0 {
		t.Fatalf("apps:create: %s", errs)
	}
	for _, tc := range []struct {
		args   []string
		commit string
		file   string
	}{
		{[]string{url}, c2, "two\n"},
		{[]string{url, "v1"}, c1, "one\n"},
		{[]string{url, "other", "--build"}, c3, "three\n"},
		{[]string{url, c2}, c2, "two\n"},
	} {
		before := len(e.f.deployList())
		st, out, errs := e.ssh("", nil, append([]string{"git:sync", "sync-app"}, tc.args...)...)
		if st != 0 {
			t.Fatalf("git:sync %q: status %d, %q", tc.args, st, errs)
		}
		for _, want := range []string{"-----> Fetching " + url, "commit " + tc.commit, "-----> step two", "-----> Deployed sync-app to http://sync-app.example.test"} {
			if !strings.Contains(out, want) {
				t.Errorf("git:sync %q: output %q lacks %q", tc.args, out, want)
			}
		}
		d := e.f.deployList()
		if len(d) != before+1 || d[len(d)-1].Commit != tc.commit || d[len(d)-1].Files["app.txt"] != tc.file || d[len(d)-1].By != "alice" {
			t.Fatalf("git:sync %q: deploys %+v, want %s", tc.args, d[before:], tc.commit)
		}
		if got := e.branchOf("sync-app", "main"); got != tc.commit {
			t.Errorf("git:sync %q: main is %q, want %s", tc.args, got, tc.commit)
		}
	}

	// A push on top of the synced commit is not stale: it deploys.
	work := filepath.Join(e.dir, "work")
	e.mustGit(e.dir, "clone", "-q", e.url("sync-app"), work)
	e.commit(work, map[string]string{"app.txt": "pushed\n"})
	e.mustGit(work, "push", "-q", "origin", "main")
	if d := e.f.deployList(); d[len(d)-1].Files["app.txt"] != "pushed\n" {
		t.Errorf("the push after git:sync deployed %+v", d[len(d)-1])
	}
}

// TestGitSyncRefused: URLs of other transports, a missing ref, a failed
// build, and a git server on the loopback when the fetch is paasd's
// (which never allows it) deploy nothing and leave the branch alone.
func TestGitSyncRefused(t *testing.T) {
	srv := gittest.NewServer(t)
	src := srv.NewRepo(t, "src.git")
	gittest.WriteFiles(t, src, map[string]string{"app.txt": "one\n"})
	c1 := gittest.Commit(t, src, "one")
	gittest.WriteFiles(t, src, map[string]string{"FAIL": "the build broke"})
	gittest.Git(t, src, "checkout", "-q", "-b", "broken")
	gittest.Commit(t, src, "broken")
	url := srv.RepoURL("src.git")

	e := startSyncServer(t, true)
	if st, _, errs := e.ssh("", nil, "apps:create", "sync-app"); st != 0 {
		t.Fatalf("apps:create: %s", errs)
	}
	if st, _, errs := e.ssh("", nil, "git:sync", "sync-app", url, "main"); st != 0 {
		t.Fatalf("git:sync: %q", errs)
	}
	forms := "paas: " + syncForms + "\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"file://" + src}, forms},
		{[]string{src}, forms},
		{[]string{"git://127.0.0.1/src.git"}, forms},
		{[]string{"ext::sh"}, forms},
		{[]string{"go"}, forms},
		{[]string{url + "#main"}, forms},
		{[]string{url, "-x"}, "paas: usage: git:sync APP URL [REF] [--build]\n"},
		{[]string{}, "paas: usage: git:sync APP URL [REF] [--build]\n"},
		{[]string{url, "main", "extra"}, "paas: usage: git:sync APP URL [REF] [--build]\n"},
		{[]string{url, "nope"}, "paas: git:sync " + url + "#nope: no branch, tag or commit \"nope\" in the repository (a commit must be given in full)\n"},
		{[]string{url, "broken"}, "paas: the build broke\n"},
		{[]string{"http://169.254.169.254/latest.git"}, "paas: git:sync http://169.254.169.254/latest.git: its server is at a link-local address, which git:sync sources are never fetched from\n"},
	} {
		st, _, errs := e.ssh("", nil, append([]string{"git:sync", "sync-app"}, tc.args...)...)
		if st != 1 || errs != tc.want {
			t.Errorf("git:sync %q: status %d, stderr %q, want %q", tc.args, st, errs, tc.want)
		}
	}
	if got := e.branchOf("sync-app", "main"); got != c1 {
		t.Errorf("main is %q after refused syncs, want %s", got, c1)
	}

	// paasd's own fetch never reaches the loopback.
	p := startSyncServer(t, false)
	if st, _, errs := p.ssh("", nil, "apps:create", "sync-app"); st != 0 {
		t.Fatalf("apps:create: %s", errs)
	}
	requests := srv.Requests()
	st, _, errs := p.ssh("", nil, "git:sync", "sync-app", url)
	if want := "paas: git:sync " + url + ": its server is at a loopback address, which git:sync sources are never fetched from\n"; st != 1 || errs != want {
		t.Errorf("git:sync from the loopback: status %d, %q, want %q", st, errs, want)
	}
	if n := srv.Requests() - requests; n != 0 {
		t.Errorf("the loopback server had %d requests", n)
	}
	if len(p.f.deployList()) != 0 || p.branchOf("sync-app", "main") != "" {
		t.Error("a refused git:sync deployed or moved the branch")
	}
}
