package builder

import (
	"maps"
	"strings"
	"testing"
)

// TestProcfileIsTheWholeTruth: a buildpack's default web process is not
// used when the Procfile declares only a worker; without a Procfile the
// default applies.
func TestProcfileIsTheWholeTruth(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	res, out := build(t, b, Request{Source: tarball(t,
		file{name: "index.html", body: "<p>hi</p>\n"},
		file{name: "Procfile", body: "worker: sleep 100\n"},
	)})
	if want := map[string]string{"worker": "sleep 100"}; !maps.Equal(res.ProcessTypes, want) {
		t.Errorf("process types %q, want %q", res.ProcessTypes, want)
	}
	contains(t, out, "       Procfile declares types -> worker\n",
		"       Default types for buildpack not in the Procfile, not used -> web\n")

	res, out = build(t, b, Request{Build: 2, Source: tarball(t,
		file{name: "index.html", body: "<p>hi</p>\n"},
	)})
	if _, ok := res.ProcessTypes["web"]; !ok || len(res.ProcessTypes) != 1 {
		t.Errorf("process types without a Procfile %q, want the default web", res.ProcessTypes)
	}
	if !strings.Contains(out, "       Default types for buildpack -> web\n") {
		t.Errorf("output:\n%s", out)
	}
}

// TestBuildUnsupportedLanguage: a Ruby app fails its build listing what
// was looked for when it has no Procfile; with one, the Procfile
// buildpack builds it with a warning that nothing installs Ruby.
func TestBuildUnsupportedLanguage(t *testing.T) {
	t.Parallel()
	b := testBuilder(t, 0)
	msg, _ := buildErr(t, b, Request{Source: tarball(t,
		file{name: "main.rb", body: "puts 'hi'\n"},
		file{name: "Gemfile", body: "source 'https://rubygems.org'\ngem 'sinatra'\n"},
	)})
	if !strings.HasPrefix(msg, "no buildpack detected: looked for go.mod (Go), package.json (Node.js)") {
		t.Errorf("got %q", msg)
	}
	_, out := build(t, b, Request{Build: 2, Source: tarball(t,
		file{name: "app.rb", body: "require 'sinatra'\nget('/') { 'hi' }\n"},
		file{name: "Gemfile", body: "source 'https://rubygems.org'\ngem 'sinatra'\n"},
		file{name: "config.ru", body: "require './app'\nrun Sinatra::Application\n"},
		file{name: "Procfile", body: "web: bundle exec rackup -p $PORT\n"},
	)})
	contains(t, out, "-----> Procfile app detected\n",
		" !     warning: this looks like a Ruby app (Gemfile, config.ru), and no built-in buildpack builds Ruby: nothing installs its runtime or dependencies, the Procfile's commands run as they are; name a Ruby buildpack in BUILDPACK_URL or .buildpacks\n")
}
