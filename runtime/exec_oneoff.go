package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// Run runs a one-off process (Heroku's "run" dyno) attached to stdio and
// returns its exit status: 128 plus the signal number when a signal ended
// it, as a shell reports it. It uses the same directory, environment and
// shell as Start, without PORT; s.Web is ignored and an empty s.Type
// means "run". Output goes only to stdio, not to the configured Logs (deploy
// records it); stdio.Started is called once the process has started.
//
// Without a TTY, stdin is copied to the process until it ends, then the
// process's stdin is closed; Run returns after all output was copied.
// With a TTY, the process runs on a new pseudo-terminal of size
// stdio.Window (80x24 when zero) with TERM=stdio.Term (xterm when empty),
// and sizes from stdio.Resize are applied as they arrive.
//
// When ctx ends, the process group is killed and Run returns the status
// with ctx's error. Processes left in the group when the command exits are
// killed too.
func (e *Exec) Run(ctx context.Context, s Spec, stdio Stdio) (int, error) {
	if s.Type == "" {
		s.Type = "run"
	}
	if err := checkSpec(s); err != nil {
		return -1, err
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	home, err := slugHome(s.Slug)
	if err != nil {
		return -1, fmt.Errorf("running %s %s: %w", s.App, s.Name(), err)
	}
	cred, err := e.credential(s.App, home)
	if err != nil {
		return -1, fmt.Errorf("running %s %s: %w", s.App, s.Name(), err)
	}
	var extra []string
	if stdio.TTY {
		term := stdio.Term
		if term == "" {
			term = "xterm"
		}
		extra = []string{"TERM", term}
	}
	env, err := dynoEnv(s.Env, home, e.cfg.BasePath, 0, extra...)
	if err != nil {
		return -1, fmt.Errorf("running %s %s: %w", s.App, s.Name(), err)
	}
	cmd := dynoCmd(e.shell, home, env, s.Command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	e.limit(cmd, e.limits(s, cred))

	var a attached
	if stdio.TTY {
		a, err = e.startTTY(cmd, stdio)
	} else {
		a, err = e.startPipes(cmd, stdio)
	}
	if err != nil {
		return -1, fmt.Errorf("running %s %s: %w", s.App, s.Name(), err)
	}
	g := a.g
	e.log.Info("one-off started", "app", s.App, "instance", s.Name(), "pid", g.pgid, "tty", stdio.TTY)
	if stdio.Started != nil {
		stdio.Started()
	}

	go func() {
		select {
		case <-ctx.Done():
			g.kill()
		case <-g.done:
		}
	}()
	g.supervise(a.drained, a.closeOutput, func() {
		a.closeOutput()
		e.mu.Lock()
		delete(e.oneoffs, g)
		e.mu.Unlock()
	})
	a.cleanup()

	status := g.shellStatus()
	e.log.Info("one-off exited", "app", s.App, "instance", s.Name(), "status", status)
	if g.err != nil {
		return status, fmt.Errorf("running %s %s: %w", s.App, s.Name(), g.err)
	}
	if err := ctx.Err(); err != nil {
		return status, err
	}
	return status, nil
}

// attached is a started one-off and the plumbing around it.
type attached struct {
	g           *group
	drained     chan struct{} // all output has been copied to the caller
	closeOutput func()        // ends output copying early
	cleanup     func()        // releases what is left once the group is done
}

// register records a started one-off so that Shutdown stops it; it fails
// once Shutdown has begun. It runs cmd.Start under the lock.
func (e *Exec) register(cmd *exec.Cmd, start func() error) (*group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrShutdown
	}
	if err := start(); err != nil {
		return nil, err
	}
	g := newGroup(cmd)
	e.oneoffs[g] = true
	return g, nil
}

// startPipes starts cmd with pipes for stdin, stdout and stderr, in a
// new session (a process group and a CPU share of its own, as an
// instance's).
func (e *Exec) startPipes(cmd *exec.Cmd, stdio Stdio) (attached, error) {
	cmd.SysProcAttr.Setsid = true
	var files []*os.File // parent's ends, closed on failure
	var childEnds []*os.File
	fail := func(err error) (attached, error) {
		for _, f := range append(files, childEnds...) {
			f.Close()
		}
		return attached{}, err
	}
	var inW *os.File
	if stdio.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(fmt.Errorf("making stdin pipe: %w", err))
		}
		cmd.Stdin, inW = r, w
		files, childEnds = append(files, w), append(childEnds, r)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("making stdout pipe: %w", err))
	}
	files, childEnds = append(files, outR), append(childEnds, outW)
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("making stderr pipe: %w", err))
	}
	files, childEnds = append(files, errR), append(childEnds, errW)
	cmd.Stdout, cmd.Stderr = outW, errW

	g, err := e.register(cmd, cmd.Start)
	if err != nil {
		return fail(err)
	}
	for _, f := range childEnds {
		f.Close()
	}

	if inW != nil {
		// Not waited for: reading the caller's stdin may block past the
		// end of the process; closing inW makes the next write fail.
		go func() {
			_, _ = io.Copy(inW, stdio.Stdin)
			inW.Close()
		}()
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() { copyOut(lockedWriter{&mu, orDiscard(stdio.Stdout)}, outR) })
	wg.Go(func() { copyOut(lockedWriter{&mu, orDiscard(stdio.Stderr)}, errR) })
	drained := make(chan struct{})
	go func() {
		wg.Wait()
		close(drained)
	}()
	return attached{
		g:       g,
		drained: drained,
		closeOutput: func() {
			outR.Close()
			errR.Close()
		},
		cleanup: func() {
			if inW != nil {
				inW.Close()
			}
		},
	}, nil
}

