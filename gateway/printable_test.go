package gateway

import (
	"context"
	"strings"
	"testing"

	"paas"
)

// hasControl reports whether s holds a control character other than a
// newline (an escape sequence's ESC, a C1 CSI, a bell...).
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return true
		}
	}
	return false
}

// TestListingsEscapeControlBytes sets values holding terminal escape
// sequences (what one collaborator could aim at another's terminal) and
// checks every listing shows them escaped, while config:get stays raw.
func TestListingsEscapeControlBytes(t *testing.T) {
	s, f := newTestServer(t)
	const evil = "\x1b[2J\x1b]0;owned\x07\u009b31m"
	ctx := context.Background()
	f.SetConfig(ctx, "web-app", "alice", map[string]string{"EVIL": evil}, nil, nil)
	f.mu.Lock()
	rels := f.releases["web-app"]
	rels[len(rels)-1].Failure = "web.1 crashed:\n" + evil
	rels[len(rels)-1].Buildpacks = []string{"x" + evil}
	rels[len(rels)-1].Slug = "/var/lib/paas/slugs/web-app/b3"
	rels[len(rels)-1].Build = 3
	f.procs["web-app"] = append(f.procs["web-app"], paas.Process{Name: "evil.1", Type: "evil", Index: 1, Release: 3, State: "up", Command: "echo " + evil})
	v := rels[len(rels)-1].Name()
	f.mu.Unlock()

	for _, args := range [][]string{
		{"config", "web-app"},
		{"releases", "web-app"},
		{"releases:info", "web-app", v},
		{"releases:info", "web-app", v, "--values"},
		{"ps", "web-app"},
	} {
		r := run(s, args...)
		if r.status != 0 {
			t.Fatalf("%v: %d %q", args, r.status, r.stderr)
		}
		if hasControl(r.stdout) {
			t.Errorf("%v prints control bytes raw: %q", args, r.stdout)
		}
		if strings.Contains(r.stdout, "/var/lib/paas") {
			t.Errorf("%v shows a server path: %q", args, r.stdout)
		}
	}
	if r := run(s, "config", "web-app"); !strings.Contains(r.stdout, `EVIL=$'\E[2J\E]0;owned\x07\u009b31m'`) {
		t.Errorf("config shows EVIL as:\n%s", r.stdout)
	}
	if r := run(s, "releases:info", "web-app", v); !strings.Contains(r.stdout, "slug of build 3") {
		t.Errorf("releases:info artifact:\n%s", r.stdout)
	}
	if r := run(s, "config:get", "web-app", "EVIL"); r.stdout != evil+"\n" {
		t.Errorf("config:get EVIL = %q, want it raw", r.stdout)
	}
}
