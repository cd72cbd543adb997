package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// deployPhases are the phases of a deploy a test binary of paasd can
// stop itself at (deploy.Phase*), and how many times a second push of a
// one-instance app reaches each: the first push reaches the ones before
// the routes switch too, but has no old instances to drain or stop.
var deployPhases = []struct {
	name string
	nth  int
}{
	{"receive", 2}, {"build", 2}, {"commit", 2}, {"start", 2},
	{"switch", 2}, {"drain", 1}, {"stop", 1},
}

// TestKilledAtEveryPhase kills paasd with SIGKILL at a phase of a
// deploy (receiving the pack, building, committing the slug or image,
// starting instances, switching routes, draining, stopping the old
// instances), 50 runs in all, every phase first and then at random,
// most on the exec runtime and a few on docker. After each, a new paasd
// on the same data marks the interrupted deploy failed, serves the
// previous release, runs exactly the formation's instances, keeps no
// build scratch dir nor the interrupted build's slug or image, and
// takes the next push. The app's repo keeps no half-received pack.
func TestKilledAtEveryPhase(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, seed>>7))
	const execRuns, dockerRuns = 45, 5
	plan := func(n int) []int {
		var p []int
		for i := range n {
			if i < len(deployPhases) {
				p = append(p, i)
			} else {
				p = append(p, rng.IntN(len(deployPhases)))
			}
		}
		return p
	}
	t.Run("exec", func(t *testing.T) { killRuns(t, "exec", plan(execRuns)) })
	t.Run("docker", func(t *testing.T) {
		if ok, why := dockerReady(); !ok {
			t.Skip("docker engine not available: " + why)
		}
		p := plan(dockerRuns)
		rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		killRuns(t, "docker", p)
	})
}

// killRuns runs one killed deploy per entry of phases (indices into
// deployPhases), each of its own app, on one chain of paasds: the
// paasd that checks run i is the one that is killed in run i+1.
func killRuns(t *testing.T, rt string, phases []int) {
	var tag [3]byte
	rand.Read(tag[:])
	prefix := "kd" + hex.EncodeToString(tag[:])
	appOf := func(i int) string { return fmt.Sprintf("%s-%d", prefix, i) }
	killAt := func(i int) string {
		p := deployPhases[phases[i]]
		return fmt.Sprintf("PAAS_TEST_KILL_AT=%s:%s:%d", appOf(i), p.name, p.nth)
	}
	base := []string{"PAAS_RUNTIME=" + rt, "PAAS_STOP_TIMEOUT=2s"}
	var cli *client.Client
	if rt == "docker" {
		cli = requireDocker(t)
	}
	s := startServer(t, append(base, killAt(0))...)
	for i := range phases {
		app, phase := appOf(i), deployPhases[phases[i]].name
		next := base
		if i+1 < len(phases) {
			next = append(slices.Clone(base), killAt(i+1))
		}
		s = killedDeploy(t, s, cli, app, phase, next)
	}
}

