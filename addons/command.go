package addons

import (
	"context"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"paas"
)

// command runs cmd in container id as user with env added: its standard
// input read from in (none when nil; closed at in's end), its standard
// output written to out (discarded when nil). It returns the exit code and
// the standard error (at most 64 KiB). An error reading in is returned as
// the error, whatever the command did.
func (d *Docker) command(ctx context.Context, id, user string, env, cmd []string, in io.Reader, out io.Writer) (int, string, error) {
	x, err := d.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		User: user, Env: env, Cmd: cmd, AttachStdin: in != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return -1, "", engineError("exec", err)
	}
	att, err := d.api.ContainerExecAttach(ctx, x.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, "", engineError("exec", err)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	inErr := make(chan error, 1)
	if in != nil {
		go func() {
			_, err := io.Copy(att.Conn, in)
			inErr <- err
			_ = att.CloseWrite()
		}()
	} else {
		inErr <- nil
	}
	if out == nil {
		out = io.Discard
	}
	var stderr limitedBuffer
	stderr.max = 64 << 10
	_, copyErr := stdcopy.StdCopy(out, &stderr, att.Reader)
	if ctx.Err() != nil {
		return -1, stderr.String(), ctx.Err()
	}
	if copyErr != nil {
		return -1, stderr.String(), fmt.Errorf("exec: reading output: %w", copyErr)
	}
	if in != nil {
		if err := <-inErr; err != nil {
			return -1, stderr.String(), fmt.Errorf("reading the input: %w", err)
		}
	}
	code, err := d.exitCode(ctx, x.ID)
	return code, stderr.String(), err
}

// exitCode returns the exit code of exec id, whose output has ended: the
// engine records the exit a moment after it closes the stream.
func (d *Docker) exitCode(ctx context.Context, id string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		xi, err := d.api.ContainerExecInspect(ctx, id)
		if err != nil {
			return -1, engineError("exec", err)
		}
		if !xi.Running {
			return xi.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("exec: no exit status: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// service returns the container of service name, its engine, and whether
// it runs; a missing service is a paas.Error.
func (d *Docker) service(ctx context.Context, name string) (container.InspectResponse, *engine, error) {
	insp, err := d.api.ContainerInspect(ctx, containerName(name))
	if cerrdefs.IsNotFound(err) {
		return insp, nil, paas.Errorf("no add-on %s", name)
	}
	if err != nil {
		return insp, nil, engineError("inspecting add-on "+name, err)
	}
	var label string
	if insp.Config != nil {
		label = insp.Config.Labels[LabelEngine]
	}
	e, err := lookup(label)
	if err != nil {
		return insp, nil, fmt.Errorf("add-on %s: %w", name, err)
	}
	return insp, e, nil
}

// running returns service name's container and engine when it runs, else
// a paas.Error saying it does not.
func (d *Docker) running(ctx context.Context, name string) (container.InspectResponse, *engine, error) {
	insp, e, err := d.service(ctx, name)
	if err != nil {
		return insp, nil, err
	}
	if insp.State == nil || !insp.State.Running || insp.State.Restarting {
		return insp, nil, paas.Errorf("add-on %s is not running", name)
	}
	return insp, e, nil
}

// redisAdmin is the script that runs redis-cli as the admin user: the
// password is read from the volume inside the container, so it is in no
// command line or exec environment.
const redisAdmin = `REDISCLI_AUTH=$(cat ` + dataDir + `/` + adminFile + `) exec redis-cli --no-auth-warning --user ` + adminUser + ` -h 127.0.0.1 "$@"`

// redisCommand runs redis-cli args as the admin user in redis container
// id, and returns its output; an error reply is an error.
func (d *Docker) redisCommand(ctx context.Context, id string, args ...string) (string, error) {
	var out limitedBuffer
	out.max = 64 << 10
	code, stderr, err := d.command(ctx, id, engines[Redis].user, nil, append([]string{"sh", "-c", redisAdmin, "sh"}, args...), nil, &out)
	if err != nil {
		return "", err
	}
	s := out.String()
	if code != 0 || isRedisError(s) {
		return "", fmt.Errorf("redis %s: %s", args[0], oneLine(s+" "+stderr))
	}
	return s, nil
}

// isRedisError reports whether redis-cli's output is an error reply.
func isRedisError(s string) bool {
	for _, p := range []string{"ERR", "WRONGPASS", "NOPERM", "NOAUTH", "WRONGTYPE", "LOADING", "(error)"} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}

// psql runs the SQL script sql in database db as the superuser, over the
// socket, in postgres container id, and returns its output. The
// statements are not logged on error: they may hold a password.
func (d *Docker) psql(ctx context.Context, id, db, sql string) (string, error) {
	var out limitedBuffer
	out.max = 64 << 10
	script := "SET log_min_error_statement = panic;\n" + sql
	code, stderr, err := d.command(ctx, id, engines[Postgres].user, nil,
		[]string{"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db}, stringReader(script), &out)
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", fmt.Errorf("psql: %s", oneLine(stderr))
	}
	return out.String(), nil
}
