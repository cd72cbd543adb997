package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"paas"
	"paas/access"
	"paas/internal/durable"
)

// repoArg turns the path argument of git-receive-pack ('APP', 'APP.git',
// '/APP' or '/APP.git') into a validated app name.
func repoArg(arg string) (string, error) {
	name := strings.TrimPrefix(arg, "/")
	name = strings.TrimSuffix(name, ".git")
	if err := paas.ValidateAppName(name); err != nil {
		return "", err
	}
	return name, nil
}

// push serves one git-receive-pack session: it makes sure the app and its
// bare repo exist, then runs the system git receive-pack on the session.
// The pre-receive hook calls back into receive through the hook socket.
// Pushing to an app that does not exist creates it (any user may create
// one); to one that does, the user must be allowed to deploy it. refused
// reports that the hook refused the push (a failed build or release, a
// refused ref): git push fails then although receive-pack exits 0.
func (s *Server) push(ctx context.Context, u user, arg string, stdin io.Reader, stdout, stderr io.Writer) (status int, refused bool) {
	app, err := repoArg(arg)
	if err != nil {
		return s.fail(stderr, err), false
	}
	if err := s.allowPush(u, app); err != nil {
		return s.fail(stderr, err), false
	}
	ctx, ls, done := s.live.start(ctx, u, access.Deploy, app)
	defer done()
	if _, err := s.cfg.Platform.EnsureApp(ctx, app, u.name); err != nil {
		return s.fail(stderr, err), false
	}
	repo := s.repoPath(app)
	if err := s.initRepo(ctx, repo); err != nil {
		return s.fail(stderr, err), false
	}
	ps := &pushSession{ctx: ctx, app: app, user: u, repo: repo}
	token, release := s.hooks.register(ps)
	defer release()

	cmd := exec.CommandContext(ctx, "git", append(fsyncConfig, "-c", "core.hooksPath="+s.hooksDir(), "-c", "receive.advertisePushOptions=true", "receive-pack", "--", repo)...)
	cmd.Env = append(baseEnv(), "PAAS_HOOK_SOCKET="+s.socketPath(), "PAAS_HOOK_TOKEN="+token)
	outWatch := &diskFullWatch{w: stdout, hooked: ps.hooked.Load}
	errWatch := &diskFullWatch{w: stderr, hooked: ps.hooked.Load}
	status = s.runGit(cmd, "receive-pack", app, stdin, outWatch, errWatch)
	s.settle(ps)
	if outWatch.seen || errWatch.seen {
		// git has removed what it received (its quarantine): the push
		// failed whole, for want of room.
		fmt.Fprintf(stderr, "paas: %s\n", paas.DiskFull)
		return 1, true
	}
	// git has fsynced the objects and refs it wrote, not the directories
	// that name them: those are synced before the push is acknowledged.
	if err := durable.SyncTree(repo, false); err != nil {
		return s.fail(stderr, err), false
	}
	if refusal := ls.ended(); refusal != nil {
		return s.fail(stderr, refusal), true
	}
	return status, ps.wasRefused()
}

// allowPush checks a push of u to app: Deploy on an app that exists,
// Create on one that does not.
func (s *Server) allowPush(u user, app string) error {
	_, exists, err := s.cfg.Platform.Relation(app, u.name)
	if err != nil {
		return fmt.Errorf("looking up %s's access to %s: %w", u.name, app, err)
	}
	a := access.Deploy
	if !exists {
		a = access.Create
	}
	return s.allow(u, a, appObj(app))
}

// settle ends a push whose release went live: the branch must name the
// live commit before the app's lock is released, so that the next push
// or change of the app starts from what is serving. git has updated the
// branch itself unless it failed to (or was stopped) after the hook; then
// the branch is moved here.
func (s *Server) settle(ps *pushSession) {
	ref, commit, unlock := ps.take()
	if unlock == nil {
		return
	}
	defer unlock()
	cur, err := refValue(ps.repo, ref)
	if err == nil && cur == commit {
		return
	}
	s.log.Warn("branch did not follow the live release; moving it", "app", ps.app, "ref", ref, "commit", commit, "was", cur, "err", err)
	cmd := exec.Command("git", append(fsyncConfig, "update-ref", "-m", "paas: the live release", ref, commit)...)
	cmd.Dir = ps.repo
	cmd.Env = append(baseEnv(), "GIT_DIR="+ps.repo)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.log.Error("moving branch to the live release failed", "app", ps.app, "ref", ref, "err", err, "output", string(bytes.TrimSpace(out)))
	}
}

