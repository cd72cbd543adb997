package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paas/buildpacks"
	"paas/internal/gittest"
)

// TestCustomBuildpackConfinement pushes apps whose .buildpacks or
// BUILDPACK_URL name the server's own directories, its repositories, a
// file:// URL and a git server on its loopback: each push is refused
// with the one line naming the allowed forms (or, for the loopback, that
// its address is never fetched from), nothing of the host reaches the
// pusher, and the loopback server is never asked. A directory the
// operator lists in PAAS_BUILDPACK_PATHS works.
func TestCustomBuildpackConfinement(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt string) {
		vetted := t.TempDir()
		bp := filepath.Join(vetted, "hello")
		gittest.WriteFiles(t, bp, map[string]string{
			"bin/detect":  "#!/usr/bin/env bash\necho Vetted\n",
			"bin/compile": "#!/usr/bin/env bash\necho \"vetted buildpack compiled $(basename \"$1\")\"\n",
		})
		s := startServer(t, "PAAS_RUNTIME="+rt, "PAAS_BUILDPACK_PATHS="+vetted)
		srv := gittest.NewServer(t)
		repo := srv.NewRepo(t, "bp.git")
		gittest.WriteFiles(t, repo, map[string]string{"bin/compile": "#!/bin/sh\necho fetched from the loopback\n"})
		gittest.Commit(t, repo, "bp")
		loopback := srv.RepoURL("bp.git")

		app := "bpconf-" + rt
		dir := s.newRepoOf(app, map[string]string{
			".buildpacks": bp + "\n",
			"Procfile":    "web: python3 -m http.server $PORT\n",
			"index.txt":   "hello\n",
		})
		r := s.push(dir, "paas", "main")
		requireOK(t, "push with a listed buildpack", r)
		if !strings.Contains(r.stderr, "vetted buildpack compiled") {
			t.Errorf("the listed buildpack did not run:\n%s", r.stderr)
		}

		refused := func(ref string) string { return `buildpack "` + ref + `" is not allowed: ` + buildpacks.RefForms }
		reposDir := filepath.Join(s.dataDir, "repos")
		for _, tc := range []struct{ ref, want string }{
			{"/etc", refused("/etc")},
			{"/etc/ssh", refused("/etc/ssh")},
			{"/nonexistent", refused("/nonexistent")},
			{reposDir, refused(reposDir)},
			{filepath.Join(reposDir, app+".git"), refused(filepath.Join(reposDir, app+".git"))},
			{vetted + "/../..", refused(vetted + "/../..")},
			{"file:///etc", refused("file:///etc")},
			{"file://" + reposDir + "/" + app + ".git", refused("file://" + reposDir + "/" + app + ".git")},
			{loopback, "buildpack " + loopback + ": its server is at a loopback address, which buildpacks are never fetched from"},
		} {
			if err := os.WriteFile(filepath.Join(dir, ".buildpacks"), []byte(tc.ref+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s.commitAll(dir, "buildpack "+tc.ref)
			r := s.push(dir, "paas", "main")
			checkRefused(t, ".buildpacks "+tc.ref, r, tc.want)
		}

		// The same through BUILDPACK_URL: a form no build may use is
		// refused when it is set, a loopback server when it is fetched.
		for _, ref := range []string{"/etc", "file:///etc"} {
			requireFail(t, "config:set BUILDPACK_URL="+ref, s.ssh("config:set "+app+" BUILDPACK_URL="+ref), "BUILDPACK_URL: "+refused(ref))
			if cfg := s.ssh("config " + app).stdout; strings.Contains(cfg, "BUILDPACK_URL") {
				t.Errorf("a refused BUILDPACK_URL was set:\n%s", cfg)
			}
		}
		requireOK(t, "config:set", s.ssh("config:set "+app+" BUILDPACK_URL="+loopback))
		if err := os.WriteFile(filepath.Join(dir, "index.txt"), []byte(loopback), 0o644); err != nil {
			t.Fatal(err)
		}
		s.commitAll(dir, "BUILDPACK_URL "+loopback)
		checkRefused(t, "BUILDPACK_URL "+loopback, s.push(dir, "paas", "main"),
			"buildpack "+loopback+": its server is at a loopback address, which buildpacks are never fetched from")
		if n := srv.Requests(); n != 0 {
			t.Errorf("the git server on the loopback had %d requests", n)
		}
		// The app still serves its first build.
		s.mustGet(app, "/index.txt", "hello")
	})
}

// checkRefused checks that a push failed with want in its output and
// nothing of the host.
func checkRefused(t *testing.T, what string, r result, want string) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("%s: push succeeded\n%s", what, r.stderr)
		return
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("%s: output lacks %q:\n%s", what, want, r.stderr)
	}
	for _, leak := range []string{"root:", "ssh_host", "do-not-leak", "fetched from the loopback"} {
		if strings.Contains(r.stderr, leak) {
			t.Errorf("%s: output shows %q:\n%s", what, leak, r.stderr)
		}
	}
}
