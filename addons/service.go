package addons

import (
	"context"
	"slices"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// Attach joins the service to app's private network with the alias name,
// so that the app's instances reach it at URL's host (idempotent).
func (d *Docker) Attach(ctx context.Context, name, app string) error {
	insp, err := d.api.ContainerInspect(ctx, containerName(name))
	if err != nil {
		return engineError("inspecting add-on "+name, err)
	}
	net, err := d.cfg.Network(ctx, app)
	if err != nil {
		return err
	}
	if insp.NetworkSettings != nil {
		if _, ok := insp.NetworkSettings.Networks[net]; ok {
			return nil
		}
	}
	err = d.api.NetworkConnect(ctx, net, insp.ID, &network.EndpointSettings{Aliases: []string{name}})
	if err != nil && !alreadyConnected(err) {
		return engineError("attaching add-on "+name+" to "+app, err)
	}
	d.log.Info("add-on attached", "addon", name, "app", app, "network", net)
	return nil
}

// alreadyConnected reports whether err says the container is on the
// network already (a concurrent Attach).
func alreadyConnected(err error) bool {
	return cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "already exists in network")
}

// Detach leaves app's network (idempotent). App's network is the one
// labelled as app's: a network app no longer has is not made again.
func (d *Docker) Detach(ctx context.Context, name, app string) error {
	insp, err := d.api.ContainerInspect(ctx, containerName(name))
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return engineError("inspecting add-on "+name, err)
	}
	nets, err := d.api.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", labelManaged+"=true"), filters.Arg("label", labelApp+"="+app))})
	if err != nil {
		return engineError("listing the networks of "+app, err)
	}
	for _, n := range nets {
		if insp.NetworkSettings == nil {
			break
		}
		if _, ok := insp.NetworkSettings.Networks[n.Name]; !ok {
			continue
		}
		err := d.api.NetworkDisconnect(ctx, n.ID, insp.ID, false)
		if err != nil && !cerrdefs.IsNotFound(err) && !strings.Contains(err.Error(), "is not connected") {
			return engineError("detaching add-on "+name+" from "+app, err)
		}
		d.log.Info("add-on detached", "addon", name, "app", app, "network", n.Name)
	}
	return nil
}

// Destroy stops the service cleanly (postgres fast shutdown, redis
// SIGTERM: it saves and exits, as SHUTDOWN does) and removes its container
// and data volume (idempotent).
func (d *Docker) Destroy(ctx context.Context, name string) error {
	_, err := d.api.ContainerInspect(ctx, containerName(name))
	switch {
	case cerrdefs.IsNotFound(err):
	case err != nil:
		return engineError("inspecting add-on "+name, err)
	default:
		// The container's StopSignal is its engine's clean shutdown.
		secs := int(stopTimeout.Seconds())
		if err := d.api.ContainerStop(ctx, containerName(name), container.StopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
			return engineError("stopping add-on "+name, err)
		}
		if err := d.api.ContainerRemove(ctx, containerName(name), container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return engineError("removing add-on "+name, err)
		}
	}
	// The old container of an interrupted upgrade, if any.
	if err := d.api.ContainerRemove(ctx, asideName(name), container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return engineError("removing add-on "+name, err)
	}
	if err := d.api.VolumeRemove(ctx, volumeName(name), false); err != nil && !cerrdefs.IsNotFound(err) {
		return engineError("removing the volume of add-on "+name, err)
	}
	d.log.Info("add-on destroyed", "addon", name)
	return nil
}

// Status reports one service. A container that runs is "up", one the
// engine is restarting "crashed", one that does not run "stopped"; no
// container is "missing".
func (d *Docker) Status(ctx context.Context, name string) (Status, error) {
	st := Status{Name: name, State: StateMissing, DiskBytes: -1}
	insp, err := d.api.ContainerInspect(ctx, containerName(name))
	if cerrdefs.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return st, engineError("inspecting add-on "+name, err)
	}
	if insp.Config != nil {
		st.Engine = insp.Config.Labels[LabelEngine]
		if info, err := d.imageInfo(ctx, insp.Image); err == nil {
			st.Version = info.version
		}
	}
	switch {
	case insp.State == nil:
		st.State = StateStopped
	case insp.State.Restarting:
		st.State = StateCrashed
	case insp.State.Running:
		st.State = StateUp
	default:
		st.State = StateStopped
	}
	if st.State == StateUp {
		st.DiskBytes = d.diskBytes(ctx, insp.ID)
	}
	return st, nil
}

// diskBytes returns the size of the data volume of the service running in
// container id, or -1.
func (d *Docker) diskBytes(ctx context.Context, id string) int64 {
	code, out, err := d.exec(ctx, id, "", nil, []string{"du", "-s", "-B1", dataDir})
	if err != nil || code != 0 {
		return -1
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		return -1
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Names lists the services of this paasd (its Owner): every container
// labelled as an add-on, whatever its state, by service name.
func (d *Docker) Names(ctx context.Context) ([]string, error) {
	f := filters.NewArgs(filters.Arg("label", LabelAddon))
	if d.cfg.Owner != "" {
		f.Add("label", labelOwner+"="+d.cfg.Owner)
	}
	cs, err := d.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, engineError("listing add-on services", err)
	}
	var names []string
	for _, c := range cs {
		if name := c.Labels[LabelAddon]; name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}
