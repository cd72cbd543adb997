package deploy

import (
	"context"

	"paas"
)

// pruner is implemented by builders that can delete one build's artifact.
type pruner interface {
	RemoveBuild(ctx context.Context, app string, build int) error
}

// prune deletes the artifacts of the builds older than the newest
// KeepBuilds: the builds the newest releases use, each counted once, and
// always the current release's. The releases of a pruned build stay
// listed, marked as pruned.
func (s *Service) prune(ctx context.Context, app string) {
	p, ok := s.cfg.Builder.(pruner)
	if !ok || s.cfg.KeepBuilds <= 0 {
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
	// rels is newest first: the first KeepBuilds builds met are kept.
	keep := map[int]bool{}
	for _, r := range rels {
		if len(keep) == s.cfg.KeepBuilds {
			break
		}
		if r.Build != 0 && !r.Pruned {
			keep[r.Build] = true
		}
	}
	for _, r := range rels {
		if r.Version == a.Release {
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
		s.event(app, "Build %d pruned: only the newest %d builds keep their %s", r.Build, s.cfg.KeepBuilds, artifactWord(r))
	}
}

func artifactWord(r paas.Release) string {
	if len(r.Slug) > 0 && r.Slug[0] == '/' {
		return "slug"
	}
	return "image"
}
