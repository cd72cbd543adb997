package runtime

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"paas/netguard"
)

// DockerConfig configures a Docker runtime.
type DockerConfig struct {
	// Client talks to the engine; required.
	Client *client.Client
	// Logs receives every stdout and stderr line of every instance this
	// runtime started. It may be nil: output is then read and dropped.
	Logs LineSink
	// OnExit is called once per exit of an instance this runtime
	// started, stopped ones included (Stopped set), after all of its
	// lines were handed to Logs and its container was removed. It runs
	// in a goroutine of that instance and may be nil.
	OnExit func(Exit)
	// Host is the address web ports are published on; "127.0.0.1" when
	// empty.
	Host string
	// Owner tells this paasd's containers from those of others using the
	// same engine (such as another paasd with its own data directory):
	// every container it creates carries it as label paas.owner, and
	// List and Adopt see only containers of the same owner. Empty: no
	// label, and List and Adopt see every managed container.
	Owner string
	// DefaultMemory is the memory limit in bytes of an instance or
	// one-off whose spec names none; 0 means none.
	DefaultMemory int64
	// PidsLimit caps the processes and threads of each container;
	// DefaultPidsLimit when zero.
	PidsLimit int64
	// OnEngine, when set, is called when the engine stops answering and
	// when it answers again (after every instance it ran was followed
	// again or reported through OnExit). It runs in the engine watch.
	OnEngine func(EngineEvent)
	// Guard, when set, keeps containers from reaching the host: the
	// bridge of every app network is protected before a container joins
	// it, and released when the network is removed.
	Guard HostGuard
	// HolderImage, when set, is the image network holders run (the
	// stack image): a web instance then joins the network namespace of
	// a holder made ahead of its start (see LabelNetHolder). Empty: each
	// web container makes its own network namespace.
	HolderImage string
	Logger      *slog.Logger
}

// HostGuard keeps the containers on a bridge interface from reaching the
// host's own ports (netguard.Guard does).
type HostGuard interface {
	Protect(ctx context.Context, iface string) error
	Release(ctx context.Context, iface string) error
}

// Docker runs instances as containers of a Docker engine, one container
// per instance, each app on its own bridge network. It is safe for
// concurrent use.
type Docker struct {
	cfg  DockerConfig
	api  *client.Client
	log  *slog.Logger
	host string
	// token tells the network holders this runtime made from those of
	// an earlier paasd.
	token string

	netMu sync.Mutex // serializes network creation

	holdMu sync.Mutex
	spares map[string][]*spareHolder // by app: the holders for its next web starts, oldest first
	// holdClosed is set once Shutdown or Detach removed the spares.
	holdClosed bool

	mu      sync.Mutex
	insts   map[string]*dockerInst   // by container ID, until removed
	oneoffs map[string]*dockerOneOff // running one-offs by container ID
	closed  bool
	// watchers counts running watch goroutines; it is only added to
	// under mu while not closed.
	watchers sync.WaitGroup

	eng engine
}

// dockerInst is an instance container this runtime watches.
type dockerInst struct {
	inst     Instance
	stopping atomic.Bool
	detached atomic.Bool     // Detach was called: watching ends, the container stays
	stream   *instanceStream // replaced (under Docker.mu) when followed again
	// holder is the ID of the network holder whose namespace the
	// container joined, "" when it has its own.
	holder string
	ended  atomic.Bool // the container is removed: its holder goes next
	// done is closed once the container has exited, its output has been
	// delivered and the container is removed.
	done chan struct{}
}

