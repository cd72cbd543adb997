package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"paas"
	"paas/builder"
	"paas/gateway"
	"paas/internal/timing"
	"paas/logs"
	"paas/runtime"
)

// Deploy builds a pushed commit, makes a release of it and rolls it out.
func (s *Service) Deploy(ctx context.Context, req gateway.DeployRequest) error {
	app := req.App
	s.phase(app, PhaseReceive)
	ctx, timeline := s.timeline(ctx, req.Out)
	defer timeline()
	st, unlock, err := s.begin(ctx, app, req.Out)
	if err != nil {
		return err
	}
	kept := false
	defer func() {
		if !kept {
			unlock()
		}
	}()
	if req.Check != nil {
		if err := req.Check(); err != nil {
			return err
		}
	}

	n, err := s.cfg.Store.ReserveBuild(app)
	if err != nil {
		return userError(app, err)
	}
	cfg, err := s.cfg.Store.Config(app)
	if err != nil {
		return userError(app, err)
	}
	rec, err := s.cfg.Store.App(app)
	if err != nil {
		return userError(app, err)
	}
	release, err := s.buildSlot(ctx, req.Out)
	if err != nil {
		return err
	}
	timing.Mark(ctx, "lock and build slot")
	start := time.Now().UTC()
	if err := s.buildStarted(app, n, req, start); err != nil {
		release()
		return err
	}
	s.change(app, 0, "Build %d started by %s (commit %.7s)", n, req.By, req.Commit)
	s.observer().BuildStarted(app)
	s.phase(app, PhaseBuild)
	res, err := s.cfg.Builder.Build(ctx, builder.Request{
		App: app, Build: n, Commit: req.Commit, Source: req.Source, Config: cfg, Out: req.Out,
		Builder: rec.Builder,
	})
	release()
	if err != nil {
		s.buildFailed(app, n, err)
		s.observer().BuildFailed(app)
		s.event(app, "Build %d failed after %s: %s", n, time.Since(start).Round(time.Millisecond), reasonOf(err))
		return err
	}
	s.event(app, "Build %d finished in %s", n, time.Since(start).Round(time.Millisecond))
	// The builder may get the app's next build ready once the new
	// release serves: starting it takes the engine's time the new
	// release's instances need until then. (Prewarm does nothing when
	// it is ready already.)
	ctx = onSwitch(ctx, func() { s.prewarm(app) })
	defer s.prewarm(app)
	s.phase(app, PhaseCommit)
	// The first deploy is the first that goes live: until then app.json's
	// formation and postdeploy apply.
	before, err := s.cfg.Store.App(app)
	if err != nil {
		return userError(app, err)
	}
	first := before.Release == 0
	rel, err := s.cfg.Store.Deploy(app, paas.Build{
		Number: n, Commit: req.Commit, Slug: res.Slug, ProcessTypes: res.ProcessTypes,
		Buildpacks: res.Buildpacks, Port: res.Port, Healthchecks: res.Healthchecks,
		Status: paas.StatusSucceeded, By: req.By, StartedAt: start,
	}, req.By)
	if err != nil {
		return userError(app, err)
	}
	timing.Mark(ctx, "release recorded")
	s.change(app, rel.Version, "Release %s created by %s: %s", rel.Name(), req.By, rel.Description)
	fmt.Fprintf(req.Out, "-----> Releasing %s (%s)\n", app, rel.Name())
	if first {
		if err := s.initialFormation(rel, res.Formation, req.Out); err != nil {
			return err
		}
	}
	if err := s.rollout(ctx, st, rel, req.Out); err != nil {
		return err
	}
	s.prune(context.WithoutCancel(ctx), app)
	fmt.Fprintf(req.Out, "-----> Release %s is live\n", rel.Name())
	if first && res.Postdeploy != "" {
		s.postdeploy(ctx, rel, res.Postdeploy, req.Out)
	}
	if req.Keep != nil {
		kept = true
		req.Keep(unlock)
	}
	return nil
}

