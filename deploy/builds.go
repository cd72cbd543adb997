package deploy

import (
	"context"
	"time"

	"paas"
	"paas/gateway"
)

// Builds lists the app's builds, newest first: succeeded, failed and
// pending ones.
func (s *Service) Builds(ctx context.Context, app string) ([]paas.Build, error) {
	if _, err := s.App(ctx, app); err != nil {
		return nil, err
	}
	b, err := s.cfg.Store.ListBuilds(app)
	return b, userError(app, err)
}

// buildStarted records build n of req as pending, started at start.
func (s *Service) buildStarted(app string, n int, req gateway.DeployRequest, start time.Time) error {
	err := s.cfg.Store.StartBuild(app, paas.Build{Number: n, Commit: req.Commit, By: req.By, StartedAt: start})
	return userError(app, err)
}

// buildFailed records that build n failed with err. Failing to record it
// is logged: the push reports the build's own error.
func (s *Service) buildFailed(app string, n int, err error) {
	if ferr := s.cfg.Store.FailBuild(app, n, s.scrub(app, reasonOf(err))); ferr != nil {
		s.log.Error("recording a failed build", "app", app, "build", n, "err", ferr)
	}
}

// failInterruptedBuilds marks failed the builds a stop of paasd left
// pending, says so in their apps' logs, and deletes what they made: a
// build stopped after its slug or image was made, before a release
// recorded it, leaves an artifact nothing uses.
func (s *Service) failInterruptedBuilds(ctx context.Context) error {
	failed, err := s.cfg.Store.FailPendingBuilds("interrupted: paasd stopped during the build")
	p, canRemove := s.cfg.Builder.(pruner)
	for _, b := range failed {
		s.event(b.App, "Build %d failed: interrupted by a stop of paasd", b.Number)
		if !canRemove {
			continue
		}
		if rerr := p.RemoveBuild(ctx, b.App, b.Number); rerr != nil {
			s.log.Error("removing an interrupted build", "app", b.App, "build", b.Number, "err", rerr)
		}
	}
	return err
}
