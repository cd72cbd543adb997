package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"paas/internal/dockerprobe"
)

// ErrEngineRestarted is the Err of an Exit whose container did not
// survive a restart (or loss) of the Docker engine.
var ErrEngineRestarted = errors.New("the Docker engine restarted")

// Engine watch timing: the engine is pinged, while it does not answer,
// every engineRetryMin doubling to engineRetryMax; Start waits at most
// engineWaitMax for it; after it answers again, the instances that were
// watched are given engineSettle to notice that their streams ended.
const (
	engineRetryMin = 100 * time.Millisecond
	engineRetryMax = 2 * time.Second
	engineWaitMax  = 2 * time.Minute
	engineSettle   = 10 * time.Second
)

// EngineEvent tells what happened to the engine: it stopped answering
// (Up false), or it answers again (Up true), every instance watched
// before then having been followed again or reported as exited, and no
// instance started yet.
type EngineEvent struct {
	Up bool
	// Down is how long the engine did not answer (Up only).
	Down time.Duration
	// Survived and Lost count the instances that still ran when it
	// answered again and those that did not (Up only).
	Survived, Lost int
	Err            error // why it is taken for gone (Up false)
}

// engine is what the runtime knows of the engine's health.
type engine struct {
	mu    sync.Mutex
	ready chan struct{} // closed while the engine answers and instances are reconciled
	since time.Time     // when it stopped answering
	// lost are the instances whose wait for an exit failed, waiting for
	// the verdict on their container.
	lost map[*dockerInst]chan verdict
	poke chan struct{} // an instance was lost, or an engine call failed
	down chan struct{} // closed when the engine is taken for gone
	isUp bool
	// stopped is set once the watch has ended: lost instances get the
	// verdict of a gone container at once.
	stopped bool
	stop    context.CancelFunc
	ended   chan struct{}
}

// verdict is what became of a lost instance's container: it runs and is
// followed again by stream, or it is gone and exited with code.
type verdict struct {
	stream *instanceStream
	code   int
	// reported is closed by the instance's watcher once its exit has
	// been reported.
	reported chan struct{}
}

// startEngineWatch starts following the engine's event stream.
func (d *Docker) startEngineWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	close(ready)
	d.eng = engine{
		ready: ready, lost: map[*dockerInst]chan verdict{}, poke: make(chan struct{}, 1),
		down: make(chan struct{}), isUp: true, stop: cancel, ended: make(chan struct{}),
	}
	go d.watchEngine(ctx)
}

// stopEngineWatch ends the engine watch, waits for it, and gives every
// instance still waiting for a verdict that of a gone container.
func (d *Docker) stopEngineWatch() {
	d.eng.stop()
	<-d.eng.ended
	d.eng.mu.Lock()
	d.eng.stopped = true
	pending := d.eng.lost
	d.eng.lost = map[*dockerInst]chan verdict{}
	d.eng.mu.Unlock()
	for _, c := range pending {
		c <- verdict{code: -1, reported: make(chan struct{})}
	}
}

// watchEngine follows the engine's event stream while it answers; when
// the stream ends (or an instance or call noticed the engine gone), it
// pings with backoff until the engine answers again, then reconciles
// every watched instance with what the engine runs. Each change is
// logged once, not each try.
func (d *Docker) watchEngine(ctx context.Context) {
	defer close(d.eng.ended)
	// An engine that answers pings but whose event stream keeps failing
	// is retried with backoff, not in a loop.
	retry, short := engineRetryMin, false
	for ctx.Err() == nil {
		if short {
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			retry = min(2*retry, time.Minute)
		} else {
			retry = engineRetryMin
		}
		followed := time.Now()
		err := d.followEngine(ctx)
		if ctx.Err() != nil {
			return
		}
		short = err != nil && time.Since(followed) < engineRetryMax
		if err == nil {
			// Instances were lost while the engine answers.
			d.reconcile(ctx, false)
			continue
		}
		since := d.markDown(err)
		if !d.awaitEngine(ctx) {
			return
		}
		survived, lost := d.reconcile(ctx, true)
		down := time.Since(since)
		d.log.Warn("docker engine answers again", "down", down.Round(time.Millisecond),
			"instances_survived", survived, "instances_lost", lost)
		if d.cfg.OnEngine != nil {
			d.cfg.OnEngine(EngineEvent{Up: true, Down: down, Survived: survived, Lost: lost})
		}
		d.markUp()
	}
}

