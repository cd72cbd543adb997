package deploy

import (
	"context"
	"fmt"
	"io"
	"time"

	"paas"
)

// begin checks that app exists and takes its lock for one change.
func (s *Service) begin(ctx context.Context, app string, out io.Writer) (*appState, func(), error) {
	if _, err := s.App(ctx, app); err != nil {
		return nil, nil, err
	}
	st := s.state(app)
	unlock, err := s.lock(ctx, st, out)
	return st, unlock, err
}

// lock takes the app's lock for one change. When another change holds it,
// it says so on out and waits, or fails at once when the caller asked not
// to wait (paas.NoWait).
func (s *Service) lock(ctx context.Context, st *appState, out io.Writer) (unlock func(), err error) {
	select {
	case st.lock <- struct{}{}:
		return func() { <-st.lock }, nil
	default:
	}
	if paas.NoWait(ctx) {
		return nil, paas.Errorf("another deploy or change of %s is in progress", st.name)
	}
	if out != nil {
		fmt.Fprintf(out, "-----> Waiting for another deploy or change of %s to finish\n", st.name)
	}
	select {
	case st.lock <- struct{}{}:
		return func() { <-st.lock }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// buildSlot takes one of the PAAS_BUILD_CONCURRENCY build slots.
func (s *Service) buildSlot(ctx context.Context, out io.Writer) (release func(), err error) {
	select {
	case s.builds <- struct{}{}:
		return func() { <-s.builds }, nil
	default:
	}
	if out != nil {
		fmt.Fprintf(out, "-----> Waiting for a build slot (%d builds run at a time)\n", cap(s.builds))
	}
	select {
	case s.builds <- struct{}{}:
		return func() { <-s.builds }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// grace is the app's stop timeout.
func (s *Service) grace(app paas.App) time.Duration {
	if app.StopTimeout > 0 {
		return app.StopTimeout
	}
	return s.cfg.StopTimeout
}
