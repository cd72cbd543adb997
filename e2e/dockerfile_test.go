package e2e

import (
	"strings"
	"testing"
)

// TestDockerfileWinsAndKeepsEntrypoint pushes a tree with a Dockerfile, a
// package.json and a Procfile, as Dokku's Dockerfile examples have: the
// Dockerfile wins over language detection, and the Procfile command and
// one-offs run as arguments of the image's ENTRYPOINT. builder:set
// buildpacks makes the next push a Node.js build.
func TestDockerfileWinsAndKeepsEntrypoint(t *testing.T) {
	requireDocker(t)
	s := startServer(t, "PAAS_RUNTIME=docker")
	const app = "entry-dokkufile"
	dir := s.newRepo("dockerentry", app)
	r := s.push(dir, "paas", "main")
	requireOK(t, "push", r)
	if !strings.Contains(r.stderr, "Dockerfile app detected") || strings.Contains(r.stderr, "Node.js app detected") {
		t.Fatalf("a tree with a Dockerfile was not built from it:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "The image has an ENTRYPOINT: Procfile commands and run become its arguments") {
		t.Fatalf("the build did not say the ENTRYPOINT stays:\n%s", r.stderr)
	}
	s.mustGet(app, "/", "dockerfile web, entrypoint ran: yes, mode procfile")

	r = s.paas(dir, "", "run", "--", "printenv", "ENTRYPOINT_RAN")
	requireOK(t, "run", r)
	if strings.TrimSpace(r.stdout) != "yes" {
		t.Fatalf("run did not go through the ENTRYPOINT: %q", r.stdout)
	}

	r = s.ssh("builder " + app)
	requireOK(t, "builder", r)
	if r.stdout != "auto\n" {
		t.Fatalf("builder: %q, want auto", r.stdout)
	}
	requireFail(t, "builder:set nonsense", s.ssh("builder:set "+app+" herokuish"), `unknown builder "herokuish": use dockerfile, buildpacks or auto`)
	requireOK(t, "builder:set", s.ssh("builder:set "+app+" buildpacks"))
	r = s.ssh("apps:info " + app)
	requireOK(t, "apps:info", r)
	if !strings.Contains(r.stdout, "builder:") || !strings.Contains(r.stdout, "buildpacks") {
		t.Fatalf("apps:info does not show the builder:\n%s", r.stdout)
	}

	replaceInFile(t, dir+"/server.js", "node buildpack web", "node buildpack web, again")
	s.commitAll(dir, "change")
	r = s.push(dir, "paas", "main")
	requireOK(t, "push with builder buildpacks", r)
	if !strings.Contains(r.stderr, "Node.js app detected") || strings.Contains(r.stderr, "Dockerfile app detected") {
		t.Fatalf("builder buildpacks still built the Dockerfile:\n%s", r.stderr)
	}
	// The Procfile still names web; the stack image has no ENTRYPOINT.
	s.mustGet(app, "/", "dockerfile web, entrypoint ran: no, mode procfile")

	// BUILDPACK_URL wins over the Dockerfile under auto, as on Dokku.
	requireOK(t, "builder:set auto", s.ssh("builder:set "+app+" auto"))
	requireOK(t, "config:set", s.ssh("config:set "+app+" BUILDPACK_URL=node"))
	replaceInFile(t, dir+"/server.js", "again", "and again")
	s.commitAll(dir, "change again")
	r = s.push(dir, "paas", "main")
	requireOK(t, "push with BUILDPACK_URL", r)
	if !strings.Contains(r.stderr, "Node.js app detected") || strings.Contains(r.stderr, "Dockerfile app detected") {
		t.Fatalf("BUILDPACK_URL did not win over the Dockerfile:\n%s", r.stderr)
	}
}
