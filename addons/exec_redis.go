package addons

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"paas"
)

// The files of a redis service, in its data directory.
const (
	redisConfFile = "redis.conf"
	redisSocket   = "redis.sock"
	redisRDB      = "dump.rdb"
	redisAOFDir   = "appendonlydir"
)

// sha256Hex is the hex SHA-256 of a password, as redis ACLs take it.
func sha256Hex(password string) string {
	h := sha256.Sum256([]byte(password))
	return hex.EncodeToString(h[:])
}

// writeRedisConf writes the service's configuration from its metadata:
// loopback only, its socket for paasd, appended data, the "default"
// user's passwords by hash, and the user "paas" of paasd's own requests.
// It is written again at every start, so what the service might change
// in it does not last.
func (e *Exec) writeRedisConf(name string, m execMeta, cred *syscall.Credential) error {
	data := e.dataDir(name)
	var b strings.Builder
	fmt.Fprintf(&b, "# written by paas at every start\n")
	fmt.Fprintf(&b, "bind 127.0.0.1\nport %d\nprotected-mode no\ndaemonize no\nlogfile \"\"\n", m.Port)
	fmt.Fprintf(&b, "unixsocket %s\nunixsocketperm 700\n", filepath.Join(data, redisSocket))
	fmt.Fprintf(&b, "dir %s\ndbfilename %s\nappendonly yes\nappenddirname %s\n", data, redisRDB, redisAOFDir)
	// A backup (redis-cli --rdb, a replica's sync) starts at once rather
	// than after waiting 5 seconds for other replicas.
	b.WriteString("repl-diskless-sync-delay 0\n")
	b.WriteString("user default reset on")
	for _, h := range m.Hashes {
		b.WriteString(" #" + h)
	}
	b.WriteString(" ~* &* +@all\n")
	fmt.Fprintf(&b, "user paas reset on #%s ~* &* +@all\n", sha256Hex(m.Admin))
	return writeOwned(filepath.Join(data, redisConfFile), []byte(b.String()), cred)
}

// createRedis starts service name and checks that the default user logs
// in with password. s.mu is held.
func (e *Exec) createRedis(ctx context.Context, name string, m execMeta, password string, s *execSvc) error {
	p, err := e.startLocked(name, s)
	if err != nil {
		return err
	}
	if err := e.waitReady(ctx, name, p, func(ctx context.Context) error { return e.redisPing(ctx, name, m) }); err != nil {
		return err
	}
	if err := e.redisLogin(ctx, name, m, "default", password); err != nil {
		return fmt.Errorf("add-on %s refuses its password: %w", name, err)
	}
	s.state = StateUp
	return nil
}

// redisAdmin sends one command as user "paas" over the service's socket
// and returns the reply. redis-cli exits 0 after an error reply: callers
// check the reply.
func (e *Exec) redisAdmin(ctx context.Context, name string, m execMeta, args ...string) (string, error) {
	argv := append([]string{e.bin(Redis, "redis-cli"), "--no-auth-warning", "-s", filepath.Join(e.dataDir(name), redisSocket),
		"--user", "paas"}, args...)
	out, err := e.run(ctx, name, nil, argv, "REDISCLI_AUTH="+m.Admin)
	return strings.TrimSpace(string(out)), err
}

// redisExpect sends a command whose reply must be want.
func (e *Exec) redisExpect(ctx context.Context, name string, m execMeta, want string, args ...string) error {
	got, err := e.redisAdmin(ctx, name, m, args...)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("redis %s: %s", args[0], firstLine(got))
	}
	return nil
}

// firstLine is the first line of s.
func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// redisPing checks that the server answers paasd's user.
func (e *Exec) redisPing(ctx context.Context, name string, m execMeta) error {
	return e.redisExpect(ctx, name, m, "PONG", "PING")
}

// redisLogin checks that user logs in with password over TCP, as apps do.
func (e *Exec) redisLogin(ctx context.Context, name string, m execMeta, user, password string) error {
	out, err := e.run(ctx, name, nil, []string{e.bin(Redis, "redis-cli"), "--no-auth-warning", "-h", "127.0.0.1",
		"-p", strconv.Itoa(m.Port), "--user", user, "PING"}, "REDISCLI_AUTH="+password)
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(out)); got != "PONG" {
		return fmt.Errorf("redis PING: %s", firstLine(got))
	}
	return nil
}

