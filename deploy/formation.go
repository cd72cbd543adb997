package deploy

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"paas"
)

// currentRelease returns the app (read under its lock) and its current
// release.
func (s *Service) currentRelease(app string) (paas.App, paas.Release, error) {
	a, err := s.cfg.Store.App(app)
	if err != nil {
		return a, paas.Release{}, userError(app, err)
	}
	if a.Release == 0 {
		return a, paas.Release{}, paas.Errorf("app %s has no release yet: push code first", app)
	}
	rel, err := s.cfg.Store.Release(app, a.Release)
	return a, rel, err
}

// SetStopped stops a process type (ps:stop: scaled to 0, its count
// remembered) or starts it again with that count (ps:start).
func (s *Service) SetStopped(ctx context.Context, app, typ string, stopped bool, out io.Writer) error {
	if err := paas.ValidateProcessType(typ); err != nil {
		return err
	}
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	_, rel, err := s.currentRelease(app)
	if err != nil {
		return err
	}
	if _, ok := rel.ProcessTypes[typ]; !ok || typ == "release" {
		return paas.Errorf("no %s process type in %s", typ, rel.Name())
	}
	var a paas.App
	if stopped {
		a, err = s.cfg.Store.StopType(app, typ)
	} else {
		a, err = s.cfg.Store.StartType(app, typ)
	}
	if err != nil {
		return userError(app, err)
	}
	verb := "Started"
	if stopped {
		verb = "Stopped"
	}
	s.change(app, rel.Version, "%s %s%s", verb, typ, byUser(ctx))
	return s.converge(ctx, st, rel, a, out)
}

// Restart replaces running instances one at a time: all of them, those of
// a process type ("web"), or one instance ("web.2"). Each replacement must
// be healthy before its predecessor is drained and stopped; a replacement
// that fails stops the restart and leaves the rest untouched.
func (s *Service) Restart(ctx context.Context, app, target string, out io.Writer) error {
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if note := s.damagedNote(app); note != "" {
		// No replacement could start.
		return &paas.Error{Msg: note}
	}
	a, rel, err := s.currentRelease(app)
	if err != nil {
		return err
	}
	if typ, _, _ := strings.Cut(target, "."); typ != "" {
		if err := checkType(rel, typ, "restarted"); err != nil {
			return err
		}
	}
	st.setGrace(s.grace(a))
	var olds []*instance
	for _, in := range st.all() {
		if in.stopping || in.spec.Release != rel.Version {
			continue
		}
		if target == "" || target == in.spec.Type || target == in.name() {
			olds = append(olds, in)
		}
	}
	if len(olds) == 0 {
		return paas.Errorf("no running instance of %s matches %q", app, target)
	}
	slices.SortFunc(olds, func(x, y *instance) int {
		if c := strings.Compare(x.spec.Type, y.spec.Type); c != 0 {
			return c
		}
		return x.spec.Index - y.spec.Index
	})
	s.change(app, rel.Version, "Restarting %d instance(s)%s", len(olds), byUser(ctx))
	for _, old := range olds {
		spec := s.spec(rel, old.spec.Type, old.spec.Index, a.Limits[old.spec.Type], st.getGrace())
		in, err := s.startInstance(st, spec, 0, true)
		if err != nil {
			return err
		}
		err = s.waitUp(ctx, st, []*instance{in}, rel.Healthchecks, out)
		if err == nil {
			err = crashedAtStart(st, []*instance{in})
		}
		if err != nil {
			s.stopAll(st, []*instance{in})
			return err
		}
		st.mu.Lock()
		in.booting = false
		old.stopping = true
		old.state = "stopping"
		if old.timer != nil {
			old.timer.Stop()
		}
		st.mu.Unlock()
		s.updateRoutes(st)
		s.retire(context.Background(), st, []*instance{old})
		if out != nil {
			fmt.Fprintf(out, "       Restarted %s\n", in.name())
		}
	}
	return nil
}

// SetMaintenance turns maintenance mode on or off: the router answers 503
// with a maintenance page; instances keep running.
func (s *Service) SetMaintenance(ctx context.Context, app string, on bool) error {
	if _, err := s.App(ctx, app); err != nil {
		return err
	}
	a, err := s.cfg.Store.SetMaintenance(app, on)
	if err != nil {
		return userError(app, err)
	}
	s.cfg.Router.SetMaintenance(app, on)
	state := "off"
	if on {
		state = "on"
	}
	s.change(app, a.Release, "Maintenance mode %s%s", state, byUser(ctx))
	return nil
}

// SetBuilder sets how the app's next builds are made: "dockerfile",
// "buildpacks" or "auto" (see paas.ParseBuilder).
func (s *Service) SetBuilder(ctx context.Context, app, builder string) error {
	if _, err := s.App(ctx, app); err != nil {
		return err
	}
	v, err := paas.ParseBuilder(builder)
	if err != nil {
		return err
	}
	a, err := s.cfg.Store.SetBuilder(app, v)
	if err != nil {
		return userError(app, err)
	}
	s.change(app, a.Release, "Builder set to %s%s", v, byUser(ctx))
	return nil
}

// SetStopTimeout sets the app's grace period between SIGTERM and SIGKILL;
// 0 restores the platform's default. It applies to instances started from
// now on and to every stop.
func (s *Service) SetStopTimeout(ctx context.Context, app string, d time.Duration) error {
	if _, err := s.App(ctx, app); err != nil {
		return err
	}
	if d < 0 || d > time.Hour {
		return paas.Errorf("invalid stop timeout %s: use 0 to 3600 seconds", d)
	}
	a, err := s.cfg.Store.SetStopTimeout(app, d)
	if err != nil {
		return userError(app, err)
	}
	s.state(app).setGrace(s.grace(a))
	s.change(app, a.Release, "Stop timeout set to %s%s", s.grace(a), byUser(ctx))
	return nil
}
