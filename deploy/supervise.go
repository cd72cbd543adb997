package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"paas"
	"paas/runtime"
)

// stableAfter is how long an instance must stay up for its next crash to
// count as a first one again.
const stableAfter = 10 * time.Minute

// restartDelay is the backoff before restart number restarts+1: the first
// restart is immediate, then 1 s doubling up to max.
func restartDelay(restarts int, max time.Duration) time.Duration {
	if restarts == 0 {
		return 0
	}
	d := time.Second
	for i := 1; i < restarts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// OnExit is the runtime's exit callback: an instance that exits without
// being stopped has crashed and is restarted with backoff.
func (s *Service) OnExit(e runtime.Exit) { s.onExit(e) }

func (s *Service) onExit(e runtime.Exit) {
	s.mu.Lock()
	st, ok := s.byID[e.Instance.ID]
	if !ok {
		if s.early == nil {
			s.early = map[string]runtime.Exit{}
		}
		s.early[e.Instance.ID] = e
		s.mu.Unlock()
		return
	}
	closing := s.closing
	s.mu.Unlock()

	st.mu.Lock()
	in, ok := st.insts[e.Instance.ID]
	if !ok || in.stopping || e.Stopped {
		st.mu.Unlock()
		return
	}
	engine := errors.Is(e.Err, runtime.ErrEngineRestarted)
	if engine || in.state == "up" && e.At.Sub(in.since) >= stableAfter {
		// Not the app's fault: no backoff.
		in.restarts = 0
	}
	in.state = "crashed"
	in.exitCode, in.signal = e.Code, e.Signal
	in.since = e.At
	what := fmt.Sprintf("crashed with status %d%s", e.Code, runtime.ExitHint(e.Code))
	if engine {
		what = "did not survive a restart of the Docker engine"
	}
	if in.booting || closing {
		// The converge that started it reports the failure.
		st.mu.Unlock()
		s.eventRel(st.name, in.spec.Release, "%s %s", in.name(), what)
		return
	}
	delay := s.scheduleRestart(st, in)
	st.mu.Unlock()

	// Its route goes before anything can start in its place.
	s.updateRoutes(st)
	s.eventRel(st.name, in.spec.Release, "%s %s; restarting in %s", in.name(), what, delay)
}

// OnEngine is the docker runtime's engine callback. While the engine is
// gone, no instance on it is routed: the addresses its containers were
// published on may be given to others' containers when it comes back.
// Instances a swarm placed on its nodes (those with a Node) are the
// swarm's to report, and stay routed. Once it answers
// again, every app's route is set anew from the instances that run
// (those that did not survive were reported through OnExit before, and
// are being restarted).
func (s *Service) OnEngine(e runtime.EngineEvent) {
	s.engineAway.Store(!e.Up)
	s.mu.Lock()
	states := make([]*appState, 0, len(s.apps))
	for _, st := range s.apps {
		states = append(states, st)
	}
	s.mu.Unlock()
	for _, st := range states {
		s.updateRoutes(st)
	}
}

// scheduleRestart arms the restart of a crashed instance after its backoff
// delay. The caller holds st.mu.
func (s *Service) scheduleRestart(st *appState, in *instance) time.Duration {
	delay := restartDelay(in.restarts, s.cfg.RestartMaxDelay)
	in.backoff = delay
	in.timer = time.AfterFunc(delay, func() { s.restart(st, in) })
	return delay
}

// restart replaces a crashed instance with a new one of the same spec,
// unless a deploy or scale has since made it obsolete. The crashed one
// stays listed, as restarting, until its replacement is, and the
// replacement keeps its restart count and last exit status.
func (s *Service) restart(st *appState, old *instance) {
	closing := s.isClosing()
	st.mu.Lock()
	backoff, restarts := old.backoff, old.restarts+1
	obsolete := old.stopping || closing || old.spec.Release != st.target
	if !obsolete {
		// Claim it so a concurrent converge does not stop it twice.
		old.stopping = true
		old.state = "restarting"
	}
	st.mu.Unlock()
	if obsolete {
		s.forgetQuiet(st, old)
		return
	}
	in, err := s.launch(st, old.spec, restarts, false)
	if err != nil {
		s.eventRel(st.name, old.spec.Release, "%s could not be restarted: %s", old.name(), reasonOf(err))
		s.log.Error("restarting instance", "app", st.name, "instance", old.name(), "err", err)
		s.retryLater(st, old, restarts)
		return
	}
	in.exitCode, in.signal = old.exitCode, old.signal
	if !s.replace(st, old, in) {
		// Stopped meanwhile (the app destroyed, scaled down): so is
		// its replacement.
		in.stopping = true
		if err := s.cfg.Runtime.Stop(context.Background(), in.inst.ID, st.getGrace()); err != nil {
			s.log.Error("stopping instance", "app", st.name, "instance", in.name(), "err", err)
		}
		return
	}
	s.eventRel(st.name, in.spec.Release, "%s restarted in %s (v%d, restart %d)", in.name(), backoff, in.spec.Release, restarts)
	s.observer().Restarted(st.name, in.name())
	st.mu.Lock()
	var checks []paas.Healthcheck
	if st.release != nil {
		checks = st.release.Healthchecks
	}
	st.mu.Unlock()
	if err := s.waitUp(context.Background(), st, []*instance{in}, checks, nil); err != nil {
		if st.crashed(in) {
			return // its exit has scheduled the next restart
		}
		msg, _ := paas.UserMessage(err)
		s.eventRel(st.name, in.spec.Release, "%s restarted but is not healthy (%s); stopping it to try again", in.name(), firstLine(msg))
		// It stays listed, as crashed, while it stops and until the
		// next try.
		st.mu.Lock()
		in.stopping = true
		in.state = "crashed"
		st.mu.Unlock()
		if err := s.cfg.Runtime.Stop(context.Background(), in.inst.ID, st.getGrace()); err != nil {
			s.log.Error("stopping instance", "app", st.name, "instance", in.name(), "err", err)
		}
		s.retryLater(st, in, in.restarts)
		return
	}
	s.updateRoutes(st)
}

// retryLater keeps an instance whose restart failed in the process list
// as crashed, with restarts tries so far, and tries again after the
// backoff, as after a crash. Its process has exited.
func (s *Service) retryLater(st *appState, in *instance, restarts int) {
	if s.isClosing() {
		s.forgetQuiet(st, in)
		return
	}
	st.mu.Lock()
	if _, listed := st.insts[in.inst.ID]; !listed || in.state == "stopping" {
		// Stopped meanwhile (the app destroyed, scaled down).
		st.mu.Unlock()
		return
	}
	in.stopping = false
	in.state = "crashed"
	in.since = time.Now().UTC()
	in.restarts = restarts
	delay := s.scheduleRestart(st, in)
	st.mu.Unlock()
	s.eventRel(st.name, in.spec.Release, "%s restarting in %s", in.name(), delay)
}

func (s *Service) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// forgetQuiet drops an instance that has already exited without logging a
// stop event.
func (s *Service) forgetQuiet(st *appState, in *instance) {
	st.mu.Lock()
	delete(st.insts, in.inst.ID)
	st.mu.Unlock()
	s.mu.Lock()
	delete(s.byID, in.inst.ID)
	s.mu.Unlock()
}
