package deploy

import (
	"context"

	"paas"
	"paas/runtime"
)

// adopter is implemented by runtimes whose instances outlive paasd
// (docker): Adopt returns the running instances and resumes their log
// streams and exit reports.
type adopter interface {
	Adopt(ctx context.Context) ([]runtime.Instance, error)
}

// adopt takes over the instances a previous paasd left running. Instances
// of a known app and release are supervised again, and those of the
// current release are routed; the converge that follows keeps them. Any
// other instance (of a destroyed app or a lost release) is stopped.
func (s *Service) adopt(ctx context.Context, apps []paas.App) error {
	a, ok := s.cfg.Runtime.(adopter)
	if !ok {
		return nil
	}
	insts, err := a.Adopt(ctx)
	if err != nil {
		// The instances it could adopt are watched: supervise them too.
		s.log.Error("adopting instances", "err", err)
	}
	byName := map[string]paas.App{}
	for _, app := range apps {
		byName[app.Name] = app
	}
	touched := map[*appState]bool{}
	for _, inst := range insts {
		app, known := byName[inst.App]
		if known && app.Damaged != "" {
			// The app's record cannot be read: its instances are
			// left as they are, for once it is restored.
			continue
		}
		var rel paas.Release
		if known {
			rel, err = s.cfg.Store.Release(inst.App, inst.Release)
		}
		if !known || err != nil {
			s.log.Info("stopping an instance of no known release", "app", inst.App, "instance", inst.Name(), "release", inst.Release)
			if err := s.cfg.Runtime.Stop(ctx, inst.ID, s.cfg.StopTimeout); err != nil {
				s.log.Error("stopping instance", "id", inst.ID, "err", err)
			}
			continue
		}
		st := s.state(inst.App)
		st.setGrace(s.grace(app))
		spec := s.spec(rel, inst.Type, inst.Index, app.Limits[inst.Type], st.getGrace())
		in := &instance{inst: inst, spec: spec, state: "up", since: inst.Started}
		st.mu.Lock()
		if rel.Version == app.Release {
			r := rel
			st.release = &r
			st.target = rel.Version
		}
		st.mu.Unlock()
		s.register(st, in)
		touched[st] = true
		s.eventRel(inst.App, inst.Release, "%s (v%d) adopted after a restart of paasd", inst.Name(), inst.Release)
	}
	for st := range touched {
		s.updateRoutes(st)
	}
	return nil
}
