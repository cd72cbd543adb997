// Package gittest serves git repositories over smart HTTP for tests: the
// real `git http-backend` behind net/http/cgi on a loopback listener, and
// makes repositories with the real git.
package gittest

import (
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Server serves every repository under Root at URL/NAME.
type Server struct {
	*httptest.Server
	Root     string
	requests atomic.Int64
}

// NewServer starts a server over a new temporary root, closed when the
// test ends. It fails the test when git is missing.
func NewServer(t testing.TB) *Server {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git not found: %v", err)
	}
	s := &Server{Root: t.TempDir()}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root, "GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		},
		Stderr: io.Discard,
		Logger: log.New(io.Discard, "", 0),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests is how many requests the server has had.
func (s *Server) Requests() int64 { return s.requests.Load() }

// RepoURL is the URL of repository name.
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name }

// NewRepo makes an empty repository Root/name (branch main) and returns
// its directory.
func (s *Server) NewRepo(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(s.Root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	Git(t, dir, "init", "--quiet", "--initial-branch=main")
	return dir
}

// Git runs git in dir with a fixed identity and no user or system config,
// and returns its trimmed output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// WriteFiles writes files under dir, those under a bin/ directory
// executable.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if filepath.Base(filepath.Dir(p)) == "bin" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// Commit adds everything in dir and commits it with message msg, and
// returns the commit's id.
func Commit(t testing.TB, dir, msg string) string {
	t.Helper()
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "--quiet", "-m", msg)
	return Git(t, dir, "rev-parse", "HEAD")
}
