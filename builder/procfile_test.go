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
