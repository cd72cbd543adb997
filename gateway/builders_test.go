package gateway

import (
	"strings"
	"testing"
)

func TestBuilderCommands(t *testing.T) {
	s, f := newTestServer(t)
	if r := run(s, "builder", "web-app"); r.status != 0 || r.stdout != "auto\n" {
		t.Fatalf("builder: %d %q %q", r.status, r.stdout, r.stderr)
	}
	if r := run(s, "builder:set", "web-app", "Dockerfile"); r.status != 0 || !strings.Contains(r.stdout, "Builder of web-app set to dockerfile") {
		t.Fatalf("builder:set: %d %q %q", r.status, r.stdout, r.stderr)
	}
	if got := f.apps["web-app"].Builder; got != "dockerfile" {
		t.Fatalf("stored builder %q", got)
	}
	if r := run(s, "apps:info", "web-app"); !strings.Contains(r.stdout, "builder:") || !strings.Contains(r.stdout, "dockerfile\n") {
		t.Fatalf("apps:info does not show the builder: %q", r.stdout)
	}
	// Dokku's form.
	if r := run(s, "builder:set", "web-app", "selected", "buildpacks"); r.status != 0 || run(s, "builder", "web-app").stdout != "buildpacks\n" {
		t.Fatalf("builder:set selected: %d %q %q", r.status, r.stdout, r.stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"builder:set", "web-app", "herokuish"}, `unknown builder "herokuish": use dockerfile, buildpacks or auto`},
		{[]string{"builder:set", "web-app"}, "usage: builder:set APP dockerfile|buildpacks|auto"},
		{[]string{"builder", "web-app", "x"}, "usage: builder APP"},
	} {
		r := run(s, c.args...)
		if r.status == 0 || r.stderr != "paas: "+c.want+"\n" {
			t.Errorf("%q: status %d stderr %q, want %q", c.args, r.status, r.stderr, c.want)
		}
	}
	if got := f.apps["web-app"].Builder; got != "buildpacks" {
		t.Fatalf("a refused builder:set changed the builder to %q", got)
	}
	run(s, "builder:set", "web-app", "auto")
	if got := f.apps["web-app"].Builder; got != "" {
		t.Fatalf("builder:set auto stored %q", got)
	}
}
