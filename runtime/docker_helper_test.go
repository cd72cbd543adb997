package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"paas/internal/dockertest"
	"paas/internal/syncbuf"
)

// testLabel marks every container and image the docker tests make, so
// that leftovers are easy to find: docker ps -a --filter label=paas.test.
const testLabel = "paas.test"

// dockerEnv is what a docker runtime test works with.
type dockerEnv struct {
	d     *Docker
	cli   *client.Client
	sink  *sink
	exits *exits
	app   string // a random app name, unique to the test
	image string // the stack image
}

// testDocker returns a Docker runtime whose lines and exits the test
// sees, and a fresh app name. At the end of the test the runtime is shut
// down, the app's containers and network are removed, and the test fails
// when any container of the app is left.
func testDocker(t *testing.T) *dockerEnv {
	t.Helper()
	return testDockerWith(t, nil)
}

// testDockerWith is testDocker with the runtime's configuration changed
// by set, when not nil.
func testDockerWith(t *testing.T, set func(*DockerConfig)) *dockerEnv {
	t.Helper()
	cli := dockerClient(t)
	img := stackImage(t, cli)
	env := &dockerEnv{cli: cli, sink: newSink(), exits: newExits(), app: randomApp(), image: img}
	cfg := DockerConfig{Client: cli, Logs: env.sink, OnExit: env.exits.onExit}
	if set != nil {
		set(&cfg)
	}
	d, err := NewDocker(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.d = d
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Shutdown(ctx, time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := d.RemoveApp(ctx, env.app); err != nil {
			t.Errorf("removing app: %v", err)
		}
		if left := appContainers(t, ctx, cli, env.app); len(left) != 0 {
			t.Errorf("containers left behind: %v", left)
		}
	})
	return env
}

// randomApp returns a fresh app name.
func randomApp() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "rttest-" + hex.EncodeToString(b)
}

// appContainers returns the names of all containers of app, running or
// not.
func appContainers(t *testing.T, ctx context.Context, cli *client.Client, app string) []string {
	t.Helper()
	cs, err := cli.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", LabelApp+"="+app)),
	})
	if err != nil {
		t.Fatalf("listing containers: %v", err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Names...)
	}
	return names
}

// containerGone reports whether the engine no longer knows container id.
func containerGone(t *testing.T, cli *client.Client, id string) bool {
	t.Helper()
	_, err := cli.ContainerInspect(t.Context(), id)
	if err != nil && !cerrdefs.IsNotFound(err) {
		t.Fatalf("inspecting %s: %v", id, err)
	}
	return cerrdefs.IsNotFound(err)
}

// appImage builds an image from the stack image by running script (bash)
// in a container and committing the result with /app as the working
// directory, as a build does. The image is removed at the end of the
// test.
func (e *dockerEnv) appImage(t *testing.T, script string) string {
	t.Helper()
	return e.appImageWith(t, script, &container.Config{WorkingDir: ContainerWorkDir, Cmd: []string{"bash"}})
}

// appImageWith is appImage with the image configuration given (the
// test's labels are added to cfg's).
func (e *dockerEnv) appImageWith(t *testing.T, script string, cfg *container.Config) string {
	t.Helper()
	ctx := t.Context()
	c, err := e.cli.ContainerCreate(ctx, &container.Config{
		Image: e.image,
		// The script is the command, not the entrypoint: the image keeps
		// the stack's (none), as a build's image does.
		Cmd:        []string{"bash", "-c", script},
		WorkingDir: ContainerWorkDir,
		Labels:     map[string]string{testLabel: "true"},
	}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("removing build container: %v", err)
		}
	}()
	waitC, errC := e.cli.ContainerWait(ctx, c.ID, container.WaitConditionNextExit)
	if err := e.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-waitC:
		if r.StatusCode != 0 {
			t.Fatalf("image script exited with %d", r.StatusCode)
		}
	case err := <-errC:
		t.Fatal(err)
	}
	ref := "paas-test/" + e.app + ":1"
	labels := map[string]string{testLabel: "true", LabelApp: e.app}
	maps.Copy(labels, cfg.Labels)
	cfg.Labels = labels
	_, err = e.cli.ContainerCommit(ctx, c.ID, container.CommitOptions{
		Reference: ref,
		Config:    cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !imageExists(t, e.cli, ref) {
		t.Fatalf("image %s not made", ref)
	}
	t.Cleanup(func() {
		// Containers of the image go first, or the image stays behind
		// untagged.
		if err := e.d.RemoveApp(context.Background(), e.app); err != nil {
			t.Errorf("removing app: %v", err)
		}
		_, err := e.cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil {
			t.Errorf("removing image %s: %v", ref, err)
		}
		left, err := e.cli.ImageList(context.Background(), image.ListOptions{
			All: true, Filters: filters.NewArgs(filters.Arg("label", LabelApp+"="+e.app)),
		})
		if err != nil || len(left) != 0 {
			t.Errorf("images of %s left behind: %d, %v", e.app, len(left), err)
		}
	})
	return ref
}

// spec returns a worker spec of the test's app on the stack image.
func (e *dockerEnv) spec(typ string, index int, command string) Spec {
	return Spec{App: e.app, Release: 1, Type: typ, Index: index, Slug: e.image, Command: command}
}

// startWeb starts web.1 of the test's app, a web server whose
// /index.html says "hi", and waits until the host reaches it through its
// published port.
func (e *dockerEnv) startWeb(t *testing.T) {
	t.Helper()
	web := e.spec("web", 1, `echo hi > index.html; exec python3 -m http.server "$PORT"`)
	web.Web = true
	inst, err := e.d.Start(t.Context(), web)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := WaitServing(ctx, inst.Addr); err != nil {
		t.Fatalf("the host does not reach a web instance: %v", err)
	}
}

// runOut runs a one-off and returns its status and stdout; it fails the
// test when Run fails.
func (e *dockerEnv) runOut(t *testing.T, s Spec) (int, string) {
	t.Helper()
	var out syncbuf.Buffer
	code, err := e.d.Run(t.Context(), s, Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("run %q: %v", s.Command, err)
	}
	return code, out.String()
}

// imageExists reports whether the engine has image ref.
func imageExists(t *testing.T, cli *client.Client, ref string) bool {
	t.Helper()
	_, err := cli.ImageInspect(context.Background(), ref)
	if err != nil && !cerrdefs.IsNotFound(err) {
		t.Fatalf("inspecting image %s: %v", ref, err)
	}
	return err == nil
}

// waitNumbered waits until instance has written "done", then checks that
// before it came exactly total 100-byte lines numbered from 0, in order.
func waitNumbered(t *testing.T, s *sink, app, instance string, total int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !slices.Contains(s.get(app, instance), "done") {
		if time.Now().After(deadline) {
			t.Fatalf("%s's output incomplete: %d lines", instance, len(s.get(app, instance)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	next := 0
	for _, l := range s.get(app, instance) {
		if l == "done" {
			break
		}
		if n, err := strconv.Atoi(l[:min(9, len(l))]); err != nil || n != next || len(l) != 100 {
			t.Fatalf("line %q where line %d was due", l, next)
		}
		next++
	}
	if next != total {
		t.Fatalf("%d of %d lines received", next, total)
	}
}

// dockerClient returns the engine's client, or skips the test.
func dockerClient(t *testing.T) *client.Client { return dockertest.Client(t) }

// stackImage returns the stack image, or skips the test.
func stackImage(t *testing.T, cli *client.Client) string { return dockertest.StackImage(t, cli) }
