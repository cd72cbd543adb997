package addons

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/creack/pty"

	"paas"
	"paas/runtime"
)

// Backup writes a dump of the service's data to w: postgres a pg_dump
// of database "app" in the custom format, redis an RDB snapshot. An error
// means w did not get a complete dump.
func (e *Exec) Backup(ctx context.Context, name string, w io.Writer) error {
	m, err := e.readMeta(name)
	if err != nil {
		return err
	}
	if m.Engine == Postgres {
		return e.pgBackup(ctx, name, m, w)
	}
	return e.redisBackup(ctx, name, m, w)
}

// Dump formats start with these bytes.
const (
	pgDumpMagic = "PGDMP"
	rdbMagic    = "REDIS"
)

// Restore replaces the service's data with the dump read from r, after
// checking that it is one of its engine's: anything else is refused with
// a *paas.Error and nothing changes. Postgres restores into a fresh
// database, then swaps it for "app"; redis checks the file with
// redis-check-rdb before swapping it in. A restore that fails leaves the
// previous data, and the service up.
func (e *Exec) Restore(ctx context.Context, name string, r io.Reader) error {
	m, err := e.readMeta(name)
	if err != nil {
		return err
	}
	head := make([]byte, 5)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("restoring add-on %s: reading the dump: %w", name, err)
	}
	head = head[:n]
	want, other, otherEngine, how := pgDumpMagic, rdbMagic, Redis, "pg_dump -Fc"
	if m.Engine == Redis {
		want, other, otherEngine, how = rdbMagic, pgDumpMagic, Postgres, "redis-cli --rdb"
	}
	switch string(head) {
	case want:
	case other:
		return paas.Errorf("this is a %s dump; %s runs %s", otherEngine, name, m.Engine)
	default:
		return paas.Errorf("not a %s dump: make one with addons:backup or %s", m.Engine, how)
	}
	s := e.svc(name)
	s.ops.Lock()
	defer s.ops.Unlock()
	if m.Engine == Postgres {
		err = e.pgRestore(ctx, name, m, head, r)
	} else {
		err = e.redisRestore(ctx, name, m, head, r)
	}
	if err == nil {
		e.log.Info("add-on restored", "addon", name)
	}
	return err
}

// AddCredential makes user/password able to log in, besides the
// credentials that can already. Postgres: user "app" gets password;
// another user is made a member of app whose sessions act as app. Redis:
// user is "default", which gets password besides its others, kept across
// restarts.
func (e *Exec) AddCredential(ctx context.Context, name, user, password string) error {
	m, err := e.readMeta(name)
	if err != nil {
		return err
	}
	s := e.svc(name)
	s.ops.Lock()
	defer s.ops.Unlock()
	if m.Engine == Postgres {
		return e.pgAddCredential(ctx, name, m, user, password)
	}
	return e.redisAddCredential(ctx, name, m, user, password)
}

// RemoveCredential stops user/password logging in, and closes its open
// sessions. Postgres: "app" loses its password but stays the owner;
// another user gives what it owns to app and is dropped. Redis: the
// default user loses password, and its connections are closed.
func (e *Exec) RemoveCredential(ctx context.Context, name, user, password string) error {
	m, err := e.readMeta(name)
	if err != nil {
		return err
	}
	s := e.svc(name)
	s.ops.Lock()
	defer s.ops.Unlock()
	if m.Engine == Postgres {
		return e.pgRemoveCredential(ctx, name, m, user)
	}
	return e.redisRemoveCredential(ctx, name, m, user, password)
}

