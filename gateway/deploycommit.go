package gateway

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"

	"paas/access"
)

// deployBranch is the branch a deploy that is not a push (git:sync,
// git:from-archive) moves: main, or master when the app was pushed to
// master only. It returns the ref and its value, "" when it does not
// exist yet.
func deployBranch(repo string) (ref, old string, err error) {
	main, err := refValue(repo, "refs/heads/main")
	if err != nil || main != "" {
		return "refs/heads/main", main, err
	}
	master, err := refValue(repo, "refs/heads/master")
	if err != nil || master != "" {
		return "refs/heads/master", master, err
	}
	return "refs/heads/main", "", nil
}

// deployCommit deploys commit, whose objects are in app's repo already,
// as a push of it to u.Ref would be: under the app's lock, refused when
// the branch moved from u.Old meanwhile, with the same build output on
// out, and the branch moved to the commit once its release is live,
// before the lock is released. why is the reflog's message.
func (s *Server) deployCommit(r *request, app, repo string, u refUpdate, why string, out io.Writer) error {
	if err := s.allow(r.user, access.Deploy, appObj(app)); err != nil {
		return err
	}
	src, err := startArchive(r.ctx, repo, u.New, append(baseEnv(), "GIT_DIR="+repo))
	if err != nil {
		return err
	}
	defer src.close()
	s.log.Info("deploying", "app", app, "commit", u.New, "by", r.by, "from", why)
	var moveErr error
	var unlock func()
	err = s.cfg.Platform.Deploy(r.ctx, DeployRequest{
		App: app, Commit: u.New, Source: src, Out: out, By: r.by,
		Check: func() error { return checkRef(repo, u) },
		Keep: func(release func()) {
			moveErr = moveRef(repo, u, why)
			unlock = release
		},
	})
	if unlock != nil {
		// Released once Deploy has returned: the branch names the live
		// commit by then.
		unlock()
	}
	if err != nil {
		return err
	}
	if moveErr != nil {
		// The release is live; the branch is the operator's to fix.
		s.log.Error("moving branch to the live release failed", "app", app, "ref", u.Ref, "commit", u.New, "err", moveErr)
	}
	if s.cfg.AppURL != nil {
		fmt.Fprintf(out, "-----> Deployed %s to %s\n", app, s.cfg.AppURL(app))
	}
	return nil
}

// moveRef sets u.Ref to u.New if it still has the value u.Old.
func moveRef(repo string, u refUpdate, why string) error {
	cmd := exec.Command("git", "update-ref", "-m", "paas: "+why, u.Ref, u.New, u.Old)
	cmd.Dir = repo
	cmd.Env = append(baseEnv(), "GIT_DIR="+repo)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git update-ref %s: %w: %s", u.Ref, err, bytes.TrimSpace(out))
	}
	return nil
}
