// Package e2e runs the real paasd and paas binaries against the real git
// and OpenSSH clients: pushes, SSH commands and HTTP through the router.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"paas/internal/syncbuf"
)

var binDir string

func TestMain(m *testing.M) {
	for _, tool := range []string{"git", "ssh", "ssh-keygen", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s not found: install it (see .ci/run)\n", tool)
			os.Exit(1)
		}
	}
	dir, err := os.MkdirTemp("", "paas-e2e-bin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	// A root paasd's apps run as users of their own; static apps copy
	// the paasd binary, so they must be able to read it.
	if err := os.Chmod(dir, 0o755); err != nil {
		panic(err)
	}
	for _, name := range []string{"paasd", "paas"} {
		// The paastest tag lets a test allow what no other paasd does (see
		// cmd/paasd/sourcefetch.go).
		cmd := exec.Command("go", "build", "-tags", "paastest", "-o", filepath.Join(dir, name), "paas/cmd/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building %s: %v\n", name, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running paasd.
type server struct {
	t        *testing.T
	cmd      *exec.Cmd
	dataDir  string
	keyFile  string
	sshAddr  string
	httpAddr string
	out      *syncbuf.Buffer
	done     chan struct{}
	wrap     []string // runs paasd (nil: run directly)
}

// startServer starts paasd on loopback ports with a fresh data dir and a
// fresh admin key.
func startServer(t *testing.T, extraEnv ...string) *server {
	t.Helper()
	return startServerVia(t, nil, extraEnv...)
}

// startServerVia is startServer with paasd run through wrap, a command
// and its arguments that run the rest (such as ip netns exec NS).
func startServerVia(t *testing.T, wrap []string, extraEnv ...string) *server {
	t.Helper()
	s := newServer(t)
	s.wrap = wrap
	s.start(extraEnv...)
	return s
}

// start starts a server newServer prepared, as startServer does.
func (s *server) start(extraEnv ...string) {
	t := s.t
	t.Helper()
	s.launch(append([]string{"PAAS_SSH_ADDR=127.0.0.1:0", "PAAS_HTTP_ADDR=127.0.0.1:0", "PAAS_HTTPS_ADDR=127.0.0.1:0"}, extraEnv...))
	t.Cleanup(func() {
		s.destroyAll()
		s.stop()
		if t.Failed() {
			t.Logf("paasd output:\n%s", s.out.String())
		}
	})
}

// newServer prepares a paasd's data dir (not made yet) and admin key
// without starting it.
func newServer(t *testing.T) *server {
	t.Helper()
	root := t.TempDir()
	// A root paasd's apps run as users of their own, which must pass
	// through the test's directories to their slugs (paasd checks).
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{t: t, dataDir: filepath.Join(root, "data"), keyFile: filepath.Join(root, "id_ed25519")}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tester", "-f", s.keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return s
}

// successor starts another paasd on the same data dir, key and addresses,
// while s may still run (it then hands over to the new one).
func (s *server) successor(extraEnv ...string) *server {
	s.t.Helper()
	n := &server{t: s.t, dataDir: s.dataDir, keyFile: s.keyFile}
	// A running predecessor hands over its HTTPS listener; without one,
	// any free port.
	n.launch(append([]string{"PAAS_SSH_ADDR=" + s.sshAddr, "PAAS_HTTP_ADDR=" + s.httpAddr, "PAAS_HTTPS_ADDR=127.0.0.1:0"}, extraEnv...))
	s.t.Cleanup(func() {
		n.destroyAll()
		n.stop()
		if s.t.Failed() {
			s.t.Logf("successor paasd output:\n%s", n.out.String())
		}
	})
	return n
}

// paasdEnv is the environment paasd runs with: the test's settings, then
// env, whose entries win.
func (s *server) paasdEnv(env ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Dir(s.keyFile),
		"PAAS_DATA_DIR=" + s.dataDir,
		"PAAS_DOMAIN=localhost",
		"PAAS_AUTHORIZED_KEYS=" + s.keyFile + ".pub",
		"PAAS_LOG_FORMAT=json",
		"PAAS_STOP_TIMEOUT=5s",
		"GOPROXY=" + os.Getenv("GOPROXY"),
		"GOFLAGS=" + os.Getenv("GOFLAGS"),
		"PAAS_CANARY_SECRET=do-not-leak",
		"PAAS_STACK_IMAGE=" + stackImage(),
		"DOCKER_HOST=" + os.Getenv("DOCKER_HOST"),
	}, env...)
}

// launch starts the paasd process and waits until it listens.
func (s *server) launch(env []string) {
	t := s.t
	t.Helper()
	s.out, s.done = &syncbuf.Buffer{}, make(chan struct{})
	s.cmd = exec.Command(filepath.Join(binDir, "paasd"))
	if len(s.wrap) > 0 {
		s.cmd = exec.Command(s.wrap[0], append(s.wrap[1:], filepath.Join(binDir, "paasd"))...)
	}
	s.cmd.Env = s.paasdEnv(env...)
	pr, pw := io.Pipe()
	s.cmd.Stdout = io.MultiWriter(s.out, pw)
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := s.done
	go func() {
		s.cmd.Wait()
		pw.Close()
		close(done)
	}()
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "listening" && !sent {
				addrs <- [2]string{fmt.Sprint(rec["ssh"]), fmt.Sprint(rec["http"])}
				sent = true
			}
		}
	}()
	select {
	case a := <-addrs:
		s.sshAddr, s.httpAddr = a[0], a[1]
	case <-done:
		t.Fatalf("paasd exited at start:\n%s", s.out.String())
	case <-time.After(120 * time.Second):
		t.Fatalf("paasd did not start:\n%s", s.out.String())
	}
}