// redisAddCredential adds password to the default user's, now and in the
// configuration.
func (e *Exec) redisAddCredential(ctx context.Context, name string, m execMeta, user, password string) error {
	if user != "default" {
		return fmt.Errorf("invalid redis user %q: redis add-ons have user default", user)
	}
	if !validPassword(password) {
		return fmt.Errorf("add-on password: not one NewPassword makes")
	}
	h := sha256Hex(password)
	if !slices.Contains(m.Hashes, h) {
		m.Hashes = append(m.Hashes, h)
		if err := e.saveRedisMeta(name, m); err != nil {
			return err
		}
	}
	if err := e.redisExpect(ctx, name, m, "OK", "ACL", "SETUSER", "default", "#"+h); err != nil {
		return fmt.Errorf("adding a credential to add-on %s: %w", name, err)
	}
	e.markClients(ctx, name, m)
	return nil
}

// markClients records where the connections to service name stand now
// that it got a new password (credentialMarks); when that cannot be
// read, the removal of an older password closes all the connections.
func (e *Exec) markClients(ctx context.Context, name string, m execMeta) {
	mark, err := markNow(func(args ...string) (string, error) { return e.redisAdmin(ctx, name, m, args...) })
	if err != nil {
		e.redisPass.forget(name)
		e.log.Warn("reading where a redis add-on's connections stand: removing its old password will close all of them", "addon", name, "err", err)
		return
	}
	e.redisPass.note(name, mark)
}

// redisRemoveCredential removes password from the default user's, now
// and in the configuration, and closes the default user's connections
// made before the newest password was added (all of them when an earlier
// paasd added it): clients reconnect with the password they have now.
func (e *Exec) redisRemoveCredential(ctx context.Context, name string, m execMeta, user, password string) error {
	if user != "default" {
		return fmt.Errorf("invalid redis user %q: redis add-ons have user default", user)
	}
	h := sha256Hex(password)
	if i := slices.Index(m.Hashes, h); i >= 0 {
		if len(m.Hashes) == 1 {
			return paas.Errorf("add-on %s: refusing to remove its last password", name)
		}
		m.Hashes = slices.Delete(m.Hashes, i, i+1)
		if err := e.saveRedisMeta(name, m); err != nil {
			return err
		}
	}
	if err := e.redisExpect(ctx, name, m, "OK", "ACL", "SETUSER", "default", "!"+h); err != nil {
		return fmt.Errorf("removing a credential of add-on %s: %w", name, err)
	}
	if err := e.closeOldClients(ctx, name, m); err != nil {
		return fmt.Errorf("closing the connections of add-on %s: %w", name, err)
	}
	return nil
}

// saveRedisMeta records m and writes the configuration from it.
func (e *Exec) saveRedisMeta(name string, m execMeta) error {
	if err := e.writeMeta(name, m); err != nil {
		return err
	}
	cred, err := e.credential(name)
	if err != nil {
		return err
	}
	return e.writeRedisConf(name, m, cred)
}

