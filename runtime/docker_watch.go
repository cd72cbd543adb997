package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// dockerDrainTimeout bounds how long output is read after a container exited;
// the engine closes the stream when the container's own streams close.
const dockerDrainTimeout = 10 * time.Second

// attachment is a started container's output (and input) stream and the
// pending wait for its exit.
type attachment struct {
	hj         types.HijackedResponse
	waitC      <-chan container.WaitResponse
	errC       <-chan error
	cancelWait context.CancelFunc
}

// close releases the stream and the wait.
func (a *attachment) close() {
	a.hj.Close()
	a.cancelWait()
}

// exit waits for the container's exit and returns its status, or -1 and
// the error when waiting failed.
func (a *attachment) exit() (int, error) { return waitResult(a.waitC, a.errC) }

// stream returns the attachment as the output and exit watch follows.
func (a *attachment) stream() *instanceStream {
	return newInstanceStream(a.hj.Reader, a.hj.Close, a.exit, a.close)
}

// waitResult waits for the answer to a ContainerWait and returns the
// container's status, or -1 and the error when waiting failed.
func waitResult(waitC <-chan container.WaitResponse, errC <-chan error) (int, error) {
	select {
	case r := <-waitC:
		if r.Error != nil && r.Error.Message != "" {
			return int(r.StatusCode), errors.New(r.Error.Message)
		}
		return int(r.StatusCode), nil
	case err := <-errC:
		return -1, fmt.Errorf("waiting for container: %w", err)
	}
}

// launch attaches to container id's streams (stdin too when stdin is
// set), registers a wait for its next exit and starts it, in that order,
// so that neither output nor the exit can be missed.
func (d *Docker) launch(ctx context.Context, id string, stdin bool) (*attachment, error) {
	hj, err := d.api.ContainerAttach(ctx, id, container.AttachOptions{
		Stream: true, Stdin: stdin, Stdout: true, Stderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("attaching to container: %w", err)
	}
	waitCtx, cancel := context.WithCancel(context.Background())
	waitC, errC := d.api.ContainerWait(waitCtx, id, container.WaitConditionNextExit)
	a := &attachment{hj: hj, waitC: waitC, errC: errC, cancelWait: cancel}
	select {
	case err := <-errC:
		a.close()
		return nil, fmt.Errorf("waiting for container: %w", err)
	default:
	}
	if err := d.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		a.close()
		return nil, fmt.Errorf("starting container: %w", err)
	}
	return a, nil
}

// instanceStream is what watch follows for an instance: its output and
// its pending exit.
type instanceStream struct {
	out      io.Reader
	closeOut func()              // ends reading out
	exit     func() (int, error) // waits for the exit
	release  func()              // closes out and cancels the wait; idempotent
}

// newInstanceStream returns an instanceStream whose release runs once.
func newInstanceStream(out io.Reader, closeOut func(), exit func() (int, error), release func()) *instanceStream {
	var once sync.Once
	return &instanceStream{
		out:      out,
		closeOut: closeOut,
		exit:     exit,
		release:  func() { once.Do(release) },
	}
}

// watch delivers an instance's output until its container exits, then
// removes the container, forgets the instance and reports the exit. When
// the instance was detached meanwhile, it just forgets the instance: the
// container stays as it is, and nothing is reported. When waiting for
// the exit fails (the engine went away), the engine watch decides once
// the engine answers again: a container that still runs is followed
// again, any other is reported as exited with ErrEngineRestarted.
func (d *Docker) watch(di *dockerInst, s *instanceStream) {
	defer d.watchers.Done()
	if di.holder != "" {
		defer d.followHolder(di)()
	}
	for {
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			d.readOutput(s.out, di.inst)
		}()
		code, err := s.exit()
		if di.detached.Load() {
			s.release()
			<-drained
			d.forget(di)
			return
		}
		if err == nil {
			d.exited(di, s, drained, code, nil)
			return
		}
		s.release()
		<-drained
		v := <-d.lose(di)
		if di.detached.Load() {
			if v.stream != nil {
				v.stream.release()
			}
			d.forget(di)
			close(v.reported)
			return
		}
		if v.stream != nil {
			d.log.Info("instance survived the engine restart", "app", di.inst.App, "instance", di.inst.Name(), "id", shortID(di.inst.ID))
			d.mu.Lock()
			di.stream = v.stream
			d.mu.Unlock()
			s = v.stream
			continue
		}
		d.removeInst(di)
		d.report(di, v.code, ErrEngineRestarted)
		close(v.reported)
		return
	}
}

