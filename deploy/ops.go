package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"paas"
	"paas/logs"
)

// Authenticate returns the admitted key with the given fingerprint.
func (s *Service) Authenticate(fingerprint string) (paas.Key, bool) {
	k, ok, err := s.cfg.Store.KeyByFingerprint(fingerprint)
	if err != nil {
		s.log.Error("looking up key", "err", err)
		return paas.Key{}, false
	}
	return k, ok
}

// ListApps lists every app; a damaged one has Damaged set.
func (s *Service) ListApps(ctx context.Context) ([]paas.App, error) {
	apps, err := s.cfg.Store.Apps()
	for i := range apps {
		apps[i] = s.withDamage(apps[i])
	}
	return apps, err
}

// CreateApp creates an empty app.
func (s *Service) CreateApp(ctx context.Context, name, by string) (paas.App, error) {
	if err := paas.ValidateNewAppName(name); err != nil {
		return paas.App{}, err
	}
	app, err := s.cfg.Store.CreateApp(name, by)
	if err != nil {
		return app, userError(name, err)
	}
	s.cfg.Router.Set(name, nil)
	s.change(name, 0, "App created by %s", by)
	return app, nil
}

// EnsureApp returns the app, creating it when it does not exist yet.
func (s *Service) EnsureApp(ctx context.Context, name, by string) (paas.App, error) {
	app, err := s.App(ctx, name)
	if err == nil {
		return app, nil
	}
	app, err = s.CreateApp(ctx, name, by)
	if errors.Is(err, paas.ErrAppExists) {
		return s.App(ctx, name)
	}
	return app, err
}

// App returns one app.
func (s *Service) App(ctx context.Context, name string) (paas.App, error) {
	if err := paas.ValidateAppName(name); err != nil {
		return paas.App{}, err
	}
	app, err := s.cfg.Store.App(name)
	if err != nil {
		return app, userError(name, err)
	}
	return s.withDamage(app), nil
}

// appRemover is implemented by runtimes that keep per-app resources
// (containers, networks) to remove when the app is destroyed.
type appRemover interface {
	RemoveApp(ctx context.Context, app string) error
}

// DestroyApp stops the app's instances and deletes everything it owns.
// Its add-ons are detached from it and remain.
func (s *Service) DestroyApp(ctx context.Context, name string) error {
	st, unlock, err := s.begin(ctx, name, nil)
	if errors.Is(err, paas.ErrAppDamaged) {
		// An app whose record cannot be read can still be destroyed.
		st = s.state(name)
		unlock, err = s.lock(ctx, st, nil)
	}
	if err != nil {
		return err
	}
	defer unlock()
	st.mu.Lock()
	st.target = 0
	st.mu.Unlock()
	s.stopAll(st, st.all())
	s.runs.stop(ctx, name)
	if r, ok := s.cfg.Runtime.(appRemover); ok {
		if err := r.RemoveApp(ctx, name); err != nil {
			s.log.Error("removing app from runtime", "app", name, "err", err)
		}
	}
	s.cfg.Router.Remove(name)
	addons, err := s.attachedAddons(name)
	if err != nil {
		return err
	}
	if err := s.cfg.Builder.Remove(name); err != nil {
		s.log.Error("removing builds", "app", name, "err", err)
	}
	if err := s.cfg.Store.DeleteApp(name); err != nil {
		return userError(name, err)
	}
	s.observer().AppDestroyed(name)
	// The store detached the app from its add-ons, which remain; they
	// leave its network.
	for _, a := range addons {
		if s.cfg.Addons == nil {
			break
		}
		if err := s.cfg.Addons.Detach(ctx, a.Name, name); err != nil {
			s.log.Error("detaching add-on", "addon", a.Name, "app", name, "err", mask(err, a.Password))
		}
	}
	// A domain change that raced with the removal above is undone.
	s.pushOptions(name)
	s.cfg.Logs.Remove(name)
	s.mu.Lock()
	delete(s.apps, name)
	s.mu.Unlock()
	return nil
}

// Config returns the app's current config.
func (s *Service) Config(ctx context.Context, app string) (map[string]string, error) {
	if _, err := s.App(ctx, app); err != nil {
		return nil, err
	}
	cfg, err := s.cfg.Store.Config(app)
	return cfg, userError(app, err)
}

