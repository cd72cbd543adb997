package deploy

import (
	"context"

	"paas"
)

// pruner is implemented by builders that can delete one build's artifact.
type pruner interface {
	RemoveBuild(ctx context.Context, app string, build int) error
}

// prune deletes the artifacts of builds that only releases older than the
// newest keep releases use, except the current release's build. The
// releases stay listed, marked as pruned.
func (s *Service) prune(ctx context.Context, app string) {
	p, ok := s.cfg.Builder.(pruner)
	if !ok || s.cfg.KeepReleases <= 0 {
		return
	}
	rels, err := s.cfg.Store.Releases(app)
	if err != nil {
		s.log.Error("listing releases to prune", "app", app, "err", err)
		return
	}
	a, err := s.cfg.Store.App(app)
	if err != nil {
		return
	}
	keep := map[int]bool{}
	for i, r := range rels {
		if i < s.cfg.KeepReleases || r.Version == a.Release {
			keep[r.Build] = true
		}
	}
	done := map[int]bool{}
	for _, r := range rels {
		if keep[r.Build] || r.Pruned || done[r.Build] || r.Build == 0 {
			continue
		}
		done[r.Build] = true
		if err := p.RemoveBuild(ctx, app, r.Build); err != nil {
			s.log.Error("pruning build", "app", app, "build", r.Build, "err", err)
			continue
		}
		if err := s.cfg.Store.MarkPruned(app, r.Build); err != nil {
			s.log.Error("marking build pruned", "app", app, "build", r.Build, "err", err)
			continue
		}
		s.event(app, "Build %d pruned: releases older than the newest %d no longer keep their %s", r.Build, s.cfg.KeepReleases, artifactWord(r))
	}
}

func artifactWord(r paas.Release) string {
	if len(r.Slug) > 0 && r.Slug[0] == '/' {
		return "slug"
	}
	return "image"
}
