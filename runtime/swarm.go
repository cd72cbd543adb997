package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// SwarmConfig configures a Swarm runtime.
type SwarmConfig struct {
	// Manager is the engine of a manager of the swarm; required.
	Manager *client.Client
	// Local is the engine the builder makes images on; they are pushed
	// from it to Registry. Required.
	Local *client.Client
	// Registry is where nodes pull the apps' images from; required.
	Registry ImageRegistry
	// Logs receives every stdout and stderr line of every instance; it
	// may be nil.
	Logs LineSink
	// OnExit is called once per exit of an instance this runtime
	// started or adopted, stopped ones included (Stopped set). It may be
	// nil.
	OnExit func(Exit)
	// Owner tells this paasd's services from others' in the same swarm
	// (label paas.owner), as DockerConfig.Owner does for containers.
	Owner string
	// DefaultMemory is the memory limit in bytes of an instance whose
	// spec names none; 0 means none.
	DefaultMemory int64
	// PidsLimit caps the processes of each instance; DefaultPidsLimit
	// when zero.
	PidsLimit int64
	// Poll is how often the swarm's tasks and nodes are read; 500ms
	// when zero.
	Poll   time.Duration
	Logger *slog.Logger
}

// ImageRegistry is the image registry the swarm's nodes pull from
// (registry.Registry is one).
type ImageRegistry interface {
	// Ref names an image of the registry: "HOST:PORT/REPO:TAG".
	Ref(repo, tag string) string
	// Credentials are the account pushes and pulls log in with.
	Credentials() (user, password string)
}

// Swarm runs instances as services of a Docker Swarm, one service of one
// replica per instance, so that paasd keeps doing what it does for every
// runtime: it starts the new instance, checks its health, switches the
// router to it and drains the old one before the old one is told to
// stop. The swarm places each service on a node (spreading an app's
// instances over the nodes), publishes a web instance's port on its
// node in host mode (no routing mesh: it needs IPVS), and reports the
// task's state, which this runtime reads every Poll: an instance whose
// task ends, or whose node goes down, is reported through OnExit, and
// deploy's supervisor starts it again, on a node that is up. Images are
// pushed from the local engine to Registry once per build, and the
// nodes pull them from there. One-off processes (run, the release
// phase) run on the manager's engine, on the app's overlay network.
type Swarm struct {
	cfg    SwarmConfig
	mgr    *client.Client
	log    *slog.Logger
	poll   time.Duration
	oneoff *Docker // the manager's engine, for one-offs

	imgMu  sync.Mutex
	pushed map[string]string // local image → registry reference
	netMu  sync.Mutex

	mu     sync.Mutex
	insts  map[string]*swarmInst // by service ID
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

// swarmInst is an instance (service) this runtime watches.
type swarmInst struct {
	inst     Instance
	task     string        // the task ID that runs it
	node     string        // its node's ID
	stopping bool          // Stop was called
	ending   bool          // its task ended by itself; being reported
	done     chan struct{} // closed once reported (or forgotten)
	logs     context.CancelFunc
	logsDone chan struct{}
}

// NewSwarm returns a Swarm runtime after checking that the manager
// answers and is a manager of a swarm.
func NewSwarm(ctx context.Context, cfg SwarmConfig) (*Swarm, error) {
	if cfg.Manager == nil || cfg.Local == nil || cfg.Registry == nil {
		return nil, errors.New("swarm runtime: a manager, a local engine and a registry are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Manager.NegotiateAPIVersion(ctx)
	cfg.Local.NegotiateAPIVersion(ctx)
	info, err := cfg.Manager.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("swarm manager not available: %w", err)
	}
	if !info.Swarm.ControlAvailable {
		return nil, fmt.Errorf("the engine at %s is not a manager of a swarm (swarm state %q)", cfg.Manager.DaemonHost(), info.Swarm.LocalNodeState)
	}
	oneoff, err := NewDocker(ctx, DockerConfig{
		Client: cfg.Manager, Owner: cfg.Owner, DefaultMemory: cfg.DefaultMemory, PidsLimit: cfg.PidsLimit,
		Logger: log.With("engine", "manager"),
	})
	if err != nil {
		return nil, err
	}
	s := &Swarm{
		cfg:    cfg,
		mgr:    cfg.Manager,
		log:    log,
		poll:   cfg.Poll,
		oneoff: oneoff,
		pushed: map[string]string{},
		insts:  map[string]*swarmInst{},
		stop:   make(chan struct{}),
	}
	if s.poll <= 0 {
		s.poll = 500 * time.Millisecond
	}
	s.wg.Add(1)
	go s.watch()
	return s, nil
}

// limits returns the runtime's limits.
func (s *Swarm) limits() limits {
	l := limits{memory: s.cfg.DefaultMemory, pids: s.cfg.PidsLimit}
	if l.pids <= 0 {
		l.pids = DefaultPidsLimit
	}
	return l
}

// Start creates the service of an instance of sp and returns once its
// task runs on a node (for web, with its port published there).
func (s *Swarm) Start(ctx context.Context, sp Spec) (Instance, error) {
	if err := checkImageSpec(sp); err != nil {
		return Instance{}, err
	}
	if s.isClosed() {
		return Instance{}, ErrShutdown
	}
	inst, err := s.start(ctx, sp)
	if err != nil {
		return Instance{}, fmt.Errorf("starting %s %s: %w", sp.App, sp.Name(), err)
	}
	s.log.Info("instance started", "app", sp.App, "instance", sp.Name(), "service", shortID(inst.ID), "addr", inst.Addr)
	return inst, nil
}

func (s *Swarm) start(ctx context.Context, sp Spec) (Instance, error) {
	prof, err := profileOf(ctx, s.cfg.Local, sp.Slug)
	if err != nil {
		return Instance{}, err
	}
	ref, err := s.distribute(ctx, sp.Slug)
	if err != nil {
		return Instance{}, err
	}
	net, err := s.ensureNetwork(ctx, sp.App)
	if err != nil {
		return Instance{}, err
	}
	spec, err := serviceSpec(sp, ref, net, prof, s.limits(), s.cfg.Owner)
	if err != nil {
		return Instance{}, err
	}
	resp, err := s.mgr.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{EncodedRegistryAuth: s.registryAuth()})
	if err != nil {
		return Instance{}, fmt.Errorf("creating service: %w", err)
	}
	id := resp.ID
	inst := Instance{ID: id, App: sp.App, Release: sp.Release, Type: sp.Type, Index: sp.Index, Command: sp.Command}
	if sp.Web {
		inst.Port = containerPort(sp)
	}
	t, addr, err := s.waitRunning(ctx, id, inst.Port)
	if err != nil {
		s.removeService(id)
		return Instance{}, err
	}
	inst.Addr = addr
	inst.Started = t.Status.Timestamp
	inst.Node = s.nodeName(ctx, t.NodeID)
	si := &swarmInst{inst: inst, task: t.ID, node: t.NodeID, done: make(chan struct{})}
	if !s.register(si) {
		s.removeService(id)
		return Instance{}, ErrShutdown
	}
	s.follow(si, time.Time{})
	return inst, nil
}

// register records a watched instance unless the runtime is closed.
func (s *Swarm) register(si *swarmInst) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.insts[si.inst.ID] = si
	return true
}

