package gitfetch

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"paas"
	"paas/internal/gittest"
)

// buildpackRepo serves a repository whose main branch holds a buildpack
// marked "v2", with branch v1, lightweight tag t1 and annotated tag a1 at
// the "v1" commit, and an older commit "v0" no ref points at. It returns
// the server and the commits by marker.
func buildpackRepo(t *testing.T) (*gittest.Server, map[string]string) {
	t.Helper()
	srv := gittest.NewServer(t)
	dir := srv.NewRepo(t, "bp.git")
	commits := map[string]string{}
	for _, v := range []string{"v0", "v1", "v2"} {
		gittest.WriteFiles(t, dir, map[string]string{
			"bin/compile": "#!/bin/sh\necho " + v + "\n",
			"VERSION":     v + "\n",
		})
		commits[v] = gittest.Commit(t, dir, v)
		if v == "v1" {
			gittest.Git(t, dir, "branch", "v1")
			gittest.Git(t, dir, "tag", "t1")
			gittest.Git(t, dir, "tag", "-a", "-m", "annotated", "a1")
		}
	}
	return srv, commits
}

// checkout returns the VERSION file fetched into dest and checks that
// bin/compile came out executable.
func checkout(t *testing.T, dest string) string {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dest, "bin", "compile"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("bin/compile: %v, %v", fi, err)
	}
	data, err := os.ReadFile(filepath.Join(dest, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestFetch(t *testing.T) {
	srv, commits := buildpackRepo(t)
	url := srv.RepoURL("bp.git")
	for _, tc := range []struct{ rev, want string }{
		{"", "v2"},
		{"main", "v2"},
		{"v1", "v1"},
		{"t1", "v1"},
		{"a1", "v1"},
		{commits["v1"], "v1"}, // the tip of branch v1: fetched through it
		{commits["v0"], "v0"}, // no ref's tip: the branches are fetched whole
	} {
		dest := filepath.Join(t.TempDir(), "bp")
		h, err := Fetch(t.Context(), url, tc.rev, dest, Options{AllowLoopback: true})
		if err != nil {
			t.Errorf("rev %q: %v", tc.rev, err)
			continue
		}
		if got := checkout(t, dest); got != tc.want {
			t.Errorf("rev %q: checked out %s, want %s", tc.rev, got, tc.want)
		}
		if h.String() != commits[tc.want] {
			t.Errorf("rev %q: commit %s, want %s", tc.rev, h, commits[tc.want])
		}
		// Everything but an unadvertised commit comes shallow.
		_, err = os.Stat(filepath.Join(dest, ".git", "shallow"))
		if shallow := err == nil; shallow != (tc.want != "v0") {
			t.Errorf("rev %q: shallow %v", tc.rev, shallow)
		}
	}
}

// TestFetchCommitByID: a server that lets clients ask for any reachable
// commit gets the commit alone, shallow.
func TestFetchCommitByID(t *testing.T) {
	srv, commits := buildpackRepo(t)
	gittest.Git(t, filepath.Join(srv.Root, "bp.git"), "config", "uploadpack.allowReachableSHA1InWant", "true")
	dest := t.TempDir()
	if _, err := Fetch(t.Context(), srv.RepoURL("bp.git"), commits["v0"], dest, Options{AllowLoopback: true}); err != nil {
		t.Fatal(err)
	}
	if got := checkout(t, dest); got != "v0" {
		t.Errorf("checked out %s", got)
	}
	if _, err := os.Stat(filepath.Join(dest, ".git", "shallow")); err != nil {
		t.Errorf("not shallow: %v", err)
	}
}

func TestFetchUnknownRev(t *testing.T) {
	srv, commits := buildpackRepo(t)
	for _, rev := range []string{"nope", commits["v1"][:12], strings.Repeat("0", 40)} {
		_, err := Fetch(t.Context(), srv.RepoURL("bp.git"), rev, t.TempDir(), Options{AllowLoopback: true})
		if msg := userMessage(t, err); !strings.HasPrefix(msg, `no branch, tag or commit "`+rev+`"`) {
			t.Errorf("rev %q: %q (%v)", rev, msg, errors.Unwrap(err))
		}
	}
	_, err := Fetch(t.Context(), srv.RepoURL("missing.git"), "", t.TempDir(), Options{AllowLoopback: true})
	if msg := userMessage(t, err); msg != "repository not found" {
		t.Errorf("missing repository: %q", msg)
	}
}

// userMessage is err's message for the pusher; err must be a *paas.Error.
func userMessage(t *testing.T, err error) string {
	t.Helper()
	var pe *paas.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *paas.Error", err, err)
	}
	if strings.Contains(pe.Msg, "\n") {
		t.Errorf("message %q is more than one line", pe.Msg)
	}
	return pe.Msg
}

// TestFetchRefusesLoopback: without the test knob a git server on the
// host's loopback is never reached, by address or by name.
func TestFetchRefusesLoopback(t *testing.T) {
	srv, _ := buildpackRepo(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, url := range []string{
		srv.RepoURL("bp.git"),
		"http://localhost:" + port + "/bp.git",
		"http://[::ffff:127.0.0.1]:" + port + "/bp.git",
	} {
		dest := t.TempDir()
		_, err := Fetch(t.Context(), url, "", dest, Options{})
		msg := userMessage(t, err)
		if msg != "its server is at a loopback address, which buildpacks are never fetched from" {
			t.Errorf("%s: %q", url, msg)
		}
		if _, err := os.Stat(filepath.Join(dest, "VERSION")); err == nil {
			t.Errorf("%s: fetched", url)
		}
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("the loopback server had %d requests", n)
	}
}

// TestFetchRefusesSSHLoopback: ssh goes through the same dialer: nothing
// connects to an ssh port on the loopback.
func TestFetchRefusesSSHLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// The scp-like form has no port: it dials port 22, refused before any
	// connection too.
	for _, url := range []string{"ssh://git@127.0.0.1:" + port + "/bp.git", "ssh://localhost:" + port + "/bp.git", "git@localhost:bp.git"} {
		_, err := Fetch(t.Context(), url, "", t.TempDir(), Options{})
		if msg := userMessage(t, err); !strings.Contains(msg, "loopback address") {
			t.Errorf("%s: %q", url, msg)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback ssh port", n)
	}
}

// TestFetchRefusesRedirects: a server the fetch may reach (loopback, with
// the test knob) that redirects to a link-local or unspecified address,
// or to another transport, is not followed there.
func TestFetchRefusesRedirects(t *testing.T) {
	for target, want := range map[string]string{
		"http://169.254.169.254/latest/meta-data": "link-local address",
		"http://[fe80::1]/x":                      "link-local address",
		"http://0.0.0.0:1/x":                      "unspecified address",
		"http://[::ffff:169.254.169.254]/x":       "link-local address",
		"file:///etc":                             "git fetch failed",
	} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target, http.StatusFound)
		}))
		_, err := Fetch(t.Context(), redirector.URL+"/bp.git", "", t.TempDir(), Options{AllowLoopback: true})
		redirector.Close()
		if msg := userMessage(t, err); !strings.Contains(msg, want) {
			t.Errorf("redirect to %s: %q, want %q", target, msg, want)
		}
	}
}