// destroyAll destroys every app, so that a docker runtime leaves no
// containers, images or volumes behind.
func (s *server) destroyAll() {
	select {
	case <-s.done:
		return
	default:
	}
	r := s.ssh("apps --json")
	var apps []struct{ Name string }
	if err := json.Unmarshal([]byte(r.stdout), &apps); r.code == 0 && err != nil {
		s.t.Errorf("apps --json: %v: %s%s", err, r.stdout, r.stderr)
	}
	for _, a := range apps {
		app := a.Name
		if r := s.ssh("apps:destroy " + app + " --confirm " + app); r.code != 0 {
			s.t.Errorf("destroying %s: %s", app, r.stderr)
		}
	}
	// Add-ons outlive their apps: they go too.
	r = s.ssh("addons")
	for i, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Fields(line)
		if r.code != 0 || i == 0 || len(f) == 0 {
			continue
		}
		if r := s.ssh("addons:destroy " + f[0] + " --confirm " + f[0] + " --detach"); r.code != 0 {
			s.t.Errorf("destroying add-on %s: %s", f[0], r.stderr)
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		s.t.Errorf("paasd did not stop within 30s of SIGTERM")
	}
}

func (s *server) port() string {
	_, p, _ := net.SplitHostPort(s.sshAddr)
	return p
}

// host is the address SSH is served on.
func (s *server) host() string {
	h, _, _ := net.SplitHostPort(s.sshAddr)
	if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
		// Listening on every address: reach it on loopback.
		return "127.0.0.1"
	}
	return h
}

// sshCommand is the ssh client invocation for this server's key.
func (s *server) sshCommand() string {
	return "ssh -i " + s.keyFile + " -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}

// env is the environment for git and paas client runs.
func (s *server) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Dir(s.keyFile),
		"GIT_SSH_COMMAND=" + s.sshCommand(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_NOSYSTEM=1",
	}
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs a command with the server's env in dir, with stdin.
func (s *server) run(dir, stdin string, name string, args ...string) result {
	s.t.Helper()
	r, err := s.command(dir, stdin, name, args...)
	if err != nil {
		s.t.Fatalf("running %s: %v", name, err)
	}
	return r
}

// runQuiet is run without failing the test from another goroutine: a
// command that cannot start has code -1.
func (s *server) runQuiet(dir string, name string, args ...string) result {
	r, err := s.command(dir, "", name, args...)
	if err != nil {
		r.code = -1
	}
	return r
}

// command runs name in dir with the client environment; err is set only
// when it could not run at all.
func (s *server) command(dir, stdin string, name string, args ...string) (result, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = s.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return result{out.String(), errb.String(), ee.ExitCode()}, nil
	}
	return result{out.String(), errb.String(), 0}, err
}

// ssh runs one server command over the real OpenSSH client; args are
// passed to ssh as the remote command words.
func (s *server) ssh(command string) result {
	s.t.Helper()
	args := append(strings.Fields(s.sshCommand())[1:], "-p", s.port(), "paas@"+s.host(), command)
	return s.run("", "", "ssh", args...)
}

// paas runs the paas client in dir.
func (s *server) paas(dir, stdin string, args ...string) result {
	s.t.Helper()
	return s.run(dir, stdin, filepath.Join(binDir, "paas"), args...)
}

// newRepo copies a test app into a fresh git repo with a paas remote for
// app and commits it.
func (s *server) newRepo(appDir, app string) string {
	s.t.Helper()
	dir := filepath.Join(s.t.TempDir(), app)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "apps", appDir))); err != nil {
		s.t.Fatal(err)
	}
	s.git(dir, "init", "-q", "-b", "main")
	s.git(dir, "remote", "add", "paas", fmt.Sprintf("ssh://paas@%s:%s/%s", s.host(), s.port(), app))
	s.commitAll(dir, "initial")
	return dir
}

func (s *server) git(dir string, args ...string) result {
	s.t.Helper()
	r := s.run(dir, "", "git", args...)
	if r.code != 0 {
		s.t.Fatalf("git %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

func (s *server) commitAll(dir, msg string) {
	s.t.Helper()
	s.git(dir, "add", "-A")
	s.git(dir, "commit", "-q", "-m", msg)
}

// push runs git push and returns its result (git writes progress and the
// remote's output to stderr).
func (s *server) push(dir string, args ...string) result {
	s.t.Helper()
	return s.run(dir, "", "git", append([]string{"push"}, args...)...)
}

// get fetches path from app through the router.
func (s *server) get(app, path string) (int, string, http.Header) {
	s.t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.httpAddr+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Host = app + ".localhost"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		s.t.Fatalf("GET %s%s: %v", app, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// mustGet fetches path and requires 200 with a body containing want.
func (s *server) mustGet(app, path, want string) string {
	s.t.Helper()
	code, body, _ := s.get(app, path)
	if code != 200 || !strings.Contains(body, want) {
		s.t.Fatalf("GET %s.localhost%s = %d %q, want 200 containing %q", app, path, code, body, want)
	}
	return body
}

// requireOK fails with the command's output when it did not exit 0.
func requireOK(t *testing.T, what string, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.stdout, r.stderr)
	}
}

// requireFail checks a command failed with exactly one line on stderr
// containing want.
func requireFail(t *testing.T, what string, r result, want string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("%s: succeeded, want failure\nstdout:\n%s", what, r.stdout)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("%s: stderr %q, want one line containing %q", what, r.stderr, want)
	}
}
