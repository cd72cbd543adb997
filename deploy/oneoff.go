package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"paas"
	"paas/runtime"
	"paas/shellwords"
)

// MaxDetached is how many detached one-offs an app may run at once.
const MaxDetached = 10

// oneOff is a running one-off process.
type oneOff struct {
	spec     runtime.Spec
	since    time.Time
	detached bool
	cancel   context.CancelFunc
	done     chan struct{} // closed once it has ended and its output is logged
}

// oneOffs are the running one-offs of every app, by app and name.
type oneOffs struct {
	mu    sync.Mutex
	byApp map[string]map[string]*oneOff
}

// add registers a one-off of spec's app under a free run.N name, setting
// spec.Index. A detached one more than MaxDetached is refused.
func (r *oneOffs) add(spec *runtime.Spec, detached bool, cancel context.CancelFunc) (*oneOff, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byApp == nil {
		r.byApp = map[string]map[string]*oneOff{}
	}
	running := r.byApp[spec.App]
	if running == nil {
		running = map[string]*oneOff{}
		r.byApp[spec.App] = running
	}
	if detached {
		n := 0
		for _, o := range running {
			if o.detached {
				n++
			}
		}
		if n >= MaxDetached {
			return nil, paas.Errorf("%s already runs %d detached one-offs, the most it may: wait for one to end", spec.App, n)
		}
	}
	for {
		spec.Index = 1000 + rand.IntN(9000)
		if running[spec.Name()] == nil {
			break
		}
	}
	o := &oneOff{spec: *spec, since: time.Now(), detached: detached, cancel: cancel, done: make(chan struct{})}
	running[spec.Name()] = o
	return o, nil
}

// remove forgets o.
func (r *oneOffs) remove(o *oneOff) {
	r.mu.Lock()
	defer r.mu.Unlock()
	running := r.byApp[o.spec.App]
	if running[o.spec.Name()] == o {
		delete(running, o.spec.Name())
	}
	if len(running) == 0 {
		delete(r.byApp, o.spec.App)
	}
}

// of returns app's running one-offs, by name.
func (r *oneOffs) of(app string) []*oneOff {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*oneOff, 0, len(r.byApp[app]))
	for _, o := range r.byApp[app] {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].spec.Index < out[j].spec.Index })
	return out
}

// stop ends app's one-offs and waits until they have ended, or ctx ends.
func (r *oneOffs) stop(ctx context.Context, app string) {
	running := r.of(app)
	for _, o := range running {
		o.cancel()
	}
	for _, o := range running {
		select {
		case <-o.done:
		case <-ctx.Done():
			return
		}
	}
}

// oneOffProcesses lists app's running one-offs as ps shows them.
func (s *Service) oneOffProcesses(app string) []paas.Process {
	var out []paas.Process
	for _, o := range s.runs.of(app) {
		out = append(out, paas.Process{
			Name:    o.spec.Name(),
			Type:    o.spec.Type,
			Index:   o.spec.Index,
			Release: o.spec.Release,
			State:   "up",
			Since:   o.since,
			Command: o.spec.Command,
		})
	}
	return out
}

// oneOffSpec is the spec of a one-off of app's current release running
// argv, or the command of process type argv[0] when argv is one word that
// names one. Its Index is set when it is registered.
func (s *Service) oneOffSpec(ctx context.Context, app string, argv []string) (runtime.Spec, paas.Release, error) {
	a, err := s.App(ctx, app)
	if err != nil {
		return runtime.Spec{}, paas.Release{}, err
	}
	if len(argv) == 0 {
		return runtime.Spec{}, paas.Release{}, paas.Errorf("run needs a command")
	}
	if a.Release == 0 {
		return runtime.Spec{}, paas.Release{}, paas.Errorf("app %s has no release yet: push code first", app)
	}
	rel, err := s.cfg.Store.Release(app, a.Release)
	if err != nil {
		return runtime.Spec{}, paas.Release{}, err
	}
	command := shellwords.Join(argv)
	// `run APP TYPE` runs the command of a process type of the Procfile,
	// as on Heroku and Dokku.
	if len(argv) == 1 {
		if c, ok := rel.ProcessTypes[argv[0]]; ok {
			command = c
		}
	}
	return runtime.Spec{
		App:     app,
		Release: rel.Version,
		Type:    "run",
		Command: command,
		Slug:    rel.Slug,
	}, rel, nil
}

