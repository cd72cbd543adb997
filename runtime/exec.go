package runtime

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"paas/internal/ports"
)

// ErrShutdown is returned by Start and Run once Shutdown has begun.
var ErrShutdown = errors.New("runtime is shutting down")

// ExecConfig configures an Exec runtime.
type ExecConfig struct {
	// Logs receives every stdout and stderr line of every instance. It may
	// be nil: output is then read and dropped.
	Logs LineSink
	// OnExit is called once per instance exit, after all of the
	// instance's lines were handed to Logs, in a goroutine of that
	// instance. It may be nil.
	OnExit func(Exit)
	// BasePath follows $HOME/bin in an instance's PATH; DefaultBasePath
	// when empty.
	BasePath string
	// Host is the address web instances bind and are reached on;
	// "127.0.0.1" when empty.
	Host string
	// StateDir, when set, holds a small record per running instance (its
	// process group and the leader's start time), so that a later paasd
	// can kill the instances of one that died without stopping them
	// (ReapOrphans). It is made when missing.
	StateDir string
	// Credential, when set, gives the user and groups the processes of an
	// app (its instances and one-offs) run as; it is asked at every start.
	// Nil runs them as this process's user. A slug that its app's user
	// does not own yet is given to it before the process starts.
	Credential func(app string) (*syscall.Credential, error)
	// DefaultMemory caps, in bytes, the heap (RLIMIT_DATA) of each
	// process of an instance or one-off whose spec sets no Memory; 0 for
	// no cap.
	DefaultMemory int64
	// MaxProcs caps the processes and threads of an app's user, all its
	// instances and one-offs together (RLIMIT_NPROC), when Credential
	// gives the app a user of its own; DefaultExecProcs when zero.
	MaxProcs int64
	Logger   *slog.Logger
}

// Exec runs instances as local processes, children of this process, each
// in its own process group. It is safe for concurrent use.
type Exec struct {
	cfg     ExecConfig
	log     *slog.Logger
	shell   string
	prlimit string // util-linux's prlimit, which applies the limits; "" when missing

	mu      sync.Mutex
	procs   map[string]*proc // by instance ID, until the exit is reported
	ports   map[int]bool     // ports handed to live web instances
	oneoffs map[*group]bool  // running one-off processes
	closed  bool
}

// proc is one instance and its process group.
type proc struct {
	inst Instance
	port int
	g    *group
}

// NewExec returns an Exec runtime.
func NewExec(cfg ExecConfig) *Exec {
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prlimit := findPrlimit()
	if prlimit == "" {
		log.Warn("prlimit (util-linux) not found: apps run without process and memory limits")
	}
	return &Exec{
		cfg:     cfg,
		log:     log,
		shell:   findShell(),
		prlimit: prlimit,
		procs:   map[string]*proc{},
		ports:   map[int]bool{},
		oneoffs: map[*group]bool{},
	}
}

// Start starts an instance and returns once its process runs. A web
// instance gets a free port on the configured host in PORT and reports
// it as Instance.Addr; the caller probes it until it serves (Probe).
// ctx bounds starting only, not the instance's life.
func (e *Exec) Start(ctx context.Context, s Spec) (Instance, error) {
	if err := ctx.Err(); err != nil {
		return Instance{}, err
	}
	if err := checkSpec(s); err != nil {
		return Instance{}, err
	}
	home, err := slugHome(s.Slug)
	if err != nil {
		return Instance{}, fmt.Errorf("starting %s %s: %w", s.App, s.Name(), err)
	}
	cred, err := e.credential(s.App, home)
	if err != nil {
		return Instance{}, fmt.Errorf("starting %s %s: %w", s.App, s.Name(), err)
	}
	inst := Instance{
		ID:      newID(s),
		App:     s.App,
		Release: s.Release,
		Type:    s.Type,
		Index:   s.Index,
		Command: s.Command,
	}
	port := 0
	if s.Web {
		if port, err = e.reservePort(); err != nil {
			return Instance{}, fmt.Errorf("starting %s %s: %w", s.App, s.Name(), err)
		}
		inst.Addr = hostPort(e.cfg.Host, port)
		inst.Direct = inst.Addr
		inst.Port = port
	}
	p, err := e.start(s, home, cred, port, inst)
	if err != nil {
		e.releasePort(port)
		return Instance{}, fmt.Errorf("starting %s %s: %w", s.App, s.Name(), err)
	}
	e.log.Info("instance started", "app", s.App, "instance", s.Name(), "id", inst.ID,
		"pid", p.g.pgid, "addr", inst.Addr)
	return p.inst, nil
}

