package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"paas"
	"paas/internal/timing"
	"paas/router"
	"paas/runtime"
)

// converge brings the app's instances to rel under its formation: it
// starts the instances that are missing beside the running ones, waits
// until every new web instance listens and passes the release's health
// checks, switches the router to them in one step, then drains and stops
// what is left over (other releases, surplus indices, changed limits).
// Instances already running rel within the formation are left alone. On
// failure the new instances are stopped and the old ones keep serving
// untouched. The caller holds the app's lock.
func (s *Service) converge(ctx context.Context, st *appState, rel paas.Release, app paas.App, out io.Writer) error {
	want := desired(rel, app.Formation)
	st.setGrace(s.grace(app))

	st.mu.Lock()
	prevTarget := st.target
	st.target = rel.Version
	keep := map[string]bool{}
	for _, in := range st.insts {
		if !in.stopping && in.spec.Release == rel.Version && in.spec.Index <= want[in.spec.Type] && sameLimits(in.spec, app.Limits[in.spec.Type]) && !s.leaving(in) {
			keep[in.name()] = true
		}
	}
	st.mu.Unlock()

	var started []*instance
	for _, t := range slices.Sorted(maps.Keys(want)) {
		for i := 1; i <= want[t]; i++ {
			spec := s.spec(rel, t, i, app.Limits[t], st.getGrace())
			if keep[spec.Name()] {
				continue
			}
			in, err := s.startInstance(st, spec, 0, true)
			if err != nil {
				s.abort(st, started, prevTarget)
				return err
			}
			if out != nil {
				fmt.Fprintf(out, "       Started %s\n", spec.Name())
			}
			started = append(started, in)
			timing.Mark(ctx, "start "+spec.Name())
			if len(started) == 1 {
				s.phase(st.name, PhaseStart)
			}
		}
	}
	err := s.waitUp(ctx, st, started, rel.Healthchecks, out)
	if err == nil {
		err = crashedAtStart(st, started)
	}
	if err != nil {
		s.abort(st, started, prevTarget)
		return err
	}
	s.phase(st.name, PhaseSwitch)

	st.mu.Lock()
	st.release = &rel
	for _, in := range started {
		in.booting = false
		if in.state == "crashed" && !in.stopping {
			s.scheduleRestart(st, in)
		}
	}
	var old []*instance
	for _, in := range st.insts {
		if in.stopping {
			continue
		}
		if in.spec.Release != rel.Version || in.spec.Index > want[in.spec.Type] || !sameLimits(in.spec, app.Limits[in.spec.Type]) || s.leaving(in) {
			in.stopping = true
			in.state = "stopping"
			in.since = time.Now().UTC()
			old = append(old, in)
		}
	}
	st.mu.Unlock()

	s.updateRoutes(st)
	timing.Mark(ctx, "route switch")
	switched(ctx)
	s.retire(ctx, st, old)
	return nil
}

// retire drains the web instances among ins (already out of the route
// table) for up to the grace period, then stops all of ins, highest
// numbers first.
func (s *Service) retire(tctx context.Context, st *appState, ins []*instance) {
	if len(ins) == 0 {
		return
	}
	var addrs []string
	for _, in := range ins {
		if in.spec.Web && in.inst.Addr != "" {
			addrs = append(addrs, in.inst.Addr)
		}
	}
	if len(addrs) > 0 {
		s.phase(st.name, PhaseDrain)
		ctx, cancel := context.WithTimeout(context.Background(), st.getGrace())
		if err := s.cfg.Router.Drain(ctx, addrs); errors.Is(err, context.DeadlineExceeded) {
			s.event(st.name, "Draining %d instance(s) took longer than %s; stopping them anyway", len(addrs), st.getGrace())
		} else if err != nil {
			s.log.Error("draining", "app", st.name, "err", err)
		}
		cancel()
		timing.Mark(tctx, "drain old")
	}
	sort.Slice(ins, func(i, j int) bool { return ins[i].spec.Index > ins[j].spec.Index })
	s.phase(st.name, PhaseStop)
	s.stopAll(st, ins)
	timing.Mark(tctx, "stop old")
}

// crashedAtStart fails a converge when one of the instances it started
// (a worker, which has no port to wait for) has already exited.
func crashedAtStart(st *appState, started []*instance) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, in := range started {
		if in.state == "crashed" {
			return paas.Errorf("%s exited at start with status %d%s", in.name(), in.exitCode, startHint(in, in.exitCode))
		}
	}
	return nil
}

// abort stops instances started by a failed converge.
func (s *Service) abort(st *appState, started []*instance, prevTarget int) {
	st.mu.Lock()
	st.target = prevTarget
	for _, in := range started {
		in.stopping = true
	}
	st.mu.Unlock()
	s.stopAll(st, started)
}

