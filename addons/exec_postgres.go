package addons

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/user"

	"paas"
)

// pgHBA lets the superuser (and anyone) in over the service's own socket,
// which only its user reaches (its directory is 0700), and everyone over
// TCP on loopback with a SCRAM password.
const pgHBA = `# written by paas
local all all trust
host all all 127.0.0.1/32 scram-sha-256
`

// createPostgres makes a cluster for service name, starts it, and makes
// role "app" with password owning database "app". s.mu is held.
func (e *Exec) createPostgres(ctx context.Context, name string, m execMeta, cred *syscall.Credential, password string, s *execSvc) error {
	pgdata := filepath.Join(e.dataDir(name), "pgdata")
	if err := e.initdb(ctx, name, pgdata, cred); err != nil {
		return err
	}
	if err := writeOwned(filepath.Join(pgdata, "pg_hba.conf"), []byte(pgHBA), cred); err != nil {
		return err
	}
	p, err := e.startLocked(name, s)
	if err != nil {
		return err
	}
	if err := e.waitReady(ctx, name, p, func(ctx context.Context) error {
		_, err := e.pgSQL(ctx, name, m, "postgres", "SELECT 1")
		return err
	}); err != nil {
		return err
	}
	sql := fmt.Sprintf("CREATE ROLE app LOGIN PASSWORD '%s';\nCREATE DATABASE app OWNER app;\n", scramVerifier(password))
	if _, err := e.pgSQL(ctx, name, m, "postgres", sql); err != nil {
		return fmt.Errorf("making database app of add-on %s: %w", name, err)
	}
	if err := e.pgLogin(ctx, name, m, "app", password); err != nil {
		return fmt.Errorf("add-on %s refuses its password: %w", name, err)
	}
	s.state = StateUp
	return nil
}

// initdb makes the cluster pgdata. initdb refuses to run as a uid without
// an account, which the services' uids are: it then runs as
// cfg.InitUser in a directory of that user's, and its files are given to
// the service's user afterwards.
func (e *Exec) initdb(ctx context.Context, name, pgdata string, cred *syscall.Credential) error {
	argv := func(dir string) []string {
		return []string{e.bin(Postgres, "initdb"), "-D", dir, "--username=postgres",
			"--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"}
	}
	if cred == nil {
		cmd, err := e.commandAs(ctx, nil, e.dataDir(name), argv(pgdata))
		if err != nil {
			return err
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("initdb: %w%s", err, lastLine(out))
		}
		return nil
	}
	u, err := user.LookupUser(e.cfg.InitUser)
	if err != nil {
		return paas.Errorf("postgres add-ons need the account %s that PostgreSQL 15's package makes: apt-get install postgresql-15", e.cfg.InitUser)
	}
	if u.Uid == 0 {
		return fmt.Errorf("initdb: the account %s is root", e.cfg.InitUser)
	}
	initCred := &syscall.Credential{Uid: uint32(u.Uid), Gid: uint32(u.Gid)}
	tmp := filepath.Join(e.svcDir(name), "init")
	if err := mkdirOwned(tmp, initCred); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd, err := e.commandAs(ctx, initCred, tmp, argv(filepath.Join(tmp, "pgdata")))
	if err != nil {
		return err
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w%s", err, lastLine(out))
	}
	if err := chownTree(filepath.Join(tmp, "pgdata"), cred); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(tmp, "pgdata"), pgdata); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	return nil
}

// pgSQL runs sql (statements, one transaction each) in database db as
// the superuser, over the service's socket, stopping at the first error;
// it returns the unaligned output.
func (e *Exec) pgSQL(ctx context.Context, name string, m execMeta, db, sql string) ([]byte, error) {
	return e.run(ctx, name, strings.NewReader(sql), []string{e.bin(Postgres, "psql"), "-X", "-q", "-A", "-t",
		"-v", "ON_ERROR_STOP=1", "-h", e.dataDir(name), "-p", strconv.Itoa(m.Port), "-U", "postgres", "-d", db})
}

// pgLogin checks that user logs in with password over TCP, as apps do.
func (e *Exec) pgLogin(ctx context.Context, name string, m execMeta, user, password string) error {
	_, err := e.run(ctx, name, nil, []string{e.bin(Postgres, "psql"), "-X", "-q", "-A", "-t", "-w",
		"-h", "127.0.0.1", "-p", strconv.Itoa(m.Port), "-U", user, "-d", "app", "-c", "SELECT 1"},
		"PGPASSWORD="+password, "PGCONNECT_TIMEOUT=5")
	return err
}

// scramVerifier is what PostgreSQL stores of a password for SCRAM-SHA-256
// authentication (RFC 5803's format): given in CREATE ROLE instead of the
// password, the password itself never reaches the server, its logs or
// its catalog.
func scramVerifier(password string) string {
	const iterations = 4096
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		panic(err) // only for parameters out of FIPS bounds, which these are not
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	server := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(server))
}

// pgRole is what a role that logs in may be called.
var pgRole = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// checkRole refuses a role name that is not a plain identifier, or one
// of the service's own.
func checkRole(role string) error {
	if !pgRole.MatchString(role) || role == "postgres" || strings.HasPrefix(role, "pg_") {
		return fmt.Errorf("invalid postgres user %q", role)
	}
	return nil
}

