package runtime

import (
	"context"
	"errors"
	"time"
)

// Moving is the runtime of a server whose apps move from the local
// Docker engine to the swarm: new instances and one-offs run on To, and
// the instances From left running (adopted at start) keep serving until
// deploy replaces them, which it does for every instance Leaving names,
// with the same zero-downtime switch as a deploy.
type Moving struct {
	From *Docker
	To   *Swarm
}

// Start starts an instance on To.
func (m Moving) Start(ctx context.Context, s Spec) (Instance, error) { return m.To.Start(ctx, s) }

// Run runs a one-off on To.
func (m Moving) Run(ctx context.Context, s Spec, stdio Stdio) (int, error) {
	return m.To.Run(ctx, s, stdio)
}

// Stop stops an instance of whichever runtime runs it.
func (m Moving) Stop(ctx context.Context, id string, grace time.Duration) error {
	if m.From.watches(id) {
		return m.From.Stop(ctx, id, grace)
	}
	return m.To.Stop(ctx, id, grace)
}

// Leaving tells whether instance id runs on the runtime the apps leave.
func (m Moving) Leaving(id string) bool { return m.From.watches(id) }

// Adopt adopts the instances of both.
func (m Moving) Adopt(ctx context.Context) ([]Instance, error) {
	a, err1 := m.From.Adopt(ctx)
	b, err2 := m.To.Adopt(ctx)
	return append(a, b...), errors.Join(err1, err2)
}

// HasArtifact asks To.
func (m Moving) HasArtifact(ctx context.Context, image string) (bool, error) {
	return m.To.HasArtifact(ctx, image)
}

// RemoveApp removes app's instances from both.
func (m Moving) RemoveApp(ctx context.Context, app string) error {
	return errors.Join(m.From.RemoveApp(ctx, app), m.To.RemoveApp(ctx, app))
}

// Detach detaches both.
func (m Moving) Detach() {
	m.From.Detach()
	m.To.Detach()
}

// Shutdown shuts both down.
func (m Moving) Shutdown(ctx context.Context, grace time.Duration) error {
	return errors.Join(m.From.Shutdown(ctx, grace), m.To.Shutdown(ctx, grace))
}

// watches tells whether d watches instance id.
func (d *Docker) watches(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.insts[id]
	return ok
}