func (s *Swarm) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Stop removes an instance's service: the swarm sends its task SIGTERM,
// then SIGKILL after the grace period the service was created with.
// It returns once the task has ended, and reports the exit as stopped.
func (s *Swarm) Stop(ctx context.Context, id string, grace time.Duration) error {
	s.mu.Lock()
	si := s.insts[id]
	if si != nil {
		si.stopping = true
	}
	s.mu.Unlock()
	if err := s.mgr.ServiceRemove(ctx, id); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing service %s: %w", shortID(id), err)
	}
	if si == nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, grace+15*time.Second)
	defer cancel()
	err := s.waitGone(wctx, id)
	code := -1
	if err == nil {
		code = 128 + 15
	}
	s.report(si, code, nil)
	return err
}

// waitGone waits until service id has no task left that may still run.
func (s *Swarm) waitGone(ctx context.Context, id string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		// Listing by service fails once the service is removed: all
		// tasks are listed.
		ts, err := s.mgr.TaskList(ctx, swarm.TaskListOptions{})
		if err == nil {
			live := false
			for _, t := range ts {
				if t.ServiceID == id && !taskEnded(t.Status.State) {
					live = true
				}
			}
			if !live {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for service %s to end: %w", shortID(id), ctx.Err())
		case <-tick.C:
		}
	}
}

// report ends watching an instance and reports its exit once.
func (s *Swarm) report(si *swarmInst, code int, err error) {
	s.mu.Lock()
	if s.insts[si.inst.ID] != si {
		s.mu.Unlock()
		return
	}
	delete(s.insts, si.inst.ID)
	stopped := si.stopping
	s.mu.Unlock()
	s.endLogs(si)
	close(si.done)
	ex := Exit{Instance: si.inst, Code: code, Signal: SignalName(code), Err: err, Stopped: stopped, At: time.Now()}
	s.log.Info("instance exited", "app", si.inst.App, "instance", si.inst.Name(), "service", shortID(si.inst.ID),
		"code", ex.Code, "stopped", stopped, "err", err)
	if s.cfg.OnExit != nil {
		s.cfg.OnExit(ex)
	}
}