// refValue returns the object name ref points at in repo, or "" when the
// ref does not exist.
func refValue(repo, ref string) (string, error) {
	cmd := exec.Command("git", "rev-parse", "--verify", "--quiet", ref)
	cmd.Dir = repo
	cmd.Env = append(baseEnv(), "GIT_DIR="+repo)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", ref, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// checkRef refuses a push whose branch moved since the pusher's git read
// it: another push went live meanwhile, and this one was made without it.
func checkRef(repo string, u refUpdate) error {
	cur, err := refValue(repo, u.Ref)
	if err != nil {
		return err
	}
	want := u.Old
	if isZero(want) {
		want = ""
	}
	if cur == want {
		return nil
	}
	branch := strings.TrimPrefix(u.Ref, "refs/heads/")
	if cur == "" {
		return paas.Errorf("rejected: %s was deleted while this push waited (fetch first, then push again)", branch)
	}
	return paas.Errorf("rejected: %s moved to %.7s (another push) while this push waited (fetch first: git pull, then push again)", branch, cur)
}

// runGit runs a git service (receive-pack, upload-pack) with the session
// as its stdin and stdout, and returns its exit status.
func (s *Server) runGit(cmd *exec.Cmd, service, app string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return s.fail(stderr, fmt.Errorf("%s stdin: %w", service, err))
	}
	if err := cmd.Start(); err != nil {
		return s.fail(stderr, fmt.Errorf("starting git %s: %w", service, err))
	}
	// The copy is not waited for: it ends when git closes its stdin or
	// when the session ends, whichever comes first.
	go func() {
		io.Copy(in, stdin)
		in.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		s.log.Error("git failed", "service", service, "app", app, "err", err)
		return 1
	}
	return 0
}

// initRepo creates the bare repository at repo unless it exists.
func (s *Server) initRepo(ctx context.Context, repo string) error {
	s.initMu.Lock()
	defer s.initMu.Unlock()
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, "git", "init", "--quiet", "--bare", "--initial-branch=main", "--", repo)
	cmd.Env = baseEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git init --bare %s: %w: %s", repo, err, bytes.TrimSpace(out))
	}
	// git init syncs nothing: a crash could leave a repo without HEAD,
	// or none at all, under an app that exists.
	if err := durable.SyncTree(repo, true); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(repo))
}

// fsyncConfig are the options of every git command that writes an app's
// repo: objects, packs and refs are fsynced before git reports them
// written (git 2.36 and later), whatever the repo's own config says.
var fsyncConfig = []string{"-c", "core.fsync=committed,index", "-c", "core.fsyncMethod=fsync"}

// baseEnv is the environment of every git command the gateway runs.
func baseEnv() []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	env := []string{"PATH=" + path}
	if home := os.Getenv("HOME"); home != "" {
		env = append(env, "HOME="+home)
	}
	return env
}

// refUpdate is one "OLD NEW REF" line of a push.
type refUpdate struct {
	Old, New, Ref string
}

func parseRefLine(line string) (refUpdate, error) {
	f := strings.Fields(line)
	if len(f) != 3 || !isObjectName(f[0]) || !isObjectName(f[1]) {
		return refUpdate{}, fmt.Errorf("bad ref update line %q", line)
	}
	return refUpdate{Old: f[0], New: f[1], Ref: f[2]}, nil
}

