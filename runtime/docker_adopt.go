package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// staleCreated is how old a container that was created but never started
// must be for Adopt to remove it: starting one takes far less, so an older
// one was left by a paasd that ended between creating and starting it.
const staleCreated = time.Minute

// Adopt starts watching the running instance containers of every app
// (label paas.managed=true, not one-offs): it resumes streaming their
// stdout/stderr lines (from now on: attached, no replay of old output)
// into Logs and reports their exits through OnExit, exactly as for
// containers Start created. It returns the instances (as List does).
//
// With DockerConfig.Owner set, only containers of that owner are
// touched. Call it once at start, before Start: it also removes what an earlier
// paasd left behind, instance containers that exited (or were created
// and never started) while no paasd watched them, and one-off containers
// other than this runtime's own, whose sessions are gone. Instances it
// already watches are returned as they are. When some containers cannot
// be adopted or removed, the others still are; the error lists the
// failures.
func (d *Docker) Adopt(ctx context.Context) ([]Instance, error) {
	return d.adopt(ctx, "")
}

// adopt is Adopt limited to app's containers, or to every app's when app
// is "".
func (d *Docker) adopt(ctx context.Context, app string) ([]Instance, error) {
	if d.isClosed() {
		return nil, ErrShutdown
	}
	cs, err := d.api.ContainerList(ctx, container.ListOptions{All: true, Filters: d.managedFilter(app)})
	if err != nil {
		return nil, fmt.Errorf("listing containers to adopt: %w", err)
	}
	var out []Instance
	var errs []error
	var holders []container.Summary
	for _, c := range cs {
		switch {
		case c.Labels[LabelNetHolder] == "true":
			holders = append(holders, c) // once their instances are adopted
		case c.Labels["paas.addon"] != "":
			// Backing services belong to package addons; the engine
			// restarts them, paasd's restarts never touch them.
			continue
		case c.Labels[swarmServiceLabel] != "":
			// A task of a swarm service on this engine: the swarm
			// runtime's, never this one's.
			continue
		case c.Labels[LabelOneOff] == "true":
			if !d.ownOneOff(c.ID) {
				errs = append(errs, d.removeLeftover(ctx, c, "one-off of an earlier paasd"))
			}
		case c.State == "running" || c.State == "paused":
			inst, ok, err := d.adoptOne(ctx, c)
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				out = append(out, inst)
			}
		case c.State == "exited" || c.State == "dead":
			errs = append(errs, d.removeLeftover(ctx, c, "exited while unwatched"))
		case c.State == "created" && time.Since(time.Unix(c.Created, 0)) > staleCreated:
			errs = append(errs, d.removeLeftover(ctx, c, "never started"))
		}
	}
	errs = append(errs, d.removeIdleHolders(ctx, holders)...)
	slices.SortFunc(out, func(a, b Instance) int {
		return cmp.Or(
			cmp.Compare(a.App, b.App),
			cmp.Compare(a.Type, b.Type),
			cmp.Compare(a.Index, b.Index),
			cmp.Compare(a.ID, b.ID),
		)
	})
	d.log.Info("containers adopted", "app", app, "count", len(out))
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("adopting containers: %w", err)
	}
	return out, nil
}

// adoptOne starts watching a running instance container; ok is false when
// its labels describe no instance (it is left alone then).
func (d *Docker) adoptOne(ctx context.Context, c container.Summary) (Instance, bool, error) {
	d.mu.Lock()
	known := d.insts[c.ID]
	d.mu.Unlock()
	if known != nil {
		return known.inst, true, nil
	}
	inst, ok := instanceFromSummary(c, d.host)
	if !ok {
		d.log.Warn("managed container without instance labels left alone", "id", shortID(c.ID))
		return Instance{}, false, nil
	}
	info, err := d.api.ContainerInspect(ctx, c.ID)
	if err != nil {
		return Instance{}, false, fmt.Errorf("inspecting %s: %w", shortID(c.ID), err)
	}
	inst.Started = startedAt(info)
	holder := c.Labels[LabelHolder]
	if holder != "" {
		addr, direct, port, ok := d.holderAddrs(ctx, inst.App, holder)
		if !ok {
			// Unreachable without its holder's network: the next
			// converge starts it again.
			return Instance{}, false, d.removeLeftover(ctx, c, "its network holder is gone")
		}
		inst.Addr, inst.Direct, inst.Port = addr, direct, port
	}
	s, err := d.follow(ctx, inst)
	if err != nil {
		return Instance{}, false, err
	}
	di := &dockerInst{inst: inst, stream: s, done: make(chan struct{}), holder: holder}
	if !d.register(di) {
		s.release()
		return Instance{}, false, ErrShutdown
	}
	go d.watch(di, s)
	d.log.Info("instance adopted", "app", inst.App, "instance", inst.Name(), "id", shortID(inst.ID),
		"release", inst.Release, "addr", inst.Addr)
	return inst, true, nil
}

