package runtime

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// dockerOneOff is a running one-off container.
type dockerOneOff struct {
	id   string
	done chan struct{} // closed once the container has exited
}

// Run runs a one-off process (Heroku's "run" dyno) in a new container of
// image s.Slug attached to stdio, and returns its exit status as the
// engine reports it (128 plus the signal number for a signal). The
// container gets the same environment, working directory and network as
// an instance, no PORT and no published port; s.Web is ignored and an
// empty s.Type means "run". Output goes only to stdio, not to Logs (deploy
// records it); stdio.Started is called once the container has started,
// and the container is removed once it has exited.
//
// Without a TTY, stdout and stderr are kept apart, and the container's
// stdin is closed when stdio.Stdin ends. With a TTY, the terminal is of
// size stdio.Window (80x24 when zero) from the first instruction on, with
// TERM=stdio.Term (xterm when empty), and sizes from stdio.Resize are
// applied as they arrive.
//
// When ctx ends, the container is killed and Run returns its status with
// ctx's error.
func (d *Docker) Run(ctx context.Context, s Spec, stdio Stdio) (int, error) {
	if s.Type == "" {
		s.Type = "run"
	}
	if err := checkSpec(s); err != nil {
		return -1, err
	}
	if s.Slug == "" {
		return -1, fmt.Errorf("%s %s: no image given", s.App, s.Name())
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	if d.isClosed() {
		return -1, ErrShutdown
	}
	code, err := d.run(ctx, s, stdio)
	if err != nil && ctx.Err() == nil {
		return code, fmt.Errorf("running %s %s: %w", s.App, s.Name(), err)
	}
	return code, err
}

// run does Run's work once the spec has been checked.
func (d *Docker) run(ctx context.Context, s Spec, stdio Stdio) (int, error) {
	img, err := d.imageProfile(ctx, s.Slug)
	if err != nil {
		return -1, err
	}
	cfg, hc, err := oneOffConfig(s, stdio, img.workDir)
	if err != nil {
		return -1, err
	}
	if err := keepEntrypoint(cfg, s.Command, img); err != nil {
		return -1, err
	}
	confine(cfg, hc, img, d.limits())
	if _, err := d.ensureNetwork(ctx, s.App); err != nil {
		return -1, err
	}
	id, err := d.create(ctx, cfg, hc, oneOffName(s))
	if err != nil {
		return -1, err
	}
	defer d.remove(id)
	o := &dockerOneOff{id: id, done: make(chan struct{})}
	d.mu.Lock()
	closed := d.closed
	if !closed {
		d.oneoffs[id] = o
	}
	d.mu.Unlock()
	if closed {
		return -1, ErrShutdown
	}
	defer func() {
		d.mu.Lock()
		delete(d.oneoffs, id)
		d.mu.Unlock()
	}()

	a, err := d.launch(ctx, id, stdio.Stdin != nil)
	if err != nil {
		close(o.done)
		return -1, err
	}
	defer a.close()
	d.log.Info("one-off started", "app", s.App, "instance", s.Name(), "id", shortID(id), "tty", stdio.TTY)
	if stdio.Started != nil {
		stdio.Started()
	}

	drained := d.copyStdio(a, stdio)
	if stdio.TTY {
		d.resizeLoop(id, stdio, o.done)
	}

	code, err := d.exitOrCancel(ctx, a, id)
	close(o.done)
	select {
	case <-drained:
	case <-time.After(dockerDrainTimeout):
		a.hj.Close()
		<-drained
	}
	d.log.Info("one-off exited", "app", s.App, "instance", s.Name(), "status", code)
	if err != nil {
		return code, err
	}
	return code, ctx.Err()
}

// exitOrCancel waits for the container's exit; when ctx ends first, the
// container is killed and its exit awaited.
func (d *Docker) exitOrCancel(ctx context.Context, a *attachment, id string) (int, error) {
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		code, err := a.exit()
		res <- result{code, err}
	}()
	select {
	case r := <-res:
		return r.code, r.err
	case <-ctx.Done():
		d.kill(id)
		r := <-res
		return r.code, r.err
	}
}

// kill sends SIGKILL to a container; a gone or stopped one is fine.
func (d *Docker) kill(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.api.ContainerKill(ctx, id, "KILL"); err != nil {
		d.log.Debug("killing container", "id", shortID(id), "err", err)
	}
}

// copyStdio copies the caller's stdin to the container and its output to
// the caller. The returned channel is closed once all output is copied.
func (d *Docker) copyStdio(a *attachment, stdio Stdio) <-chan struct{} {
	if stdio.Stdin != nil {
		// Not waited for: reading the caller's stdin may block past the
		// end of the container; closing the stream ends the copy.
		go func() {
			_, _ = io.Copy(a.hj.Conn, stdio.Stdin)
			// A terminal has no end of input (^D arrives as a byte);
			// without one, the container's stdin is closed.
			if !stdio.TTY {
				_ = a.hj.CloseWrite()
			}
		}()
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		if stdio.TTY {
			copyOut(orDiscard(stdio.Stdout), a.hj.Reader)
			return
		}
		var mu sync.Mutex
		out := lockedWriter{&mu, orDiscard(stdio.Stdout)}
		errw := lockedWriter{&mu, orDiscard(stdio.Stderr)}
		if _, err := stdcopy.StdCopy(out, errw, a.hj.Reader); err != nil {
			_, _ = io.Copy(io.Discard, a.hj.Reader)
		}
	}()
	return drained
}

// resizeLoop applies the initial window size and every size from
// stdio.Resize to the container's terminal until done is closed.
func (d *Docker) resizeLoop(id string, stdio Stdio, done <-chan struct{}) {
	resize := func(ws WindowSize) {
		ws = ttySize(ws)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := d.api.ContainerResize(ctx, id, container.ResizeOptions{Height: uint(ws.Rows), Width: uint(ws.Cols)})
		if err != nil {
			d.log.Debug("resizing terminal", "id", shortID(id), "err", err)
		}
	}
	go func() {
		resize(stdio.Window)
		if stdio.Resize == nil {
			return
		}
		for {
			select {
			case ws, ok := <-stdio.Resize:
				if !ok {
					return
				}
				resize(ws)
			case <-done:
				return
			}
		}
	}()
}

// stopOneOff stops a one-off container with grace and waits until it has
// exited.
func (d *Docker) stopOneOff(ctx context.Context, o *dockerOneOff, grace time.Duration) error {
	if err := d.stopContainer(ctx, o.id, grace); err != nil {
		return fmt.Errorf("stopping one-off %s: %w", shortID(o.id), err)
	}
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping one-off %s: %w", shortID(o.id), ctx.Err())
	}
}