// start launches the process, registers it and starts its supervision.
func (e *Exec) start(s Spec, home string, cred *syscall.Credential, port int, inst Instance) (*proc, error) {
	env, err := dynoEnv(s.Env, home, e.cfg.BasePath, port)
	if err != nil {
		return nil, err
	}
	cmd := dynoCmd(e.shell, home, env, s.Command)
	// A session of its own is a process group of its own and, where the
	// kernel groups CPU time by session (autogroup), a share of the CPU
	// of its own: an instance that spins in a thousand processes gets
	// one share, not a thousand against paasd and the other apps.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	e.limit(cmd, e.limits(s, cred))
	// stdout and stderr share one pipe, so their lines keep the order in
	// which the process wrote them.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("making output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		r.Close()
		w.Close()
		return nil, ErrShutdown
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	inst.Started = time.Now()
	p := &proc{inst: inst, port: port, g: newGroup(cmd)}
	e.procs[inst.ID] = p
	// Written before anything can reap the process: its start time is
	// read while the number is surely its own. Without the record the
	// instance still runs; only a later paasd could not find it.
	if err := e.writeRecord(p); err != nil {
		e.log.Error("recording instance process group", "app", inst.App, "instance", inst.Name(), "err", err)
	}

	drained := make(chan struct{})
	go func() {
		defer close(drained)
		e.readLines(r, inst)
	}()
	go e.watch(p, drained, r)
	return p, nil
}

// readLines hands every line of r to the configured sink.
func (e *Exec) readLines(r *os.File, inst Instance) {
	name := inst.Name()
	err := splitLines(r, MaxLineLength, func(lines [][]byte) {
		if e.cfg.Logs != nil {
			e.cfg.Logs.Lines(inst.App, name, inst.Release, lines)
		}
	})
	if err != nil && !errors.Is(err, os.ErrClosed) {
		e.log.Warn("reading instance output", "app", inst.App, "instance", name, "err", err)
	}
}

// watch supervises p until it ends, then forgets it and reports its exit.
func (e *Exec) watch(p *proc, drained <-chan struct{}, out *os.File) {
	g := p.g
	g.supervise(drained, func() { out.Close() }, func() {
		out.Close()
		e.removeRecord(p.inst.ID)
		e.mu.Lock()
		delete(e.procs, p.inst.ID)
		if p.port != 0 {
			delete(e.ports, p.port)
		}
		e.mu.Unlock()
	})
	code := g.shellStatus()
	ex := Exit{
		Instance: p.inst,
		Code:     code,
		Signal:   SignalName(code),
		Err:      g.err,
		Stopped:  g.stopping.Load(),
		At:       time.Now(),
	}
	e.log.Info("instance exited", "app", p.inst.App, "instance", p.inst.Name(), "id", p.inst.ID,
		"code", ex.Code, "signal", ex.Signal, "stopped", ex.Stopped)
	if e.cfg.OnExit != nil {
		e.cfg.OnExit(ex)
	}
}

// Stop ends an instance: SIGTERM to its process group, SIGKILL to the
// group after grace. It returns once the instance has exited and its
// output has been delivered, or with ctx's error when ctx ends first (the
// group has been sent SIGKILL by then). An unknown or already exited id is
// not an error.
func (e *Exec) Stop(ctx context.Context, id string, grace time.Duration) error {
	e.mu.Lock()
	p := e.procs[id]
	e.mu.Unlock()
	if p == nil {
		return nil
	}
	e.log.Info("stopping instance", "app", p.inst.App, "instance", p.inst.Name(), "id", id, "grace", grace)
	if err := p.g.stop(ctx, grace); err != nil {
		return fmt.Errorf("stopping %s: %w", id, err)
	}
	return nil
}

// List returns the running instances of app, or of every app when app is
// "", sorted by app, type and index.
func (e *Exec) List(app string) []Instance {
	e.mu.Lock()
	var out []Instance
	for _, p := range e.procs {
		if (app == "" || p.inst.App == app) && !p.g.hasExited() {
			out = append(out, p.inst)
		}
	}
	e.mu.Unlock()
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

// Shutdown stops every instance and every one-off in parallel, each with
// the given grace, and refuses new ones from then on. It returns when all
// have exited, or with ctx's error.
func (e *Exec) Shutdown(ctx context.Context, grace time.Duration) error {
	e.mu.Lock()
	e.closed = true
	groups := make([]*group, 0, len(e.procs)+len(e.oneoffs))
	for _, p := range e.procs {
		groups = append(groups, p.g)
	}
	for g := range e.oneoffs {
		groups = append(groups, g)
	}
	e.mu.Unlock()

	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { errs[i] = g.stop(ctx, grace) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// reservePort picks a free port no live instance of this runtime holds.
func (e *Exec) reservePort() (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	port, err := ports.Pick(e.cfg.Host, func(p int) bool { return e.ports[p] })
	if err != nil {
		return 0, err
	}
	e.ports[port] = true
	return port, nil
}

// releasePort forgets a reserved port; 0 is ignored.
func (e *Exec) releasePort(port int) {
	if port == 0 {
		return
	}
	e.mu.Lock()
	delete(e.ports, port)
	e.mu.Unlock()
}

// newID returns a unique instance ID: "APP.TYPE.INDEX.RANDOM".
func newID(s Spec) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return fmt.Sprintf("%s.%s.%d.%s", s.App, s.Type, s.Index, hex.EncodeToString(b))
}