// pgAddCredential lets role log in with password: "app" gets the
// password; another role is made (or given the password), member of app,
// its sessions acting as app so that what it creates is app's.
func (e *Exec) pgAddCredential(ctx context.Context, name string, m execMeta, role, password string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	if !validPassword(password) {
		return fmt.Errorf("add-on password: not one NewPassword makes")
	}
	v := scramVerifier(password)
	var sql string
	if role == "app" {
		sql = fmt.Sprintf("ALTER ROLE app LOGIN PASSWORD '%s';\n", v)
	} else {
		exists, err := e.pgRoleExists(ctx, name, m, role)
		if err != nil {
			return err
		}
		if exists {
			sql = fmt.Sprintf("ALTER ROLE %s LOGIN PASSWORD '%s';\n", role, v)
		} else {
			sql = fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE app;\n", role, v)
		}
		sql += fmt.Sprintf("GRANT app TO %s;\nALTER ROLE %s SET role = 'app';\n", role, role)
	}
	if _, err := e.pgSQL(ctx, name, m, "postgres", sql); err != nil {
		return fmt.Errorf("adding a credential to add-on %s: %w", name, err)
	}
	return nil
}

// pgRemoveCredential stops role logging in and ends its sessions: "app"
// loses its password (it stays the owner of everything); another role
// gives what it owns to app and is dropped.
func (e *Exec) pgRemoveCredential(ctx context.Context, name string, m execMeta, role string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	terminate := fmt.Sprintf("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE usename = '%s';\n", role)
	if role == "app" {
		if _, err := e.pgSQL(ctx, name, m, "postgres", "ALTER ROLE app PASSWORD NULL;\n"+terminate); err != nil {
			return fmt.Errorf("removing a credential of add-on %s: %w", name, err)
		}
		return nil
	}
	exists, err := e.pgRoleExists(ctx, name, m, role)
	if err != nil || !exists {
		return err
	}
	sql := fmt.Sprintf("ALTER ROLE %s NOLOGIN PASSWORD NULL;\n%sREASSIGN OWNED BY %s TO app;\nDROP OWNED BY %s;\nDROP ROLE %s;\n",
		role, terminate, role, role, role)
	if _, err := e.pgSQL(ctx, name, m, "app", sql); err != nil {
		return fmt.Errorf("removing a credential of add-on %s: %w", name, err)
	}
	return nil
}

// pgRoleExists reports whether role exists.
func (e *Exec) pgRoleExists(ctx context.Context, name string, m execMeta, role string) (bool, error) {
	out, err := e.pgSQL(ctx, name, m, "postgres", fmt.Sprintf("SELECT count(*) FROM pg_roles WHERE rolname = '%s';\n", role))
	if err != nil {
		return false, fmt.Errorf("looking up a user of add-on %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)) == "1", nil
}

// pgBackup writes a pg_dump of database app in the custom format to w.
func (e *Exec) pgBackup(ctx context.Context, name string, m execMeta, w io.Writer) error {
	cmd, err := e.command(ctx, name, []string{e.bin(Postgres, "pg_dump"), "-Fc", "-h", e.dataDir(name),
		"-p", strconv.Itoa(m.Port), "-U", "postgres", "-d", "app"})
	if err != nil {
		return err
	}
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("backing up add-on %s: pg_dump: %w%s", name, err, lastLine(errb.Bytes()))
	}
	return nil
}

// pgRestore restores the custom-format dump r (its first bytes head
// already read) into a fresh database as role app (what it makes is
// app's), then swaps it for database app; the old data stays when any
// step before the swap fails.
func (e *Exec) pgRestore(ctx context.Context, name string, m execMeta, head []byte, r io.Reader) error {
	fresh := "DROP DATABASE IF EXISTS app_restore WITH (FORCE);\nCREATE DATABASE app_restore OWNER app;\n"
	if _, err := e.pgSQL(ctx, name, m, "postgres", fresh); err != nil {
		return fmt.Errorf("restoring add-on %s: %w", name, err)
	}
	drop := func() {
		if _, err := e.pgSQL(context.WithoutCancel(ctx), name, m, "postgres", "DROP DATABASE IF EXISTS app_restore WITH (FORCE);\n"); err != nil {
			e.log.Error("dropping a failed restore's database", "addon", name, "err", err)
		}
	}
	// pg_restore logs in as app, not as the superuser with SET ROLE: a
	// dump is SQL, and a crafted one could RESET ROLE.
	_, err := e.run(ctx, name, io.MultiReader(bytes.NewReader(head), r), []string{e.bin(Postgres, "pg_restore"),
		"--exit-on-error", "--no-owner", "--no-privileges", "--single-transaction",
		"-h", e.dataDir(name), "-p", strconv.Itoa(m.Port), "-U", "app", "-d", "app_restore"})
	if err != nil {
		drop()
		if ctx.Err() != nil {
			return fmt.Errorf("restoring add-on %s: %w", name, ctx.Err())
		}
		return paas.Errorf("the dump does not restore, so %s keeps its data: %s", name, strings.TrimPrefix(lastLine([]byte(err.Error())), ": "))
	}
	// No new sessions of app, end the open ones, swap by renames in one
	// transaction, drop the old data.
	swap := `ALTER DATABASE app ALLOW_CONNECTIONS false;
SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname = 'app';
BEGIN;
ALTER DATABASE app RENAME TO app_old;
ALTER DATABASE app_restore RENAME TO app;
COMMIT;
`
	if _, err := e.pgSQL(ctx, name, m, "postgres", swap); err != nil {
		undo := "ALTER DATABASE app ALLOW_CONNECTIONS true;\n"
		if _, uerr := e.pgSQL(context.WithoutCancel(ctx), name, m, "postgres", undo); uerr != nil {
			e.log.Error("reopening database app after a failed restore", "addon", name, "err", uerr)
		}
		drop()
		return fmt.Errorf("restoring add-on %s: %w", name, err)
	}
	if _, err := e.pgSQL(context.WithoutCancel(ctx), name, m, "postgres", "DROP DATABASE IF EXISTS app_old WITH (FORCE);\n"); err != nil {
		e.log.Error("dropping the data a restore replaced", "addon", name, "err", err)
	}
	return nil
}
