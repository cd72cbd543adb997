package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
)

// TestAddons attaches Postgres and Redis to a Node app that uses them
// through the pg and redis npm packages, with its schema made by a
// release-phase migration, on each runtime: rows are created, read,
// updated and deleted over HTTP through the router; they survive a config
// change, a redeploy, a restart of the app's instances, a rollback and a
// restart of paasd (which adopts the services, not restarting them). A backup, a
// deleted row and a restore bring the row back; a dump of the wrong engine
// or garbage is refused with the data unchanged. The services' log lines
// reach the app's log stream. Rotating the credentials keeps the app
// answering and the old password stops working. Detaching removes the
// variable in a new release; destroying removes the service with its data
// and backups.
func TestAddons(t *testing.T) {
	forEachRuntime(t, testAddons)
}

func testAddons(t *testing.T, rt string) {
	const app = "crud"
	s := startServer(t, "PAAS_RUNTIME="+rt)
	requireOK(t, "apps:create", s.ssh("apps:create "+app))

	r := s.ssh("addons:create " + app + " postgres")
	requireOK(t, "addons:create postgres", r)
	for _, want := range []string{"crud-postgres", "DATABASE_URL", "15."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("addons:create postgres output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = s.ssh("addons:create " + app + " redis")
	requireOK(t, "addons:create redis", r)
	if !strings.Contains(r.stdout, "REDIS_URL") {
		t.Errorf("addons:create redis output lacks REDIS_URL:\n%s", r.stdout)
	}
	pgHost, redisHost := "@crud-postgres:5432/app", "@crud-redis:6379"
	if rt == "exec" {
		pgHost, redisHost = "@127.0.0.1:", "@127.0.0.1:"
	}
	cfg := s.ssh("config " + app).stdout
	if !strings.Contains(cfg, "DATABASE_URL=postgres://app:") || !strings.Contains(cfg, pgHost) ||
		!strings.Contains(cfg, "REDIS_URL=redis://default:") || !strings.Contains(cfg, redisHost) {
		t.Fatalf("config after attaching:\n%s", cfg)
	}

	dir := s.newRepo("crud", app)
	r = s.push(dir, "paas", "main")
	requireOK(t, "push", r)
	if !strings.Contains(r.stderr, "migrated") {
		t.Errorf("the release phase did not migrate:\n%s", r.stderr)
	}
	s.call(t, app, "POST", "/items", "apple", 201, "1")
	s.call(t, app, "POST", "/items", "pear", 201, "2")
	s.call(t, app, "PUT", "/items/1", "apricot", 200, "1")
	s.call(t, app, "DELETE", "/items/2", "", 200, "1")
	s.call(t, app, "GET", "/items", "", 200, "1=apricot")
	s.call(t, app, "GET", "/writes", "", 200, "4")

	// addons:connect runs the engine's client on the statements of stdin
	// and returns its exit status.
	pgStarted := s.connectOK(t, "crud-postgres", "SELECT 'started ' || pg_postmaster_start_time();", `started \S+ \S+`)
	redisRun := s.connectOK(t, "crud-redis", "INFO server", `run_id:\w+`)
	s.connectOK(t, "crud-postgres", "SELECT count(*) || ' rows' FROM items;", `1 rows`)
	if r := s.sshIn("addons:connect crud-postgres", "SELECT * FROM nosuch;"); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "nosuch") {
		t.Errorf("a failing statement: exit %d, output %q %q", r.code, r.stdout, r.stderr)
	}

	requireOK(t, "config:set", s.ssh("config:set "+app+" COLOUR=blue"))
	s.call(t, app, "GET", "/items", "", 200, "1=apricot")
	if err := os.WriteFile(filepath.Join(dir, "REDEPLOY"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.commitAll(dir, "redeploy")
	requireOK(t, "redeploy", s.push(dir, "paas", "main"))
	s.call(t, app, "GET", "/items", "", 200, "1=apricot")
	requireOK(t, "ps:restart", s.ssh("ps:restart "+app))
	s.call(t, app, "GET", "/items", "", 200, "1=apricot")
	requireOK(t, "rollback", s.ssh("rollback "+app))
	s.call(t, app, "GET", "/items", "", 200, "1=apricot")
	n := s.successor("PAAS_RUNTIME=" + rt)
	n.call(t, app, "GET", "/items", "", 200, "1=apricot")
	if got := n.connectOK(t, "crud-postgres", "SELECT 'started ' || pg_postmaster_start_time();", `started \S+ \S+`); got != pgStarted {
		t.Errorf("postgres was restarted with paasd: %s, then %s", pgStarted, got)
	}
	if got := n.connectOK(t, "crud-redis", "INFO server", `run_id:\w+`); got != redisRun {
		t.Errorf("redis was restarted with paasd: %s, then %s", redisRun, got)
	}
	if rt == "docker" {
		cli := requireDocker(t)
		insp, err := cli.ContainerInspect(t.Context(), "paas.addon.crud-postgres")
		if err != nil {
			t.Fatal(err)
		}
		if insp.RestartCount != 0 {
			t.Errorf("the postgres container restarted %d times", insp.RestartCount)
		}
	}

	list := n.ssh("addons " + app)
	requireOK(t, "addons", list)
	for _, want := range []string{"crud-postgres", "crud-redis", "up", "crud:DATABASE_URL", "crud:REDIS_URL"} {
		if !strings.Contains(list.stdout, want) {
			t.Errorf("addons lacks %q:\n%s", want, list.stdout)
		}
	}
	oldPG := strings.TrimSpace(n.ssh("config:get " + app + " DATABASE_URL").stdout)
	oldRedis := strings.TrimSpace(n.ssh("config:get " + app + " REDIS_URL").stdout)
	password := passwordOf(t, oldPG)
	info := n.ssh("addons:info crud-postgres")
	requireOK(t, "addons:info", info)
	if strings.Contains(info.stdout, password) || !strings.Contains(info.stdout, strings.TrimPrefix(pgHost, "@")) {
		t.Errorf("addons:info (password %d chars) shows:\n%s", len(password), info.stdout)
	}

	// Backup, delete, restore.
	pgDump := n.ssh("addons:backup crud-postgres")
	requireOK(t, "addons:backup postgres", pgDump)
	if !strings.HasPrefix(pgDump.stdout, "PGDMP") {
		t.Fatalf("addons:backup postgres wrote %d bytes starting %q", len(pgDump.stdout), head(pgDump.stdout))
	}
	redisDump := n.ssh("addons:backup crud-redis")
	requireOK(t, "addons:backup redis", redisDump)
	if !strings.HasPrefix(redisDump.stdout, "REDIS") {
		t.Fatalf("addons:backup redis wrote %d bytes starting %q", len(redisDump.stdout), head(redisDump.stdout))
	}
	n.call(t, app, "DELETE", "/items/1", "", 200, "1")
	n.call(t, app, "GET", "/writes", "", 200, "5")
	for _, c := range []struct{ name, dump, want string }{
		{"crud-postgres", redisDump.stdout, "redis"},
		{"crud-redis", pgDump.stdout, "postgres"},
		{"crud-postgres", "not a dump at all\n", "dump"},
		{"crud-postgres", pgDump.stdout[:len(pgDump.stdout)/2], "dump"},
		{"crud-redis", "REDIS0011 truncated", "dump"},
	} {
		requireFail(t, "addons:restore "+c.name+" of a bad dump", n.sshIn("addons:restore "+c.name, c.dump), c.want)
	}
	if body := n.body(t, app, "/items"); strings.TrimSpace(body) != "" {
		t.Errorf("after refused restores, items = %q, want none", body)
	}
	n.call(t, app, "GET", "/writes", "", 200, "5")
	requireOK(t, "addons:restore postgres", n.sshIn("addons:restore crud-postgres", pgDump.stdout))
	requireOK(t, "addons:restore redis", n.sshIn("addons:restore crud-redis", redisDump.stdout))
	n.call(t, app, "GET", "/items", "", 200, "1=apricot")
	n.call(t, app, "GET", "/writes", "", 200, "4")

	// Stored backups.
	requireOK(t, "addons:backups:capture", n.ssh("addons:backups:capture crud-postgres"))
	backups := n.ssh("addons:backups crud-postgres")
	requireOK(t, "addons:backups", backups)
	id := regexp.MustCompile(`\b\d{8}T\d{6}Z\b`).FindString(backups.stdout)
	if id == "" {
		t.Fatalf("addons:backups lists no backup:\n%s", backups.stdout)
	}
	if stored := n.ssh("addons:backup crud-postgres --from " + id); stored.code != 0 || !strings.HasPrefix(stored.stdout, "PGDMP") {
		t.Errorf("addons:backup --from %s: exit %d, %d bytes: %s", id, stored.code, len(stored.stdout), stored.stderr)
	}
	if info := n.ssh("addons:info crud-postgres").stdout; !strings.Contains(info, id) {
		t.Errorf("addons:info lacks backup %s:\n%s", id, info)
	}

	// A failed login shows in the app's log stream, from the service.
	bad := strings.Replace(oldPG, password, "wrong"+password[5:], 1)
	if r := n.sshIn("run "+app+" node check.js", bad); r.code == 0 || !strings.Contains(r.stdout, "refused") {
		t.Errorf("a wrong password: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	n.waitLog(t, app, "addon.crud-postgres", "authentication failed")
	if info := n.ssh("addons:info crud-postgres").stdout; !strings.Contains(info, "authentication failed") {
		t.Errorf("addons:info lacks the service's last lines:\n%s", info)
	}

	// Rotation: no failed request while the releases roll, and the old
	// credentials stop working.
	failed := n.pollWhile(t, app, []string{"/items", "/writes"}, func() {
		requireOK(t, "addons:rotate postgres", n.ssh("addons:rotate crud-postgres"))
		requireOK(t, "addons:rotate redis", n.ssh("addons:rotate crud-redis"))
	})
	if failed != "" {
		t.Errorf("a request failed during the rotations: %s", failed)
	}
	newPG := strings.TrimSpace(n.ssh("config:get " + app + " DATABASE_URL").stdout)
	newRedis := strings.TrimSpace(n.ssh("config:get " + app + " REDIS_URL").stdout)
	if newPG == oldPG || newRedis == oldRedis {
		t.Fatalf("rotation kept the URLs: %v %v", newPG == oldPG, newRedis == oldRedis)
	}
	for _, u := range []string{oldPG, oldRedis} {
		if r := n.sshIn("run "+app+" node check.js", u); r.code == 0 || !strings.Contains(r.stdout, "refused") {
			t.Errorf("old credentials still log in: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
	}
	for _, u := range []string{newPG, newRedis} {
		if r := n.sshIn("run "+app+" node check.js", u); r.code != 0 || !strings.Contains(r.stdout, "ok") {
			t.Errorf("new credentials refused: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
	}
	n.call(t, app, "GET", "/items", "", 200, "1=apricot")

	for _, secret := range []string{password, passwordOf(t, newPG), passwordOf(t, oldRedis), passwordOf(t, newRedis)} {
		if strings.Contains(n.out.String(), secret) || strings.Contains(s.out.String(), secret) {
			t.Error("a password reached paasd's log")
		}
		for _, line := range strings.Split(n.ssh("logs "+app+" -n 1000").stdout, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("a password reached the app's log: %s", strings.ReplaceAll(line, secret, "<password>"))
			}
		}
	}

	for _, c := range []struct{ cmd, want string }{
		{"addons:create " + app + " mysql", "mysql"},
		{"addons:create " + app + " postgres --name crud-postgres --as OTHER", "crud-postgres"},
		{"addons:create " + app + " postgres", "DATABASE_URL"},
		{"addons:create nosuch postgres", "nosuch"},
		{"addons:create " + app + " postgres --as 1BAD", "1BAD"},
		{"addons:attach crud-postgres nosuch", "nosuch"},
		{"addons:info nosuch", "nosuch"},
		{"addons:backup nosuch", "nosuch"},
		{"addons:backup crud-postgres --from ../../store.db", "../../store.db"},
		{"addons:backup crud-postgres --from 20200101T000000Z", "20200101T000000Z"},
		{"addons:rotate nosuch", "nosuch"},
		{"addons:connect nosuch", "nosuch"},
		{"addons:destroy crud-postgres", "--confirm"},
		{"addons:destroy crud-postgres --confirm crud-postgres", app},
	} {
		requireFail(t, c.cmd, n.ssh(c.cmd), c.want)
	}
	requireFail(t, "addons:restore nosuch", n.sshIn("addons:restore nosuch", pgDump.stdout), "nosuch")

	requireOK(t, "addons:detach", n.ssh("addons:detach crud-redis "+app))
	if cfg := n.ssh("config " + app).stdout; strings.Contains(cfg, "REDIS_URL") {
		t.Errorf("REDIS_URL still set after detaching:\n%s", cfg)
	}
	requireOK(t, "addons:destroy redis", n.ssh("addons:destroy crud-redis --confirm crud-redis"))
	requireOK(t, "addons:destroy postgres", n.ssh("addons:destroy crud-postgres --confirm crud-postgres --detach"))
	if cfg := n.ssh("config " + app).stdout; strings.Contains(cfg, "DATABASE_URL") {
		t.Errorf("DATABASE_URL still set after destroying with --detach:\n%s", cfg)
	}
	for _, name := range []string{"crud-postgres", "crud-redis"} {
		for _, p := range []string{filepath.Join(s.dataDir, "backups", name), filepath.Join(s.dataDir, "addons", name)} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s remains after destroy (%v)", p, err)
			}
		}
	}
	if rt == "docker" {
		requireServicesGone(t, "crud-")
	}
}

// requireServicesGone fails unless no service container or volume of a
// name starting with prefix remains.
func requireServicesGone(t *testing.T, prefix string) {
	t.Helper()
	cli := requireDocker(t)
	cs, err := cli.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "paas.addon"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.Contains(strings.Join(c.Names, ","), "paas.addon."+prefix) {
			t.Errorf("container %v remains after destroy", c.Names)
		}
	}
	vs, err := cli.VolumeList(t.Context(), volume.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Volumes {
		if strings.HasPrefix(v.Name, "paas-addon-"+prefix) {
			t.Errorf("volume %s remains after destroy", v.Name)
		}
	}
}

// sshIn runs one server command with stdin.
func (s *server) sshIn(command, stdin string) result {
	s.t.Helper()
	args := append(strings.Fields(s.sshCommand())[1:], "-p", s.port(), "paas@127.0.0.1", command)
	return s.run("", stdin, "ssh", args...)
}

// connectOK runs statements through addons:connect NAME, requires success,
// and returns the first match of pattern in the output.
func (s *server) connectOK(t *testing.T, name, statements, pattern string) string {
	t.Helper()
	r := s.sshIn("addons:connect "+name, statements)
	requireOK(t, "addons:connect "+name, r)
	m := regexp.MustCompile(pattern).FindString(r.stdout)
	if m == "" {
		t.Fatalf("addons:connect %s: no %q in:\n%s", name, pattern, r.stdout)
	}
	return m
}

// waitLog polls the app's log history until a line of proc contains want.
func (s *server) waitLog(t *testing.T, app, proc, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		logs := s.ssh("logs " + app + " -n 1000").stdout
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, "paas["+proc+"]") && strings.Contains(line, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line of paas[%s] with %q in the logs of %s:\n%s", proc, want, app, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pollWhile requests paths of app in turn through the router while f
// runs, and returns the first failure ("" when every request answered
// 200).
func (s *server) pollWhile(t *testing.T, app string, paths []string, f func()) string {
	t.Helper()
	var (
		stop  atomic.Bool
		wg    sync.WaitGroup
		first string
		n     int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			code, body := s.tryGet(app, paths[i%len(paths)])
			n++
			if code != 200 && first == "" {
				first = paths[i%len(paths)] + ": " + http.StatusText(code) + " " + body
			}
		}
	}()
	f()
	stop.Store(true)
	wg.Wait()
	if n < 10 {
		t.Errorf("only %d requests while polling", n)
	}
	return first
}

// tryGet is one GET of app's path through the router: the status (0 when
// the request failed) and the body.
func (s *server) tryGet(app, path string) (int, string) {
	req, err := http.NewRequest("GET", "http://"+s.httpAddr+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	req.Host = app + ".localhost"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// body is the body of a GET of app's path, which must answer 200.
func (s *server) body(t *testing.T, app, path string) string {
	t.Helper()
	code, b := s.tryGet(app, path)
	if code != 200 {
		t.Fatalf("GET %s = %d %q", path, code, b)
	}
	return b
}

// passwordOf is the password in a service URL.
func passwordOf(t *testing.T, url string) string {
	t.Helper()
	m := regexp.MustCompile(`^\w+://[^:]+:([^@]+)@`).FindStringSubmatch(url)
	if m == nil || len(m[1]) < 16 {
		t.Fatalf("no password in %q", url)
	}
	return m[1]
}

// head is the start of a dump, for messages.
func head(s string) string { return s[:min(len(s), 16)] }

// call sends method path with body to app through the router and requires
// the status and a body containing want.
func (s *server) call(t *testing.T, app, method, path, body string, status int, want string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.httpAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = app + ".localhost"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || !strings.Contains(string(b), want) {
		t.Fatalf("%s %s = %d %q, want %d containing %q", method, path, resp.StatusCode, b, status, want)
	}
}
