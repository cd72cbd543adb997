package runtime

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/go-connections/nat"

	"paas/netguard"
	"paas/stack"
)

// A web instance's container joins a network namespace made ahead of
// time: that of a network holder, a container on the app's network that
// publishes the web port and runs nothing but sleep. The engine spends
// most of a container's start making its network (namespace, veth pair,
// address, published port); a container that joins a holder's namespace
// starts in about a third of that time. Each app keeps holders ready
// for its next web starts, made in the background once a web instance of
// the app is stopped (as a deploy's old one is), or once a start found
// none ready; the instance and its holder then live and die together.
const (
	// LabelNetHolder is "true" on a network holder container.
	LabelNetHolder = "paas.netholder"
	// LabelHolder on an instance container is the ID of the network
	// holder whose namespace it joined.
	LabelHolder = "paas.holder"
	// labelHolderBy on a network holder names the runtime that made it
	// (Docker.token).
	labelHolderBy = "paas.holder.by"
)

// Holder timing and confinement: an app has up to holderSpares holders
// kept ready (two, so that a start right after another's stop, as of
// config changes made one after the other, finds one ready while the
// other is made); one is removed after holderIdle without a start taking
// it; making one is bounded by holderStartTimeout. It runs sleep alone,
// within holderMemory bytes and holderPids processes.
const (
	holderSpares       = 2
	holderIdle         = 10 * time.Minute
	holderStartTimeout = time.Minute
	holderMemory       = 16 << 20
	holderPids         = 8
)

// netHolder is a running network holder container.
type netHolder struct {
	id   string
	port int // the container port it publishes
	// addr is where the port is published on the host; direct is the
	// holder's address on the app network, "" when unreachable from
	// here (see directAddr).
	addr, direct string
}

// spareHolder is an app's holder being made or ready; ready yields it
// once (nil when making it failed).
type spareHolder struct {
	port  int
	ready chan *netHolder
	timer *time.Timer
}

// holderConfig returns the container and host configuration of a network
// holder of app whose port port is published on host: on the app's
// network as a web instance is, running sleep as the stack user on a
// read-only root, with no capability and small limits.
func holderConfig(app string, port int, host, image, by string) (*container.Config, *container.HostConfig) {
	p := natPort(port)
	cfg := &container.Config{
		Image:        image,
		User:         stack.User,
		Entrypoint:   []string{"sleep"},
		Cmd:          []string{"infinity"},
		WorkingDir:   "/",
		Labels:       map[string]string{LabelManaged: "true", LabelApp: app, LabelNetHolder: "true", labelHolderBy: by},
		ExposedPorts: nat.PortSet{p: {}},
	}
	pids := int64(holderPids)
	hc := &container.HostConfig{
		NetworkMode:    container.NetworkMode(networkName(app)),
		PortBindings:   nat.PortMap{p: {{HostIP: host, HostPort: ""}}},
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:      containerLogConfig(),
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{noNewPrivileges},
		Resources:      container.Resources{Memory: holderMemory, PidsLimit: &pids},
	}
	return cfg, hc
}

// makeHolder creates and starts a network holder of app publishing port.
func (d *Docker) makeHolder(ctx context.Context, app string, port int) (*netHolder, error) {
	netName, err := d.ensureNetwork(ctx, app)
	if err != nil {
		return nil, err
	}
	cfg, hc := holderConfig(app, port, d.host, d.cfg.HolderImage, d.token)
	id, err := d.create(ctx, cfg, hc, fmt.Sprintf("paas.%s.holder.%s", app, randomSuffix()))
	if err != nil {
		return nil, err
	}
	if err := d.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		d.discard(id)
		return nil, fmt.Errorf("starting network holder: %w", err)
	}
	info, err := d.api.ContainerInspect(ctx, id)
	if err != nil {
		d.discard(id)
		return nil, fmt.Errorf("inspecting network holder: %w", err)
	}
	h := &netHolder{
		id:     id,
		port:   port,
		addr:   publishedAddr(info, port, d.host),
		direct: directAddr(info, netName, netguard.BridgeName(netName), port),
	}
	if h.addr == "" {
		d.discard(id)
		return nil, fmt.Errorf("network holder of %s: the engine published no port", app)
	}
	return h, nil
}