// NewDocker returns a Docker runtime after checking that the engine
// answers.
func NewDocker(ctx context.Context, cfg DockerConfig) (*Docker, error) {
	if cfg.Client == nil {
		return nil, errors.New("docker runtime: no engine client")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := cfg.Client.Ping(ctx); err != nil {
		return nil, fmt.Errorf("docker engine not available: %w", err)
	}
	// Settled before the engine watch calls concurrently with others.
	cfg.Client.NegotiateAPIVersion(ctx)
	d := &Docker{
		cfg:     cfg,
		api:     cfg.Client,
		log:     log,
		host:    cfg.Host,
		insts:   map[string]*dockerInst{},
		oneoffs: map[string]*dockerOneOff{},
		spares:  map[string][]*spareHolder{},
		token:   randomSuffix() + randomSuffix() + randomSuffix() + randomSuffix(),
	}
	d.startEngineWatch()
	return d, nil
}

// Start creates and starts the container of an instance of s and returns
// once it runs. s.Slug names the image. A web instance's port 5000 (its
// PORT) is published on the configured host on a port the engine picks,
// reported as Instance.Addr; the caller waits for it to listen
// (Probe: the engine's proxy answers first). With HolderImage set, a web
// instance joins the network namespace of the app's network holder made
// ahead of it, which publishes the port (see LabelNetHolder); when none
// was ready, it makes its own network namespace, and the holder for the
// next start is made once it runs. ctx bounds starting only, not the
// instance's life.
func (d *Docker) Start(ctx context.Context, s Spec) (Instance, error) {
	if err := ctx.Err(); err != nil {
		return Instance{}, err
	}
	if err := checkImageSpec(s); err != nil {
		return Instance{}, err
	}
	if d.isClosed() {
		return Instance{}, ErrShutdown
	}
	inst, err := d.startOnEngine(ctx, s)
	if err != nil {
		return Instance{}, fmt.Errorf("starting %s %s: %w", s.App, s.Name(), err)
	}
	d.log.Info("instance started", "app", s.App, "instance", s.Name(), "id", shortID(inst.ID),
		"image", s.Slug, "addr", inst.Addr)
	return inst, nil
}

// startOnEngine starts an instance once the engine answers and every
// instance it ran before a restart is reconciled (so no new container
// takes the address of one whose route is not withdrawn yet). When
// starting fails because the engine went away, it tries once more when
// the engine is back (a few times, should it go again).
func (d *Docker) startOnEngine(ctx context.Context, s Spec) (Instance, error) {
	for attempt := 0; ; attempt++ {
		if err := d.waitEngine(ctx); err != nil {
			return Instance{}, err
		}
		inst, err := d.start(ctx, s)
		if err == nil || attempt >= 3 || ctx.Err() != nil || !d.engineLost(ctx, err) {
			return inst, err
		}
		d.log.Info("starting an instance again once the engine answers", "app", s.App, "instance", s.Name(), "err", err)
	}
}

// start does Start's work once the spec has been checked.
func (d *Docker) start(ctx context.Context, s Spec) (Instance, error) {
	img, err := d.imageProfile(ctx, s.Slug)
	if err != nil {
		return Instance{}, err
	}
	cfg, hc, err := instanceConfig(s, d.host, img.workDir)
	if err != nil {
		return Instance{}, err
	}
	if err := keepEntrypoint(cfg, s.Command, img); err != nil {
		return Instance{}, err
	}
	confine(cfg, hc, img, d.limits())
	var h *netHolder
	if s.Web && d.cfg.HolderImage != "" {
		h = d.takeHolder(ctx, s.App, containerPort(s))
		if h == nil {
			// None was ready: the next start's is made once this one
			// is done. After a start that took one, the next is made
			// once a web instance of the app is stopped (a deploy's
			// old one), so that making it never slows a deploy.
			defer d.prepareHolder(s.App, containerPort(s))
		}
	}
	netName := networkName(s.App)
	if h != nil {
		joinHolder(cfg, hc, h)
	} else if netName, err = d.ensureNetwork(ctx, s.App); err != nil {
		return Instance{}, err
	}
	// discard removes what was made when the instance cannot be.
	discard := func(id string) {
		if id != "" {
			d.discard(id)
		}
		d.dropHolder(h)
	}
	id, err := d.create(ctx, cfg, hc, containerName(s))
	if err != nil {
		discard("")
		return Instance{}, err
	}
	c, err := d.launch(ctx, id, false)
	if err != nil {
		discard(id)
		return Instance{}, err
	}
	info, err := d.api.ContainerInspect(ctx, id)
	if err != nil {
		discard(id)
		c.close()
		return Instance{}, fmt.Errorf("inspecting container: %w", err)
	}
	inst := Instance{
		ID:      id,
		App:     s.App,
		Release: s.Release,
		Type:    s.Type,
		Index:   s.Index,
		Command: s.Command,
		Started: startedAt(info),
	}
	switch {
	case s.Web && h != nil:
		inst.Port = h.port
		inst.Addr, inst.Direct = h.addr, h.direct
	case s.Web:
		inst.Port = containerPort(s)
		// A container that has already exited has no published port:
		// it is watched like any other, and its exit is reported with
		// its status (a command not found, a crash at start).
		inst.Addr = publishedAddr(info, inst.Port, d.host)
		inst.Direct = directAddr(info, netName, netguard.BridgeName(netName), inst.Port)
		if inst.Addr == "" && (info.State == nil || info.State.Running) {
			discard(id)
			c.close()
			return Instance{}, errors.New("the engine published no port")
		}
	}
	di := &dockerInst{inst: inst, stream: c.stream(), done: make(chan struct{})}
	if h != nil {
		di.holder = h.id
	}
	if !d.register(di) {
		discard(id)
		c.close()
		return Instance{}, ErrShutdown
	}
	go d.watch(di, di.stream)
	return inst, nil
}

// register records a watched instance unless the runtime is closed, and
// counts its watcher, which the caller must start when it returns true.
func (d *Docker) register(di *dockerInst) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.insts[di.inst.ID] = di
	d.watchers.Add(1)
	return true
}