// exited finishes watching an instance whose container exited with code.
func (d *Docker) exited(di *dockerInst, s *instanceStream, drained <-chan struct{}, code int, err error) {
	select {
	case <-drained:
	case <-time.After(dockerDrainTimeout):
		d.log.Warn("output still open after exit", "app", di.inst.App, "instance", di.inst.Name())
		s.closeOut()
		<-drained
	}
	s.release()
	d.removeInst(di)
	d.report(di, code, err)
}

// removeInst removes an exited instance's container and its network
// holder, side by side.
func (d *Docker) removeInst(di *dockerInst) {
	if di.holder == "" {
		d.remove(di.inst.ID)
		return
	}
	di.ended.Store(true)
	var wg sync.WaitGroup
	wg.Go(func() { d.remove(di.holder) })
	d.remove(di.inst.ID)
	wg.Wait()
}

// report forgets an instance whose container is removed and reports its
// exit.
func (d *Docker) report(di *dockerInst, code int, err error) {
	d.forget(di)
	ex := Exit{Instance: di.inst, Code: code, Signal: SignalName(code), Err: err, Stopped: di.stopping.Load(), At: time.Now()}
	d.log.Info("instance exited", "app", di.inst.App, "instance", di.inst.Name(), "id", shortID(di.inst.ID),
		"code", ex.Code, "signal", ex.Signal, "stopped", ex.Stopped, "err", err)
	if d.cfg.OnExit != nil {
		d.cfg.OnExit(ex)
	}
}

// forget drops a watched instance and marks it done.
func (d *Docker) forget(di *dockerInst) {
	d.mu.Lock()
	delete(d.insts, di.inst.ID)
	d.mu.Unlock()
	close(di.done)
}

// remove removes an exited container; one already gone is fine, and one
// being removed by another request is awaited.
func (d *Docker) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := d.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	if isRemovalInProgress(err) {
		// Someone else removes it: it is removed once they are done.
		err = d.waitGone(ctx, id)
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		d.log.Warn("removing container", "id", shortID(id), "err", err)
	}
}

// waitGone polls until the engine no longer knows container id, or ctx
// ends.
func (d *Docker) waitGone(ctx context.Context, id string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := d.api.ContainerInspect(ctx, id)
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for removal: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// isRemovalInProgress reports the engine's answer to removing a container
// that another request is already removing.
func isRemovalInProgress(err error) bool {
	return err != nil && strings.Contains(err.Error(), "already in progress")
}

// readOutput splits a multiplexed output stream into lines, stdout and
// stderr each on its own, and hands them to the sink, until the stream
// ends.
func (d *Docker) readOutput(r io.Reader, inst Instance) {
	name := inst.Name()
	emit := func(lines [][]byte) {
		if d.cfg.Logs != nil {
			d.cfg.Logs.Lines(inst.App, name, inst.Release, lines)
		}
	}
	stdout := newSplitter(MaxLineLength, emit)
	stderr := newSplitter(MaxLineLength, emit)
	_, err := stdcopy.StdCopy(stdout, stderr, r)
	stdout.Close()
	stderr.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
		d.log.Warn("reading instance output", "app", inst.App, "instance", name, "err", err)
	}
}

// startedAt returns when an inspected container started.
func startedAt(info container.InspectResponse) time.Time {
	if info.State != nil {
		if t, err := time.Parse(time.RFC3339Nano, info.State.StartedAt); err == nil {
			return t
		}
	}
	return time.Now()
}

// publishedAddr returns the host address an inspected container's port
// is published on, or "". host replaces an address that names every
// interface.
func publishedAddr(info container.InspectResponse, port int, host string) string {
	if info.NetworkSettings == nil {
		return ""
	}
	for _, b := range info.NetworkSettings.Ports[natPort(port)] {
		p, err := strconv.Atoi(b.HostPort)
		if err != nil || p == 0 {
			continue
		}
		return hostPort(bindIP(b.HostIP, host), p)
	}
	return ""
}
