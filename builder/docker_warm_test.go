package builder

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// warmContainers lists the running build containers of app started
// ahead of a build.
func warmContainers(t *testing.T, b *Builder, app string) []container.Summary {
	t.Helper()
	list, err := b.docker.ContainerList(t.Context(), container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", labelApp+"="+app), filters.Arg("label", labelBuild+"=next"))})
	must(t, err)
	return list
}

// readyWarm waits until app's build container started ahead is ready
// and puts it back, returning its ID.
func readyWarm(t *testing.T, b *Builder, app string) string {
	t.Helper()
	b.mu.Lock()
	wm := b.warm[app]
	b.mu.Unlock()
	if wm == nil {
		t.Fatal("Prewarm started no build container")
	}
	select {
	case w := <-wm.ready:
		wm.ready <- w
		if w == nil {
			t.Fatal("the build container started ahead failed to start")
		}
		return w.x.id
	case <-time.After(2 * time.Minute):
		t.Fatal("the build container started ahead is not ready")
	}
	return ""
}

// TestDockerBuildInContainerStartedAhead: after Prewarm, the next build
// runs its steps in the container started ahead, as the build user with
// the build's own tree, config and commit; the container is gone with
// the build. A container started ahead that no longer runs is not used:
// the build starts its own. Remove takes one that waits.
func TestDockerBuildInContainerStartedAhead(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	bp := customBuildpack(t, b, `echo "in $(hostname) as $(id -u) commit $SOURCE_VERSION: $(cat x) $(cat "$3/GREETING")"`)
	src := func() Request {
		return Request{App: app, Source: tarball(t, file{name: "x", body: "tree"}),
			Config: map[string]string{"BUILDPACK_URL": bp, "GREETING": "hi"}}
	}
	res, _ := build(t, b, src())
	checkBuiltImage(t, cli, b, app, 1, res)

	b.Prewarm(app)
	id := readyWarm(t, b, app)
	if n := len(warmContainers(t, b, app)); n != 1 {
		t.Fatalf("%d containers started ahead, want 1", n)
	}
	req := src()
	req.Build = 2
	res, out := build(t, b, req)
	checkBuiltImage(t, cli, b, app, 2, res)
	uid, _ := buildUser()
	contains(t, out, "in "+id[:12]+" as ", "commit 0123456789abcdef0123456789abcdef01234567: tree hi\n")
	if !strings.Contains(out, " as "+strconv.Itoa(uid)+" ") {
		t.Errorf("the build did not run as the build user %d:\n%s", uid, out)
	}

	// One that died (an engine restart) is left for one of the build's own.
	b.Prewarm(app)
	id = readyWarm(t, b, app)
	must(t, cli.ContainerKill(t.Context(), id, "KILL"))
	req.Build = 3
	res, out = build(t, b, req)
	checkBuiltImage(t, cli, b, app, 3, res)
	if strings.Contains(out, "in "+id[:12]+" ") {
		t.Errorf("the build ran in the dead container started ahead:\n%s", out)
	}

	// Remove takes a container started ahead; dockerBuilder's cleanup
	// checks nothing is left.
	b.Prewarm(app)
	readyWarm(t, b, app)
}

// TestDockerBuildLeftoverProcessIsStopped: a process a buildpack leaves
// running, still writing into the build dir, is stopped before the tree
// is read: the build succeeds, its image holds what was written until
// then, and no container of the build is left.
func TestDockerBuildLeftoverProcessIsStopped(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	bp := customBuildpack(t, b, `setsid bash -c 'while :; do echo tick >> "$0/ticks"; sleep 0.01; done' "$1" </dev/null >/dev/null 2>&1 &
while [ ! -s "$1/ticks" ]; do sleep 0.01; done; echo left a ticker`)
	res, out := build(t, b, Request{App: app, Source: tarball(t, file{name: "x", body: "x"}),
		Config: map[string]string{"BUILDPACK_URL": bp}})
	checkBuiltImage(t, cli, b, app, 1, res)
	contains(t, out, "left a ticker\n")
	got, code := runImage(t, cli, res.Slug, "bash", "-c", "head -1 /app/ticks")
	if code != 0 || got != "tick\n" {
		t.Errorf("the image's ticks: %q, exit %d", got, code)
	}
}

// TestDockerRenameRemovesContainerStartedAhead: renaming an app removes
// the build container started ahead of its next build, which mounts the
// cache directory that moves, and its scratch dir with it.
func TestDockerRenameRemovesContainerStartedAhead(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	b.Prewarm(app)
	readyWarm(t, b, app)
	renamed := app + "-r"
	t.Cleanup(func() { b.Remove(renamed) })
	must(t, b.RenameApp(t.Context(), app, renamed))
	if n := len(warmContainers(t, b, app)); n != 0 {
		t.Errorf("%d containers started ahead of %s remain after its rename", n, app)
	}
	left, err := filepath.Glob(filepath.Join(b.cfg.CacheDir, renamed, "build-*"))
	must(t, err)
	if len(left) != 0 {
		t.Errorf("scratch dirs left after the rename: %v", left)
	}
}