// stopAll stops instances in parallel and waits for them.
func (s *Service) stopAll(st *appState, ins []*instance) {
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stopInstance(context.Background(), st, in)
		}()
	}
	wg.Wait()
}

// spec builds the runtime spec of one formation instance of rel.
func (s *Service) spec(rel paas.Release, typ string, index int, l paas.Limits, grace time.Duration) runtime.Spec {
	sp := runtime.Spec{
		App:         rel.App,
		Release:     rel.Version,
		Type:        typ,
		Index:       index,
		Command:     rel.ProcessTypes[typ],
		Slug:        rel.Slug,
		Web:         typ == "web",
		Port:        rel.Port,
		Memory:      l.Memory,
		CPUs:        l.CPUs,
		StopTimeout: grace,
	}
	sp.Env = instanceEnv(rel, sp.Name())
	return sp
}

// leaver is implemented by a runtime some of whose instances run where
// the apps are moving from (runtime.Moving): a converge replaces them.
type leaver interface {
	Leaving(id string) bool
}

// leaving tells whether in runs where the apps are moving from, once
// MoveLeaving has begun moving them.
func (s *Service) leaving(in *instance) bool {
	l, ok := s.cfg.Runtime.(leaver)
	return ok && s.moving.Load() && l.Leaving(in.inst.ID)
}

// MoveLeaving replaces, app by app, the instances that run where the
// apps are moving from (see leaver) with new ones, by a converge to the
// current release: each new instance is checked and takes the routes
// before the old one drains and stops. From then on every converge
// replaces such instances. Call it once no other paasd supervises them
// (after a handover, once the old paasd is gone).
func (s *Service) MoveLeaving(ctx context.Context) {
	l, ok := s.cfg.Runtime.(leaver)
	if !ok {
		return
	}
	s.moving.Store(true)
	apps, err := s.cfg.Store.Apps()
	if err != nil {
		s.log.Error("listing apps to move", "err", err)
		return
	}
	for _, a := range apps {
		s.moveApp(ctx, l, a.Name, 1)
	}
}

// moveAttempts is how many times MoveLeaving tries to move an app, a
// minute apart: a failed move leaves the app serving where it was.
const moveAttempts = 5

// moveApp moves app's leaving instances, trying again later when the
// move fails.
func (s *Service) moveApp(ctx context.Context, l leaver, app string, attempt int) {
	st := s.state(app)
	if !slices.ContainsFunc(st.all(), func(in *instance) bool { return l.Leaving(in.inst.ID) }) {
		return
	}
	err := s.move(ctx, app)
	if err == nil {
		s.log.Info("app moved", "app", app)
		return
	}
	s.log.Error("moving an app", "app", app, "attempt", attempt, "err", err)
	if attempt < moveAttempts && ctx.Err() == nil {
		time.AfterFunc(time.Minute, func() { s.moveApp(ctx, l, app, attempt+1) })
	}
}

// move converges app to its current release, replacing its leaving
// instances.
func (s *Service) move(ctx context.Context, app string) error {
	st, unlock, err := s.begin(ctx, app, nil)
	if err != nil {
		return err
	}
	defer unlock()
	a, rel, err := s.currentRelease(app)
	if err != nil {
		return err
	}
	return s.converge(ctx, st, rel, a, nil)
}

// sameLimits reports whether an instance runs with the limits l.
func sameLimits(sp runtime.Spec, l paas.Limits) bool {
	return sp.Memory == l.Memory && sp.CPUs == l.CPUs
}

// instanceEnv is the environment of an instance of rel: the release's
// config plus the platform's own variables.
func instanceEnv(rel paas.Release, name string) map[string]string {
	env := maps.Clone(rel.Config)
	if env == nil {
		env = map[string]string{}
	}
	env["DYNO"] = name
	env["PS"] = name
	env["PAAS_APP"] = rel.App
	env["PAAS_RELEASE"] = rel.Name()
	return env
}

// startInstance starts one instance and registers it for supervision.
func (s *Service) startInstance(st *appState, spec runtime.Spec, restarts int, booting bool) (*instance, error) {
	in, err := s.launch(st, spec, restarts, booting)
	if err != nil {
		return nil, err
	}
	s.register(st, in)
	return in, nil
}

