package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
)

// TestAddons attaches Postgres and Redis to a Node app that uses them
// through the pg and redis npm packages, with its schema made by a
// release-phase migration: rows are created, read, updated and deleted
// over HTTP through the router; they survive a config change, a restart
// of the app's instances and of paasd (which adopts the services, not
// restarting them); detaching removes the variable in a new release;
// destroying removes the service's container and volume.
func TestAddons(t *testing.T) {
	cli := requireDocker(t)
	const app = "crud"
	s := startServer(t, "PAAS_RUNTIME=docker")
	requireOK(t, "apps:create", s.ssh("apps:create "+app))

	r := s.ssh("addons:create " + app + " postgres")
	requireOK(t, "addons:create postgres", r)
	for _, want := range []string{"crud-postgres", "DATABASE_URL"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("addons:create postgres output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = s.ssh("addons:create " + app + " redis")
	requireOK(t, "addons:create redis", r)
	if !strings.Contains(r.stdout, "REDIS_URL") {
		t.Errorf("addons:create redis output lacks REDIS_URL:\n%s", r.stdout)
	}
	cfg := s.ssh("config " + app).stdout
	if !strings.Contains(cfg, "DATABASE_URL=postgres://app:") || !strings.Contains(cfg, "@crud-postgres:5432/app") || !strings.Contains(cfg, "REDIS_URL=redis://default:") {
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

	started := func(name string) string {
		insp, err := cli.ContainerInspect(t.Context(), "paas.addon."+name)
		if err != nil {
			t.Fatal(err)
		}
		return insp.State.StartedAt
	}
	pgStarted := started("crud-postgres")

	requireOK(t, "config:set", s.ssh("config:set "+app+" COLOUR=blue"))
	s.call(t, app, "GET", "/items", "", 200, "1=apricot")
	requireOK(t, "ps:restart", s.ssh("ps:restart "+app))
	s.call(t, app, "GET", "/items", "", 200, "1=apricot")
	n := s.successor()
	n.call(t, app, "GET", "/items", "", 200, "1=apricot")
	if got := started("crud-postgres"); got != pgStarted {
		t.Errorf("the postgres container was restarted with paasd: started %s, then %s", pgStarted, got)
	}

	list := n.ssh("addons " + app)
	requireOK(t, "addons", list)
	for _, want := range []string{"crud-postgres", "crud-redis", "up", "crud:DATABASE_URL", "crud:REDIS_URL"} {
		if !strings.Contains(list.stdout, want) {
			t.Errorf("addons lacks %q:\n%s", want, list.stdout)
		}
	}
	password := strings.TrimPrefix(strings.Split(n.ssh("config:get "+app+" DATABASE_URL").stdout, "@")[0], "postgres://app:")
	info := n.ssh("addons:info crud-postgres")
	requireOK(t, "addons:info", info)
	if len(password) < 16 || strings.Contains(info.stdout, password) || !strings.Contains(info.stdout, "crud-postgres:5432") {
		t.Errorf("addons:info (password %d chars) shows:\n%s", len(password), info.stdout)
	}
	if strings.Contains(n.out.String(), password) || strings.Contains(s.out.String(), password) {
		t.Error("the password reached paasd's log")
	}
	if logs := n.ssh("logs " + app + " -n 1000").stdout; strings.Contains(logs, password) {
		t.Error("the password reached the app's log")
	}

	for _, c := range []struct{ cmd, want string }{
		{"addons:create " + app + " mysql", "mysql"},
		{"addons:create " + app + " postgres --name crud-postgres --as OTHER", "crud-postgres"},
		{"addons:create " + app + " postgres", "DATABASE_URL"},
		{"addons:create nosuch postgres", "nosuch"},
		{"addons:create " + app + " postgres --as 1BAD", "1BAD"},
		{"addons:attach crud-postgres nosuch", "nosuch"},
		{"addons:info nosuch", "nosuch"},
		{"addons:destroy crud-postgres", "--confirm"},
		{"addons:destroy crud-postgres --confirm crud-postgres", app},
	} {
		requireFail(t, c.cmd, n.ssh(c.cmd), c.want)
	}

	requireOK(t, "addons:detach", n.ssh("addons:detach crud-redis "+app))
	if cfg := n.ssh("config " + app).stdout; strings.Contains(cfg, "REDIS_URL") {
		t.Errorf("REDIS_URL still set after detaching:\n%s", cfg)
	}
	requireOK(t, "addons:destroy redis", n.ssh("addons:destroy crud-redis --confirm crud-redis"))
	requireOK(t, "addons:destroy postgres", n.ssh("addons:destroy crud-postgres --confirm crud-postgres --detach"))
	if cfg := n.ssh("config " + app).stdout; strings.Contains(cfg, "DATABASE_URL") {
		t.Errorf("DATABASE_URL still set after destroying with --detach:\n%s", cfg)
	}
	cs, err := cli.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "paas.addon"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.Contains(strings.Join(c.Names, ","), "crud-") {
			t.Errorf("container %v remains after destroy", c.Names)
		}
	}
	vs, err := cli.VolumeList(t.Context(), volume.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Volumes {
		if strings.HasPrefix(v.Name, "paas-addon-crud-") {
			t.Errorf("volume %s remains after destroy", v.Name)
		}
	}
}

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
