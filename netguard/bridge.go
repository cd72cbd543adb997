package netguard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// BridgeNameOption is the bridge driver option that names a network's
// host interface.
const BridgeNameOption = "com.docker.network.bridge.name"

// BridgeName is the host interface name paas gives the bridge of network
// name: "pb-" and 12 hex digits of its hash, within Linux's 15 bytes, the
// same on every start.
func BridgeName(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "pb-" + hex.EncodeToString(sum[:])[:12]
}

// Interface returns the host interface of a bridge network: the name it
// was created with, else the engine's default "br-" and the first 12
// digits of its ID.
func Interface(n network.Inspect) string {
	if name := n.Options[BridgeNameOption]; name != "" {
		return name
	}
	if len(n.ID) < 12 {
		return ""
	}
	return "br-" + n.ID[:12]
}

// NetworkLister is the part of the Docker client Sync uses.
type NetworkLister interface {
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
}

// Sync protects the bridge of every network carrying label (as
// "key=value"), as paasd does at start: rules lost since (a reboot, a
// firewall reload) come back. Rules of interfaces that no longer exist
// (networks removed while no paasd watched) go. It returns how many
// bridges it protected.
func (g *Guard) Sync(ctx context.Context, cli NetworkLister, label string) (int, error) {
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return 0, fmt.Errorf("listing networks to guard: %w", err)
	}
	var errs []error
	if err := g.prune(ctx); err != nil {
		errs = append(errs, err)
	}
	n := 0
	for _, nw := range nets {
		if nw.Driver != network.NetworkBridge {
			continue
		}
		iface := Interface(nw)
		if iface == "" {
			continue
		}
		if err := g.Protect(ctx, iface); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", nw.Name, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// prune releases the rules of interfaces that do not exist. A bridge
// exists before its rules are added, so a rule without its interface is
// left from a network removed without Release.
func (g *Guard) prune(ctx context.Context) error {
	seen := map[string]bool{}
	for _, f := range g.fams {
		out, err := g.ipt(ctx, f, "-S", Chain)
		if err != nil {
			return fmt.Errorf("listing %s: %w", Chain, err)
		}
		for _, line := range strings.Split(out, "\n") {
			words := strings.Fields(line)
			for i := 0; i+1 < len(words); i++ {
				if words[i] == "-i" {
					seen[words[i+1]] = true
				}
			}
		}
	}
	var errs []error
	for iface := range seen {
		if _, err := net.InterfaceByName(iface); err == nil {
			continue
		}
		g.log.Info("removing the rules of a bridge that is gone", "interface", iface)
		if err := g.Release(ctx, iface); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