// removeService removes a service this runtime no longer watches.
func (s *Swarm) removeService(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.mgr.ServiceRemove(ctx, id); err != nil && !cerrdefs.IsNotFound(err) {
		s.log.Warn("removing service", "service", shortID(id), "err", err)
	}
}

// List returns the instances of app this runtime watches.
func (s *Swarm) List(app string) []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Instance
	for _, si := range s.insts {
		if app == "" || si.inst.App == app {
			out = append(out, si.inst)
		}
	}
	return out
}

// Run runs a one-off on the manager's engine, attached to stdio, on the
// app's overlay network, from the image the nodes run.
func (s *Swarm) Run(ctx context.Context, sp Spec, stdio Stdio) (int, error) {
	if sp.Slug == "" {
		return -1, fmt.Errorf("%s %s: no image given", sp.App, sp.Name())
	}
	ref, err := s.distribute(ctx, sp.Slug)
	if err != nil {
		return -1, err
	}
	if err := s.pullOnManager(ctx, ref); err != nil {
		return -1, err
	}
	if _, err := s.ensureNetwork(ctx, sp.App); err != nil {
		return -1, err
	}
	sp.Slug = ref
	return s.oneoff.Run(ctx, sp, stdio)
}

// Shutdown stops every instance this runtime watches, in parallel, each
// with the given grace, and refuses new ones.
func (s *Swarm) Shutdown(ctx context.Context, grace time.Duration) error {
	s.mu.Lock()
	s.closed = true
	ids := make([]string, 0, len(s.insts))
	for id := range s.insts {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	errs := make([]error, len(ids)+1)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = s.Stop(ctx, id, grace) })
	}
	wg.Wait()
	errs[len(ids)] = s.oneoff.Shutdown(ctx, grace)
	s.end()
	return errors.Join(errs...)
}

// Detach stops watching: the services keep running for the next paasd
// to adopt. No more lines or exits are reported.
func (s *Swarm) Detach() {
	s.mu.Lock()
	s.closed = true
	insts := make([]*swarmInst, 0, len(s.insts))
	for _, si := range s.insts {
		insts = append(insts, si)
	}
	s.insts = map[string]*swarmInst{}
	s.mu.Unlock()
	for _, si := range insts {
		s.endLogs(si)
	}
	s.oneoff.Detach()
	s.end()
	s.log.Info("instances detached", "count", len(insts))
}

// end stops the watch.
func (s *Swarm) end() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
}

// RemoveApp removes every service and one-off of app and its overlay
// network. Instances this runtime watches report their exit as stopped.
func (s *Swarm) RemoveApp(ctx context.Context, app string) error {
	if app == "" {
		return errors.New("removing app services: no app given")
	}
	svcs, err := s.mgr.ServiceList(ctx, swarm.ServiceListOptions{Filters: s.managedFilter(app)})
	if err != nil {
		return fmt.Errorf("listing services of %s: %w", app, err)
	}
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, svc := range svcs {
		wg.Go(func() {
			if err := s.Stop(ctx, svc.ID, 0); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := s.oneoff.RemoveApp(ctx, app); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// managedFilter selects this paasd's services, of app when app is set.
func (s *Swarm) managedFilter(app string) filters.Args {
	f := filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))
	if s.cfg.Owner != "" {
		f.Add("label", LabelOwner+"="+s.cfg.Owner)
	}
	if app != "" {
		f.Add("label", LabelApp+"="+app)
	}
	return f
}

// SwarmApps returns the apps of which owner's services run on the swarm
// whose manager is mgr, sorted: none when mgr's engine manages no swarm.
// A server started with the local scheduler after the swarm one finds
// its apps there.
func SwarmApps(ctx context.Context, mgr *client.Client, owner string) ([]string, error) {
	info, err := mgr.Info(ctx)
	if err != nil {
		return nil, err
	}
	if !info.Swarm.ControlAvailable {
		return nil, nil
	}
	s := &Swarm{cfg: SwarmConfig{Owner: owner}}
	svcs, err := mgr.ServiceList(ctx, swarm.ServiceListOptions{Filters: s.managedFilter("")})
	if err != nil {
		return nil, err
	}
	var apps []string
	for _, svc := range svcs {
		if app := svc.Spec.Labels[LabelApp]; app != "" && !slices.Contains(apps, app) {
			apps = append(apps, app)
		}
	}
	slices.Sort(apps)
	return apps, nil
}