// removeIdleHolders removes the network holders among listed that no
// running instance container joined, except those kept ready by this
// runtime: an earlier paasd made them ahead of a start that never came,
// or their instance is gone.
func (d *Docker) removeIdleHolders(ctx context.Context, listed []container.Summary) []error {
	if len(listed) == 0 {
		return nil
	}
	f := d.managedFilter("")
	f.Add("label", LabelHolder)
	cs, err := d.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return []error{fmt.Errorf("listing instances with network holders: %w", err)}
	}
	used := map[string]bool{}
	for _, c := range cs {
		if c.State == "running" || c.State == "paused" {
			used[c.Labels[LabelHolder]] = true
		}
	}
	var errs []error
	for _, h := range listed {
		if !used[h.ID] && !d.isSpare(h.ID) {
			errs = append(errs, d.removeLeftover(ctx, h, "network holder of no instance"))
		}
	}
	return errs
}

// follow registers a wait for a running container's exit, then attaches
// to its output, which streams from now on. The output is read as it is
// written, not from the engine's log file, so a fast writer loses nothing
// when the engine rotates that file. When the engine cannot attach, only
// the exit is followed.
func (d *Docker) follow(ctx context.Context, inst Instance) (*instanceStream, error) {
	waitCtx, cancelWait := context.WithCancel(context.Background())
	// Not running rather than next exit: a container that ended since it
	// was listed answers at once.
	waitC, errC := d.api.ContainerWait(waitCtx, inst.ID, container.WaitConditionNotRunning)
	var out io.Reader = strings.NewReader("")
	closeOut := func() {}
	hj, err := d.api.ContainerAttach(ctx, inst.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	switch {
	case err == nil:
		out, closeOut = hj.Reader, hj.Close
	case ctx.Err() != nil:
		cancelWait()
		return nil, fmt.Errorf("following %s: %w", shortID(inst.ID), ctx.Err())
	default:
		d.log.Warn("instance output cannot be followed", "app", inst.App, "instance", inst.Name(),
			"id", shortID(inst.ID), "err", err)
	}
	// Without a TTY the stream is multiplexed, as an attached one is:
	// readOutput splits it the same way.
	return newInstanceStream(out, closeOut,
		func() (int, error) { return waitResult(waitC, errC) },
		func() { closeOut(); cancelWait() }), nil
}

// ownOneOff reports whether this runtime runs one-off container id.
func (d *Docker) ownOneOff(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.oneoffs[id] != nil
}

// removeLeftover force-removes a container an earlier paasd left; one
// already gone is fine.
func (d *Docker) removeLeftover(ctx context.Context, c container.Summary, why string) error {
	err := d.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		return fmt.Errorf("removing %s: %w", shortID(c.ID), err)
	}
	d.log.Info("leftover container removed", "app", c.Labels[LabelApp], "id", shortID(c.ID),
		"names", c.Names, "state", c.State, "why", why)
	return nil
}

// Detach stops watching every instance without stopping it (paasd
// shutting down while instances keep serving). One-offs started by this
// process are still killed (their SSH sessions are gone).
//
// It refuses new instances and one-offs from then on, like Shutdown. When
// it returns, no more lines reach Logs and no more exits reach OnExit; an
// instance that exits meanwhile may go unreported, its container left for
// the next Adopt to remove.
func (d *Docker) Detach() {
	d.mu.Lock()
	d.closed = true
	streams := make([]*instanceStream, 0, len(d.insts))
	for _, di := range d.insts {
		di.detached.Store(true)
		streams = append(streams, di.stream)
	}
	oneoffs := make([]*dockerOneOff, 0, len(d.oneoffs))
	for _, o := range d.oneoffs {
		oneoffs = append(oneoffs, o)
	}
	d.mu.Unlock()

	for _, s := range streams {
		s.release()
	}
	d.dropSpares()
	d.stopEngineWatch()
	var wg sync.WaitGroup
	for _, o := range oneoffs {
		wg.Go(func() { d.killOneOff(o) })
	}
	wg.Wait()
	d.watchers.Wait()
	d.log.Info("instances detached", "count", len(streams), "one-offs killed", len(oneoffs))
}

// killOneOff kills a one-off container, waits for its exit and removes it.
func (d *Docker) killOneOff(o *dockerOneOff) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.stopOneOff(ctx, o, 0); err != nil {
		d.log.Warn("killing one-off", "id", shortID(o.id), "err", err)
	}
	d.remove(o.id)
}
