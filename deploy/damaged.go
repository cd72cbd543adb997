package deploy

import (
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
