// Package deploy is the pipeline from a pushed commit to running
// processes: build, release, run. It owns the per-app deploy lock, the
// desired formation of every app, the supervision of running instances and
// the one-off processes, and it implements what the SSH gateway asks of the
// platform.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"paas"
	"paas/builder"
	"paas/logs"
	"paas/router"
	"paas/runtime"
	"paas/store"
)

// Runtime is what deploy needs from a process runtime.
type Runtime interface {
	Start(ctx context.Context, s runtime.Spec) (runtime.Instance, error)
	Stop(ctx context.Context, id string, grace time.Duration) error
	Run(ctx context.Context, s runtime.Spec, stdio runtime.Stdio) (int, error)
}

// Builder is what deploy needs from a builder.
type Builder interface {
	Build(ctx context.Context, req builder.Request) (builder.Result, error)
	Remove(app string) error
}

// Config wires a Service.
type Config struct {
	Store   *store.Store
	Runtime Runtime
	Builder Builder
	Router  *router.Router
	Logs    *logs.Aggregator
	AppURL  func(app string) string
	// Domain is the platform domain: app X is served at X.<Domain>.
	Domain      string
	StopTimeout time.Duration // grace between SIGTERM and SIGKILL
	BootTimeout time.Duration // how long a web instance may take to listen
	// KeepBuilds is how many builds keep their artifact: those of the
	// newest releases, counting each build once (a config change or a
	// rollback reuses one), and always the current release's. Older ones
	// are pruned (0 keeps everything).
	KeepBuilds int
	// ReleaseTimeout bounds the release phase.
	ReleaseTimeout time.Duration
	// RestartMaxDelay caps the backoff between restarts of a crashing
	// instance.
	RestartMaxDelay time.Duration
	// BuildConcurrency is how many builds run at once across apps.
	BuildConcurrency int
	// CheckConfig, when set, refuses config vars before they are set
	// (a BUILDPACK_URL no build could use).
	CheckConfig func(set map[string]string) error
	Logger      *slog.Logger

	// Addons runs backing services; nil on a runtime without them
	// (exec), where every add-on operation fails with one line.
	Addons Provisioner
	// AddonEngines lists the engines add-ons:create takes, in the order
	// messages name them.
	AddonEngines []string
	// AddonVar is the config var an engine's URL is set in by default.
	AddonVar func(engine string) string
	// AddonURL is the URL an attached app reaches a service at.
	AddonURL func(engine, user, password, host string, port int) string
	// AddonNextUser is the user a credential rotation of a service
	// whose apps log in as user creates (it may be user itself, for an
	// engine where one user has several passwords).
	AddonNextUser func(engine, user string) string
	// NewPassword returns a new random service password.
	NewPassword func() string
	// BackupDir holds each add-on's stored backups, in BackupDir/NAME/;
	// "" stores none.
	BackupDir string
	// KeepBackups is how many automatic daily backups of each add-on are
	// kept; 0 takes none.
	KeepBackups int
	// BackupCheck is how often the backup scheduler looks for add-ons
	// whose newest backup is a day old (default an hour).
	BackupCheck time.Duration
	// Now is the clock of the backup scheduler (default time.Now).
	Now func() time.Time
	// Phase, when set, is called as a deploy of app reaches each of its
	// phases (see the Phase* constants); tests use it to stop paasd at a
	// chosen one.
	Phase func(app, phase string)
	// Observer, when set, is told of builds, releases going live or
	// failing, crash restarts, and apps destroyed or renamed (metrics).
	Observer Observer
	// DebugTiming ends the output of a deploy and of every other
	// rollout (config change, rollback) with one line per phase and how
	// long it took (PAAS_DEBUG_TIMING=1).
	DebugTiming bool
}

// The phases of a deploy, in order, as Config.Phase names them.
const (
	// PhaseReceive: the pushed pack is received (still in git's
	// quarantine) and the deploy begins.
	PhaseReceive = "receive"
	// PhaseBuild: the build is recorded and about to run.
	PhaseBuild = "build"
	// PhaseCommit: the build's artifact (image or slug) is made, not yet
	// recorded in a release.
	PhaseCommit = "commit"
	// PhaseStart: the new release's first instance has started.
	PhaseStart = "start"
	// PhaseSwitch: the new instances are up, the routes not yet switched.
	PhaseSwitch = "switch"
	// PhaseDrain: the routes are switched, the old instances draining.
	PhaseDrain = "drain"
	// PhaseStop: the old instances are drained and being stopped.
	PhaseStop = "stop"
)

// phase reports that a deploy of app reached phase.
func (s *Service) phase(app, phase string) {
	if s.cfg.Phase != nil {
		s.cfg.Phase(app, phase)
	}
}

// Service runs the platform's operations.
type Service struct {
	cfg Config
	log *slog.Logger

	// optionsMu orders pushes of router options: each push reads the
	// app's latest state from the store and hands it to the router, so
	// the router ends on the last saved state.
	optionsMu sync.Mutex

	// engineAway is set while the docker runtime's engine does not
	// answer: no instance is routed then.
	engineAway atomic.Bool
	// moving is set once MoveLeaving runs: converges replace the
	// instances the runtime says are leaving.
	moving atomic.Bool

	mu      sync.Mutex
	apps    map[string]*appState
	byID    map[string]*appState
	early   map[string]runtime.Exit // exits that arrived before their Start returned
	builds  chan struct{}           // build slots
	closing bool
	// addonBusy holds, per add-on name, a channel closed when the
	// change of the add-on in progress ends.
	addonBusy map[string]chan struct{}
	// stopBackups stops the backup scheduler and waits for it; nil
	// when none runs. backupsDone is closed when the scheduler has
	// stopped.
	stopBackups func()
	backupsDone <-chan struct{}

	// secretsMu guards rolling: the configs of releases being rolled
	// out, whose values platform lines mask.
	secretsMu sync.Mutex
	rolling   map[string][]*rollingEntry

	// runs are the running one-offs.
	runs oneOffs
}