func isObjectName(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func isZero(name string) bool { return strings.Trim(name, "0") == "" }

// deployRef checks the pushed refs and returns the one to deploy. Deleting
// a ref and pushing anything but main or master are refused.
func deployRef(lines []string) (refUpdate, error) {
	var deploy []refUpdate
	for _, line := range lines {
		u, err := parseRefLine(line)
		if err != nil {
			return refUpdate{}, err
		}
		if isZero(u.New) {
			return refUpdate{}, paas.Errorf("deleting branch %s is not allowed", strings.TrimPrefix(u.Ref, "refs/heads/"))
		}
		if u.Ref != "refs/heads/main" && u.Ref != "refs/heads/master" {
			return refUpdate{}, paas.Errorf("pushed %s; push to main (or master) to deploy", u.Ref)
		}
		deploy = append(deploy, u)
	}
	switch len(deploy) {
	case 0:
		return refUpdate{}, paas.Errorf("nothing to deploy")
	case 1:
		return deploy[0], nil
	default:
		return refUpdate{}, paas.Errorf("pushed both main and master; push one of them to deploy")
	}
}

// receive runs on the server side of the hook: it deploys the pushed commit
// of the push session ps, streaming build output to out.
func (s *Server) receive(ps *pushSession, req hookRequest, out io.Writer) error {
	// Asked again: access may have been taken away since the push began.
	if err := s.allow(ps.user, access.Deploy, appObj(ps.app)); err != nil {
		return err
	}
	u, err := deployRef(req.Refs)
	if err != nil {
		return err
	}
	env, err := quarantineEnv(ps.repo, req.Env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ps.ctx)
	defer cancel()
	for _, o := range req.Options {
		switch o {
		case "no-wait":
			ctx = paas.WithNoWait(ctx)
		default:
			return paas.Errorf("unknown push option %q (known: no-wait)", o)
		}
	}
	src, err := startArchive(ctx, ps.repo, u.New, env)
	if err != nil {
		return err
	}
	defer src.close()
	s.log.Info("deploying", "app", ps.app, "commit", u.New, "by", ps.user.name)
	err = s.cfg.Platform.Deploy(ctx, DeployRequest{
		App: ps.app, Commit: u.New, Source: src, Out: out, By: ps.user.name,
		Check: func() error { return checkRef(ps.repo, u) },
		Keep: func(unlock func()) {
			if !ps.keep(u.Ref, u.New, unlock) {
				s.settle(ps)
			}
		},
	})
	if err != nil {
		return err
	}
	if s.cfg.AppURL != nil {
		fmt.Fprintf(out, "-----> Deployed %s to %s\n", ps.app, s.cfg.AppURL(ps.app))
	}
	return nil
}

// quarantineEnv returns the env for git commands that must see the objects
// of a push not yet accepted: GIT_DIR is the repo itself and the object
// directories sent by the hook must lie inside it.
func quarantineEnv(repo string, hookEnv map[string]string) ([]string, error) {
	env := append(baseEnv(), "GIT_DIR="+repo)
	for _, k := range []string{"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"} {
		v, ok := hookEnv[k]
		if !ok {
			continue
		}
		for _, p := range filepath.SplitList(v) {
			if !within(repo, p) {
				return nil, fmt.Errorf("hook sent %s=%q outside the repository", k, v)
			}
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

func within(dir, p string) bool {
	if !filepath.IsAbs(p) {
		return false
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// archive is the tar stream of one commit, read from git archive. Reading
// past the end reports git's failure, if any, instead of a clean EOF.
type archive struct {
	cmd    *exec.Cmd
	r      io.ReadCloser
	stderr bytes.Buffer
	once   sync.Once
	err    error
}

func startArchive(ctx context.Context, repo, commit string, env []string) (*archive, error) {
	a := &archive{}
	a.cmd = exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	a.cmd.Dir = repo
	a.cmd.Env = env
	a.cmd.Stderr = &a.stderr
	r, err := a.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("git archive: %w", err)
	}
	a.r = r
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting git archive: %w", err)
	}
	return a, nil
}

func (a *archive) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err == io.EOF {
		if werr := a.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (a *archive) wait() error {
	a.once.Do(func() {
		if err := a.cmd.Wait(); err != nil {
			a.err = fmt.Errorf("git archive: %w: %s", err, bytes.TrimSpace(a.stderr.Bytes()))
		}
	})
	return a.err
}

// close stops git archive if the reader did not read to the end.
func (a *archive) close() {
	a.cmd.Process.Kill()
	a.wait()
}
