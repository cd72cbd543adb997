package deploy

import (
	"context"
	"fmt"
	"path/filepath"

	"paas"
	"paas/runtime"
)

// artifactMissingNote is what is said about an app whose release cannot
// start because its build artifact is gone: one line, with what to do.
func artifactMissingNote(app string, spec runtime.Spec) string {
	word := "image"
	if filepath.IsAbs(spec.Slug) {
		word = "slug"
	}
	return fmt.Sprintf("app %s is damaged: the %s of release v%d is missing; redeploy with git push, or roll back to a release whose build remains (rollback vN)", app, word, spec.Release)
}

// setDamaged records why the app cannot start its release ("" once it
// can).
func (st *appState) setDamaged(note string) {
	st.mu.Lock()
	st.damaged = note
	st.mu.Unlock()
}

// damagedNote is why app cannot run, "" when nothing is known to be
// wrong with it.
func (s *Service) damagedNote(app string) string {
	s.mu.Lock()
	st, ok := s.apps[app]
	s.mu.Unlock()
	if !ok {
		return ""
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.damaged
}

// withDamage fills in a.Damaged from what starting its release found.
func (s *Service) withDamage(a paas.App) paas.App {
	if a.Damaged == "" {
		a.Damaged = s.damagedNote(a.Name)
	}
	return a
}

// artifactChecker is implemented by runtimes that can tell whether a
// release's build artifact (slug directory, image) is there.
type artifactChecker interface {
	HasArtifact(ctx context.Context, slug string) (bool, error)
}

// checkArtifact marks the app damaged when the build artifact of rel,
// its current release, is missing: instances still running from it
// (docker) keep serving, but none can start.
func (s *Service) checkArtifact(ctx context.Context, st *appState, rel paas.Release) {
	c, ok := s.cfg.Runtime.(artifactChecker)
	if !ok || rel.Slug == "" {
		return
	}
	there, err := c.HasArtifact(ctx, rel.Slug)
	if err != nil {
		s.log.Error("checking the build of the current release", "app", st.name, "release", rel.Version, "err", err)
		return
	}
	if !there {
		st.setDamaged(artifactMissingNote(st.name, runtime.Spec{Slug: rel.Slug, Release: rel.Version}))
	}
}