// startOneOff registers a one-off of spec and records its output in the
// app's log as app[run.N]. The caller runs it with the returned stdio
// (stdio's writers teed into the log) and then calls finish.
func (s *Service) startOneOff(spec *runtime.Spec, rel paas.Release, detached bool, cancel context.CancelFunc, stdio runtime.Stdio) (*oneOff, runtime.Stdio, func(), error) {
	o, err := s.runs.add(spec, detached, cancel)
	if err != nil {
		return nil, stdio, nil, err
	}
	name := spec.Name()
	spec.Env = instanceEnv(rel, name)
	o.spec = *spec
	// The one-off's config values (what `run env` prints) and add-on
	// passwords are masked in the log, which drains send on; the
	// terminal shows them as written.
	secrets := appendSecrets(s.addonPasswords(), rel.Config)
	out := newOutputLog(stdio.TTY, func(lines [][]byte) {
		s.cfg.Logs.Lines(spec.App, name, spec.Release, maskLines(lines, secrets))
	}, func(dropped int64) {
		s.eventRel(spec.App, spec.Release, "%d bytes of %s's output were not logged: the log fell behind", dropped, name)
	})
	stdio.Stdout = out.tee(stdio.Stdout, 0)
	if !stdio.TTY {
		stdio.Stderr = out.tee(stdio.Stderr, 1)
	}
	finish := func() {
		out.close()
		s.runs.remove(o)
		close(o.done)
	}
	return o, stdio, finish, nil
}

// Run starts a one-off process of the current release attached to stdio:
// argv, or the command of process type argv[0] when argv is one word that
// names one. What it writes goes to stdio and to the app's log as
// app[run.N]; it is listed by ps while it runs.
func (s *Service) Run(ctx context.Context, app, by string, argv []string, stdio runtime.Stdio) (int, error) {
	spec, rel, err := s.oneOffSpec(ctx, app, argv)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, stdio, finish, err := s.startOneOff(&spec, rel, false, cancel, stdio)
	if err != nil {
		return 0, err
	}
	s.change(app, spec.Release, "Starting process %s by %s: %s", spec.Name(), by, spec.Command)
	code, err := s.cfg.Runtime.Run(ctx, spec, stdio)
	finish()
	if err != nil {
		return code, fmt.Errorf("running one-off: %w", err)
	}
	s.eventRel(app, spec.Release, "%s exited with status %d%s", spec.Name(), code, runtime.ExitHint(code))
	return code, nil
}

// RunDetached starts a one-off as Run does, with no stdin and its output
// only in the app's log, and returns its name (run.N) once it has
// started. It runs until it exits, is stopped by apps:destroy, or paasd
// stops: a one-off does not outlive paasd, and the log says so of one
// that paasd's stop ended.
func (s *Service) RunDetached(ctx context.Context, app, by string, argv []string) (string, error) {
	spec, rel, err := s.oneOffSpec(ctx, app, argv)
	if err != nil {
		return "", err
	}
	if s.isClosing() {
		return "", paas.Errorf("paasd is stopping: try again in a moment")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	_, stdio, finish, err := s.startOneOff(&spec, rel, true, cancel, runtime.Stdio{})
	if err != nil {
		cancel()
		return "", err
	}
	name := spec.Name()
	started := make(chan struct{})
	var once sync.Once
	stdio.Started = func() { once.Do(func() { close(started) }) }
	type result struct {
		code int
		err  error
	}
	ended := make(chan result, 1)
	s.change(app, spec.Release, "Starting process %s by %s (detached): %s", name, by, spec.Command)
	go func() {
		defer cancel()
		code, err := s.cfg.Runtime.Run(runCtx, spec, stdio)
		finish()
		switch {
		case s.isClosing() && (err != nil || code != 0):
			s.eventRel(app, spec.Release, "%s was stopped: paasd stopped, and one-offs do not outlive it", name)
		case errors.Is(err, context.Canceled):
			s.eventRel(app, spec.Release, "%s was stopped", name)
		case err != nil:
			s.log.Error("running detached one-off", "app", app, "instance", name, "err", err)
			s.eventRel(app, spec.Release, "%s failed: %s", name, reasonOf(err))
		default:
			s.eventRel(app, spec.Release, "%s exited with status %d%s", name, code, runtime.ExitHint(code))
		}
		ended <- result{code, err}
	}()
	select {
	case <-started:
		return name, nil
	case r := <-ended:
		if r.err != nil {
			return "", fmt.Errorf("starting %s: %w", name, r.err)
		}
		// It ran and exited before its start was seen: it was up.
		return name, nil
	}
}

// maskLines masks the values in lines that hold one, in place where it
// can: the batch is the sink's to change.
func maskLines(lines [][]byte, values []string) [][]byte {
	if len(values) == 0 {
		return lines
	}
	for i, l := range lines {
		for _, v := range values {
			if bytes.Contains(l, []byte(v)) {
				lines[i] = []byte(maskValues(string(l), values))
				break
			}
		}
	}
	return lines
}
