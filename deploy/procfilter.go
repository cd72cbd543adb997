package deploy

import (
	"maps"
	"slices"
	"strings"

	"paas"
)

// otherProcs are the processes of an app's lines that are no process type
// of its Procfile: one-offs (run.N) and the platform's own lines.
var otherProcs = []string{"run", eventProc, apiProc, "router", "logs", "addon"}

// checkLogsProc refuses a logs --ps filter whose type (the part before
// the dot) no release of the app ever declared and that names no one-off
// or platform process, naming the types the app has. Indexes are not
// checked: web.7 may have run once.
func (s *Service) checkLogsProc(app, proc string) error {
	if proc == "" {
		return nil
	}
	typ, _, _ := strings.Cut(proc, ".")
	if slices.Contains(otherProcs, typ) {
		return nil
	}
	rels, err := s.cfg.Store.Releases(app)
	if err != nil {
		return userError(app, err)
	}
	for _, r := range rels {
		if _, ok := r.ProcessTypes[typ]; ok {
			return nil
		}
	}
	if len(rels) == 0 {
		return paas.Errorf("%s has no %s processes: it has no release yet", app, typ)
	}
	// The newest release says what the app has now.
	types := slices.Sorted(maps.Keys(rels[0].ProcessTypes))
	return paas.Errorf("%s has no %s processes; its process types: %s (also run for one-offs, and %s, %s, router for the platform's lines)",
		app, typ, strings.Join(types, ", "), eventProc, apiProc)
}
