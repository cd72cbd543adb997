package deploy

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"paas"
	"paas/builder"
)

// initialFormation sets the counts and memory limits an app's first
// deploy starts with: those of app.json's formation, as on Heroku, where
// later ps:scale and ps:set win; a release that declares no web process
// starts one instance of each of its types. Limits a user set before the
// first push are kept. The caller holds the app's lock and has checked
// the app has no live release.
func (s *Service) initialFormation(rel paas.Release, declared map[string]builder.ProcessFormation, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	a, err := s.cfg.Store.App(rel.App)
	if err != nil {
		return userError(rel.App, err)
	}
	counts := map[string]int{}
	var ignored, kept []string
	for _, t := range slices.Sorted(maps.Keys(declared)) {
		f := declared[t]
		if _, ok := rel.ProcessTypes[t]; !ok || t == "release" {
			ignored = append(ignored, t)
			continue
		}
		if f.Quantity >= 0 {
			counts[t] = f.Quantity
		}
		if f.Memory > 0 {
			if l, ok := a.Limits[t]; ok && l != (paas.Limits{}) {
				kept = append(kept, t)
				continue
			}
			if _, err := s.cfg.Store.SetLimits(rel.App, t, paas.Limits{Memory: f.Memory}); err != nil {
				return userError(rel.App, err)
			}
			s.change(rel.App, rel.Version, "Limits of %s set to memory=%s by app.json", t, paas.FormatMemory(f.Memory))
		}
	}
	if len(ignored) > 0 {
		fmt.Fprintf(out, "       app.json formation names %s, which %s does not declare: ignored\n", strings.Join(ignored, ", "), rel.Name())
	}
	if len(kept) > 0 {
		fmt.Fprintf(out, "       app.json formation sizes of %s ignored: limits set with ps:set are kept\n", strings.Join(kept, ", "))
	}
	if _, ok := rel.ProcessTypes["web"]; !ok && len(declared) == 0 {
		for t := range rel.ProcessTypes {
			if t != "release" {
				counts[t] = 1
			}
		}
		if len(counts) > 0 {
			fmt.Fprintf(out, "       No web process type: starting one instance of %s\n", typeNames(counts))
		}
	}
	if len(counts) == 0 {
		return nil
	}
	if _, err := s.cfg.Store.SetFormation(rel.App, counts); err != nil {
		return userError(rel.App, err)
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s=%d", t, counts[t]))
	}
	fmt.Fprintf(out, "       First deploy: scaling to %s\n", strings.Join(parts, " "))
	s.change(rel.App, rel.Version, "Scaled to %s by the first deploy", strings.Join(parts, " "))
	return nil
}

func typeNames(counts map[string]int) string {
	return strings.Join(slices.Sorted(maps.Keys(counts)), ", ")
}