// prewarmer is implemented by a builder that can get an app's next
// build ready ahead of it (builder.Builder.Prewarm).
type prewarmer interface {
	Prewarm(app string)
}

// prewarm lets the builder get app's next build ready, when it can.
func (s *Service) prewarm(app string) {
	if p, ok := s.cfg.Builder.(prewarmer); ok {
		p.Prewarm(app)
	}
}

// timeline gives ctx a timing recorder when DebugTiming is set and ctx
// has none yet; the returned func then writes the phases to out. An
// operation within another (the rollout of a deploy) adds its phases to
// the outer one's timeline.
func (s *Service) timeline(ctx context.Context, out io.Writer) (context.Context, func()) {
	if !s.cfg.DebugTiming || out == nil || timing.From(ctx) != nil {
		return ctx, func() {}
	}
	rec := timing.New()
	return timing.With(ctx, rec), func() { rec.Write(out) }
}

// Rollback makes a new release from release target's build and config
// (the previous successful release when target is 0) and rolls it out,
// its release phase first, as every release. A release that failed or
// never went live is refused unless force is set.
func (s *Service) Rollback(ctx context.Context, app, by string, target int, force bool, out io.Writer) (paas.Release, error) {
	a, err := s.App(ctx, app)
	if err != nil {
		return paas.Release{}, err
	}
	st, unlock, err := s.begin(ctx, app, out)
	if err != nil {
		return paas.Release{}, err
	}
	defer unlock()
	if a, err = s.cfg.Store.App(app); err != nil {
		return paas.Release{}, userError(app, err)
	}
	if target == 0 {
		if target, err = s.previousRelease(a); err != nil {
			return paas.Release{}, err
		}
	}
	if target == a.Release {
		return paas.Release{}, paas.Errorf("v%d is already the current release", target)
	}
	from, err := s.cfg.Store.Release(app, target)
	if errors.Is(err, paas.ErrReleaseNotFound) {
		return paas.Release{}, paas.Errorf("%s has no release v%d", app, target)
	} else if err != nil {
		return paas.Release{}, err
	}
	if !force {
		switch from.Status {
		case paas.StatusFailed:
			return paas.Release{}, paas.Errorf("%s failed: roll back to it with --force", from.Name())
		case paas.StatusPending:
			return paas.Release{}, paas.Errorf("%s never went live: roll back to it with --force", from.Name())
		}
	}
	rel, err := s.cfg.Store.Rollback(app, target, by)
	if err != nil {
		if errors.Is(err, paas.ErrReleaseNotFound) {
			return paas.Release{}, paas.Errorf("%s has no release v%d", app, target)
		}
		return paas.Release{}, err
	}
	s.change(app, rel.Version, "Release %s created by %s: %s", rel.Name(), by, rel.Description)
	if out != nil {
		fmt.Fprintf(out, "-----> Rolling back %s to v%d as %s\n", app, target, rel.Name())
	}
	return rel, s.rollout(ctx, st, rel, out)
}

// previousRelease is the newest successful release before the current
// one whose build is still there.
func (s *Service) previousRelease(a paas.App) (int, error) {
	rels, err := s.cfg.Store.Releases(a.Name)
	if err != nil {
		return 0, err
	}
	for _, r := range rels {
		if r.Version < a.Release && r.Status != paas.StatusFailed && r.Status != paas.StatusPending && !r.Pruned {
			return r.Version, nil
		}
	}
	return 0, paas.Errorf("%s has no earlier successful release to roll back to", a.Name)
}

