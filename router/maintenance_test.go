package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestMaintenance(t *testing.T) {
	r, srv, logs := setup(t, Config{})
	var hits atomic.Int64
	inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write([]byte("up"))
	}))
	defer inst.Close()
	b := Backend{Name: "web.1", Addr: inst.Listener.Addr().String()}
	r.Set("app", []Backend{b})

	r.SetMaintenance("App", true)
	check := func(step string) {
		t.Helper()
		res, body := get(t, srv, "app.localhost", "/x", http.Header{"X-Request-Id": {"rid-" + step}})
		if res.StatusCode != 503 {
			t.Fatalf("%s: status %d", step, res.StatusCode)
		}
		if got := res.Header.Get("Retry-After"); got != "60" {
			t.Errorf("%s: Retry-After %q", step, got)
		}
		if got := res.Header.Get("X-Request-Id"); got != "rid-"+step {
			t.Errorf("%s: X-Request-Id %q", step, got)
		}
		page := string(body)
		if !strings.Contains(page, "Under maintenance") || !strings.Contains(page, "rid-"+step) ||
			!strings.Contains(page, "paas") || len(body) > 1024 {
			t.Errorf("%s: page %q", step, page)
		}
	}
	check("on")
	r.Set("app", []Backend{b}) // a deploy during maintenance keeps it
	check("after-set")
	if n := hits.Load(); n != 0 {
		t.Errorf("instance reached %d times during maintenance", n)
	}
	lines, apps := logs.wait(t, 2)
	for i, l := range lines {
		if apps[i] != "app" || !strings.HasPrefix(l, `at=error code=H80 desc="Maintenance mode" method=GET path="/x"`) ||
			!strings.Contains(l, " dyno= connect= service= status=503 ") {
			t.Errorf("log line %s %q", apps[i], l)
		}
	}

	r.SetMaintenance("app", false)
	if res, body := get(t, srv, "app.localhost", "/", nil); res.StatusCode != 200 || string(body) != "up" {
		t.Fatalf("after maintenance: %d %q", res.StatusCode, body)
	}

	// An app not routed yet can be put in maintenance; it stays known, with
	// no backend, when the mode ends. Off for an unknown app changes nothing.
	r.SetMaintenance("new", true)
	if res, body := get(t, srv, "new.localhost", "/", nil); res.StatusCode != 503 || !strings.Contains(string(body), "Under maintenance") {
		t.Errorf("new app in maintenance: %d %q", res.StatusCode, body)
	}
	r.SetMaintenance("new", false)
	if res, body := get(t, srv, "new.localhost", "/", nil); res.StatusCode != 503 || !strings.Contains(string(body), "No web processes") {
		t.Errorf("new app after maintenance: %d %q", res.StatusCode, body)
	}
	r.SetMaintenance("unknown", false)
	if res, _ := get(t, srv, "unknown.localhost", "/", nil); res.StatusCode != 404 {
		t.Errorf("unknown app: %d", res.StatusCode)
	}

	// Remove forgets the mode with the app.
	r.SetMaintenance("app", true)
	r.Remove("app")
	r.Set("app", []Backend{b})
	if res, _ := get(t, srv, "app.localhost", "/", nil); res.StatusCode != 200 {
		t.Errorf("re-added app: %d", res.StatusCode)
	}
}
