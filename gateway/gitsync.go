package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"paas"
	"paas/buildpacks"
)

// syncFetchLimit bounds the fetch process of git:sync: the fetch's own
// limit (two minutes) and a grace period.
const syncFetchLimit = 2*time.Minute + 30*time.Second

// syncForms is what git:sync takes, its whole answer to a URL it refuses.
const syncForms = "git:sync takes a git URL https://HOST/PATH, http://HOST/PATH, ssh://HOST/PATH or USER@HOST:PATH, " +
	"and an optional branch, tag or full commit"

// cmdGitSync is `git:sync APP URL [REF]`: it fetches the commit REF names
// (a branch, a tag, a full commit id; the remote's HEAD by default) from
// a git URL, under the rules git buildpacks are fetched by, into the
// app's repo and deploys it as a push to the app's branch would. --build
// is accepted for Dokku's habit: git:sync always deploys, so that the
// app's branch always names its live commit.
func cmdGitSync(s *Server, r *request, app string, args []string) error {
	c := lookupCommand("git:sync")
	var ops []string
	for _, a := range args {
		switch {
		case a == "--build":
		case strings.HasPrefix(a, "-"):
			return usageError(c)
		default:
			ops = append(ops, a)
		}
	}
	if len(ops) < 1 || len(ops) > 2 {
		return usageError(c)
	}
	given := ops[0]
	if len(ops) == 2 {
		given += "#" + ops[1]
	}
	ref, err := buildpacks.ParseRef(given, nil)
	if err != nil || ref.Kind != buildpacks.GitRef || strings.Contains(ops[0], "#") {
		return paas.Errorf("%s", syncForms)
	}
	if len(s.cfg.SourceFetchCommand) == 0 {
		return errors.New("git:sync: no fetch command configured (Config.SourceFetchCommand)")
	}
	if _, err := s.cfg.Platform.App(r.ctx, app); err != nil {
		return err
	}
	repo := s.repoPath(app)
	if err := s.initRepo(r.ctx, repo); err != nil {
		return err
	}
	shown := redactURL(ref)
	fmt.Fprintf(r.stdout, "-----> Fetching %s\n", shown)
	commit, err := s.fetchSource(r.ctx, app, ref, repo)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "       commit %s\n", commit)
	branch, old, err := deployBranch(repo)
	if err != nil {
		return err
	}
	return s.deployCommit(r, app, repo, refUpdate{Old: old, New: commit, Ref: branch}, "git:sync "+shown, r.stdout)
}

// fetchSource runs the fetch program on ref into a directory of its own,
// then copies the commit's objects into repo. It returns the commit.
func (s *Server) fetchSource(ctx context.Context, app string, ref buildpacks.Ref, repo string) (string, error) {
	if err := os.MkdirAll(s.cfg.RunDir, 0o700); err != nil {
		return "", fmt.Errorf("making %s: %w", s.cfg.RunDir, err)
	}
	dir, err := os.MkdirTemp(s.cfg.RunDir, "sync-")
	if err != nil {
		return "", fmt.Errorf("making the fetch directory: %w", err)
	}
	defer os.RemoveAll(dir)

	fctx, cancel := context.WithTimeout(ctx, syncFetchLimit)
	defer cancel()
	argv := append(append([]string{}, s.cfg.SourceFetchCommand...), ref.Given, dir)
	cmd := exec.CommandContext(fctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &limitWriter{w: &stdout, n: 4096}, &limitWriter{w: &stderr, n: 4096}
	err = cmd.Run()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return "", ctx.Err()
	case fctx.Err() != nil:
		return "", &paas.Error{Msg: "git:sync: fetching took too long", Err: err}
	default:
		msg, detail, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		if msg == "" {
			msg = "git fetch failed"
		}
		if u, perr := url.Parse(ref.URL); perr == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				detail = strings.ReplaceAll(detail, pw, "xxxxx")
			}
		}
		s.log.Warn("git:sync fetch failed", "app", app, "url", redactURL(ref), "reason", detail, "err", err)
		return "", &paas.Error{Msg: "git:sync " + redactURL(ref) + ": " + msg, Err: err}
	}
	commit, ok := strings.CutPrefix(strings.TrimSpace(stdout.String()), "Fetched commit ")
	if !ok || !isObjectName(commit) {
		return "", fmt.Errorf("git:sync: the fetch printed %q", stdout.String())
	}
	// The commit comes with its whole history: the app's repository is
	// never shallow, so that its users can fetch and pull from it.
	imp := exec.CommandContext(ctx, "git", "-c", "uploadpack.allowAnySHA1InWant=true", "fetch", "--quiet", "--no-tags",
		"--no-write-fetch-head", "--", dir+"/.git", commit)
	imp.Dir = repo
	imp.Env = append(baseEnv(), "GIT_DIR="+repo)
	if out, err := imp.CombinedOutput(); err != nil {
		return "", fmt.Errorf("copying %s into %s: %w: %s", commit, repo, err, bytes.TrimSpace(out))
	}
	return commit, nil
}

// redactURL is ref as git:sync shows and logs it: a password or token in
// the URL masked, the branch, tag or commit after '#'.
func redactURL(ref buildpacks.Ref) string {
	shown := ref.URL
	if u, err := url.Parse(ref.URL); err == nil && u.User != nil && (ref.Scheme == "https" || ref.Scheme == "http") {
		shown = u.Redacted()
	}
	if ref.Rev != "" {
		shown += "#" + ref.Rev
	}
	return shown
}

// limitWriter keeps the first n bytes written to it and drops the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
