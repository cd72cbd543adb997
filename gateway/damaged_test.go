package gateway

import (
	"strings"
	"testing"
)

// TestDamagedAppReported marks an app damaged: apps, apps:info and ps list it as
// before and say on stderr what is wrong and what to do; apps --json
// carries it as "damaged".
func TestDamagedAppReported(t *testing.T) {
	s, f := newTestServer(t)
	const note = "app web-app is damaged: the slug of release v2 is missing; redeploy with git push, or roll back to a release whose build remains (rollback vN)"
	f.mu.Lock()
	f.apps["web-app"].Damaged = note
	f.mu.Unlock()
	r := run(s, "apps")
	if r.status != 0 || r.stderr != "warning: "+note+"\n" || !strings.Contains(r.stdout, "web-app  v2") {
		t.Errorf("apps: %+v", r)
	}
	r = run(s, "ps", "web-app")
	if r.status != 0 || r.stderr != "warning: "+note+"\n" || !strings.Contains(r.stdout, "web.1") {
		t.Errorf("ps: %+v", r)
	}
	r = run(s, "apps:info", "web-app")
	if r.status != 0 || r.stderr != "warning: "+note+"\n" || !strings.Contains(r.stdout, "release:    v2") {
		t.Errorf("apps:info: %+v", r)
	}
	r = run(s, "apps", "--json")
	if r.status != 0 || !strings.Contains(r.stdout, `"damaged": "app web-app is damaged: the slug`) {
		t.Errorf("apps --json: %+v", r)
	}
}
