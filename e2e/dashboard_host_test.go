package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDashboardHostOfAnApp: an app that has the dashboard's host when
// paasd starts keeps it, and the dashboard takes paas-HOST instead,
// saying so in paasd's log; dashboard:url names that host, and plain
// HTTP on each host reaches its own. Exec runtime.
func TestDashboardHostOfAnApp(t *testing.T) {
	s := startServer(t, "PAAS_RUNTIME=exec", "PAAS_DASHBOARD_HOST=dashops.localhost")
	requireFail(t, "apps:create dashboard", s.ssh("apps:create dashboard"), `app name "dashboard" is reserved`)
	requireFail(t, "apps:create dashops", s.ssh("apps:create dashops"), `app name "dashops" is reserved`)
	// An app had the host before the operator chose it for the
	// dashboard.
	first := s
	s = s.successor("PAAS_RUNTIME=exec", "PAAS_DASHBOARD_HOST=off")
	waitExit(t, first)
	requireOK(t, "apps:create dashops", s.ssh("apps:create dashops"))
	n := s.successor("PAAS_RUNTIME=exec", "PAAS_DASHBOARD_HOST=dashops.localhost")
	waitExit(t, s)
	said := false
	for _, line := range strings.Split(n.out.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "WARN" && rec["wanted"] == "dashops.localhost" &&
			rec["app"] == "dashops" && rec["dashboard_host"] == "paas-dashops.localhost" {
			said = true
		}
	}
	if !said {
		t.Errorf("paasd's log does not say which host the dashboard uses:\n%s", n.out.String())
	}
	requireFail(t, "apps:create paas-dashops", n.ssh("apps:create paas-dashops"), `app name "paas-dashops" is reserved`)
	// The app keeps working: a push deploys it.
	dir := n.newRepoOf("dashops", map[string]string{"Procfile": "web: python3 app.py\n", "requirements.txt": "", "app.py": sayApp})
	requireOK(t, "push to dashops", n.push(dir, "paas", "main"))
	n.mustGet("dashops", "/", "hello from web.1")
	r := n.ssh("dashboard:url")
	requireOK(t, "dashboard:url", r)
	if !strings.HasPrefix(r.stdout, "https://paas-dashops.localhost:") {
		t.Errorf("dashboard:url: %q", r.stdout)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	get := func(host string) *http.Response {
		req, _ := http.NewRequest("GET", "http://"+n.httpAddr+"/", nil)
		req.Host = host
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	_, httpsPort, _ := net.SplitHostPort(n.httpsAddr())
	if resp := get("paas-dashops.localhost"); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://paas-dashops.localhost:"+httpsPort+"/" {
		t.Errorf("the dashboard's host: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := get("dashops.localhost"); resp.StatusCode != http.StatusOK {
		t.Errorf("the app's host: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// waitExit waits for a paasd that handed over to exit, so that only its
// successor answers.
func waitExit(t *testing.T, s *server) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatal("the paasd did not exit after handing over")
	}
}