// followEngine reads the engine's event stream until it fails (the
// engine is gone: the error says why) or an instance was lost (nil when
// the engine still answers a ping).
func (d *Docker) followEngine(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("event", "die"),
		filters.Arg("event", string(events.ActionCreate)))
	msgs, errs := d.api.Events(sctx, events.ListOptions{Filters: f})
	d.eng.mu.Lock()
	down := d.eng.down
	d.eng.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-down:
			return errors.New("an engine call could not reach it")
		case m := <-msgs:
			d.sweepHolder(m)
		case err := <-errs:
			if err == nil {
				err = errors.New("the event stream ended")
			}
			return fmt.Errorf("following engine events: %w", err)
		case <-d.eng.poke:
			if !d.answers(ctx) && ctx.Err() == nil {
				return errors.New("the engine does not answer")
			}
			return nil
		}
	}
}

// markDown takes the engine for gone: Start waits from now on, and every
// watched instance's streams are released, so that each asks for a
// verdict on its container once the engine answers again. It returns
// when the engine went.
func (d *Docker) markDown(err error) time.Time {
	d.eng.mu.Lock()
	if !d.eng.isUp {
		since := d.eng.since
		d.eng.mu.Unlock()
		return since
	}
	d.eng.isUp = false
	d.eng.since = time.Now()
	d.eng.ready = make(chan struct{})
	close(d.eng.down)
	since := d.eng.since
	d.eng.mu.Unlock()
	d.log.Warn("docker engine stopped answering; waiting for it", "err", err)

	d.mu.Lock()
	streams := make([]*instanceStream, 0, len(d.insts))
	for _, di := range d.insts {
		streams = append(streams, di.stream)
	}
	d.mu.Unlock()
	for _, s := range streams {
		s.release()
	}
	if d.cfg.OnEngine != nil {
		d.cfg.OnEngine(EngineEvent{Err: err})
	}
	return since
}

// markUp lets Start through again.
func (d *Docker) markUp() {
	d.eng.mu.Lock()
	defer d.eng.mu.Unlock()
	d.eng.isUp = true
	d.eng.down = make(chan struct{})
	close(d.eng.ready)
}

// awaitEngine asks the engine, with backoff, until it answers (true) or
// ctx ends (false). It lists containers rather than pinging: an engine
// that is starting answers pings before it has restored its containers.
func (d *Docker) awaitEngine(ctx context.Context) bool {
	delay := engineRetryMin
	for {
		if d.answers(ctx) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = min(2*delay, engineRetryMax)
	}
}

// answers reports whether the engine takes new connections (a stopping
// engine serves only those it has: see dockerprobe) and answers a call
// that needs it running (not only listening).
func (d *Docker) answers(ctx context.Context) bool {
	if !dockerprobe.Accepts(ctx, d.api.Dialer()) {
		return false
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := d.api.ContainerList(actx, container.ListOptions{Limit: 1, Filters: d.managedFilter("")})
	return err == nil
}

// engineLost is called when an engine call failed with err: when the
// engine does not answer (see answers) it is taken for gone, and
// engineLost returns true.
func (d *Docker) engineLost(ctx context.Context, err error) bool {
	if d.answers(context.WithoutCancel(ctx)) {
		return false
	}
	d.markDown(err)
	return true
}

// kick wakes the engine watch.
func (d *Docker) kick() {
	select {
	case d.eng.poke <- struct{}{}:
	default:
	}
}

// waitEngine returns once the engine answers and the instances it ran
// are reconciled, or an error when ctx ends or it stays away for longer
// than engineWaitMax.
func (d *Docker) waitEngine(ctx context.Context) error {
	d.eng.mu.Lock()
	ready := d.eng.ready
	d.eng.mu.Unlock()
	select {
	case <-ready:
		return nil
	default:
	}
	t := time.NewTimer(engineWaitMax)
	defer t.Stop()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the Docker engine: %w", ctx.Err())
	case <-t.C:
		return errors.New("the Docker engine does not answer")
	}
}

// lose records that di's wait for an exit failed and returns the channel
// its verdict comes on.
func (d *Docker) lose(di *dockerInst) chan verdict {
	c := make(chan verdict, 1)
	d.eng.mu.Lock()
	defer d.eng.mu.Unlock()
	if d.eng.stopped {
		c <- verdict{code: -1, reported: make(chan struct{})}
		return c
	}
	d.eng.lost[di] = c
	d.kick()
	return c
}

