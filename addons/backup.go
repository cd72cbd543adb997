package addons

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/container"

	"paas"
)

// The first bytes of each engine's dumps.
var dumpMagic = map[string][]byte{
	Postgres: []byte("PGDMP"), // pg_dump's custom format
	Redis:    []byte("REDIS"), // an RDB file
}

// dumpHint says how to make a dump of each engine.
var dumpHint = map[string]string{
	Postgres: "addons:backup or pg_dump -Fc",
	Redis:    "addons:backup or redis-cli --rdb",
}

// Backup writes a dump of the service's data to w: postgres, pg_dump's
// custom format of database "app", made by the superuser over the socket;
// redis, an RDB snapshot (redis-cli --rdb into a file in the volume,
// then streamed). An error means w got no complete dump.
func (d *Docker) Backup(ctx context.Context, name string, w io.Writer) error {
	insp, e, err := d.running(ctx, name)
	if err != nil {
		return err
	}
	var cmd []string
	switch e.name {
	case Postgres:
		cmd = []string{"pg_dump", "-Fc", "-d", "app"}
	case Redis:
		cmd = []string{"sh", "-c", `set -e
f=$1
shift
trap 'rm -f "$f"' EXIT
REDISCLI_AUTH=$(cat ` + dataDir + `/` + adminFile + `) redis-cli --no-auth-warning --user ` + adminUser + ` -h 127.0.0.1 --rdb "$f" >&2
cat "$f"`, "sh", dataDir + "/backup-" + randomHex() + ".rdb"}
	}
	code, stderr, err := d.command(ctx, insp.ID, e.user, nil, cmd, nil, w)
	if err != nil {
		return fmt.Errorf("backing up add-on %s: %w", name, err)
	}
	if code != 0 {
		return fmt.Errorf("backing up add-on %s: exit status %d: %s", name, code, oneLine(stderr))
	}
	return nil
}

// randomHex is 8 random hex digits, for names of temporary files.
func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkDump reads the first bytes of the dump r and checks they are e's;
// it returns r whole again. A dump of another engine, or none, is a
// paas.Error of one line.
func checkDump(name string, e *engine, r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(len(dumpMagic[e.name]))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("reading the dump: %w", err)
	}
	if bytes.Equal(head, dumpMagic[e.name]) {
		return br, nil
	}
	for other, magic := range dumpMagic {
		if other != e.name && bytes.Equal(head, magic) {
			return nil, paas.Errorf("this is a %s dump; %s runs %s", other, name, e.name)
		}
	}
	return nil, paas.Errorf("not a %s dump: make one with %s", e.name, dumpHint[e.name])
}

// Restore replaces the service's data with the dump read from r, after
// checking it is a dump of the service's engine (else a paas.Error, and
// nothing changes). The dump is written to a file in the volume first.
// Postgres restores it into a fresh database, then swaps the databases by
// renames; redis checks it (redis-check-rdb) and restarts the service,
// whose run script swaps it in. A restore that fails leaves the previous
// data, and the service up.
func (d *Docker) Restore(ctx context.Context, name string, r io.Reader) error {
	insp, e, err := d.running(ctx, name)
	if err != nil {
		return err
	}
	r, err = checkDump(name, e, r)
	if err != nil {
		return err
	}
	d.restoreMu.Lock()
	defer d.restoreMu.Unlock()
	file := dataDir + "/restore-" + randomHex() + ".tmp"
	defer func() {
		_, _, _ = d.command(context.WithoutCancel(ctx), insp.ID, e.user, nil, []string{"rm", "-f", file}, nil, nil)
	}()
	code, stderr, err := d.command(ctx, insp.ID, e.user, nil, []string{"sh", "-c", `umask 077 && cat > "$1"`, "sh", file}, r, nil)
	if err != nil {
		return fmt.Errorf("restoring add-on %s: %w", name, err)
	}
	if code != 0 {
		return fmt.Errorf("restoring add-on %s: writing the dump: %s", name, oneLine(stderr))
	}
	switch e.name {
	case Postgres:
		err = d.restorePostgres(ctx, insp.ID, file)
	case Redis:
		err = d.restoreRedis(ctx, insp.ID, e, file)
	}
	if err != nil {
		return fmt.Errorf("restoring add-on %s: %w", name, err)
	}
	d.log.Info("add-on restored", "addon", name)
	return nil
}

// The databases of a postgres restore: the dump is restored into
// restoreDB, which then becomes "app" while "app" becomes oldDB, dropped.
const (
	restoreDB = "paas_restore"
	oldDB     = "paas_restore_old"
	// restoreRole is the login the dump's statements run as.
	restoreRole = "paas_restore"
)