// redisBackup writes an RDB snapshot of the service to w: redis-cli
// --rdb fetches one into the data directory, from where it is copied.
func (e *Exec) redisBackup(ctx context.Context, name string, m execMeta, w io.Writer) error {
	tmp := filepath.Join(e.dataDir(name), "backup-"+NewPassword()[:12]+".rdb")
	defer os.Remove(tmp)
	argv := []string{e.bin(Redis, "redis-cli"), "--no-auth-warning", "-s", filepath.Join(e.dataDir(name), redisSocket),
		"--user", "paas", "--rdb", tmp}
	if _, err := e.run(ctx, name, nil, argv, "REDISCLI_AUTH="+m.Admin); err != nil {
		return fmt.Errorf("backing up add-on %s: %w", name, err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("backing up add-on %s: %w", name, err)
	}
	defer f.Close()
	head := make([]byte, 5)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "REDIS" {
		return fmt.Errorf("backing up add-on %s: redis-cli wrote no RDB file", name)
	}
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("backing up add-on %s: %w", name, err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("backing up add-on %s: %w", name, err)
	}
	return nil
}

// redisRestore replaces the service's data with the RDB file r (head
// already read): it is written to the data directory and checked with
// redis-check-rdb; the server is stopped, the file swapped in for the
// data (the append-only files moved aside), and the server started with
// append-only off so that it loads the RDB file, then turned on again,
// which writes its data to new append-only files. When the server does
// not come up, the previous data is put back.
func (e *Exec) redisRestore(ctx context.Context, name string, m execMeta, head []byte, r io.Reader) error {
	cred, err := e.credential(name)
	if err != nil {
		return err
	}
	data := e.dataDir(name)
	tmp := filepath.Join(data, "restore.rdb")
	os.Remove(tmp)
	defer os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restoring add-on %s: %w", name, err)
	}
	_, err = io.Copy(f, io.MultiReader(bytes.NewReader(head), r))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && cred != nil {
		err = os.Lchown(tmp, int(cred.Uid), int(cred.Gid))
	}
	if err != nil {
		return fmt.Errorf("restoring add-on %s: reading the dump: %w", name, err)
	}
	if _, err := e.run(ctx, name, nil, []string{e.bin(Redis, "redis-check-rdb"), tmp}); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("restoring add-on %s: %w", name, ctx.Err())
		}
		return paas.Errorf("not a valid redis dump (redis-check-rdb refuses it): %s is unchanged", name)
	}

	s := e.svc(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := e.stopLocked(name, s); err != nil {
		return err
	}
	rdb, aof := filepath.Join(data, redisRDB), filepath.Join(data, redisAOFDir)
	old := func(p string) string { return p + ".old" }
	os.RemoveAll(old(rdb))
	os.RemoveAll(old(aof))
	var moved []string
	for _, p := range []string{rdb, aof} {
		if err := os.Rename(p, old(p)); err == nil {
			moved = append(moved, p)
		} else if !os.IsNotExist(err) {
			return e.redisUndo(ctx, name, m, s, moved, fmt.Errorf("restoring add-on %s: %w", name, err))
		}
	}
	if err := os.Rename(tmp, rdb); err != nil {
		return e.redisUndo(ctx, name, m, s, moved, fmt.Errorf("restoring add-on %s: %w", name, err))
	}
	if err := e.redisStartLoaded(ctx, name, m, s); err != nil {
		return e.redisUndo(ctx, name, m, s, moved, fmt.Errorf("restoring add-on %s: %w", name, err))
	}
	for _, p := range moved {
		os.RemoveAll(old(p))
	}
	return nil
}

// redisStartLoaded starts the server with append-only off, so that it
// loads the RDB file, waits for it, then turns append-only on and waits
// until the data is in the new append-only files. s.mu is held.
func (e *Exec) redisStartLoaded(ctx context.Context, name string, m execMeta, s *execSvc) error {
	p, err := e.startProc(name, s, "--appendonly", "no")
	if err != nil {
		return err
	}
	if err := e.waitReady(ctx, name, p, func(ctx context.Context) error { return e.redisPing(ctx, name, m) }); err != nil {
		return err
	}
	if err := e.redisExpect(ctx, name, m, "OK", "CONFIG", "SET", "appendonly", "yes"); err != nil {
		return err
	}
	err = e.waitReady(ctx, name, p, func(ctx context.Context) error {
		info, err := e.redisAdmin(ctx, name, m, "INFO", "persistence")
		if err != nil {
			return err
		}
		for _, want := range []string{"aof_enabled:1", "aof_rewrite_in_progress:0", "aof_rewrite_scheduled:0", "aof_last_bgrewrite_status:ok"} {
			if !strings.Contains(info, want) {
				return fmt.Errorf("append-only files not written yet")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.state = StateUp
	return nil
}

// redisUndo puts the data moved aside back, starts the server again and
// returns err.
func (e *Exec) redisUndo(ctx context.Context, name string, m execMeta, s *execSvc, moved []string, err error) error {
	ctx = context.WithoutCancel(ctx)
	if serr := e.stopLocked(name, s); serr != nil {
		return fmt.Errorf("%w; then stopping it: %v", err, serr)
	}
	data := e.dataDir(name)
	os.Remove(filepath.Join(data, redisRDB))
	for _, p := range moved {
		os.RemoveAll(p)
		if rerr := os.Rename(p+".old", p); rerr != nil {
			e.log.Error("putting a redis service's data back", "addon", name, "err", rerr)
		}
	}
	p, serr := e.startLocked(name, s)
	if serr == nil {
		serr = e.waitReady(ctx, name, p, func(ctx context.Context) error { return e.redisPing(ctx, name, m) })
	}
	if serr != nil {
		return fmt.Errorf("%w; then starting it with its old data: %v", err, serr)
	}
	s.state = StateUp
	return err
}

// closeOldClients closes the default user's connections to service name
// made before it got its newest password (all of them, when this process
// did not add it or the server restarted since).
func (e *Exec) closeOldClients(ctx context.Context, name string, m execMeta) error {
	mark, ok := e.redisPass.get(name)
	return closeClientsBefore(func(args ...string) (string, error) { return e.redisAdmin(ctx, name, m, args...) }, "default", mark, ok)
}