// reconcile gives every lost instance its verdict. After an outage
// (all), it first waits for every watched instance to be lost (their
// streams were released), and it returns only once the exits of those
// gone are reported, so that their routes are withdrawn before any new
// container can take their addresses.
func (d *Docker) reconcile(ctx context.Context, all bool) (survived, lost int) {
	if all {
		deadline := time.Now().Add(engineSettle)
		for !d.allLost() && time.Now().Before(deadline) && ctx.Err() == nil {
			select {
			case <-d.eng.poke:
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	d.eng.mu.Lock()
	pending := d.eng.lost
	d.eng.lost = map[*dockerInst]chan verdict{}
	d.eng.mu.Unlock()
	var reported []chan struct{}
	for di, c := range pending {
		v := d.judge(ctx, di)
		if v.stream != nil {
			survived++
		} else {
			lost++
			reported = append(reported, v.reported)
		}
		if v.reported == nil {
			v.reported = make(chan struct{})
		}
		c <- v
	}
	for _, r := range reported {
		select {
		case <-r:
		case <-time.After(time.Minute):
			d.log.Warn("an exit after the engine restart is still being reported")
		}
	}
	if all {
		d.removeExited(ctx)
	}
	return survived, lost
}

// allLost reports whether every watched instance waits for a verdict.
func (d *Docker) allLost() bool {
	d.mu.Lock()
	insts := make([]*dockerInst, 0, len(d.insts))
	for _, di := range d.insts {
		insts = append(insts, di)
	}
	d.mu.Unlock()
	d.eng.mu.Lock()
	defer d.eng.mu.Unlock()
	for _, di := range insts {
		if _, ok := d.eng.lost[di]; !ok && !di.detached.Load() {
			return false
		}
	}
	return true
}

// judge inspects a lost instance's container: one that still runs, at
// the address it had, is followed again; any other is gone (one running
// at another address is removed: its old address may be another's now).
func (d *Docker) judge(ctx context.Context, di *dockerInst) verdict {
	gone := verdict{code: -1, reported: make(chan struct{})}
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := d.api.ContainerInspect(ictx, di.inst.ID)
	switch {
	case cerrdefs.IsNotFound(err):
		return gone
	case err != nil:
		d.log.Warn("inspecting an instance after the engine restart", "app", di.inst.App, "instance", di.inst.Name(), "err", err)
		return gone
	}
	if info.State == nil || !info.State.Running {
		if info.State != nil {
			gone.code = info.State.ExitCode
		}
		return gone
	}
	published := info
	if di.holder != "" {
		// The holder publishes the port; one that does not run is gone.
		hinfo, err := d.api.ContainerInspect(ictx, di.holder)
		if err != nil || hinfo.State == nil || !hinfo.State.Running {
			d.log.Warn("the network holder of an instance is gone after the engine restart: replacing it",
				"app", di.inst.App, "instance", di.inst.Name(), "err", err)
			return gone
		}
		published = hinfo
	}
	if di.inst.Addr != "" && !publishes(published, di.inst.Addr, d.host) {
		d.log.Warn("instance no longer published at its address after the engine restart: replacing it",
			"app", di.inst.App, "instance", di.inst.Name(), "addr", di.inst.Addr)
		return gone
	}
	s, err := d.follow(ictx, di.inst)
	if err != nil {
		d.log.Warn("following an instance after the engine restart", "app", di.inst.App, "instance", di.inst.Name(), "err", err)
		return gone
	}
	return verdict{stream: s}
}

// removeExited removes the exited instance containers of this owner that
// no instance is watched for (they exited while the engine was away and
// could not be removed then).
func (d *Docker) removeExited(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	f := d.managedFilter("")
	f.Add("status", "exited")
	f.Add("status", "dead")
	cs, err := d.api.ContainerList(lctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		d.log.Warn("listing exited containers", "err", err)
		return
	}
	for _, c := range cs {
		d.mu.Lock()
		watched := d.insts[c.ID] != nil
		d.mu.Unlock()
		if watched || c.Labels[LabelOneOff] == "true" || c.Labels["paas.addon"] != "" {
			continue
		}
		if err := d.removeLeftover(lctx, c, "exited while the engine was away"); err != nil {
			d.log.Warn("removing container", "id", shortID(c.ID), "err", err)
		}
	}
}

// publishes reports whether an inspected container is published at addr
// (host replacing an address that names every interface).
func publishes(info container.InspectResponse, addr, host string) bool {
	if info.NetworkSettings == nil {
		return false
	}
	for _, bs := range info.NetworkSettings.Ports {
		for _, b := range bs {
			if p, err := strconv.Atoi(b.HostPort); err == nil && hostPort(bindIP(b.HostIP, host), p) == addr {
				return true
			}
		}
	}
	return false
}