// startTTY starts cmd on a new pseudo-terminal, which belongs to the
// user cmd runs as.
func (e *Exec) startTTY(cmd *exec.Cmd, stdio Stdio) (attached, error) {
	size := stdio.Window
	if size.Cols == 0 || size.Rows == 0 {
		size = WindowSize{Cols: 80, Rows: 24}
	}
	ptmx, tty, err := openTTY(size, cmd.SysProcAttr.Credential)
	if err != nil {
		return attached{}, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// A new session, with the terminal as its controlling one (the
	// child's stdin); the session leader also leads a new process group.
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	g, err := e.register(cmd, cmd.Start)
	tty.Close()
	if err != nil {
		ptmx.Close()
		return attached{}, err
	}
	master, err := pollable(ptmx)
	if err != nil {
		// The process runs but cannot be attached: end it.
		g.kill()
		go g.supervise(make(chan struct{}), func() {}, func() {
			e.mu.Lock()
			delete(e.oneoffs, g)
			e.mu.Unlock()
		})
		return attached{}, err
	}

	go func() {
		// Not waited for, like the stdin copy of startPipes. The end of
		// the caller's stdin is not passed on: a terminal has no such
		// thing (^D arrives as a byte).
		if stdio.Stdin != nil {
			_, _ = io.Copy(master, stdio.Stdin)
		}
	}()
	if stdio.Resize != nil {
		go func() {
			for {
				select {
				case ws, ok := <-stdio.Resize:
					if !ok {
						return
					}
					if err := setWinsize(master, ws); err != nil && !errors.Is(err, os.ErrClosed) {
						e.log.Debug("resizing terminal", "err", err)
					}
				case <-g.done:
					return
				}
			}
		}()
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		// Reading ends with EIO once no process holds the terminal.
		copyOut(orDiscard(stdio.Stdout), master)
	}()
	return attached{
		g:           g,
		drained:     drained,
		closeOutput: func() { master.Close() },
		cleanup:     func() { master.Close() },
	}, nil
}

// copyOut copies r to w until r ends. When w fails, the rest of r is
// read and dropped so that the process never blocks on a full pipe.
func copyOut(w io.Writer, r io.Reader) {
	_, _ = io.Copy(w, r)
	_, _ = io.Copy(io.Discard, r)
}

// orDiscard returns w, or io.Discard when w is nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// lockedWriter serializes writes that share a mutex, so that stdout and
// stderr may be the same writer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
