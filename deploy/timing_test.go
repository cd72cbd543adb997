package deploy

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"paas/internal/syncbuf"
)

// timelineLine is one phase of the timeline DebugTiming prints.
var timelineLine = regexp.MustCompile(`(?m)^-----> timing (.+?)\s+\d[0-9.]*[µmn]?s$`)

// phasesIn is the names of the timeline's phases in out, in order.
func phasesIn(out string) []string {
	var names []string
	for _, m := range timelineLine.FindAllStringSubmatch(out, -1) {
		names = append(names, strings.TrimSpace(m[1]))
	}
	return names
}

// TestDebugTimingEndsOutputWithPhases: with DebugTiming a deploy's output
// and a config change's end with one line per phase, the build's, the
// start and the switch included, and a total; without it there is none.
func TestDebugTimingEndsOutputWithPhases(t *testing.T) {
	files := map[string]string{"Procfile": webProc, "site/index.html": "hi\n"}
	h := newHarness(t, 10*time.Second, func(c *Config) { c.DebugTiming = true })
	if _, err := h.deployOut("timed", files); err != nil {
		t.Fatal(err)
	}
	out, err := h.deployOut("timed", files)
	if err != nil {
		t.Fatal(err)
	}
	got := phasesIn(out)
	for _, want := range []string{"lock and build slot", "extract source", "buildpack compile", "release recorded", "start web.1", "web.1 listening", "route switch", "stop old", "total"} {
		if !strings.Contains(strings.Join(got, "|"), want) {
			t.Errorf("push timeline lacks %q: %q\n%s", want, got, out)
		}
	}
	if len(got) == 0 || got[len(got)-1] != "total" || !strings.HasSuffix(strings.TrimSpace(out), strings.TrimSpace(timelineLine.FindAllString(out, -1)[len(got)-1])) {
		t.Errorf("the push does not end with its timeline:\n%s", out)
	}

	cfgOut := &syncbuf.Buffer{}
	if _, err := h.svc.SetConfig(context.Background(), "timed", "tester", map[string]string{"X": "1"}, nil, cfgOut); err != nil {
		t.Fatal(err)
	}
	got = phasesIn(cfgOut.String())
	if strings.Join(got, "|") != "start web.1|web.1 listening|route switch|drain old|stop old|total" {
		t.Errorf("config:set timeline = %q\n%s", got, cfgOut)
	}

	plain := newHarness(t, 10*time.Second)
	out, err = plain.deployOut("untimed", files)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "timing") {
		t.Errorf("a timeline without DebugTiming:\n%s", out)
	}
}
