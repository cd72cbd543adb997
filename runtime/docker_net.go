package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"paas/netguard"
)

// ensureNetwork returns the name of app's bridge network, creating it when
// it does not exist, and has its bridge guarded (DockerConfig.Guard).
// Containers on it reach each other by name; other apps' containers, on
// other networks, cannot, and with a guard none reaches the host's own
// ports.
func (d *Docker) ensureNetwork(ctx context.Context, app string) (string, error) {
	name := networkName(app)
	d.netMu.Lock()
	defer d.netMu.Unlock()
	n, err := d.api.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		_, err = d.api.NetworkCreate(ctx, name, network.CreateOptions{
			Driver:  network.NetworkBridge,
			Options: map[string]string{netguard.BridgeNameOption: netguard.BridgeName(name)},
			Labels:  map[string]string{LabelManaged: "true", LabelApp: app},
		})
		// A conflict means another paasd made it meanwhile: it exists.
		if err != nil && !cerrdefs.IsConflict(err) {
			if poolsExhausted(err) {
				return "", fmt.Errorf("creating network %s: %w", name, ErrNoAddressPool)
			}
			return "", fmt.Errorf("creating network %s: %w", name, err)
		}
		if err == nil {
			d.log.Info("network created", "app", app, "network", name)
		}
		n, err = d.api.NetworkInspect(ctx, name, network.InspectOptions{})
	}
	if err != nil {
		return "", fmt.Errorf("inspecting network %s: %w", name, err)
	}
	if d.cfg.Guard != nil {
		if err := d.cfg.Guard.Protect(ctx, netguard.Interface(n)); err != nil {
			return "", fmt.Errorf("network %s: %w", name, err)
		}
	}
	return name, nil
}

// removeNetwork removes app's network and its bridge's guard; a missing
// network is fine.
func (d *Docker) removeNetwork(ctx context.Context, app string) error {
	name := networkName(app)
	d.netMu.Lock()
	defer d.netMu.Unlock()
	n, err := d.api.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspecting network %s: %w", name, err)
	}
	err = d.api.NetworkRemove(ctx, n.ID)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing network %s: %w", name, err)
	}
	if d.cfg.Guard != nil {
		if err := d.cfg.Guard.Release(ctx, netguard.Interface(n)); err != nil {
			d.log.Warn("releasing the guard of a removed network", "network", name, "err", err)
		}
	}
	return nil
}

// EnsureNetwork returns the name of app's private bridge network, creating
// it and guarding its bridge when missing, as starting an instance does.
// Other containers (an app's backing services) join it to be reached by
// the app's instances.
func (d *Docker) EnsureNetwork(ctx context.Context, app string) (string, error) {
	return d.ensureNetwork(ctx, app)
}

// ErrNoAddressPool is why an app's network could not be made when the
// engine has handed out all of its address pools: with Docker's defaults
// there are 31, and each app has a network of its own.
var ErrNoAddressPool = errors.New("the Docker engine has no address pool left for another network; " +
	"the operator can give it more with \"default-address-pools\" in /etc/docker/daemon.json, " +
	"e.g. [{\"base\":\"10.200.0.0/14\",\"size\":24}], and restart dockerd")

// poolsExhausted tells whether err is the engine saying it has no
// address pool left; it says so only in words.
func poolsExhausted(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "non-overlapping IPv4 address pool") ||
		strings.Contains(msg, "address pools have been fully subnetted")
}