// SetConfig changes config vars and, when the app has a release, makes a
// new release and restarts the app's processes with it.
func (s *Service) SetConfig(ctx context.Context, app, by string, set map[string]string, unset []string, out io.Writer) (paas.Release, error) {
	for k := range set {
		if err := paas.ValidateConfigKey(k); err != nil {
			return paas.Release{}, err
		}
	}
	for _, k := range unset {
		if err := paas.ValidateConfigKey(k); err != nil {
			return paas.Release{}, err
		}
	}
	if s.cfg.CheckConfig != nil {
		if err := s.cfg.CheckConfig(set); err != nil {
			return paas.Release{}, err
		}
	}
	if err := s.checkAddonVars(app, set, unset); err != nil {
		return paas.Release{}, err
	}
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return paas.Release{}, err
	}
	defer unlock()
	// Vars that are not set are not unset: unsetting only them changes
	// nothing and makes no release.
	cur, err := s.cfg.Store.Config(app)
	if err != nil {
		return paas.Release{}, userError(app, err)
	}
	var missing []string
	unset = slices.DeleteFunc(slices.Clone(unset), func(k string) bool {
		_, ok := cur[k]
		if !ok {
			missing = append(missing, k)
		}
		return !ok
	})
	if len(set) == 0 && len(unset) == 0 {
		return paas.Release{}, &paas.Error{Msg: fmt.Sprintf("%s not set on %s: nothing changed", strings.Join(missing, ", "), app), Err: paas.ErrUnchanged}
	}
	// The new values are masked in platform lines from now on, before
	// their release is current.
	done := s.rollingConfig(app, set)
	defer done()
	rel, err := s.cfg.Store.ChangeConfig(app, set, unset, by)
	if err != nil {
		return paas.Release{}, userError(app, err)
	}
	relVersion := 0
	if rel != nil {
		relVersion = rel.Version
	}
	s.change(app, relVersion, "Config vars changed by %s: %s", by, configChange(set, unset))
	if rel == nil {
		return paas.Release{}, nil
	}
	s.change(app, rel.Version, "Release %s created by %s: %s", rel.Name(), by, rel.Description)
	if err := s.rollout(ctx, st, *rel, out); err != nil {
		return *rel, err
	}
	return *rel, nil
}

// Releases lists the app's releases, newest first.
func (s *Service) Releases(ctx context.Context, app string) ([]paas.Release, error) {
	if _, err := s.App(ctx, app); err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.Releases(app)
	return rs, userError(app, err)
}

// Processes lists the app's instances.
func (s *Service) Processes(ctx context.Context, app string) ([]paas.Process, error) {
	if _, err := s.App(ctx, app); err != nil {
		return nil, err
	}
	return append(s.state(app).processes(), s.oneOffProcesses(app)...), nil
}

// Scale sets instance counts and starts or stops only the difference.
func (s *Service) Scale(ctx context.Context, app string, counts map[string]int, out io.Writer) error {
	a, err := s.App(ctx, app)
	if err != nil {
		return err
	}
	for t, n := range counts {
		if err := paas.ValidateProcessType(t); err != nil {
			return err
		}
		if n < 0 {
			return paas.Errorf("invalid count %d for %s", n, t)
		}
	}
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if a, err = s.cfg.Store.App(app); err != nil {
		return userError(app, err)
	}
	if a.Release == 0 {
		return paas.Errorf("app %s has no release yet: push code first", app)
	}
	rel, err := s.cfg.Store.Release(app, a.Release)
	if err != nil {
		return err
	}
	for t := range counts {
		if err := checkType(rel, t, "scaled"); err != nil {
			return err
		}
	}
	a, err = s.cfg.Store.SetFormation(app, counts)
	if err != nil {
		return userError(app, err)
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s=%d", t, counts[t]))
	}
	s.change(app, a.Release, "Scaled to %s%s", strings.Join(parts, " "), byUser(ctx))
	return s.converge(ctx, st, rel, a, out)
}

// SetLimits sets the resource limits of a process type and replaces its
// running instances with ones under the new limits.
func (s *Service) SetLimits(ctx context.Context, app, typ string, l paas.Limits, out io.Writer) error {
	if err := paas.ValidateProcessType(typ); err != nil {
		return err
	}
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	// Before the first release the app declares no types yet.
	if a, err := s.cfg.Store.App(app); err != nil {
		return userError(app, err)
	} else if a.Release != 0 {
		rel, err := s.cfg.Store.Release(app, a.Release)
		if err != nil {
			return err
		}
		if err := checkType(rel, typ, "given limits"); err != nil {
			return err
		}
	}
	a, err := s.cfg.Store.SetLimits(app, typ, l)
	if err != nil {
		return userError(app, err)
	}
	s.change(app, a.Release, "Limits of %s set to %s%s", typ, l, byUser(ctx))
	if a.Release == 0 {
		return nil
	}
	rel, err := s.cfg.Store.Release(app, a.Release)
	if err != nil {
		return err
	}
	return s.converge(ctx, st, rel, a, out)
}

// Logs writes the app's lines q selects in format f, then, when q.Follow
// is set, new lines until ctx is done.
func (s *Service) Logs(ctx context.Context, app string, q logs.Query, f logs.Format, w io.Writer) error {
	if _, err := s.App(ctx, app); err != nil {
		return err
	}
	if err := s.checkLogsProc(app, q.Proc); err != nil {
		return err
	}
	return s.cfg.Logs.Stream(ctx, app, q, f, w)
}

// checkType refuses a process type that rel runs no instances of, for
// what (scaled, given limits): the release phase, or a type its Procfile
// does not declare, naming those it does.
func checkType(rel paas.Release, t, what string) error {
	if t == "release" {
		return paas.Errorf("release is the release phase, run once before each release goes live: it cannot be %s", what)
	}
	if _, ok := rel.ProcessTypes[t]; ok {
		return nil
	}
	var types []string
	for _, d := range slices.Sorted(maps.Keys(rel.ProcessTypes)) {
		if d != "release" {
			types = append(types, d)
		}
	}
	return paas.Errorf("no %s process type in %s; it declares: %s", t, rel.Name(), strings.Join(types, ", "))
}
