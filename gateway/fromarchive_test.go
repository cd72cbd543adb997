package gateway

import (
	"archive/tar"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitFromArchive deploys the tree of an archive sent on stdin as a
// commit on top of the app's branch, by the user, and a push on top of
// it works; a refused archive deploys nothing and leaves the branch.
func TestGitFromArchive(t *testing.T) {
	e := startServer(t)
	work := e.workRepo("work", map[string]string{"app.txt": "pushed\n"})
	e.mustGit(work, "push", "-q", e.url("archive-app"), "main")
	pushed := e.branchOf("archive-app", "main")

	archive := makeTar(t, true,
		tarEntry{name: "archive-app-1.0/", typ: tar.TypeDir, mode: 0o755},
		tarEntry{name: "archive-app-1.0/app.txt", body: "from the archive\n"},
		tarEntry{name: "archive-app-1.0/bin/run", body: "#!/bin/sh\n", mode: 0o755},
	)
	st, out, errs := e.ssh(string(archive), nil, "git:from-archive", "archive-app")
	if st != 0 {
		t.Fatalf("git:from-archive: status %d, %q", st, errs)
	}
	commit := e.branchOf("archive-app", "main")
	for _, want := range []string{"-----> Reading the archive", "2 files, commit " + commit, "-----> step two", "-----> Deployed archive-app to http://archive-app.example.test"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	d := e.f.deployList()
	if last := d[len(d)-1]; len(d) != 2 || last.Commit != commit || last.Files["app.txt"] != "from the archive\n" || last.Files["bin/run"] != "#!/bin/sh\n" || last.By != "alice" {
		t.Fatalf("deploys %+v", d)
	}
	git := exec.Command("git", "log", "-1", "--format=%P %an %s", commit)
	git.Env = append(baseEnv(), "GIT_DIR="+filepath.Join(e.dir, "repos", "archive-app.git"))
	if got, err := git.Output(); err != nil || string(got) != pushed+" alice Deploy from archive\n" {
		t.Errorf("commit %q, %v", got, err)
	}

	// A push on top of it, after a pull, deploys.
	e.mustGit(work, "pull", "-q", "--rebase", e.url("archive-app"), "main")
	e.commit(work, map[string]string{"app.txt": "pushed again\n"})
	e.mustGit(work, "push", "-q", e.url("archive-app"), "main")
	if d := e.f.deployList(); d[len(d)-1].Files["app.txt"] != "pushed again\n" || d[len(d)-1].Files["bin/run"] != "#!/bin/sh\n" {
		t.Errorf("the push after the archive deployed %+v", d[len(d)-1])
	}
	head := e.branchOf("archive-app", "main")

	for _, tc := range []struct {
		stdin string
		opts  []string
		want  string
	}{
		{string(makeTar(t, true, tarEntry{name: "../evil", body: "x"})), nil, "paas: the archive has an unsafe path \"../evil\"\n"},
		{string(makeTar(t, true, tarEntry{name: "FAIL", body: "the build broke"})), nil, "paas: the build broke\n"},
		{"PK\x03\x04 not a tarball", nil, "paas: not a tar or tar.gz archive (zip, bzip2 and xz are not read)\n"},
		{"", nil, "paas: nothing on stdin: send a tar or tar.gz archive (paas git:from-archive FILE)\n"},
		{"", []string{"-tt"}, "paas: git:from-archive reads a tar or tar.gz archive on stdin, not from a terminal"},
	} {
		before := len(e.f.deployList())
		st, _, errs := e.ssh(tc.stdin, tc.opts, "git:from-archive", "archive-app")
		if st != 1 || !strings.HasPrefix(strings.ReplaceAll(errs, "\r", ""), tc.want) {
			t.Errorf("git:from-archive < %.20q: status %d, %q, want %q", tc.stdin, st, errs, tc.want)
		}
		if n := len(e.f.deployList()) - before; n > 0 && !strings.Contains(tc.want, "build broke") {
			t.Errorf("git:from-archive < %.20q: %d deploys", tc.stdin, n)
		}
	}
	if got := e.branchOf("archive-app", "main"); got != head {
		t.Errorf("main moved to %s after refused archives", got)
	}
}
