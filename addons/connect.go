package addons

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"paas"
	"paas/runtime"
)

// nobody is the user the engine's client runs as in the service's
// container: it cannot read the data, so a shell escape of the client
// (psql's \!) reaches nothing a login to the service does not.
const nobody = "65534:65534"

// Connect runs the engine's client (psql, redis-cli) in the service's
// container, logged in over TCP on its loopback as user with password
// (passed in the environment), attached to stdio: a terminal when
// stdio.TTY, else pipes, the statements on stdin run (psql stops at the
// first error). It returns the client's exit status.
func (d *Docker) Connect(ctx context.Context, name, user, password string, stdio runtime.Stdio) (int, error) {
	insp, e, err := d.running(ctx, name)
	if err != nil {
		return -1, err
	}
	if !validUser(e.name, user) {
		return -1, paas.Errorf("add-on %s has no user %q", name, user)
	}
	if !validPassword(password) {
		return -1, errors.New("add-on password: not one NewPassword makes")
	}
	var cmd, env []string
	switch e.name {
	case Postgres:
		cmd = []string{"psql", "-X", "-h", "127.0.0.1", "-U", user, "-d", "app"}
		if !stdio.TTY {
			cmd = append(cmd, "-v", "ON_ERROR_STOP=1")
		}
		env = []string{"PGPASSWORD=" + password, "PSQL_HISTORY=/dev/null", "HOME=/tmp"}
	case Redis:
		cmd = []string{"redis-cli", "--no-auth-warning", "-h", "127.0.0.1", "--user", user}
		env = []string{"REDISCLI_AUTH=" + password, "REDISCLI_HISTFILE=/dev/null", "HOME=/tmp"}
	}
	if stdio.TTY && stdio.Term != "" {
		env = append(env, "TERM="+stdio.Term)
	}
	// The client's process ID is kept in a file, so that a client left
	// running (a terminal does not end when its caller goes) is ended.
	pidFile := "/tmp/paas-connect-" + randomHex() + ".pid"
	cmd = append([]string{"sh", "-c", `echo $$ > "$1" && shift && exec "$@"`, "sh", pidFile}, cmd...)
	x, err := d.api.ContainerExecCreate(ctx, insp.ID, container.ExecOptions{
		User: nobody, Env: env, Cmd: cmd, Tty: stdio.TTY,
		AttachStdin: stdio.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return -1, engineError("starting the client of add-on "+name, err)
	}
	att, err := d.api.ContainerExecAttach(ctx, x.ID, container.ExecAttachOptions{Tty: stdio.TTY})
	if err != nil {
		return -1, engineError("starting the client of add-on "+name, err)
	}
	defer att.Close()
	defer d.endClient(insp.ID, x.ID, pidFile)
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	if stdio.Stdin != nil {
		// Not waited for: the caller's stdin may block past the
		// client's end; closing the stream ends the copy.
		go func() {
			_, _ = io.Copy(att.Conn, stdio.Stdin)
			if !stdio.TTY {
				_ = att.CloseWrite()
			}
		}()
	}
	done := make(chan struct{})
	defer close(done)
	if stdio.TTY {
		d.resizeLoop(x.ID, stdio, done)
	}
	stdout, stderr := orDiscard(stdio.Stdout), orDiscard(stdio.Stderr)
	if stdio.TTY {
		_, _ = io.Copy(stdout, att.Reader)
	} else {
		var mu sync.Mutex
		_, _ = stdcopy.StdCopy(lockedWriter{&mu, stdout}, lockedWriter{&mu, stderr}, att.Reader)
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	return d.exitCode(ctx, x.ID)
}

// endClient ends the client Connect started as exec execID in container
// id when it still runs, and removes its pidFile.
func (d *Docker) endClient(id, execID, pidFile string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if xi, err := d.api.ContainerExecInspect(ctx, execID); err == nil && xi.Running {
		if _, _, err := d.command(ctx, id, nobody, nil, []string{"sh", "-c", `kill -KILL "$(cat "$1")"`, "sh", pidFile}, nil, nil); err != nil {
			d.log.Warn("ending an add-on's client", "err", err)
		}
		if _, err := d.exitCode(ctx, execID); err != nil {
			d.log.Warn("ending an add-on's client", "err", err)
		}
	}
	if _, _, err := d.command(ctx, id, nobody, nil, []string{"rm", "-f", pidFile}, nil, nil); err != nil {
		d.log.Debug("removing a client's pid file", "err", err)
	}
}

// resizeLoop applies stdio's window size, then each from stdio.Resize, to
// exec id's terminal until done is closed.
func (d *Docker) resizeLoop(id string, stdio runtime.Stdio, done <-chan struct{}) {
	resize := func(ws runtime.WindowSize) {
		if ws.Rows == 0 || ws.Cols == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.api.ContainerExecResize(ctx, id, container.ResizeOptions{Height: uint(ws.Rows), Width: uint(ws.Cols)}); err != nil {
			d.log.Debug("resizing a client's terminal", "err", err)
		}
	}
	go func() {
		resize(stdio.Window)
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

// orDiscard is w, or io.Discard when w is nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
