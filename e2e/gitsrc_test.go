package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paas/internal/gittest"
)

// gitsrcApp is a web app that answers with its version and a config var.
func gitsrcApp(version string) map[string]string {
	return map[string]string{
		"Procfile":         "web: python3 app.py\n",
		"requirements.txt": "",
		"app.py": `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("%s ` + version + ` %s\n" % (os.environ.get("GREETING", "hello"), os.environ.get("PAAS_RELEASE", "?"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
`,
	}
}

// targz is files as a tar.gz archive under one top-level directory.
func targz(t *testing.T, top string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// TestSourcesAndEnvFiles deploys an app from a git URL (git:sync), then
// from a tarball (git:from-archive), and sets its config from .env files
// with the paas client: each deploy names its commit and goes live, the
// vars of one file make one release, and a file with a mistake changes
// nothing.
func TestSourcesAndEnvFiles(t *testing.T) {
	srv := gittest.NewServer(t)
	src := srv.NewRepo(t, "src.git")
	gittest.WriteFiles(t, src, gitsrcApp("synced"))
	synced := gittest.Commit(t, src, "from a git URL")
	url := srv.RepoURL("src.git")

	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_TEST_FETCH_LOOPBACK=1")
	const app = "gitsrc-e2e"
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	work := t.TempDir()
	s.git(work, "init", "-q", "-b", "main")
	s.git(work, "remote", "add", "paas", "ssh://paas@127.0.0.1:"+s.port()+"/"+app)

	// config:set --file before the first deploy: stored, no release.
	if err := os.WriteFile(filepath.Join(work, ".env"), []byte("# greeting\nexport GREETING=\"hi there\"\nOTHER='$HOME'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := s.paas(work, "", "config:set", "--file", ".env")
	requireOK(t, "config:set --file", r)
	if strings.Contains(r.stdout, "v0") {
		t.Errorf("config:set before a deploy names a release: %q", r.stdout)
	}

	r = s.ssh("git:sync " + app + " " + url + " main")
	requireOK(t, "git:sync", r)
	for _, want := range []string{"-----> Fetching " + url + "#main", "commit " + synced, "Release v1 is live", "-----> Deployed " + app} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("git:sync output lacks %q:\n%s", want, r.stdout)
		}
	}
	s.mustGet(app, "/", "hi there synced v1")

	archive := filepath.Join(t.TempDir(), "app.tar.gz")
	if err := os.WriteFile(archive, targz(t, "app-2.0", gitsrcApp("archived")), 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.paas(work, "", "git:from-archive", archive)
	requireOK(t, "git:from-archive", r)
	if !strings.Contains(r.stdout, "Release v2 is live") {
		t.Errorf("git:from-archive output:\n%s", r.stdout)
	}
	s.mustGet(app, "/", "hi there archived v2")
	// The archive's commit is on top of the synced one, and the release
	// names it.
	s.git(work, "fetch", "-q", "paas", "main:refs/remotes/paas/main")
	if got := strings.TrimSpace(s.git(work, "log", "-1", "--format=%P %s", "paas/main").stdout); got != synced+" Deploy from archive" {
		t.Errorf("the archive's commit: %q", got)
	}
	archived := strings.TrimSpace(s.git(work, "rev-parse", "paas/main").stdout)
	if r := s.ssh("releases " + app); !strings.Contains(r.stdout, archived[:7]) {
		t.Errorf("releases do not name %s:\n%s", archived[:7], r.stdout)
	}

	// Piped in: both vars in one release.
	r = s.paas(work, "A=1\nGREETING='piped'\n", "config:set")
	requireOK(t, "config:set < .env", r)
	s.mustGet(app, "/", "piped archived v3")
	// A mistake: nothing changes.
	r = s.paas(work, "A=2\nGREETING=\"unclosed\n", "config:set")
	requireFail(t, "config:set < bad .env", r, "paas: .env line 2: the value's \" quote is never closed")
	r = s.ssh("releases " + app)
	if strings.Contains(r.stdout, "v4") || !strings.Contains(r.stdout, "v3") {
		t.Errorf("releases after the .env files:\n%s", r.stdout)
	}
	if r := s.ssh("config:get " + app + " A"); strings.TrimSpace(r.stdout) != "1" {
		t.Errorf("A is %q after a refused .env", r.stdout)
	}
	if r := s.ssh("config:get " + app + " OTHER"); strings.TrimSpace(r.stdout) != "$HOME" {
		t.Errorf("OTHER is %q: a .env value was expanded", r.stdout)
	}
}

// TestGitSyncNeverFromLoopback: a paasd not told otherwise by its test
// build's setting refuses a git server on the loopback before asking it.
func TestGitSyncNeverFromLoopback(t *testing.T) {
	srv := gittest.NewServer(t)
	src := srv.NewRepo(t, "src.git")
	gittest.WriteFiles(t, src, gitsrcApp("synced"))
	gittest.Commit(t, src, "from a git URL")
	url := srv.RepoURL("src.git")

	s := startServer(t, "PAAS_RUNTIME=exec")
	requireOK(t, "apps:create", s.ssh("apps:create gitsrc-lo"))
	for _, tc := range []struct{ url, want string }{
		{url, "paas: git:sync " + url + ": its server is at a loopback address, which git:sync sources are never fetched from"},
		{"file://" + src, "paas: git:sync takes a git URL"},
		{"http://[::ffff:127.0.0.1]:1/x.git", "its server is at a loopback address"},
		{"http://169.254.169.254/x.git", "its server is at a link-local address"},
	} {
		requireFail(t, "git:sync "+tc.url, s.ssh("git:sync gitsrc-lo "+tc.url), tc.want)
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("the loopback git server had %d requests", n)
	}
	if r := s.ssh("releases gitsrc-lo"); strings.Contains(r.stdout, "v1") {
		t.Errorf("a refused git:sync made a release:\n%s", r.stdout)
	}
}