func TestFetchSizeLimit(t *testing.T) {
	srv := gittest.NewServer(t)
	noisy := srv.NewRepo(t, "noisy.git")
	random := make([]byte, 3<<20)
	rand.Read(random)
	gittest.WriteFiles(t, noisy, map[string]string{"blob": string(random)})
	gittest.Commit(t, noisy, "random")
	// Zeros pack to almost nothing: the tree's size is checked before
	// anything is written out.
	bomb := srv.NewRepo(t, "bomb.git")
	gittest.WriteFiles(t, bomb, map[string]string{"zeros": string(bytes.Repeat([]byte{0}, 3<<20))})
	gittest.Commit(t, bomb, "zeros")
	for _, name := range []string{"noisy.git", "bomb.git"} {
		dest := t.TempDir()
		_, err := Fetch(t.Context(), srv.RepoURL(name), "", dest, Options{AllowLoopback: true, MaxBytes: 1 << 20})
		if msg := userMessage(t, err); msg != "it is larger than the limit of 1 MB (or 100000 files)" {
			t.Errorf("%s: %q", name, msg)
		}
		for _, f := range []string{"blob", "zeros"} {
			if _, err := os.Stat(filepath.Join(dest, f)); err == nil {
				t.Errorf("%s: %s checked out", name, f)
			}
		}
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer stalled.Close()
	defer close(release)
	start := time.Now()
	_, err := Fetch(t.Context(), stalled.URL+"/bp.git", "", t.TempDir(), Options{AllowLoopback: true, Timeout: time.Second})
	if msg := userMessage(t, err); msg != "fetching took longer than 1s" {
		t.Errorf("%q", msg)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s to time out", d)
	}
}

// TestFetchIgnoresEnvironment: proxies and git settings of the process
// do not steer a fetch.
func TestFetchIgnoresEnvironment(t *testing.T) {
	srv, _ := buildpackRepo(t)
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(k, "http://127.0.0.1:9")
	}
	t.Setenv("GIT_DIR", "/nonexistent")
	t.Setenv("SSH_AUTH_SOCK", "/nonexistent")
	dest := t.TempDir()
	if _, err := Fetch(t.Context(), srv.RepoURL("bp.git"), "", dest, Options{AllowLoopback: true}); err != nil {
		t.Fatal(err)
	}
	if got := checkout(t, dest); got != "v2" {
		t.Errorf("checked out %s", got)
	}
}

