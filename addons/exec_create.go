package addons

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"paas"
	"paas/internal/ports"
)

// maxSocketPath bounds the path of a service's unix socket, which the
// kernel limits to 108 bytes.
const maxSocketPath = 100

// Create makes service name of engine: its directory, its data (postgres:
// a cluster of its own, made by initdb, with role "app" owning database
// "app"; redis: its configuration), a free loopback port kept for its
// life; it starts the server and waits until it accepts an authenticated
// query (postgres) or PING (redis) with password over that port. On
// failure it leaves nothing. Output, when out is set, says what it does.
//
// The password is never in a command line or the service's environment:
// postgres gets its SCRAM verifier over the superuser's socket, redis the
// password's SHA-256 in its configuration file.
func (e *Exec) Create(ctx context.Context, name, engineName, password string, out io.Writer) (Service, error) {
	eng, err := checkCreate(name, engineName, password)
	if err != nil {
		return Service{}, err
	}
	if err := e.checkBinaries(eng.name); err != nil {
		return Service{}, err
	}
	if out == nil {
		out = io.Discard
	}
	if sock := filepath.Join(e.dataDir(name), ".s.PGSQL.65535"); len(sock) > maxSocketPath {
		return Service{}, fmt.Errorf("add-on %s: the path of its socket, %s, is too long for a unix socket: use a shorter PAAS_DATA_DIR", name, sock)
	}
	version, err := e.engineVersion(ctx, eng)
	if err != nil {
		return Service{}, err
	}
	cred, err := e.credential(name)
	if err != nil {
		return Service{}, err
	}
	// The directory is the claim on the name.
	if err := os.Mkdir(e.svcDir(name), 0o711); errors.Is(err, fs.ErrExist) {
		return Service{}, paas.Errorf("add-on %s exists", name)
	} else if err != nil {
		return Service{}, fmt.Errorf("making add-on %s: %w", name, err)
	}
	s := e.svc(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if err != nil {
			if serr := e.stopLocked(name, s); serr != nil {
				e.log.Error("stopping a service that failed to start", "addon", name, "err", serr)
			}
			os.RemoveAll(e.svcDir(name))
		}
	}()
	if err = mkdirOwned(e.dataDir(name), cred); err != nil {
		return Service{}, err
	}
	m := execMeta{Engine: eng.name, Version: version, Created: time.Now().UTC()}
	if eng.name == Redis {
		m.Hashes = []string{sha256Hex(password)}
		m.Admin = NewPassword()
	}
	if m.Port, err = e.claimPort(name, m); err != nil {
		return Service{}, err
	}
	port := m.Port
	fmt.Fprintf(out, "Creating %s %s (%s) on 127.0.0.1:%d\n", eng.name, version, name, port)
	user := "app"
	switch eng.name {
	case Postgres:
		err = e.createPostgres(ctx, name, m, cred, password, s)
	case Redis:
		user = "default"
		err = e.createRedis(ctx, name, m, password, s)
	}
	if err != nil {
		return Service{}, err
	}
	e.supervise(name)
	e.log.Info("add-on created", "addon", name, "engine", eng.name, "version", version, "port", port)
	return Service{Version: version, Host: "127.0.0.1", Port: port, User: user}, nil
}

// engineVersion asks the engine's server program for its version.
func (e *Exec) engineVersion(ctx context.Context, eng *engine) (string, error) {
	prog := "postgres"
	if eng.name == Redis {
		prog = "redis-server"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd, err := e.commandAs(ctx, nil, os.TempDir(), []string{e.bin(eng.name, prog), "--version"})
	if err != nil {
		return "", err
	}
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("asking %s for its version: %w", prog, err)
	}
	v := eng.version.FindStringSubmatch(string(b))
	if v == nil {
		return "", fmt.Errorf("asking %s for its version: no version in %q", prog, strings.TrimSpace(string(b)))
	}
	return v[1], nil
}

// claimPort picks a free loopback port no other service has, and records
// it in m, written as service name's metadata.
func (e *Exec) claimPort(name string, m execMeta) (int, error) {
	e.portMu.Lock()
	defer e.portMu.Unlock()
	port, err := ports.Pick("127.0.0.1", e.portTaken)
	if err != nil {
		return 0, fmt.Errorf("add-on %s: %w", name, err)
	}
	m.Port = port
	return port, e.writeMeta(name, m)
}

// portTaken reports whether another service has port.
func (e *Exec) portTaken(port int) bool {
	names, err := e.Names(context.Background())
	if err != nil {
		return false
	}
	for _, n := range names {
		if m, err := e.readMeta(n); err == nil && m.Port == port {
			return true
		}
	}
	return false
}

// mkdirOwned makes directory path of mode 0700, owned by cred (or this
// process's user).
func mkdirOwned(path string, cred *syscall.Credential) error {
	if err := os.Mkdir(path, 0o700); err != nil {
		return fmt.Errorf("making %s: %w", path, err)
	}
	return chownTree(path, cred)
}

// chownTree gives the files under path to cred (nothing when nil),
// without following symbolic links.
func chownTree(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("giving %s to uid %d: %w", p, cred.Uid, err)
		}
		return nil
	})
}

// writeOwned writes a file of mode 0600 owned by cred, by a rename.
func writeOwned(path string, b []byte, cred *syscall.Credential) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if cred != nil {
		if err := os.Lchown(tmp, int(cred.Uid), int(cred.Gid)); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// waitReady waits until check succeeds against the service's process p,
// which must keep running, for at most readyTimeout.
func (e *Exec) waitReady(ctx context.Context, name string, p *execProc, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		err := check(cctx)
		ccancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("add-on %s exited while starting%s", name, e.logTail(name))
		case <-ctx.Done():
			return fmt.Errorf("add-on %s did not get ready: %w", name, err)
		case <-tick.C:
		}
	}
}

// logTail returns ": " and the last line of service name's log, or "".
func (e *Exec) logTail(name string) string {
	lines, err := e.Logs(context.Background(), name, 1)
	if err != nil || len(lines) == 0 {
		return ""
	}
	return ": " + lines[0]
}
