package runtime

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// ensureNetwork returns the name of app's bridge network, creating it when
// it does not exist. Containers on it reach each other by name; other
// apps' containers, on other networks, cannot.
func (d *Docker) ensureNetwork(ctx context.Context, app string) (string, error) {
	name := networkName(app)
	d.netMu.Lock()
	defer d.netMu.Unlock()
	_, err := d.api.NetworkInspect(ctx, name, network.InspectOptions{})
	if err == nil {
		return name, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspecting network %s: %w", name, err)
	}
	_, err = d.api.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: network.NetworkBridge,
		Labels: map[string]string{LabelManaged: "true", LabelApp: app},
	})
	// A conflict means another paasd made it meanwhile: it exists.
	if err != nil && !cerrdefs.IsConflict(err) {
		return "", fmt.Errorf("creating network %s: %w", name, err)
	}
	d.log.Info("network created", "app", app, "network", name)
	return name, nil
}

// removeNetwork removes app's network; a missing one is fine.
func (d *Docker) removeNetwork(ctx context.Context, app string) error {
	name := networkName(app)
	d.netMu.Lock()
	defer d.netMu.Unlock()
	err := d.api.NetworkRemove(ctx, name)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing network %s: %w", name, err)
	}
	return nil
}