// rollout runs a pending release: its release phase (when the release
// declares one), then the zero-downtime switch. Every new release runs
// it: a deploy, a config or add-on change, a rollback. On success it
// becomes current; on failure it is marked failed, with the reason, and the
// previous release keeps running.
func (s *Service) rollout(ctx context.Context, st *appState, rel paas.Release, out io.Writer) error {
	ctx, timeline := s.timeline(ctx, out)
	defer timeline()
	done := s.rollingConfig(rel.App, rel.Config)
	defer done()
	err := s.rolloutSteps(ctx, st, rel, out)
	if err != nil {
		reason := reasonOf(err)
		if ferr := s.cfg.Store.FailRelease(rel.App, rel.Version, reason); ferr != nil {
			s.log.Error("marking release failed", "app", rel.App, "release", rel.Name(), "err", ferr)
		}
		s.eventRel(rel.App, rel.Version, "Release %s failed: %s", rel.Name(), reason)
		s.observer().ReleaseFailed(rel.App, rel.Version)
		return err
	}
	if err := s.cfg.Store.Activate(rel.App, rel.Version); err != nil {
		return fmt.Errorf("activating %s: %w", rel.Name(), err)
	}
	s.eventRel(rel.App, rel.Version, "Release %s is live", rel.Name())
	s.observer().ReleaseLive(rel.App, rel.Version, time.Now().UTC())
	return nil
}

func (s *Service) rolloutSteps(ctx context.Context, st *appState, rel paas.Release, out io.Writer) error {
	if cmd, ok := rel.ProcessTypes["release"]; ok {
		if err := s.releasePhase(ctx, rel, cmd, out); err != nil {
			return err
		}
		timing.Mark(ctx, "release phase")
	}
	a, err := s.cfg.Store.App(rel.App)
	if err != nil {
		return err
	}
	return s.converge(ctx, st, rel, a, out)
}

// releasePhase runs the Procfile's release command as a one-off of rel
// before any of its instances starts, its output going to out and to the
// app's log.
func (s *Service) releasePhase(ctx context.Context, rel paas.Release, cmd string, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "-----> Running release command: %s\n", cmd)
	s.eventRel(rel.App, rel.Version, "Release phase of %s started: %s", rel.Name(), cmd)
	if err := s.runPhase(ctx, rel, "release", "release phase", cmd, out); err != nil {
		return err
	}
	s.eventRel(rel.App, rel.Version, "Release phase of %s succeeded", rel.Name())
	return nil
}

// lineLogger hands each complete line written to it to write.
type lineLogger struct {
	buf   []byte
	write func(string)
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.write(strings.TrimRight(string(l.buf[:i]), "\r"))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	if len(l.buf) > 0 {
		l.write(string(l.buf))
		l.buf = nil
	}
}

// lockedWriter serialises writes from a one-off's stdout and stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// reasonOf is the first line of an error's message for a platform line:
// the user message when there is one, else the error text.
func reasonOf(err error) string {
	reason, ok := paas.UserMessage(err)
	if !ok {
		reason = err.Error()
	}
	if first, _, _ := strings.Cut(reason, "\n"); first != "" {
		return first
	}
	return reason
}

// runPhase runs cmd as the one-off TYPE.1 of rel (typ "release" for the
// release phase, "postdeploy"), with rel's config, within
// PAAS_RELEASE_TIMEOUT, its output going to out and to the app's log.
// what names it in errors.
func (s *Service) runPhase(ctx context.Context, rel paas.Release, typ, what, cmd string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReleaseTimeout)
	defer cancel()
	spec := runtime.Spec{App: rel.App, Release: rel.Version, Type: typ, Index: 1, Command: cmd, Slug: rel.Slug}
	spec.Env = instanceEnv(rel, spec.Name())
	lw := &lineLogger{write: func(line string) { s.cfg.Logs.WriteRelease(rel.App, logs.SourceApp, spec.Name(), rel.Version, line) }}
	w := &lockedWriter{w: io.MultiWriter(out, lw)}
	code, err := s.cfg.Runtime.Run(ctx, spec, runtime.Stdio{Stdin: strings.NewReader(""), Stdout: w, Stderr: w})
	lw.flush()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return paas.Errorf("%s timed out after %s", what, s.cfg.ReleaseTimeout)
	case err != nil && ctx.Err() != nil:
		return err
	case err != nil:
		return fmt.Errorf("running the %s: %w", what, err)
	case code != 0:
		return paas.Errorf("%s failed: %q exited with status %d%s", what, cmd, code, runtime.ExitHint(code))
	}
	return nil
}
