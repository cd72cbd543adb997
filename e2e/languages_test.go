package e2e

import (
	"strings"
	"testing"
)

// TestLanguages pushes a Go, a Node, a static and a Procfile-only app to
// one server and checks each through the router or its logs.
func TestLanguages(t *testing.T) {
	forEachRuntime(t, testLanguages)
}

func testLanguages(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt)

	t.Run("go", func(t *testing.T) {
		dir := s.newRepo("go", "hello-go")
		r := s.push(dir, "paas", "main")
		requireOK(t, "push", r)
		if !strings.Contains(r.stderr, "Go") {
			t.Fatalf("no Go detection in output:\n%s", r.stderr)
		}
		// Both runtimes build with the toolchain go.mod asks for ("go
		// 1.22"), whatever go the host has.
		if !strings.Contains(r.stderr, "-----> Using go1.22.0") {
			t.Fatalf("not built with go1.22.0:\n%s", r.stderr)
		}
		// The app imports a module fetched from the module proxy.
		s.mustGet("hello-go", "/", "go says hi from web.1 (boot ")
	})
	t.Run("node", func(t *testing.T) {
		dir := s.newRepo("node", "hello-node")
		r := s.push(dir, "paas", "main")
		requireOK(t, "push", r)
		if !strings.Contains(r.stderr, "Node") {
			t.Fatalf("no Node detection in output:\n%s", r.stderr)
		}
		// The app requires a package installed from the npm registry.
		s.mustGet("hello-node", "/", "node says hi from web.1 (port is a number: true)")
	})
	t.Run("static", func(t *testing.T) {
		dir := s.newRepo("static", "site")
		requireOK(t, "push", s.push(dir, "paas", "main"))
		s.mustGet("site", "/", "static site works")
		code, body, h := s.get("site", "/css/site.css")
		if code != 200 || !strings.Contains(body, "teal") || !strings.HasPrefix(h.Get("Content-Type"), "text/css") {
			t.Fatalf("css: %d %q %q", code, h.Get("Content-Type"), body)
		}
		if code, _, _ := s.get("site", "/missing.html"); code != 404 {
			t.Fatalf("missing file: %d", code)
		}
	})
	t.Run("procfile-only", func(t *testing.T) {
		dir := s.newRepo("worker", "ticker")
		requireOK(t, "push", s.push(dir, "paas", "main"))
		// No web process type: nothing answers on the web, and the
		// first deploy starts the worker.
		if code, _, _ := s.get("ticker", "/"); code != 503 {
			t.Fatalf("app without web: %d, want 503", code)
		}
		waitFor(t, func() bool {
			return strings.Contains(s.paas(dir, "", "logs").stdout, "app[worker.1]: procfile-only tick worker.1")
		})
	})
}