// New makes a Service. Call Start to bring up the apps the store knows.
func New(cfg Config) *Service {
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.BootTimeout == 0 {
		cfg.BootTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReleaseTimeout == 0 {
		cfg.ReleaseTimeout = time.Hour
	}
	if cfg.RestartMaxDelay == 0 {
		cfg.RestartMaxDelay = 5 * time.Minute
	}
	if cfg.BuildConcurrency <= 0 {
		cfg.BuildConcurrency = goruntime.NumCPU()
	}
	if cfg.AppURL == nil {
		cfg.AppURL = func(app string) string { return app }
	}
	return &Service{
		cfg:    cfg,
		log:    cfg.Logger,
		apps:   map[string]*appState{},
		byID:   map[string]*appState{},
		builds: make(chan struct{}, cfg.BuildConcurrency),
	}
}

// state returns the in-memory state of app, creating it.
func (s *Service) state(app string) *appState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.apps[app]
	if !ok {
		st = newAppState(app)
		s.apps[app] = st
	}
	return st
}

// Start brings up the apps the store knows, before the router takes
// traffic: releases left pending by an interrupted paasd are marked
// failed, add-on attachments they left without their var are forgotten
// (see settleAddons), credential rotations it interrupted are finished or
// reported (see settleRotations), running instances the runtime still has (docker containers) are
// adopted, and each app's current release is converged, starting only
// what is missing and stopping what is left over. Then the scheduler of
// automatic add-on backups starts; Shutdown stops it.
func (s *Service) Start(ctx context.Context) error {
	failed, err := s.cfg.Store.FailPending("interrupted: paasd stopped during the deploy")
	if err != nil {
		return err
	}
	for _, r := range failed {
		s.eventRel(r.App, r.Version, "Release %s failed: interrupted by a stop of paasd", r.Name())
	}
	if err := s.failInterruptedBuilds(ctx); err != nil {
		return err
	}
	if err := s.settleAddons(ctx); err != nil {
		return err
	}
	if err := s.sweepAddons(ctx); err != nil {
		return err
	}
	if err := s.settleRotations(ctx); err != nil {
		return err
	}
	apps, err := s.cfg.Store.Apps()
	if err != nil {
		return err
	}
	if err := s.adopt(ctx, apps); err != nil {
		return err
	}
	for _, app := range apps {
		if app.Damaged != "" {
			// Its record cannot be read: it is reported, and the
			// others start.
			s.log.Error("app damaged", "app", app.Name, "note", app.Damaged)
			continue
		}
		st := s.state(app.Name)
		if len(st.all()) == 0 {
			// Adopted instances keep the routes adopt gave them,
			// while the converge below replaces any that must go.
			s.cfg.Router.Set(app.Name, nil)
		}
		s.cfg.Router.SetOptions(app.Name, routerOptions(app))
		s.cfg.Router.SetMaintenance(app.Name, app.Maintenance)
		if app.Release == 0 {
			s.retire(context.Background(), st, st.all())
			continue
		}
		rel, err := s.cfg.Store.Release(app.Name, app.Release)
		if err != nil {
			// One unreadable release stops no other app.
			note := fmt.Sprintf("app %s is damaged: its release v%d cannot be read from paasd's store; push again, or restore paas.db from a backup", app.Name, app.Release)
			st.setDamaged(note)
			s.log.Error("app damaged", "app", app.Name, "note", note, "err", err)
			continue
		}
		s.checkArtifact(ctx, st, rel)
		st.lock <- struct{}{}
		err = s.converge(ctx, st, rel, app, nil)
		<-st.lock
		if note := s.damagedNote(app.Name); note != "" {
			s.log.Error("app damaged", "app", app.Name, "note", note)
		} else if err != nil {
			s.log.Error("starting app", "app", app.Name, "err", err)
		}
		if err != nil {
			s.eventRel(app.Name, rel.Version, "Starting %s failed: %s", rel.Name(), reasonOf(err))
		}
	}
	s.startBackups()
	return nil
}

// detacher is implemented by runtimes whose instances outlive paasd
// (docker): on shutdown they are left running for the next paasd to adopt.
type detacher interface {
	Detach()
}

// Shutdown stops supervising. Instances of a runtime that can leave them
// running (docker) keep serving; others are stopped with their grace
// period.
func (s *Service) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	states := make([]*appState, 0, len(s.apps))
	for _, st := range s.apps {
		states = append(states, st)
	}
	stopBackups := s.stopBackups
	s.stopBackups = nil
	s.mu.Unlock()
	if stopBackups != nil {
		stopBackups()
	}
	if d, ok := s.cfg.Runtime.(detacher); ok {
		d.Detach()
		return
	}
	var wg sync.WaitGroup
	for _, st := range states {
		for _, in := range st.all() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.stopInstance(ctx, st, in)
			}()
		}
	}
	wg.Wait()
}

// userError turns store sentinels into messages for the user.
func userError(app string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, paas.ErrAppNotFound):
		return &paas.Error{Msg: fmt.Sprintf("app %s not found", app), Err: err}
	case errors.Is(err, paas.ErrAppExists):
		return &paas.Error{Msg: fmt.Sprintf("app %s already exists", app), Err: err}
	case errors.Is(err, paas.ErrReleaseNotFound):
		return &paas.Error{Msg: "release not found", Err: err}
	}
	return err
}