// checkImageSpec is checkSpec for images: an empty command is allowed and
// means the image's own entrypoint and command.
func checkImageSpec(s Spec) error {
	if s.Slug == "" {
		return fmt.Errorf("%s %s: no image given", s.App, s.Name())
	}
	if s.Command == "" {
		s.Command = "-" // the image's own; checkSpec checks the rest
	}
	return checkSpec(s)
}

// create creates a container named name, or name plus a short random
// suffix when a container of that name exists (as during a release
// switch), and returns its ID.
func (d *Docker) create(ctx context.Context, cfg *container.Config, hc *container.HostConfig, name string) (string, error) {
	nc := &network.NetworkingConfig{}
	if !hc.NetworkMode.IsContainer() {
		// A container joining another's namespace has no endpoint.
		nc.EndpointsConfig = map[string]*network.EndpointSettings{string(hc.NetworkMode): {}}
	}
	if d.cfg.Owner != "" {
		cfg.Labels = maps.Clone(cfg.Labels)
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[LabelOwner] = d.cfg.Owner
	}
	try := name
	for attempt := 0; ; attempt++ {
		resp, err := d.api.ContainerCreate(ctx, cfg, hc, nc, nil, try)
		if err == nil {
			for _, w := range resp.Warnings {
				d.log.Warn("engine warning creating container", "name", try, "warning", w)
			}
			return resp.ID, nil
		}
		if !cerrdefs.IsConflict(err) || attempt == 3 {
			return "", fmt.Errorf("creating container %s: %w", try, err)
		}
		try = name + "-" + randomSuffix()
	}
}

// discard force-removes a container that could not be made an instance.
func (d *Docker) discard(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := d.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		d.log.Warn("removing container", "id", shortID(id), "err", err)
	}
}

