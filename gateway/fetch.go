package gateway

import (
	"context"
	"io"
	"os/exec"

	"paas/access"
)

// fetch serves git-upload-pack (clone, fetch, ls-remote) of an app's repo
// by running the system git upload-pack on the session.
func (s *Server) fetch(ctx context.Context, u user, arg string, stdin io.Reader, stdout, stderr io.Writer) int {
	app, err := repoArg(arg)
	if err != nil {
		return s.fail(stderr, err)
	}
	if err := s.allow(u, access.Read, appObj(app)); err != nil {
		return s.fail(stderr, err)
	}
	ctx, ls, done := s.live.start(ctx, u, access.Read, app)
	defer done()
	if _, err := s.cfg.Platform.App(ctx, app); err != nil {
		return s.fail(stderr, err)
	}
	// An app created without a push has an empty repo to clone.
	repo := s.repoPath(app)
	if err := s.initRepo(ctx, repo); err != nil {
		return s.fail(stderr, err)
	}
	cmd := exec.CommandContext(ctx, "git", "upload-pack", "--strict", "--", repo)
	cmd.Env = baseEnv()
	status := s.runGit(cmd, "upload-pack", app, stdin, stdout, stderr)
	if refusal := ls.ended(); refusal != nil {
		return s.fail(stderr, refusal)
	}
	return status
}