func TestMainCommand(t *testing.T) {
	for _, args := range [][]string{
		{"file:///etc", t.TempDir()},
		{"/etc", t.TempDir()},
		{"go", t.TempDir()},
		{"ext::sh -c id", t.TempDir()},
	} {
		var out, errOut bytes.Buffer
		if code := Main(args, &out, &errOut); code != 1 {
			t.Errorf("%q: exit %d", args, code)
		}
		first, _, _ := strings.Cut(errOut.String(), "\n")
		if !strings.Contains(first, "is not allowed") && first != "not a git buildpack" {
			t.Errorf("%q: %q", args, errOut.String())
		}
	}
	srv, commits := buildpackRepo(t)
	var out, errOut bytes.Buffer
	dest := t.TempDir()
	if code := Main([]string{AllowLoopbackFlag, srv.RepoURL("bp.git") + "#v1", dest}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if out.String() != "Fetched commit "+commits["v1"]+"\n" {
		t.Errorf("output %q", out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := Main([]string{srv.RepoURL("bp.git"), t.TempDir()}, &out, &errOut); code != 1 {
		t.Errorf("loopback without the flag: exit %d", code)
	}
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "loopback address") || !strings.Contains(lines[1], "127.0.0.1") {
		t.Errorf("stderr %q: want the pusher's line, then the detail", errOut.String())
	}
}

// TestFetchSource: with History and NoCheckout (git:sync), the commit
// comes with its whole history, named refs/paas/fetched, and no file is
// written out.
func TestFetchSource(t *testing.T) {
	srv, commits := buildpackRepo(t)
	url := srv.RepoURL("bp.git")
	for _, tc := range []struct{ rev, want string }{{"", "v2"}, {"a1", "v1"}, {commits["v0"], "v0"}} {
		dest := filepath.Join(t.TempDir(), "src")
		h, err := Fetch(t.Context(), url, tc.rev, dest, Options{AllowLoopback: true, NoCheckout: true, History: true})
		if err != nil {
			t.Fatalf("rev %q: %v", tc.rev, err)
		}
		if h.String() != commits[tc.want] {
			t.Errorf("rev %q: commit %s, want %s", tc.rev, h, commits[tc.want])
		}
		if _, err := os.Stat(filepath.Join(dest, "VERSION")); err == nil {
			t.Errorf("rev %q: files written out", tc.rev)
		}
		if _, err := os.Stat(filepath.Join(dest, ".git", "shallow")); err == nil {
			t.Errorf("rev %q: shallow", tc.rev)
		}
		git := filepath.Join(dest, ".git")
		if got := gittest.Git(t, git, "rev-parse", "refs/paas/fetched"); got != commits[tc.want] {
			t.Errorf("rev %q: refs/paas/fetched is %s", tc.rev, got)
		}
		if n := gittest.Git(t, git, "rev-list", "--count", commits[tc.want]); n != map[string]string{"v0": "1", "v1": "2", "v2": "3"}[tc.want] {
			t.Errorf("rev %q: %s commits of history", tc.rev, n)
		}
	}
}
