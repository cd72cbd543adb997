package addons

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// Upgrade recreates, on its volume, each service container of this paasd
// whose image is not its engine's current image (DockerConfig.Images's,
// else paas's own, built when missing or built from another stack image),
// when both run the same major version. The container keeps its name,
// labels, networks and aliases; it is stopped cleanly first. A major
// change is never made in place: it is logged and the service left
// running. A service whose new container does not start is put back on
// its old one.
func (d *Docker) Upgrade(ctx context.Context) error {
	list := filters.NewArgs(filters.Arg("label", LabelAddon))
	if d.cfg.Owner != "" {
		list.Add("label", labelOwner+"="+d.cfg.Owner)
	}
	cs, err := d.api.ContainerList(ctx, container.ListOptions{All: true, Filters: list})
	if err != nil {
		return engineError("listing add-on services", err)
	}
	type current struct {
		ref  string
		info imageInfo
		err  error
	}
	images := map[string]current{}
	var errs []error
	for _, c := range cs {
		name := c.Labels[LabelAddon]
		e, err := lookup(c.Labels[LabelEngine])
		if name == "" || err != nil {
			continue
		}
		if slices.Contains(c.Names, "/"+asideName(name)) {
			if err := d.settleAside(ctx, name, c.ID); err != nil {
				errs = append(errs, fmt.Errorf("add-on %s: %w", name, err))
			}
			continue
		}
		cur, ok := images[e.name]
		if !ok {
			cur.ref, cur.info, cur.err = d.ensureImage(ctx, e, io.Discard)
			images[e.name] = cur
		}
		if cur.err != nil {
			errs = append(errs, fmt.Errorf("the %s image: %w", e.name, cur.err))
			continue
		}
		if c.ImageID == cur.info.id {
			continue
		}
		old, err := d.imageInfo(ctx, c.ImageID)
		if err != nil {
			errs = append(errs, fmt.Errorf("add-on %s: %w", name, err))
			continue
		}
		if major(old.version) != major(cur.info.version) {
			d.log.Warn("add-on left on its version: a major version is not changed in place (create a new service, back up, restore)",
				"addon", name, "version", old.version, "image_version", cur.info.version)
			continue
		}
		if err := d.recreate(ctx, name, e, cur.ref, cur.info); err != nil {
			errs = append(errs, fmt.Errorf("upgrading add-on %s: %w", name, err))
			continue
		}
		d.log.Info("add-on upgraded", "addon", name, "from", old.version, "to", cur.info.version)
	}
	return errors.Join(errs...)
}

// major is the major version of version v ("15" of "15.10").
func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

// recreate replaces service name's container by one of image ref on the
// same volume, networks and aliases; the old container is renamed aside
// until the new one is up, and is restored on failure.
func (d *Docker) recreate(ctx context.Context, name string, e *engine, ref string, info imageInfo) (err error) {
	old, err := d.api.ContainerInspect(ctx, containerName(name))
	if err != nil {
		return engineError("inspecting the service", err)
	}
	wasRunning := old.State != nil && old.State.Running
	idle, err := d.ensureIdleNetwork(ctx)
	if err != nil {
		return err
	}
	secs := int(stopTimeout.Seconds())
	if err := d.api.ContainerStop(ctx, old.ID, container.StopOptions{Timeout: &secs}); err != nil {
		return engineError("stopping the service", err)
	}
	if err := d.api.ContainerRename(ctx, old.ID, asideName(name)); err != nil {
		d.startAgain(ctx, old.ID, wasRunning)
		return engineError("renaming the old container", err)
	}
	var id string
	defer func() {
		if err == nil {
			return
		}
		bg := context.WithoutCancel(ctx)
		if id != "" {
			if err := d.api.ContainerRemove(bg, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				d.log.Warn("removing a failed upgrade's container", "addon", name, "err", err)
			}
		}
		if err := d.api.ContainerRename(bg, old.ID, containerName(name)); err != nil {
			d.log.Warn("renaming the old container back", "addon", name, "err", err)
		}
		d.startAgain(bg, old.ID, wasRunning)
	}()
	cfg, hc := d.containerSpec(name, e, ref, info, idle)
	// The labels are the old container's (owner and all).
	cfg.Labels = old.Config.Labels
	c, err := d.api.ContainerCreate(ctx, cfg, hc, &network.NetworkingConfig{}, nil, containerName(name))
	if err != nil {
		return engineError("creating the new container", err)
	}
	id = c.ID
	if old.NetworkSettings != nil {
		for net, ep := range old.NetworkSettings.Networks {
			if net == idle || ep == nil {
				continue
			}
			var aliases []string
			for _, a := range ep.Aliases {
				// The engine adds the container's short ID itself.
				if !strings.HasPrefix(old.ID, a) {
					aliases = append(aliases, a)
				}
			}
			if err := d.api.NetworkConnect(ctx, net, id, &network.EndpointSettings{Aliases: aliases}); err != nil && !alreadyConnected(err) {
				return engineError("joining network "+net, err)
			}
		}
	}
	if !wasRunning {
		// A stopped service stays stopped, on its new image.
		return d.removeAside(ctx, name, old.ID)
	}
	if err := d.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return engineError("starting the new container", err)
	}
	if err := d.waitAlive(ctx, id, e); err != nil {
		return err
	}
	return d.removeAside(ctx, name, old.ID)
}

// asideName is the name of service name's old container while an upgrade
// replaces it.
func asideName(name string) string { return containerName(name) + ".old" }

// settleAside finishes the upgrade of service name that an end of paasd
// interrupted, whose old container id is aside: it is removed when the
// new container exists, else it becomes the service's container again
// and is started.
func (d *Docker) settleAside(ctx context.Context, name, id string) error {
	_, err := d.api.ContainerInspect(ctx, containerName(name))
	switch {
	case err == nil:
		if err := d.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return engineError("removing the container an upgrade replaced", err)
		}
		return nil
	case !cerrdefs.IsNotFound(err):
		return engineError("inspecting the service", err)
	}
	if err := d.api.ContainerRename(ctx, id, containerName(name)); err != nil {
		return engineError("renaming the old container back", err)
	}
	if err := d.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return engineError("starting the old container again", err)
	}
	d.log.Warn("add-on put back on its old container after an interrupted upgrade", "addon", name)
	return nil
}

// removeAside removes the old container of an upgraded service.
func (d *Docker) removeAside(ctx context.Context, name, id string) error {
	if err := d.api.ContainerRemove(ctx, id, container.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		d.log.Warn("removing the container an upgrade replaced", "addon", name, "err", err)
	}
	return nil
}

// startAgain starts container id again when it ran.
func (d *Docker) startAgain(ctx context.Context, id string, wasRunning bool) {
	if !wasRunning {
		return
	}
	if err := d.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		d.log.Warn("starting an add-on's container again", "container", id, "err", err)
	}
}