// Stop stops an instance: the engine sends SIGTERM and, after grace
// (rounded up to whole seconds), SIGKILL. It returns once the container
// has exited, its output has been delivered and it is removed with its
// network holder, or with ctx's error when ctx ends first (the container
// is killed then). An unknown or already removed id is not an error. It
// also stops containers of instances this runtime did not start, such as
// those of an earlier paasd, found by List. Once a web instance it
// watched is stopped, the network holder for the app's next web start is
// made in the background (see HolderImage).
func (d *Docker) Stop(ctx context.Context, id string, grace time.Duration) error {
	d.mu.Lock()
	di := d.insts[id]
	d.mu.Unlock()
	if di != nil {
		di.stopping.Store(true)
		d.log.Info("stopping instance", "app", di.inst.App, "instance", di.inst.Name(), "id", shortID(id), "grace", grace)
	}
	if err := d.stopContainer(ctx, id, grace); err != nil {
		return fmt.Errorf("stopping %s: %w", shortID(id), err)
	}
	if di != nil {
		select {
		case <-di.done:
			if di.inst.Port > 0 {
				// A web instance: the app's next start takes its place.
				d.prepareHolder(di.inst.App, di.inst.Port)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("stopping %s: %w", shortID(id), ctx.Err())
		}
	}
	// Not watched here: remove it once it has stopped, then its network
	// holder.
	rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var holder string
	if info, err := d.api.ContainerInspect(rmCtx, id); err == nil && info.Config != nil {
		holder = info.Config.Labels[LabelHolder]
	}
	err := d.api.ContainerRemove(rmCtx, id, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing %s: %w", shortID(id), err)
	}
	if holder != "" {
		err := d.api.ContainerRemove(rmCtx, holder, container.RemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("removing the network holder of %s: %w", shortID(id), err)
		}
	}
	return nil
}

// stopContainer asks the engine to stop a container with grace and
// returns once it stopped. When ctx ends first, the container is killed.
// A missing container is not an error.
func (d *Docker) stopContainer(ctx context.Context, id string, grace time.Duration) error {
	sec := stopSeconds(grace)
	err := d.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &sec})
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
		return nil
	case ctx.Err() != nil:
		killCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if kerr := d.api.ContainerKill(killCtx, id, "KILL"); kerr != nil && !cerrdefs.IsNotFound(kerr) && !cerrdefs.IsConflict(kerr) {
			d.log.Warn("killing container", "id", shortID(id), "err", kerr)
		}
		return ctx.Err()
	default:
		return err
	}
}