// takeHolder hands a web start of app the oldest holder made ahead for
// it, waiting for it when it is still being made; nil when there is
// none, or when it no longer runs or publishes another port (it is
// removed then).
func (d *Docker) takeHolder(ctx context.Context, app string, port int) *netHolder {
	d.holdMu.Lock()
	var sp *spareHolder
	if q := d.spares[app]; len(q) > 0 {
		sp = q[0]
		d.setSpares(app, q[1:])
	}
	d.holdMu.Unlock()
	if sp == nil {
		return nil
	}
	sp.timer.Stop()
	var h *netHolder
	select {
	case h = <-sp.ready:
	case <-ctx.Done():
		go func() { d.dropHolder(<-sp.ready) }()
		return nil
	}
	if h == nil {
		return nil
	}
	info, err := d.api.ContainerInspect(ctx, h.id)
	if err != nil || info.State == nil || !info.State.Running || h.port != port {
		d.dropHolder(h)
		return nil
	}
	return h
}

// setSpares records q as app's holders kept ready; the caller holds
// holdMu.
func (d *Docker) setSpares(app string, q []*spareHolder) {
	if len(q) == 0 {
		delete(d.spares, app)
		return
	}
	d.spares[app] = q
}

// prepareHolder starts making holders for app's next web starts, which
// will publish port, until holderSpares are ready or being made. Each is
// removed when no start takes it within holderIdle, and by RemoveApp,
// Shutdown and Detach.
func (d *Docker) prepareHolder(app string, port int) {
	if d.cfg.HolderImage == "" || d.isClosed() {
		return
	}
	d.holdMu.Lock()
	defer d.holdMu.Unlock()
	for !d.holdClosed && len(d.spares[app]) < holderSpares {
		sp := &spareHolder{port: port, ready: make(chan *netHolder, 1)}
		d.spares[app] = append(d.spares[app], sp)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), holderStartTimeout)
			defer cancel()
			h, err := d.makeHolder(ctx, app, port)
			if err != nil {
				d.log.Warn("making a network holder ahead of the next start", "app", app, "err", err)
			}
			sp.ready <- h
		}()
		sp.timer = time.AfterFunc(holderIdle, func() {
			if d.forgetSpare(app, sp) {
				d.dropHolder(<-sp.ready)
			}
		})
	}
}

// forgetSpare forgets sp as one of app's holders kept ready, reporting
// whether it still was.
func (d *Docker) forgetSpare(app string, sp *spareHolder) bool {
	d.holdMu.Lock()
	defer d.holdMu.Unlock()
	q := d.spares[app]
	i := slices.Index(q, sp)
	if i < 0 {
		return false
	}
	d.setSpares(app, slices.Delete(slices.Clone(q), i, i+1))
	return true
}

// dropSpare removes app's holders kept ready, waiting for those still
// being made.
func (d *Docker) dropSpare(app string) {
	d.holdMu.Lock()
	q := d.spares[app]
	delete(d.spares, app)
	d.holdMu.Unlock()
	for _, sp := range q {
		sp.timer.Stop()
		d.dropHolder(<-sp.ready)
	}
}

// dropSpares removes every app's holders kept ready, and makes none from
// then on.
func (d *Docker) dropSpares() {
	d.holdMu.Lock()
	d.holdClosed = true
	apps := make([]string, 0, len(d.spares))
	for app := range d.spares {
		apps = append(apps, app)
	}
	d.holdMu.Unlock()
	for _, app := range apps {
		d.dropSpare(app)
	}
}

// isSpare reports whether container id is a holder kept ready.
func (d *Docker) isSpare(id string) bool {
	d.holdMu.Lock()
	defer d.holdMu.Unlock()
	for _, q := range d.spares {
		for _, sp := range q {
			select {
			case h := <-sp.ready:
				sp.ready <- h
				if h != nil && h.id == id {
					return true
				}
			default:
				// Still being made: not listed yet when it was listed.
			}
		}
	}
	return false
}

