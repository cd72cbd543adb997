package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
)

// fetch serves git-upload-pack (clone, fetch, ls-remote) of an app's repo
// by running the system git upload-pack on the session.
func (s *Server) fetch(ctx context.Context, arg string, stdin io.Reader, stdout, stderr io.Writer) int {
	app, err := repoArg(arg)
	if err != nil {
		return s.fail(stderr, err)
	}
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
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return s.fail(stderr, fmt.Errorf("upload-pack stdin: %w", err))
	}
	if err := cmd.Start(); err != nil {
		return s.fail(stderr, fmt.Errorf("starting git upload-pack: %w", err))
	}
	go func() {
		io.Copy(in, stdin)
		in.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		s.log.Error("git upload-pack failed", "app", app, "err", err)
		return 1
	}
	return 0
}
