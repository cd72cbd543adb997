package gateway

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"paas/builder/gitfetch"
	"paas/internal/syncbuf"
)

const hookArg = "__paas_test_hook"

// TestMain lets the test binary serve as the pre-receive hook program and
// as the fetch program of git:sync.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == hookArg {
		os.Exit(RunHook(os.Stdin, os.Stdout, os.Stderr, os.Environ()))
	}
	gitfetch.Exit(os.Args)
	os.Exit(m.Run())
}

type env struct {
	t        *testing.T
	s        *Server
	f        *fakePlatform
	dir      string
	key      string // private key file of "alice"
	otherKey string // a key the platform does not know
	port     string
	log      *syncbuf.Buffer // the server's log
}

func requireTools(t *testing.T) {
	for _, tool := range []string{"git", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

func genKey(t *testing.T, path string) gossh.PublicKey {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func startServer(t *testing.T) *env {
	t.Helper()
	return startServerWith(t, nil)
}

// startServerWith starts a server whose Config change may adjust first.
func startServerWith(t *testing.T, change func(*Config)) *env {
	t.Helper()
	requireTools(t)
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := newFakePlatform()
	e := &env{t: t, f: f, dir: dir, key: filepath.Join(dir, "alice"), otherKey: filepath.Join(dir, "mallory"), log: &syncbuf.Buffer{}}
	f.keys[gossh.FingerprintSHA256(genKey(t, e.key))] = "alice"
	genKey(t, e.otherKey)
	cfg := Config{
		Addr:        "127.0.0.1:0",
		HostKeyFile: filepath.Join(dir, "host_key"),
		ReposDir:    filepath.Join(dir, "repos"),
		RunDir:      filepath.Join(dir, "run"),
		HookCommand: []string{exe, hookArg},
		AppURL:      func(app string) string { return "http://" + app + ".example.test" },
		Platform:    f,
		Logger:      slog.New(slog.NewTextHandler(e.log, nil)),
	}
	if change != nil {
		change(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	e.s = s
	_, e.port, _ = strings.Cut(s.Addr().String(), "127.0.0.1:")
	return e
}

func (e *env) sshArgs(key string) []string {
	return []string{"-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-F", "/dev/null"}
}

// ssh runs the OpenSSH client with extra options and a command line.
func (e *env) ssh(stdin string, opts []string, command ...string) (status int, stdout, stderr string) {
	e.t.Helper()
	args := append(e.sshArgs(e.key), "-p", e.port)
	args = append(args, opts...)
	args = append(args, "paas@127.0.0.1")
	args = append(args, command...)
	cmd := exec.Command("ssh", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			e.t.Fatalf("ssh: %v", err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// gitEnv is the environment for git in the work repo: no user config, our
// ssh options.
func (e *env) gitEnv(key string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.dir,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.test",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.test",
		"GIT_SSH_COMMAND=ssh " + strings.Join(e.sshArgs(key), " "),
	}
}

func (e *env) url(app string) string {
	return fmt.Sprintf("ssh://paas@127.0.0.1:%s/%s", e.port, app)
}

// git runs git in dir and returns its combined output; a failure is
// returned, not fatal.
func (e *env) git(dir string, args ...string) (string, error) {
	e.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = e.gitEnv(e.key)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *env) mustGit(dir string, args ...string) string {
	e.t.Helper()
	out, err := e.git(dir, args...)
	if err != nil {
		e.t.Fatalf("git %q: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(out)
}

// workRepo makes a work tree with one commit.
func (e *env) workRepo(name string, files map[string]string) string {
	e.t.Helper()
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	e.mustGit(dir, "init", "-q", "-b", "main")
	e.commit(dir, files)
	return dir
}

func (e *env) commit(dir string, files map[string]string) string {
	e.t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	e.mustGit(dir, "add", "-A")
	e.mustGit(dir, "commit", "-q", "-m", "change")
	return e.mustGit(dir, "rev-parse", "HEAD")
}

// remoteRef returns the commit ref points to in the app's bare repo, or ""
// when it does not exist.
func (e *env) remoteRef(app, ref string) string {
	cmd := exec.Command("git", "--git-dir", e.s.repoPath(app), "rev-parse", "--verify", "-q", ref)
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

func TestPushDeploys(t *testing.T) {
	e := startServer(t)
	work := e.workRepo("work", map[string]string{"app.py": "print(1)\n", "Procfile": "web: python3 app.py\n"})
	head1 := e.mustGit(work, "rev-parse", "HEAD")
	e.mustGit(work, "remote", "add", "paas", e.url("my-app"))

	// First push creates the app and the repo and deploys.
	out := e.mustGit(work, "push", "paas", "main")
	if !strings.Contains(out, "remote: -----> step one") || !strings.Contains(out, "remote: -----> Deployed my-app to http://my-app.example.test") {
		t.Errorf("push output lacks build output:\n%s", out)
	}
	d := e.f.deployList()
	if len(d) != 1 || d[0].App != "my-app" || d[0].Commit != head1 || d[0].By != "alice" || d[0].Files["app.py"] != "print(1)\n" {
		t.Fatalf("deploys = %+v", d)
	}
	if _, err := e.f.App(context.Background(), "my-app"); err != nil {
		t.Fatalf("app not created: %v", err)
	}
	if got := e.remoteRef("my-app", "refs/heads/main"); got != head1 {
		t.Fatalf("remote main = %q, want %q", got, head1)
	}

	// Second push: a thin pack on top of the first.
	head2 := e.commit(work, map[string]string{"app.py": "print(2)\n"})
	e.mustGit(work, "push", "paas", "main")
	d = e.f.deployList()
	if len(d) != 2 || d[1].Commit != head2 || d[1].Files["app.py"] != "print(2)\n" || d[1].Files["Procfile"] == "" {
		t.Fatalf("second deploy = %+v", d)
	}

	// No-op push: nothing deployed.
	out = e.mustGit(work, "push", "paas", "main")
	if !strings.Contains(out, "Everything up-to-date") || len(e.f.deployList()) != 2 {
		t.Errorf("no-op push deployed or said:\n%s", out)
	}

	// Force push of a diverging history.
	e.mustGit(work, "reset", "-q", "--hard", head1)
	head3 := e.commit(work, map[string]string{"app.py": "print(3)\n"})
	if _, err := e.git(work, "push", "paas", "main"); err == nil {
		t.Error("non-fast-forward push without --force succeeded")
	}
	e.mustGit(work, "push", "--force", "paas", "main")
	d = e.f.deployList()
	if len(d) != 3 || d[2].Commit != head3 || d[2].Files["app.py"] != "print(3)\n" {
		t.Fatalf("force push deploy = %+v", d)
	}
	if got := e.remoteRef("my-app", "refs/heads/main"); got != head3 {
		t.Fatalf("remote main after force push = %q, want %q", got, head3)
	}

	// Deleting the branch is refused.
	out, err := e.git(work, "push", "paas", ":main")
	if err == nil || !strings.Contains(out, "remote: paas: deleting branch main is not allowed") {
		t.Errorf("delete: err %v, output:\n%s", err, out)
	}
	if got := e.remoteRef("my-app", "refs/heads/main"); got != head3 {
		t.Errorf("remote main after refused delete = %q", got)
	}

	// Another branch is refused, before anything is built.
	out, err = e.git(work, "push", "paas", "main:feature")
	if err == nil || !strings.Contains(out, "remote: paas: pushed refs/heads/feature; push to main (or master) to deploy") {
		t.Errorf("feature push: err %v, output:\n%s", err, out)
	}
	if got := e.remoteRef("my-app", "refs/heads/feature"); got != "" || len(e.f.deployList()) != 3 {
		t.Errorf("feature push left ref %q, deploys %d", got, len(e.f.deployList()))
	}

	// A failed deploy rejects the push and leaves main where it was.
	e.commit(work, map[string]string{"FAIL": "build exploded"})
	out, err = e.git(work, "push", "paas", "main")
	if err == nil || !strings.Contains(out, "remote: -----> build failed") || !strings.Contains(out, "remote: paas: build exploded") {
		t.Errorf("failing push: err %v, output:\n%s", err, out)
	}
	if got := e.remoteRef("my-app", "refs/heads/main"); got != head3 {
		t.Errorf("remote main after failed deploy = %q, want %q", got, head3)
	}

	// Pushing master deploys too.
	if err := os.Remove(filepath.Join(work, "FAIL")); err != nil {
		t.Fatal(err)
	}
	head4 := e.commit(work, map[string]string{"app.py": "print(4)\n"})
	e.mustGit(work, "push", "paas", "main:master")
	if d = e.f.deployList(); len(d) != 4 || d[3].Commit != head4 {
		t.Errorf("master push deploys = %+v", d)
	}
}

func TestPushOutputIsLive(t *testing.T) {
	e := startServer(t)
	work := e.workRepo("work", map[string]string{"a": "1"})
	gate := make(chan struct{})
	e.f.gate = gate
	cmd := exec.Command("git", "push", "--progress", e.url("live"), "main")
	cmd.Dir = work
	cmd.Env = e.gitEnv(e.key)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Deploy waits on the gate after writing "step one": the line must
	// reach the pusher before the deploy ends.
	sc := bufio.NewScanner(stderr)
	sc.Split(scanLinesOrCR)
	seen := false
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if !seen && strings.Contains(sc.Text(), "remote: -----> step one") {
			seen = true
			close(gate)
		}
	}
	if err := cmd.Wait(); err != nil || !seen {
		t.Fatalf("push: %v, saw step one: %v\n%s", err, seen, strings.Join(lines, "\n"))
	}
}

// scanLinesOrCR splits at \n or \r (git's progress lines end in \r).
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func TestPushBadAppName(t *testing.T) {
	e := startServer(t)
	work := e.workRepo("work", map[string]string{"a": "1"})
	for _, name := range []string{"Bad_Name", "../escape", "x/y"} {
		out, err := e.git(work, "push", e.url(name), "main")
		if err == nil || !strings.Contains(out, "paas: invalid app name") {
			t.Errorf("push to %q: err %v, output:\n%s", name, err, out)
		}
	}
	entries, _ := os.ReadDir(e.s.cfg.ReposDir)
	if len(entries) != 0 || len(e.f.apps) != 0 {
		t.Errorf("bad push created %d repo entries, %d apps", len(entries), len(e.f.apps))
	}
	if _, err := os.Stat(filepath.Join(e.dir, "escape.git")); err == nil {
		t.Error("repo created outside ReposDir")
	}
}

func TestConcurrentPushes(t *testing.T) {
	e := startServer(t)
	var wg sync.WaitGroup
	for i := range 3 {
		app := fmt.Sprintf("app-%d", i)
		work := e.workRepo(app, map[string]string{"name": app})
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("git", "push", e.url(app), "main")
			cmd.Dir = work
			cmd.Env = e.gitEnv(e.key)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("push %s: %v\n%s", app, err, out)
			}
		}()
	}
	wg.Wait()
	d := e.f.deployList()
	if len(d) != 3 {
		t.Fatalf("deploys = %d", len(d))
	}
	for _, dep := range d {
		if dep.Files["name"] != dep.App {
			t.Errorf("deploy of %s got the source of %s", dep.App, dep.Files["name"])
		}
	}
}

func TestUnknownKeyDenied(t *testing.T) {
	e := startServer(t)
	args := append(e.sshArgs(e.otherKey), "-p", e.port, "paas@127.0.0.1", "apps")
	out, err := exec.Command("ssh", args...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("unknown key: err %v, output %s", err, out)
	}
	// The refusal is logged with the key's fingerprint, for an admin to
	// add it.
	pub, err := os.ReadFile(e.otherKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	fp := gossh.FingerprintSHA256(pk)
	waitUntil(t, "the refused login is logged", func() bool {
		return strings.Contains(e.log.String(), "refused a login") && strings.Contains(e.log.String(), fp)
	})
}

func TestSSHCommands(t *testing.T) {
	e := startServer(t)
	if st, out, errs := e.ssh("", nil, "apps:create", "web-app"); st != 0 || !strings.HasPrefix(out, "Created web-app\n") {
		t.Fatalf("apps:create: %d %q %q", st, out, errs)
	}
	// The command line is split by shell rules, and never expanded.
	if st, _, errs := e.ssh("", nil, "config:set web-app 'GREETING=hello $(world)' X=1"); st != 0 {
		t.Fatalf("config:set: %d %q", st, errs)
	}
	if st, out, _ := e.ssh("", nil, "config:get web-app GREETING"); st != 0 || out != "hello $(world)\n" {
		t.Errorf("config:get: %d %q", st, out)
	}
	// run: the exit status and stdin are passed through.
	if st, _, _ := e.ssh("", nil, "run web-app -- exit 42"); st != 42 {
		t.Errorf("run exit 42: status %d", st)
	}
	if st, out, _ := e.ssh("piped\ninput\n", nil, "run web-app cat"); st != 0 || out != "piped\ninput\n" {
		t.Errorf("run cat: %d %q", st, out)
	}
	if st, out, _ := e.ssh("", []string{"-tt"}, "run web-app tty"); st != 0 || !strings.Contains(out, "tty=true term=") {
		t.Errorf("run with pty: %d %q", st, out)
	}
	// Errors: one line, exit 1.
	for _, cmd := range []string{"frobnicate", "config nope", "config", "config:get web-app MISSING", "'unterminated"} {
		st, _, errs := e.ssh("", nil, cmd)
		if st != 1 || !strings.HasPrefix(errs, "paas: ") || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: status %d, stderr %q", cmd, st, errs)
		}
	}
	// A shell is refused.
	if st, _, errs := e.ssh("", []string{"-T"}); st != 1 || errs != "paas: interactive shells are not supported; try \"help\"\n" {
		t.Errorf("shell: status %d, stderr %q", st, errs)
	}
	// The app's repo can be cloned; an unknown app's cannot.
	if out, err := e.git(e.dir, "clone", e.url("web-app"), filepath.Join(e.dir, "clone")); err != nil {
		t.Errorf("clone: err %v, output %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "clone", ".git")); err != nil {
		t.Errorf("clone made no repo: %v", err)
	}
	if out, err := e.git(e.dir, "clone", e.url("no-such-app"), filepath.Join(e.dir, "clone2")); err == nil || !strings.Contains(out, "not found") {
		t.Errorf("clone of unknown app: err %v, output %s", err, out)
	}
}

// TestBranchFollowsLiveRelease makes git fail to move the branch after
// the release went live (a reference-transaction hook aborts the update):
// the gateway moves it itself before it releases the app's lock, so the
// branch names what serves.
func TestBranchFollowsLiveRelease(t *testing.T) {
	e := startServer(t)
	work := e.workRepo("work", map[string]string{"app.py": "print(1)\n"})
	e.mustGit(work, "remote", "add", "paas", e.url("moved"))
	e.mustGit(work, "push", "paas", "main")
	head := e.commit(work, map[string]string{"app.py": "print(2)\n"})

	hook := filepath.Join(e.s.hooksDir(), "reference-transaction")
	script := "#!/bin/sh\n[ \"$1\" = prepared ] && grep -q refs/heads/main && exit 1\nexit 0\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := e.git(work, "push", "paas", "main")
	os.Remove(hook)
	if err == nil || !strings.Contains(out, "remote: -----> Deployed moved") {
		t.Fatalf("push whose ref update git aborted after the deploy: err %v\n%s", err, out)
	}
	if got := e.remoteRef("moved", "refs/heads/main"); got != head {
		t.Errorf("main = %q after the release of %s went live", got, head)
	}
	e.f.mu.Lock()
	kept := e.f.kept
	e.f.mu.Unlock()
	if kept != 0 {
		t.Errorf("%d app locks still held after the push ended", kept)
	}
}

// TestClientGrammarOverSSH: a session that sets PAAS_CLIENT=1 (as the paas
// client does) gets usage lines in the client's grammar; any other
// environment is refused and changes nothing.
func TestClientGrammarOverSSH(t *testing.T) {
	e := startServer(t)
	if st, _, errs := e.ssh("", nil, "apps:create", "web-app"); st != 0 {
		t.Fatalf("apps:create: %d %q", st, errs)
	}
	for _, tc := range []struct {
		opts []string
		want string
	}{
		{nil, "paas: usage: config:set APP KEY=VALUE... | < .env\n"},
		{[]string{"-o", "SetEnv=PAAS_CLIENT=1"}, "paas: usage: paas config:set KEY=VALUE... | --file .env [-a APP]\n"},
		{[]string{"-o", "SetEnv=PAAS_CLIENT=yes"}, "paas: usage: config:set APP KEY=VALUE... | < .env\n"},
		{[]string{"-o", "SetEnv=LANG=C"}, "paas: usage: config:set APP KEY=VALUE... | < .env\n"},
	} {
		if st, out, errs := e.ssh("", tc.opts, "config:set", "web-app"); st != 1 || out != "" || errs != tc.want {
			t.Errorf("%q: status %d, stdout %q, stderr %q, want %q", tc.opts, st, out, errs, tc.want)
		}
	}
	if st, _, errs := e.ssh("", nil, "log", "web-app"); st != 1 || errs != "paas: unknown command \"log\". Did you mean logs?\n" {
		t.Errorf("log: status %d, stderr %q", st, errs)
	}
}