// Connect runs the engine's client (psql, redis-cli) as the service's
// user, logged in over its loopback port as user with password (in the
// environment), attached to stdio: on a new terminal when stdio.TTY,
// else on pipes, where the statements on stdin run (psql stops at the
// first error). It returns the client's exit status.
func (e *Exec) Connect(ctx context.Context, name, user, password string, stdio runtime.Stdio) (int, error) {
	m, err := e.readMeta(name)
	if err != nil {
		return -1, err
	}
	var argv, env []string
	if m.Engine == Postgres {
		if err := checkRole(user); err != nil {
			return -1, paas.Errorf("%v", err)
		}
		argv = []string{e.bin(Postgres, "psql"), "-X", "-h", "127.0.0.1", "-p", strconv.Itoa(m.Port), "-U", user, "-d", "app"}
		if !stdio.TTY {
			argv = append(argv, "-v", "ON_ERROR_STOP=1")
		}
		env = []string{"PGPASSWORD=" + password, "PSQL_HISTORY=/dev/null"}
	} else {
		if user != "default" {
			return -1, paas.Errorf("invalid redis user %q: redis add-ons have user default", user)
		}
		argv = []string{e.bin(Redis, "redis-cli"), "--no-auth-warning", "-h", "127.0.0.1", "-p", strconv.Itoa(m.Port), "--user", user}
		env = []string{"REDISCLI_AUTH=" + password, "REDISCLI_HISTFILE=/dev/null"}
	}
	if stdio.TTY {
		term := stdio.Term
		if term == "" {
			term = "xterm"
		}
		env = append(env, "TERM="+term)
	}
	cmd, err := e.command(ctx, name, argv, env...)
	if err != nil {
		return -1, err
	}
	if stdio.TTY {
		err = e.connectTTY(cmd, stdio)
	} else {
		err = connectPipes(cmd, stdio)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), ctx.Err()
		}
		return ee.ExitCode(), ctx.Err()
	case err != nil:
		return -1, fmt.Errorf("connecting to add-on %s: %w", name, err)
	}
	return 0, nil
}

// connectPipes runs cmd on pipes. Stdin is copied until it ends, then
// closed; the copy is not waited for, as the caller's stdin may stay
// open after the client exits.
func connectPipes(cmd *exec.Cmd, stdio runtime.Stdio) error {
	cmd.Stdout, cmd.Stderr = orDiscardW(stdio.Stdout), orDiscardW(stdio.Stderr)
	if stdio.Stdin == nil {
		return cmd.Run()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return err
	}
	r.Close()
	go func() {
		_, _ = io.Copy(w, stdio.Stdin)
		w.Close()
	}()
	err = cmd.Wait()
	w.Close()
	return err
}

// connectTTY runs cmd on a new terminal, owned by the user it runs as,
// as the leader of a new session.
func (e *Exec) connectTTY(cmd *exec.Cmd, stdio runtime.Stdio) error {
	size := stdio.Window
	if size.Cols == 0 || size.Rows == 0 {
		size = runtime.WindowSize{Cols: 80, Rows: 24}
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		return fmt.Errorf("opening a terminal: %w", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: size.Rows, Cols: size.Cols}); err != nil {
		tty.Close()
		return fmt.Errorf("sizing the terminal: %w", err)
	}
	if c := cmd.SysProcAttr.Credential; c != nil {
		if err := tty.Chown(int(c.Uid), int(c.Gid)); err != nil {
			tty.Close()
			return fmt.Errorf("giving the terminal to uid %d: %w", c.Uid, err)
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr.Setpgid = false
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	err = cmd.Start()
	tty.Close()
	if err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	if stdio.Stdin != nil {
		go func() { _, _ = io.Copy(ptmx, stdio.Stdin) }()
	}
	if stdio.Resize != nil {
		go func() {
			for {
				select {
				case ws, ok := <-stdio.Resize:
					if !ok {
						return
					}
					_ = pty.Setsize(ptmx, &pty.Winsize{Rows: ws.Rows, Cols: ws.Cols})
				case <-done:
					return
				}
			}
		}()
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		// Reading ends with EIO once no process holds the terminal.
		_, _ = io.Copy(orDiscardW(stdio.Stdout), ptmx)
	}()
	err = cmd.Wait()
	<-copied
	return err
}

// orDiscardW returns w, or io.Discard when w is nil.
func orDiscardW(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