// restorePostgres restores the dump in file into a fresh database owned by
// app, then swaps it with "app".
func (d *Docker) restorePostgres(ctx context.Context, id, file string) error {
	if _, err := d.psql(ctx, id, "postgres", "DROP DATABASE IF EXISTS "+restoreDB+" WITH (FORCE);\n"+
		"DROP DATABASE IF EXISTS "+oldDB+" WITH (FORCE);\n"+
		"CREATE DATABASE "+restoreDB+" OWNER app;\n"); err != nil {
		return fmt.Errorf("making a fresh database: %w", err)
	}
	dropRestore := func() {
		if _, err := d.psql(context.WithoutCancel(ctx), id, "postgres", "DROP DATABASE IF EXISTS "+restoreDB+" WITH (FORCE);\n"); err != nil {
			d.log.Warn("dropping a failed restore's database", "err", err)
		}
	}
	// The dump's statements run as a login of its own that acts as app
	// and is no more: not as the superuser, whose powers a crafted dump
	// could take back with RESET ROLE.
	password := NewPassword()
	if _, err := d.psql(ctx, id, "postgres", fmt.Sprintf(`DROP ROLE IF EXISTS %[1]s;
CREATE ROLE %[1]s LOGIN PASSWORD '%[2]s' IN ROLE app;
ALTER ROLE %[1]s SET role = 'app';
`, restoreRole, password)); err != nil {
		dropRestore()
		return fmt.Errorf("making the restore's login: %w", err)
	}
	code, stderr, err := d.command(ctx, id, engines[Postgres].user, []string{"PGPASSWORD=" + password},
		[]string{"pg_restore", "--exit-on-error", "--no-owner", "--no-privileges", "-h", "127.0.0.1", "-U", restoreRole, "-d", restoreDB, file}, nil, nil)
	// What the login made is app's; then it goes.
	if _, err := d.psql(context.WithoutCancel(ctx), id, restoreDB, fmt.Sprintf("REASSIGN OWNED BY %[1]s TO app;\nDROP OWNED BY %[1]s;\n", restoreRole)); err != nil {
		d.log.Warn("giving a restore's objects to app", "err", err)
	}
	if _, err := d.psql(context.WithoutCancel(ctx), id, "postgres", fmt.Sprintf("DROP OWNED BY %[1]s;\nDROP ROLE IF EXISTS %[1]s;\n", restoreRole)); err != nil {
		d.log.Warn("dropping a restore's login", "err", err)
	}
	if err != nil {
		dropRestore()
		return err
	}
	if code != 0 {
		dropRestore()
		return paas.Errorf("the dump does not restore: %s", oneLine(lastLines(strings.ReplaceAll(stderr, password, "***"), 2)))
	}
	// New sessions are refused while the sessions of "app" end; the
	// renames are one transaction, so "app" is either the old database
	// or the restored one.
	_, err = d.psql(ctx, id, "postgres", "ALTER DATABASE app WITH ALLOW_CONNECTIONS false;\n"+
		"BEGIN;\n"+
		"SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE datname = 'app' AND pid <> pg_backend_pid();\n"+
		"ALTER DATABASE app RENAME TO "+oldDB+";\n"+
		"ALTER DATABASE "+restoreDB+" RENAME TO app;\n"+
		"COMMIT;\n")
	if err != nil {
		if _, err2 := d.psql(context.WithoutCancel(ctx), id, "postgres", "ALTER DATABASE app WITH ALLOW_CONNECTIONS true;\n"); err2 != nil {
			d.log.Warn("allowing connections again after a failed restore", "err", err2)
		}
		dropRestore()
		return fmt.Errorf("swapping in the restored database: %w", err)
	}
	if _, err := d.psql(context.WithoutCancel(ctx), id, "postgres", "DROP DATABASE IF EXISTS "+oldDB+" WITH (FORCE);\n"); err != nil {
		d.log.Warn("dropping the database a restore replaced", "err", err)
	}
	return nil
}

// restoreRedis checks the RDB file and has the service restart on it.
func (d *Docker) restoreRedis(ctx context.Context, id string, e *engine, file string) error {
	var out limitedBuffer
	out.max = 64 << 10
	code, _, err := d.command(ctx, id, e.user, nil, []string{"sh", "-c", `redis-check-rdb "$1" 2>&1`, "sh", file}, nil, &out)
	if err != nil {
		return err
	}
	if code != 0 {
		return paas.Errorf("the dump is damaged: %s", rdbError(out.String()))
	}
	code, stderr, err := d.command(ctx, id, e.user, nil, []string{"mv", file, dataDir + "/restore.rdb"}, nil, nil)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("keeping the dump: %s", oneLine(stderr))
	}
	secs := int(stopTimeout.Seconds())
	if err := d.api.ContainerRestart(ctx, id, container.StopOptions{Timeout: &secs}); err != nil {
		return engineError("restarting the service", err)
	}
	return d.waitAlive(ctx, id, e)
}

// rdbError is the finding in redis-check-rdb's output s: the line after
// its "RDB ERROR DETECTED", without the offset.
func rdbError(s string) string {
	_, after, ok := strings.Cut(s, "RDB ERROR DETECTED ---\n")
	if !ok {
		return "redis-check-rdb refuses it"
	}
	line, _, _ := strings.Cut(after, "\n")
	if _, rest, ok := strings.Cut(line, "] "); ok {
		line = rest
	}
	return oneLine(line)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimRight([]byte(s), "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// waitAlive waits until the service in container id accepts connections
// (postgres: pg_isready; redis: PING as the admin), failing when the
// container stops or readyTimeout passes.
func (d *Docker) waitAlive(ctx context.Context, id string, e *engine) error {
	return d.waitFor(ctx, id, e, func(ctx context.Context) bool { return d.alive(ctx, id, e) })
}

// alive reports whether the service in container id accepts connections.
func (d *Docker) alive(ctx context.Context, id string, e *engine) bool {
	switch e.name {
	case Postgres:
		code, _, err := d.command(ctx, id, e.user, nil, []string{"pg_isready", "-q", "-h", "/run/postgresql", "-d", "postgres"}, nil, nil)
		return err == nil && code == 0
	case Redis:
		// A service without the admin user (made before it existed)
		// answers NOAUTH once it accepts connections.
		var out limitedBuffer
		out.max = 4096
		code, _, err := d.command(ctx, id, e.user, nil, []string{"redis-cli", "-h", "127.0.0.1", "ping"}, nil, &out)
		s := out.String()
		return err == nil && code == 0 && (bytes.HasPrefix([]byte(s), []byte("PONG")) || bytes.HasPrefix([]byte(s), []byte("NOAUTH")))
	}
	return false
}