// List returns the running instance containers of app, or of every app
// when app is "", as the engine reports them by their labels (so it
// includes instances an earlier paasd started), sorted by app, type and
// index. One-offs are not listed, nor containers of another Owner. An engine error is logged and yields
// nil.
func (d *Docker) List(app string) []Instance {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := d.managedFilter(app)
	f.Add("status", "running")
	cs, err := d.api.ContainerList(ctx, container.ListOptions{Filters: f})
	if err != nil {
		d.log.Error("listing containers", "app", app, "err", err)
		return nil
	}
	var out []Instance
	for _, c := range cs {
		if c.Labels[LabelOneOff] == "true" {
			continue
		}
		inst, ok := instanceFromSummary(c, d.host)
		if !ok {
			continue
		}
		d.mu.Lock()
		di := d.insts[c.ID]
		d.mu.Unlock()
		if di != nil {
			inst.Started = di.inst.Started
		} else if info, err := d.api.ContainerInspect(ctx, c.ID); err == nil {
			// The listing has only the creation second.
			inst.Started = startedAt(info)
		}
		if h := c.Labels[LabelHolder]; h != "" {
			// Its network holder publishes its port.
			if di != nil {
				inst.Addr, inst.Direct, inst.Port = di.inst.Addr, di.inst.Direct, di.inst.Port
			} else {
				inst.Addr, inst.Direct, inst.Port, _ = d.holderAddrs(ctx, inst.App, h)
			}
		}
		out = append(out, inst)
	}
	slices.SortFunc(out, func(a, b Instance) int {
		return cmp.Or(
			cmp.Compare(a.App, b.App),
			cmp.Compare(a.Type, b.Type),
			cmp.Compare(a.Index, b.Index),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return out
}

// managedFilter selects the containers this runtime manages: of app, or
// of every app when app is "", and of its owner when it has one.
func (d *Docker) managedFilter(app string) filters.Args {
	f := filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))
	if app != "" {
		f.Add("label", LabelApp+"="+app)
	}
	if d.cfg.Owner != "" {
		f.Add("label", LabelOwner+"="+d.cfg.Owner)
	}
	return f
}

// Shutdown stops every instance this runtime started or adopted and every
// one-off it started, in parallel, each with the given grace, and refuses
// new ones from then on. Other containers are left alone. It returns when
// all are gone, or with ctx's error.
func (d *Docker) Shutdown(ctx context.Context, grace time.Duration) error {
	d.mu.Lock()
	d.closed = true
	ids := make([]string, 0, len(d.insts))
	for id := range d.insts {
		ids = append(ids, id)
	}
	oneoffs := make([]*dockerOneOff, 0, len(d.oneoffs))
	for _, o := range d.oneoffs {
		oneoffs = append(oneoffs, o)
	}
	d.mu.Unlock()

	errs := make([]error, len(ids)+len(oneoffs))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = d.Stop(ctx, id, grace) })
	}
	for i, o := range oneoffs {
		wg.Go(func() { errs[len(ids)+i] = d.stopOneOff(ctx, o, grace) })
	}
	wg.Wait()
	d.dropSpares()
	d.stopEngineWatch()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// RemoveApp force-removes every container of app, instances, their
// network holders and one-offs, whoever started them (of its Owner only, when it has one), then the
// app's network unless containers of another owner still use it. Instances this runtime
// watches report their exit as stopped.
func (d *Docker) RemoveApp(ctx context.Context, app string) error {
	if app == "" {
		return errors.New("removing app containers: no app given")
	}
	f := filters.NewArgs(filters.Arg("label", LabelApp+"="+app))
	if d.cfg.Owner != "" {
		f.Add("label", LabelOwner+"="+d.cfg.Owner)
	}
	cs, err := d.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("listing containers of %s: %w", app, err)
	}
	d.dropSpare(app)
	// Every instance is stopping before any holder goes (a holder's end
	// would end its instance as a crash), and holders go last.
	d.mu.Lock()
	for _, c := range cs {
		if di := d.insts[c.ID]; di != nil {
			di.stopping.Store(true)
		}
	}
	d.mu.Unlock()
	slices.SortStableFunc(cs, func(a, b container.Summary) int {
		return cmp.Compare(a.Labels[LabelNetHolder], b.Labels[LabelNetHolder])
	})
	var errs []error
	for _, c := range cs {
		if c.Labels[swarmServiceLabel] != "" {
			continue // the swarm runtime removes its services
		}
		d.mu.Lock()
		di := d.insts[c.ID]
		d.mu.Unlock()
		err := d.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
			errs = append(errs, fmt.Errorf("removing container %s: %w", shortID(c.ID), err))
		}
		if di != nil {
			select {
			case <-di.done:
			case <-ctx.Done():
				errs = append(errs, ctx.Err())
			}
		}
	}
	if err := d.removeNetwork(ctx, app); err != nil {
		if d.cfg.Owner != "" && strings.Contains(err.Error(), "active endpoints") {
			// Containers of another owner's app of the same name use it.
			d.log.Info("app network still in use by other owners", "app", app)
		} else {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing containers of %s: %w", app, err)
	}
	d.log.Info("app containers removed", "app", app, "count", len(cs))
	return nil
}

// isClosed reports whether Shutdown has begun.
func (d *Docker) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// shortID abbreviates a container ID for messages.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// randomSuffix returns 4 random hex digits.
func randomSuffix() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}
