package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// timingLine is a phase of the timeline PAAS_DEBUG_TIMING=1 prints.
var timingLine = regexp.MustCompile(`(?m)^(?:remote: )?-----> timing (.+?)\s+\d[0-9.]*[µmn]?s\s*$`)

// timeline is the phase names of the timeline in out, in order.
func timeline(out string) []string {
	var names []string
	for _, m := range timingLine.FindAllStringSubmatch(out, -1) {
		names = append(names, strings.TrimSpace(m[1]))
	}
	return names
}

// TestDebugTimingTimeline: with PAAS_DEBUG_TIMING=1 a push ends with one
// line per phase (the build's, the start, the switch, the old instance's
// stop) and a total, and so does a config:set; on docker the second push
// runs in the build container started ahead of it.
func TestDebugTimingTimeline(t *testing.T) {
	forEachRuntime(t, testDebugTimingTimeline)
}

func testDebugTimingTimeline(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt, "PAAS_DEBUG_TIMING=1")
	app := "timed-" + rt
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	dir := s.newRepo("python", app)
	requireOK(t, "first push", s.push(dir, "paas", "main"))
	s.git(dir, "commit", "-q", "--allow-empty", "-m", "again")
	r := s.push(dir, "paas", "main")
	requireOK(t, "second push", r)
	got := strings.Join(timeline(r.stderr), "|")
	want := []string{"extract source", "buildpack compile", "release recorded", "start web.1", "web.1 listening", "route switch", "stop old", "total"}
	if rt == "docker" {
		want = append(want, "build container (started ahead)", "image commit")
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("push timeline lacks %q: %s\n%s", w, got, r.stderr)
		}
	}
	if !strings.HasSuffix(got, "|total") {
		t.Errorf("push timeline does not end with its total: %s", got)
	}

	r = s.ssh("config:set " + app + " TIMED=1")
	requireOK(t, "config:set", r)
	if got := strings.Join(timeline(r.stdout+r.stderr), "|"); got != "start web.1|web.1 listening|route switch|drain old|stop old|total" {
		t.Errorf("config:set timeline %q:\n%s%s", got, r.stdout, r.stderr)
	}
}