// launch starts an instance of spec without putting it under
// supervision yet.
func (s *Service) launch(st *appState, spec runtime.Spec, restarts int, booting bool) (*instance, error) {
	inst, err := s.cfg.Runtime.Start(context.Background(), spec)
	if errors.Is(err, runtime.ErrArtifactMissing) {
		note := artifactMissingNote(st.name, spec)
		st.setDamaged(note)
		return nil, &paas.Error{Msg: note, Err: err}
	}
	if err != nil {
		msg, ok := paas.UserMessage(err)
		if !ok {
			msg = err.Error()
		}
		return nil, &paas.Error{Msg: fmt.Sprintf("starting %s: %s", spec.Name(), msg), Err: err}
	}
	st.setDamaged("")
	in := &instance{inst: inst, spec: spec, state: "starting", since: time.Now().UTC(), restarts: restarts, booting: booting}
	if !spec.Web {
		in.state = "up"
	}
	s.eventRel(st.name, spec.Release, "%s started (v%d): %s", spec.Name(), spec.Release, spec.Command)
	return in, nil
}

// register puts an instance under supervision, handing it an exit that
// arrived before it was registered.
func (s *Service) register(st *appState, in *instance) { s.replace(st, nil, in) }

// replace puts in under supervision in the place of old (nil for none) at
// once, so that the process list never lacks the instance; an exit of in
// that arrived before is handed to it. It reports false, doing nothing,
// when old has been stopped or forgotten meanwhile.
func (s *Service) replace(st *appState, old, in *instance) bool {
	st.mu.Lock()
	if old != nil {
		if _, listed := st.insts[old.inst.ID]; !listed || old.state == "stopping" {
			st.mu.Unlock()
			return false
		}
		delete(st.insts, old.inst.ID)
	}
	st.insts[in.inst.ID] = in
	st.mu.Unlock()
	s.mu.Lock()
	if old != nil {
		delete(s.byID, old.inst.ID)
	}
	s.byID[in.inst.ID] = st
	early, exited := s.early[in.inst.ID]
	delete(s.early, in.inst.ID)
	s.mu.Unlock()
	if exited {
		s.onExit(early)
	}
	return true
}

// stopInstance stops one instance with the grace period and forgets it.
func (s *Service) stopInstance(ctx context.Context, st *appState, in *instance) {
	st.mu.Lock()
	in.stopping = true
	in.state = "stopping"
	if in.timer != nil {
		in.timer.Stop()
	}
	st.mu.Unlock()
	if err := s.cfg.Runtime.Stop(ctx, in.inst.ID, st.getGrace()); err != nil {
		s.log.Error("stopping instance", "app", st.name, "instance", in.name(), "err", err)
	}
	s.forget(st, in)
}

func (s *Service) forget(st *appState, in *instance) {
	st.mu.Lock()
	_, known := st.insts[in.inst.ID]
	delete(st.insts, in.inst.ID)
	st.mu.Unlock()
	s.mu.Lock()
	delete(s.byID, in.inst.ID)
	s.mu.Unlock()
	if known {
		s.eventRel(st.name, in.spec.Release, "%s stopped (v%d)", in.name(), in.spec.Release)
	}
}

// waitUp waits until every web instance among ins accepts connections
// and passes checks, within the boot timeout.
func (s *Service) waitUp(ctx context.Context, st *appState, ins []*instance, checks []paas.Healthcheck, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BootTimeout)
	defer cancel()
	errs := make(chan error, len(ins))
	for _, in := range ins {
		go func() {
			err := s.waitListening(ctx, st, in, out)
			if err == nil && in.spec.Web {
				timing.Mark(ctx, in.name()+" listening")
			}
			if err == nil && in.spec.Web && len(checks) > 0 {
				err = s.healthcheck(ctx, st, in, checks, out)
				if err == nil {
					timing.Mark(ctx, in.name()+" health check")
				}
			}
			if err == nil {
				st.mu.Lock()
				if in.state == "starting" {
					in.state = "up"
					in.since = time.Now().UTC()
				}
				st.mu.Unlock()
			} else if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
				s.eventRel(st.name, in.spec.Release, "Health check of %s failed: %s", in.name(), reasonOf(err))
				err = s.withRecentLines(st, in, err)
			}
			errs <- err
		}()
	}
	var first error
	for range ins {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// updateRoutes gives the router the app's web instances that are up and
// run the current release.
func (s *Service) updateRoutes(st *appState) {
	away := s.engineAway.Load()
	st.mu.Lock()
	var bs []router.Backend
	for _, in := range st.insts {
		if away && in.inst.Node == "" {
			continue // on the engine that is away
		}
		if in.spec.Web && !in.stopping && in.state == "up" && st.release != nil && in.spec.Release == st.release.Version {
			bs = append(bs, router.Backend{Name: in.name(), Addr: in.inst.Addr})
		}
	}
	st.mu.Unlock()
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	s.cfg.Router.Set(st.name, bs)
}
