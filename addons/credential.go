package addons

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"paas"
)

// checkCredential checks user and password for a service of engine e:
// both are written into SQL or ACL rules, so only those this package
// makes are accepted.
func checkCredential(name string, e *engine, user, password string) error {
	if !validUser(e.name, user) {
		return paas.Errorf("add-on %s has no user %q", name, user)
	}
	if !validPassword(password) {
		return errors.New("add-on password: not one NewPassword makes")
	}
	return nil
}

// AddCredential makes user log in with password, besides the credentials
// that can already. Postgres: "app" gets password as its password; another
// user is a LOGIN role member of app whose sessions act as app (so what it
// makes is app's). Redis: user is "default"; password is added to its
// passwords, and the configuration file is rewritten so a restart keeps
// them all.
func (d *Docker) AddCredential(ctx context.Context, name, user, password string) error {
	insp, e, err := d.running(ctx, name)
	if err != nil {
		return err
	}
	if err := checkCredential(name, e, user, password); err != nil {
		return err
	}
	switch e.name {
	case Postgres:
		sql := "ALTER ROLE app PASSWORD '" + password + "';\n"
		if user != "app" {
			sql = fmt.Sprintf(`DO $$BEGIN
IF EXISTS (SELECT FROM pg_roles WHERE rolname = '%[1]s') THEN
	ALTER ROLE %[1]s LOGIN PASSWORD '%[2]s';
ELSE
	CREATE ROLE %[1]s LOGIN PASSWORD '%[2]s';
END IF;
END$$;
GRANT app TO %[1]s;
ALTER ROLE %[1]s SET role = 'app';
`, user, password)
		}
		_, err = d.psql(ctx, insp.ID, "postgres", sql)
	case Redis:
		if _, err = d.redisCommand(ctx, insp.ID, "ACL", "SETUSER", user, "on", ">"+password); err == nil {
			d.markClients(ctx, insp.ID, name)
			_, err = d.redisCommand(ctx, insp.ID, "CONFIG", "REWRITE")
		}
	}
	if err != nil {
		return fmt.Errorf("adding a credential to add-on %s: %s", name, strings.ReplaceAll(err.Error(), password, "********"))
	}
	d.log.Info("add-on credential added", "addon", name, "user", user)
	return nil
}

// RemoveCredential stops user logging in with password and ends its open
// sessions. Postgres: "app" loses its password (it stays the owner of
// the data); another user's objects are given to app and the role is
// dropped. Redis: password is removed from the default user's (persisted)
// and the default user's connections made before the newest password was
// added are closed; without a record of that (an earlier paasd added it),
// all of them: clients reconnect with the credential they now have.
func (d *Docker) RemoveCredential(ctx context.Context, name, user, password string) error {
	insp, e, err := d.running(ctx, name)
	if err != nil {
		return err
	}
	if err := checkCredential(name, e, user, password); err != nil {
		return err
	}
	switch e.name {
	case Postgres:
		terminate := "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE usename = '" + user + "';\n"
		if user == "app" {
			_, err = d.psql(ctx, insp.ID, "postgres", "ALTER ROLE app PASSWORD NULL;\n"+terminate)
			break
		}
		var out string
		out, err = d.psql(ctx, insp.ID, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = '"+user+"';\n")
		if err != nil || strings.TrimSpace(out) == "0" {
			break
		}
		if _, err = d.psql(ctx, insp.ID, "postgres", "ALTER ROLE "+user+" NOLOGIN PASSWORD NULL;\n"+terminate); err != nil {
			break
		}
		// What the role owns is in database app (and perhaps postgres).
		for _, db := range []string{"app", "postgres"} {
			if _, err = d.psql(ctx, insp.ID, db, "REASSIGN OWNED BY "+user+" TO app;\nDROP OWNED BY "+user+";\n"); err != nil {
				break
			}
		}
		if err == nil {
			_, err = d.psql(ctx, insp.ID, "postgres", "DROP ROLE IF EXISTS "+user+";\n")
		}
	case Redis:
		if _, err = d.redisCommand(ctx, insp.ID, "ACL", "SETUSER", user, "<"+password); err != nil {
			// Removed already (an interrupted removal, repeated).
			if strings.Contains(err.Error(), "does not exist") {
				err = nil
			}
			break
		}
		if _, err = d.redisCommand(ctx, insp.ID, "CONFIG", "REWRITE"); err != nil {
			break
		}
		err = d.closeOldClients(ctx, insp.ID, name, user)
	}
	if err != nil {
		return fmt.Errorf("removing a credential of add-on %s: %s", name, strings.ReplaceAll(err.Error(), password, "********"))
	}
	d.log.Info("add-on credential removed", "addon", name, "user", user)
	return nil
}

// markClients records where the connections to redis container id of
// service name stand now that it got a new password (credentialMarks);
// when that cannot be read, the removal of an older password closes all
// the connections.
func (d *Docker) markClients(ctx context.Context, id, name string) {
	m, err := markNow(func(args ...string) (string, error) { return d.redisCommand(ctx, id, args...) })
	if err != nil {
		d.redisPass.forget(name)
		d.log.Warn("reading where a redis add-on's connections stand: removing its old password will close all of them", "addon", name, "err", err)
		return
	}
	d.redisPass.note(name, m)
}

// closeOldClients closes user's connections to redis container id made
// before service name got its newest password (all of them, when this
// process did not add it or the server restarted since).
func (d *Docker) closeOldClients(ctx context.Context, id, name, user string) error {
	m, ok := d.redisPass.get(name)
	return closeClientsBefore(func(args ...string) (string, error) { return d.redisCommand(ctx, id, args...) }, user, m, ok)
}
