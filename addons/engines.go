package addons

import (
	"fmt"
	"regexp"
	"slices"

	"paas/stack"
)

// dataDir is where a service keeps its data in its container: the mount
// point of its volume.
const dataDir = "/var/lib/paas-addon"

// versionFile is where a service image keeps the engine's own account of
// its version, written by the image build.
const versionFile = "/usr/share/paas-addon/version"

// userFile is where a service image keeps the numeric "uid:gid" of its
// engine's user, written by the image build.
const userFile = "/usr/share/paas-addon/user"

// adminFile is the file in a redis service's volume holding the password
// of its admin user, adminUser, which paasd uses for backups, restores
// and credentials (postgres needs none: its superuser logs in over the
// socket as the engine's own user).
const (
	adminFile = "admin.pass"
	adminUser = "paas"
)

// engine is how one engine is built, run and checked.
type engine struct {
	name  string
	image string // the image paas builds for it
	port  int    // the port it serves on
	// firstUser is the user the first credential logs in as.
	firstUser string
	// install is the image build's RUN step on the stack image, as root,
	// after the security suite's updates; the stack's apt sources are in
	// place.
	install string
	// run is the script the container runs, installed in the image.
	run string
	// user runs the service; the package creates it. Its numeric ids
	// are the image's LabelUser.
	user string
	// stopSignal stops the service cleanly.
	stopSignal string
	// version finds the version in the contents of versionFile.
	version *regexp.Regexp
	// secrets are the files written into the data volume before the
	// container first starts, by name: they hold the first password and
	// the admin password.
	secrets func(password, admin string) map[string][]byte
	// ready is the command that succeeds once the service accepts an
	// authenticated request, and the environment of its exec.
	ready    []string
	readyEnv func(password string) []string
}

// securityStep is the start of each image build's RUN step: it adds the
// stack suite's security updates (from the archive in build argument
// SECURITY_MIRROR) and applies them.
const securityStep = `printf 'deb %s %s-security main\n' "$SECURITY_MIRROR" "` + stack.Suite + `" > /etc/apt/sources.list.d/paas-security.list \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y --no-install-recommends \
 && `

// engines are the engines by name.
var engines = map[string]*engine{
	Postgres: {
		name:      Postgres,
		image:     "paas/postgres:15",
		port:      5432,
		firstUser: "app",
		install: `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && if [ -d /etc/postgresql/15/main ]; then pg_dropcluster --stop 15 main; fi \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o postgres -g postgres -m 0700 ` + dataDir + ` \
 && install -d -o postgres -g postgres -m 2775 /run/postgresql \
 && mkdir -p /usr/share/paas-addon \
 && /usr/lib/postgresql/15/bin/postgres --version > ` + versionFile + ` \
 && echo "$(id -u postgres):$(id -g postgres)" > ` + userFile,
		run:        postgresRun,
		user:       "postgres",
		stopSignal: "SIGINT", // fast shutdown
		version:    regexp.MustCompile(`\(PostgreSQL\) ([0-9]+(?:\.[0-9]+)*)`),
		secrets: func(p, _ string) map[string][]byte {
			return map[string][]byte{"password": []byte(p)}
		},
		ready:    []string{"psql", "-X", "-A", "-t", "-q", "-w", "-h", "127.0.0.1", "-U", "app", "-d", "app", "-c", "select 1"},
		readyEnv: func(p string) []string { return []string{"PGPASSWORD=" + p, "PGCONNECT_TIMEOUT=2"} },
	},
	Redis: {
		name:      Redis,
		image:     "paas/redis:7",
		port:      6379,
		firstUser: "default",
		install: `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis -m 0700 ` + dataDir + ` \
 && mkdir -p /usr/share/paas-addon \
 && redis-server --version > ` + versionFile + ` \
 && echo "$(id -u redis):$(id -g redis)" > ` + userFile,
		run:        redisRun,
		user:       "redis",
		stopSignal: "SIGTERM", // saves and exits, as SHUTDOWN does
		version:    regexp.MustCompile(`\bv=([0-9]+(?:\.[0-9]+)*)`),
		secrets: func(p, admin string) map[string][]byte {
			return map[string][]byte{"redis.conf": redisConf(p, admin), adminFile: []byte(admin)}
		},
		ready:    []string{"redis-cli", "--no-auth-warning", "-h", "127.0.0.1", "ping"},
		readyEnv: func(p string) []string { return []string{"REDISCLI_AUTH=" + p} },
	},
}

// lookup returns the engine named name.
func lookup(name string) (*engine, error) {
	e, ok := engines[name]
	if !ok {
		return nil, fmt.Errorf("unknown engine %q (known: %v)", name, slices.Sorted(slices.Values(Engines())))
	}
	return e, nil
}

// postgresRun initializes the cluster on first start, from the password
// Create left in the volume (removed once used), then runs the server.
// The bootstrap superuser "postgres" logs in only over the socket as the
// postgres user (peer); "app" owns database "app" and is no superuser, so
// an app cannot run programs in the service's container.
const postgresRun = `#!/bin/sh
set -eu
PATH=/usr/lib/postgresql/15/bin:$PATH
export PATH
data=` + dataDir + `/pgdata
if [ ! -s "$data/PG_VERSION" ]; then
	rm -rf "$data.init"
	initdb -D "$data.init" --username=postgres --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	pw=$(cat ` + dataDir + `/password)
	printf "CREATE ROLE app LOGIN PASSWORD '%s'\nCREATE DATABASE app OWNER app\n" "$pw" | postgres --single -D "$data.init" postgres >/dev/null
	cat >>"$data.init/postgresql.conf" <<EOF
listen_addresses = '*'
password_encryption = 'scram-sha-256'
EOF
	cat >"$data.init/pg_hba.conf" <<EOF
local all postgres peer
local all all scram-sha-256
host all all 0.0.0.0/0 scram-sha-256
host all all ::/0 scram-sha-256
EOF
	mv "$data.init" "$data"
	rm -f ` + dataDir + `/password
fi
exec postgres -D "$data"
`

// redisRun runs the server with the configuration Create wrote in the
// volume. A dump Restore left in restore.rdb (checked) replaces the data
// first: it becomes the base of a new append-only file, so that it is what
// loads; each step can be repeated, should the swap be interrupted.
const redisRun = `#!/bin/sh
set -eu
d=` + dataDir + `
if [ -f "$d/restore.rdb" ]; then
	rm -rf "$d/appendonlydir.new"
	mkdir -m 0700 "$d/appendonlydir.new"
	cp "$d/restore.rdb" "$d/appendonlydir.new/appendonly.aof.1.base.rdb"
	printf 'file appendonly.aof.1.base.rdb seq 1 type b\n' > "$d/appendonlydir.new/appendonly.aof.manifest"
	rm -rf "$d/appendonlydir"
	mv "$d/appendonlydir.new" "$d/appendonlydir"
	mv "$d/restore.rdb" "$d/dump.rdb"
	echo "paas: the data was replaced by a restored dump"
fi
exec redis-server "$d/redis.conf"
`

// redisConf is the configuration of a redis service: the default user
// with its password, the admin user, appended data in the volume, every
// address of its networks. The users are configuration directives, so
// that CONFIG REWRITE keeps the passwords ACL SETUSER adds or removes.
func redisConf(password, admin string) []byte {
	return []byte(`bind * -::*
port 6379
protected-mode no
daemonize no
logfile ""
dir ` + dataDir + `
appendonly yes
appendfilename "appendonly.aof"
appenddirname "appendonlydir"
user default on >` + password + ` ~* &* +@all
user ` + adminUser + ` on >` + admin + ` ~* &* +@all
`)
}