// killedDeploy pushes app twice on s, whose paasd kills itself during
// the second deploy at phase, starts its successor with env, checks
// what the interrupted deploy left, and pushes again. It returns the
// successor.
func killedDeploy(t *testing.T, s *server, cli *client.Client, app, phase string, env []string) *server {
	t.Helper()
	marker := "paas-kd-" + app
	files := map[string]string{
		".buildpacks": "procfile\n",
		"Procfile":    "web: exec -a " + marker + " python3 -m http.server $PORT\n",
		"version.txt": "v1\n",
	}
	requireOK(t, "apps:create", s.ssh("apps:create "+app))
	dir := s.newRepoOf(app, files)
	requireOK(t, "first push", s.push(dir, "paas", "main"))
	s.mustGet(app, "/version.txt", "v1")

	if err := os.WriteFile(filepath.Join(dir, "version.txt"), []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.commitAll(dir, "v2")
	if r := s.push(dir, "paas", "main"); r.code == 0 {
		t.Fatalf("%s: the push killed at %s succeeded:\n%s", app, phase, r.stderr)
	}
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatalf("%s: paasd was not killed at %s:\n%s", app, phase, s.out.String())
	}

	n := s.successor(env...)
	what := app + " killed at " + phase
	// The deploy is failed: its build, or its release, or both.
	var rels []struct {
		Version int    `json:"version"`
		Current bool   `json:"current"`
		Status  string `json:"status"`
		Build   int    `json:"build"`
	}
	r := n.ssh("releases " + app + " --json")
	requireOK(t, "releases", r)
	if err := json.Unmarshal([]byte(r.stdout), &rels); err != nil {
		t.Fatalf("releases --json: %v: %s", err, r.stdout)
	}
	for _, rel := range rels {
		if rel.Build == 2 && rel.Status != "failed" {
			t.Errorf("%s: release v%d of the interrupted build is %q, want failed", what, rel.Version, rel.Status)
		}
		if rel.Current && rel.Build != 1 {
			t.Errorf("%s: current release v%d is of build %d, want 1", what, rel.Version, rel.Build)
		}
	}
	var builds []struct {
		Number int    `json:"number"`
		Status string `json:"status"`
	}
	r = n.ssh("builds " + app + " --json")
	requireOK(t, "builds", r)
	if err := json.Unmarshal([]byte(r.stdout), &builds); err != nil {
		t.Fatalf("builds --json: %v: %s", err, r.stdout)
	}
	// A deploy stopped before its release was made leaves no artifact;
	// after, the failed release keeps its build (rollback --force).
	released := !slices.Contains([]string{"receive", "build", "commit"}, phase)
	for _, b := range builds {
		if b.Number == 2 && !released && b.Status != "failed" {
			t.Errorf("%s: build 2 is %q, want failed", what, b.Status)
		}
	}
	want := []string{"b1"}
	if released {
		want = append(want, "b2")
	}
	// The route serves the release that was live.
	n.mustGet(app, "/version.txt", "v1")
	// Exactly the formation's one web instance runs.
	if got := processesNamed(marker); len(got) != 1 {
		t.Errorf("%s: %d instances run (%v), want 1", what, len(got), got)
	}
	requireRepoClean(t, n, n.dataDir, app)
	if left, _ := filepath.Glob(filepath.Join(n.dataDir, "cache", app, "build-*")); len(left) != 0 {
		t.Errorf("%s: scratch dirs left: %q", what, left)
	}
	if cli == nil {
		var got []string
		slugs, _ := filepath.Glob(filepath.Join(n.dataDir, "slugs", app, "b*"))
		for _, sl := range slugs {
			got = append(got, filepath.Base(sl))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: slugs %q, want %q", what, got, want)
		}
	} else {
		checkDockerLeftovers(t, cli, app, what, want)
	}

	// The lock is free and the next push goes live.
	if err := os.WriteFile(filepath.Join(dir, "version.txt"), []byte("v3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.commitAll(dir, "v3")
	requireOK(t, what+": the next push", n.push(dir, "paas", "main"))
	n.mustGet(app, "/version.txt", "v3")
	requireOK(t, "apps:destroy", n.ssh("apps:destroy "+app+" --confirm "+app))
	if t.Failed() {
		t.FailNow()
	}
	return n
}

// checkDockerLeftovers checks that app has one container (its web
// instance; besides it, the network holder it joined when it joined one
// and at most two holders kept ready for the next starts) and the
// images of builds want ("b1", ...) only.
func checkDockerLeftovers(t *testing.T, cli *client.Client, app, what string, want []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "paas.app="+app))})
	if err != nil {
		t.Fatal(err)
	}
	joined := map[string]bool{}
	for _, c := range cs {
		if h := c.Labels["paas.holder"]; h != "" && c.State == "running" {
			joined[h] = true
		}
	}
	cs = slices.DeleteFunc(cs, func(c container.Summary) bool { return joined[c.ID] && c.State == "running" })
	spares := 0
	cs = slices.DeleteFunc(cs, func(c container.Summary) bool {
		if c.Labels["paas.netholder"] == "true" && spares < 2 {
			spares++
			return true
		}
		return false
	})
	var names []string
	for _, c := range cs {
		names = append(names, strings.Join(c.Names, ",")+" "+c.Labels["paas.role"]+" v"+c.Labels["paas.release"]+" "+c.State)
	}
	if len(cs) != 1 {
		t.Errorf("%s: containers %q, want the one web instance", what, names)
	}
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "paas/"+app))})
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, im := range imgs {
		for _, tag := range im.RepoTags {
			tags = append(tags, strings.TrimPrefix(tag, "paas/"+app+":"))
		}
	}
	slices.Sort(tags)
	if !slices.Equal(tags, want) {
		t.Errorf("%s: images %q, want %q", what, tags, want)
	}
}
