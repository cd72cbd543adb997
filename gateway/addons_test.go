package gateway

import (
	"context"
	"strings"
	"testing"
)

// TestAddonCommands walks addons:create, addons, addons:info,
// addons:attach, addons:detach, addons:destroy and apps:destroy with an
// add-on: output, and one line with status 1 for every bad input.
func TestAddonCommands(t *testing.T) {
	s, f := newTestServer(t)
	f.CreateApp(context.Background(), "shop", "alice")

	steps := []struct {
		args   []string
		status int
		stdout string
		stderr string
	}{
		{[]string{"addons"}, 0, "", "no add-ons; create one with addons:create APP postgres\n"},
		{[]string{"addons", "web-app"}, 0, "", "web-app has no add-ons; create one with addons:create web-app postgres\n"},
		{[]string{"addons:create", "web-app", "postgres"}, 0, "-----> Creating web-app-postgres (postgres) for web-app\nCreated web-app-postgres (postgres 15.10) in 0s: DATABASE_URL set on web-app: release v3\n", ""},
		{[]string{"addons:create", "web-app", "redis", "--as", "CACHE", "--name", "cache"}, 0, "-----> Creating cache (redis) for web-app\nCreated cache (redis 7.0.15) in 0s: CACHE_URL set on web-app: release v4\n", ""},
		{[]string{"addons:create", "web-app", "postgres"}, 1, "", "paas: web-app already has DATABASE_URL set: choose another name with --as\n"},
		{[]string{"addons:create", "web-app", "postgres", "--as", "REPORTS"}, 0, "-----> Creating web-app-postgres-2 (postgres) for web-app\nCreated web-app-postgres-2 (postgres 15.10) in 0s: REPORTS_URL set on web-app: release v5\n", ""},
		{[]string{"addons:create", "web-app", "mysql"}, 1, "", "paas: unknown engine \"mysql\": use postgres or redis\n"},
		{[]string{"addons:create", "web-app", "redis", "--name", "cache", "--as", "X"}, 1, "", "paas: an add-on named cache already exists\n"},
		{[]string{"addons:create", "web-app", "redis", "--name", "Bad_Name"}, 1, "", "paas: invalid add-on name \"Bad_Name\": use a lower-case letter followed by up to 29 lower-case letters, digits or dashes\n"},
		{[]string{"addons:create", "web-app", "redis", "--as", "9X"}, 1, "", "paas: invalid --as \"9X\": use letters, digits and underscores, not starting with a digit\n"},
		{[]string{"addons:create", "web-app", "redis", "--bogus"}, 1, "", "paas: unknown flag --bogus\n"},
		{[]string{"addons:create", "web-app", "redis", "--as"}, 1, "", "paas: flag --as needs a value\n"},
		{[]string{"addons:create", "web-app"}, 1, "", "paas: usage: addons:create APP postgres|redis [--name NAME] [--as VAR]\n"},
		{[]string{"addons:create", "nope", "redis"}, 1, "", "paas: app nope not found\n"},
		{[]string{"addons:attach", "cache", "shop"}, 0, "Attached cache to shop as REDIS_URL (the app has no release yet: it takes effect at the first deploy)\n", ""},
		{[]string{"addons:attach", "cache", "shop"}, 1, "", "paas: cache is already attached to shop as REDIS_URL\n"},
		{[]string{"addons:attach", "cache", "nope"}, 1, "", "paas: app nope not found\n"},
		{[]string{"addons:attach", "gone", "shop"}, 1, "", "paas: add-on gone not found\n"},
		{[]string{"addons:attach", "cache"}, 1, "", "paas: usage: addons:attach NAME APP [--as VAR]\n"},
		{[]string{"addons:attach", "cache", "Shop!"}, 1, "", "paas: invalid app name \"Shop!\""},
		{[]string{"addons:info"}, 1, "", "paas: usage: addons:info NAME\n"},
		{[]string{"addons:info", "gone"}, 1, "", "paas: add-on gone not found\n"},
		{[]string{"addons:destroy", "cache"}, 1, "", "paas: destroying cache deletes its data and cannot be undone; run again with --confirm cache\n"},
		{[]string{"addons:destroy", "cache", "--confirm", "cash"}, 1, "", "paas: --confirm cash does not match the add-on name cache\n"},
		{[]string{"addons:destroy", "cache", "--confirm", "cache"}, 1, "", "paas: cache is attached to shop (REDIS_URL), web-app (CACHE_URL): detach it first, or run again with --detach\n"},
		{[]string{"addons:detach", "cache", "shop"}, 0, "Detached cache from shop: REDIS_URL unset (the app has no release yet: it takes effect at the first deploy)\n", ""},
		{[]string{"addons:detach", "cache", "shop"}, 1, "", "paas: cache is not attached to shop\n"},
		{[]string{"addons:detach", "cache", "shop", "x"}, 1, "", "paas: usage: addons:detach NAME APP\n"},
		{[]string{"addons:destroy", "web-app-postgres-2", "--confirm", "web-app-postgres-2", "--detach", "--no-wait"}, 0, "Destroyed web-app-postgres-2\n", ""},
	}
	for _, st := range steps {
		r := run(s, st.args...)
		if r.status != st.status || r.stdout != st.stdout || !strings.HasPrefix(r.stderr, st.stderr) || strings.Count(r.stderr, "\n") > 1 {
			t.Fatalf("%q: status %d stdout %q stderr %q; want %d %q %q", st.args, r.status, r.stdout, r.stderr, st.status, st.stdout, st.stderr)
		}
	}
	if cfg, _ := f.Config(context.Background(), "web-app"); cfg["REPORTS_URL"] != "" || cfg["DATABASE_URL"] == "" {
		t.Fatalf("config after destroy --detach: %v", cfg)
	}

	want := "" +
		"NAME              ENGINE          STATE  ATTACHED AS           DISK\n" +
		"cache             redis 7.0.15    up     web-app:CACHE_URL     40.0 MiB\n" +
		"web-app-postgres  postgres 15.10  up     web-app:DATABASE_URL  40.0 MiB\n"
	if r := run(s, "addons", "web-app"); r.status != 0 || r.stdout != want {
		t.Fatalf("addons web-app:\n%s\nwant\n%s", r.stdout, want)
	}
	if r := run(s, "addons", "shop"); r.stdout != "" || r.stderr != "shop has no add-ons; create one with addons:create shop postgres\n" {
		t.Fatalf("addons shop: %+v", r)
	}
	want = "" +
		"name:      web-app-postgres\n" +
		"engine:    postgres 15.10\n" +
		"state:     up\n" +
		"url:       postgres://app:***@web-app-postgres:5432/app\n" +
		"attached:  web-app as DATABASE_URL\n" +
		"disk:      40.0 MiB\n" +
		"created:   2026-11-26 10:01:00 UTC by alice\n" +
		"backups:   none\n"
	if r := run(s, "addons:info", "web-app-postgres"); r.status != 0 || r.stdout != want {
		t.Fatalf("addons:info:\n%s\nwant\n%s", r.stdout, want)
	}
	for _, bad := range [][]string{{"addons", "a", "b"}, {"addons", "--all"}, {"addons", "Bad!"}, {"addons:info", "a", "b"}} {
		if r := run(s, bad...); r.status != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("%q: %+v", bad, r)
		}
	}

	// apps:destroy says which add-ons remain.
	r := run(s, "apps:destroy", "web-app", "--confirm", "web-app")
	if r.status != 0 || r.stdout != "Destroyed web-app\n"+
		"Detached cache, which remains: destroy it with addons:destroy cache --confirm cache\n"+
		"Detached web-app-postgres, which remains: destroy it with addons:destroy web-app-postgres --confirm web-app-postgres\n" {
		t.Fatalf("apps:destroy: %+v", r)
	}
	if r := run(s, "addons"); !strings.Contains(r.stdout, "cache             redis 7.0.15    up     -") {
		t.Fatalf("addons after apps:destroy:\n%s", r.stdout)
	}

	// help lists the commands.
	r = run(s, "help")
	for _, want := range []string{"addons [APP]", "addons:create APP postgres|redis [--name NAME] [--as VAR]", "addons:info NAME", "addons:attach NAME APP [--as VAR]", "addons:detach NAME APP", "addons:destroy NAME --confirm NAME [--detach]"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("help lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestAddonCommandsWithoutAddons: on a server without add-ons each
// command answers one line, and apps:destroy works as before.
func TestAddonCommandsWithoutAddons(t *testing.T) {
	s, f := newTestServer(t)
	f.noAddons()
	for _, args := range [][]string{
		{"addons"}, {"addons", "web-app"}, {"addons:create", "web-app", "postgres"}, {"addons:info", "db"},
		{"addons:attach", "db", "web-app"}, {"addons:detach", "db", "web-app"}, {"addons:destroy", "db", "--confirm", "db"},
	} {
		r := run(s, args...)
		if r.status != 1 || r.stdout != "" || r.stderr != "paas: this server runs no backing services\n" {
			t.Fatalf("%q: %+v", args, r)
		}
	}
	if r := run(s, "apps:destroy", "web-app", "--confirm", "web-app"); r.status != 0 || r.stdout != "Destroyed web-app\n" {
		t.Fatalf("apps:destroy: %+v", r)
	}
}
