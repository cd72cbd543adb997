package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPhasesFromPushAndSSHOutput(t *testing.T) {
	var docker, exec phases
	docker.add("remote: -----> Building\nremote: -----> timing extract source               3ms\nremote: -----> timing build container start    350ms\nremote: -----> timing start web.1             1.2s\nremote: -----> timing total                   2s\n")
	docker.add("remote: -----> timing extract source               5ms\nremote: -----> timing build container start    250ms\nremote: -----> timing start web.1             1s\nremote: -----> timing total                   1.5s\n")
	exec.add("-----> timing extract source 1ms\n-----> timing start web.1 2ms\n-----> timing total 9ms\n")
	if got := docker.took["build container start"]; len(got) != 2 || got[0] != 350*time.Millisecond {
		t.Errorf("build container start = %v", got)
	}
	var out bytes.Buffer
	printPhases(&out, "title", []column{{"exec python", exec}, {"docker python", docker}})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var names []string
	for _, l := range lines[2:] {
		names = append(names, strings.Fields(l)[0])
	}
	if strings.Join(names, " ") != "extract build start total" {
		t.Errorf("phase order %q:\n%s", names, out.String())
	}
	if !strings.Contains(lines[3], "-") || !strings.Contains(lines[3], "350ms") {
		t.Errorf("build container start row %q, want no exec value and the docker p50", lines[3])
	}
}