// dropHolder removes a holder; nil does nothing.
func (d *Docker) dropHolder(h *netHolder) {
	if h != nil {
		d.remove(h.id)
	}
}

// followHolder watches the holder of a running instance until stop is
// called: when the holder ends while the instance is neither stopping
// nor detached, the instance has lost its network, and its container is
// killed so that its exit is reported. stop returns once the watch has
// ended.
func (d *Docker) followHolder(di *dockerInst) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for ctx.Err() == nil {
			waitC, errC := d.api.ContainerWait(ctx, di.holder, container.WaitConditionNotRunning)
			select {
			case <-waitC:
			case <-errC:
				// Not found means removed; any other failure is the
				// engine going away: look again once it answers.
				if ctx.Err() != nil {
					return
				}
				if err := d.waitEngine(ctx); err != nil {
					return
				}
				info, err := d.api.ContainerInspect(ctx, di.holder)
				if err == nil && info.State != nil && info.State.Running {
					continue
				}
				if err != nil && !cerrdefs.IsNotFound(err) {
					continue
				}
			}
			if ctx.Err() != nil || di.stopping.Load() || di.detached.Load() || di.ended.Load() {
				return
			}
			d.log.Warn("the network holder of an instance ended: ending the instance",
				"app", di.inst.App, "instance", di.inst.Name(), "id", shortID(di.inst.ID), "holder", shortID(di.holder))
			kctx, kcancel := context.WithTimeout(ctx, 30*time.Second)
			err := d.api.ContainerKill(kctx, di.inst.ID, "KILL")
			kcancel()
			if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
				d.log.Warn("killing an instance whose network holder ended", "id", shortID(di.inst.ID), "err", err)
			}
			return
		}
	}()
	return func() { cancel(); <-ended }
}

// sweepHolder removes a network holder whose creation event m reports
// when an earlier paasd of the same owner made it: one killed while
// making it, whose request the engine carried out after Adopt listed the
// containers. Only a runtime that makes holders, of a named owner (a
// data dir only one paasd uses), sweeps.
func (d *Docker) sweepHolder(m events.Message) {
	a := m.Actor.Attributes
	if m.Type != events.ContainerEventType || m.Action != events.ActionCreate || d.cfg.HolderImage == "" ||
		d.cfg.Owner == "" || a[LabelNetHolder] != "true" || a[LabelOwner] != d.cfg.Owner || a[labelHolderBy] == d.token {
		return
	}
	go func() {
		d.remove(m.Actor.ID)
		d.log.Info("leftover container removed", "app", a[LabelApp], "id", shortID(m.Actor.ID),
			"why", "network holder an earlier paasd made")
	}()
}

// holderAddrs returns the published and direct addresses of a running
// holder of app; ok is false when it is gone or does not run.
func (d *Docker) holderAddrs(ctx context.Context, app, id string) (addr, direct string, port int, ok bool) {
	info, err := d.api.ContainerInspect(ctx, id)
	if err != nil || info.State == nil || !info.State.Running || info.NetworkSettings == nil ||
		info.Config == nil || info.Config.Labels[LabelNetHolder] != "true" || info.Config.Labels[LabelApp] != app {
		return "", "", 0, false
	}
	for p := range info.NetworkSettings.Ports {
		if p.Proto() == "tcp" {
			port = p.Int()
			break
		}
	}
	netName := networkName(app)
	addr = publishedAddr(info, port, d.host)
	return addr, directAddr(info, netName, netguard.BridgeName(netName), port), port, addr != ""
}

// joinHolder changes a web instance's configuration to join h's network
// namespace: h publishes the port, and the container records h.
func joinHolder(cfg *container.Config, hc *container.HostConfig, h *netHolder) {
	cfg.ExposedPorts = nil
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Labels[LabelHolder] = h.id
	hc.PortBindings = nil
	hc.NetworkMode = container.NetworkMode("container:" + h.id)
}
