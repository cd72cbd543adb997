package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAppsRename renames a deployed app through the client: the new host
// serves it and the old one does not, its custom domain, config,
// releases, builds and log history follow, the answer gives the new git
// remote, and a push to that remote deploys the app under its new name.
func TestAppsRename(t *testing.T) {
	forEachRuntime(t, testAppsRename)
}

func testAppsRename(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt)
	from, to := "renfrom-"+rt, "rento-"+rt
	dir := s.newRepo("python", from)
	requireOK(t, "push", s.push(dir, "paas", "main"))
	requireOK(t, "config:set", s.paas(dir, "", "config:set", "GREETING=howdy"))
	custom := "www." + from + ".example"
	requireOK(t, "domains:add", s.paas(dir, "", "domains:add", custom))
	s.mustGet(from, "/", "howdy one from web.1 v2")

	r := s.paas(dir, "", "apps:rename", to)
	requireOK(t, "apps:rename", r)
	m := regexp.MustCompile(`(?m)^Git remote: (ssh://paas@127\.0\.0\.1:\d+/` + to + `)$`).FindStringSubmatch(r.stdout)
	if !strings.Contains(r.stdout, "Renamed "+from+" to "+to+"\n") || m == nil {
		t.Fatalf("apps:rename said:\n%s%s", r.stdout, r.stderr)
	}
	if code, _, _ := s.get(from, "/"); code != 404 {
		t.Errorf("old host: %d, want 404", code)
	}
	s.mustGet(to, "/", "howdy one from web.1 v2")
	if code, body := s.getHost(custom); code != 200 || !strings.Contains(body, "howdy one") {
		t.Errorf("custom domain after the rename: %d %q", code, body)
	}
	if r := s.ssh("apps:info " + from); r.code == 0 {
		t.Errorf("old name still an app:\n%s", r.stdout)
	}

	// The clone follows with the printed remote.
	s.git(dir, "remote", "set-url", "paas", m[1])
	for _, c := range [][]string{{"releases"}, {"builds"}, {"logs", "-n", "1000"}} {
		r := s.paas(dir, "", c...)
		requireOK(t, c[0], r)
		want := map[string]string{"releases": "Set GREETING config vars", "builds": "succeeded", "logs": "App renamed from " + from + " to " + to}[c[0]]
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%s after the rename lacks %q:\n%s", c[0], want, r.stdout)
		}
	}
	if r := s.paas(dir, "", "logs", "-n", "1000"); !strings.Contains(r.stdout, "Build 1 started") {
		t.Errorf("log history before the rename is gone:\n%s", r.stdout)
	}
	if r := s.paas(dir, "", "config:get", "GREETING"); r.stdout != "howdy\n" {
		t.Errorf("config: %q", r.stdout)
	}
	s.commitEmpty(dir, "again")
	requireOK(t, "push to the new name", s.push(dir, "paas", "main"))
	s.mustGet(to, "/", "howdy one from web.1 v3")
}

// getHost GETs / with Host: host from the router.
func (s *server) getHost(host string) (int, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+s.httpAddr+"/", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// commitEmpty makes an empty commit in dir.
func (s *server) commitEmpty(dir, msg string) {
	s.t.Helper()
	s.git(dir, "commit", "-q", "--allow-empty", "-m", msg)
}
