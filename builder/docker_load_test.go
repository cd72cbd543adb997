package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"paas/stack"
)

// TestDockerBuildImageIsLoaded: a build's image is loaded as one layer
// on the stack image's layers, with the stack's configuration, the app's
// environment and labels, and its tree owned by the stack's user.
func TestDockerBuildImageIsLoaded(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, func(c *Config) { c.Owner = "owner-" + app })
	src := func(n int) Request {
		return Request{App: app, Build: n, Source: tarball(t,
			file{name: "app.py", body: "print('hi')\n"},
			file{name: "Procfile", body: "web: python app.py\n"})}
	}
	for n := 1; n <= 2; n++ {
		res, _ := build(t, b, src(n))
		checkBuiltImage(t, cli, b, app, n, res)
		if b.loads.state.Load() != loadWorks {
			t.Fatalf("build %d: the image was not loaded", n)
		}
		base, err := cli.ImageInspect(t.Context(), b.cfg.StackImage)
		must(t, err)
		img, err := cli.ImageInspect(t.Context(), res.Slug)
		must(t, err)
		if len(img.RootFS.Layers) != len(base.RootFS.Layers)+1 || !slices.Equal(img.RootFS.Layers[:len(base.RootFS.Layers)], base.RootFS.Layers) {
			t.Errorf("layers %v on the stack's %v", img.RootFS.Layers, base.RootFS.Layers)
		}
		c := img.Config
		if c.User != stack.User || c.WorkingDir != "/app" || !slices.Contains(c.Env, "HOME=/app") || !slices.Equal(c.Cmd, base.Config.Cmd) {
			t.Errorf("image config: user %q, dir %q, env %q, cmd %q", c.User, c.WorkingDir, c.Env, c.Cmd)
		}
		for k, v := range base.Config.Labels {
			if c.Labels[k] != v {
				t.Errorf("the stack's label %s=%s is %q", k, v, c.Labels[k])
			}
		}
		if c.Labels[labelOwner] != "owner-"+app || c.Labels[labelUser] != stack.User {
			t.Errorf("labels %v", c.Labels)
		}
		if want := fmt.Sprintf("build %d of %s", n, app); img.Comment != want {
			t.Errorf("comment %q, want %q", img.Comment, want)
		}
		got, code := runImage(t, cli, res.Slug, "bash", "-c", `stat -c '%u:%g %n' /app /app/app.py; id -u; python3 app.py`)
		if want := fmt.Sprintf("%s /app\n%s /app/app.py\n%d\nhi\n", stack.User, stack.User, stack.UID); code != 0 || got != want {
			t.Errorf("running the image: %q (exit %d), want %q", got, code, want)
		}
	}
}

// refusingLoads is an engine that does not load images given as a layer
// on layers it has (as one keeping images in another store may not).
type refusingLoads struct {
	*client.Client
	calls atomic.Int32
}

func (r *refusingLoads) ImageLoad(ctx context.Context, in io.Reader, _ ...client.ImageLoadOption) (image.LoadResponse, error) {
	r.calls.Add(1)
	io.Copy(io.Discard, in)
	return image.LoadResponse{}, errors.New("layer not found")
}

// TestDockerBuildCommitsWhenTheEngineDoesNotLoad: where loading fails,
// the image is committed from a container instead, and later builds
// commit at once.
func TestDockerBuildCommitsWhenTheEngineDoesNotLoad(t *testing.T) {
	t.Parallel()
	cli := dockerStack(t)
	app := randomApp(t)
	b := dockerBuilder(t, cli, app, nil)
	engine := &refusingLoads{Client: cli}
	b.docker = engine
	for n := 1; n <= 2; n++ {
		res, out := build(t, b, Request{App: app, Build: n, Source: tarball(t,
			file{name: "app.py", body: "print('hi')\n"},
			file{name: "Procfile", body: "web: python app.py\n"})})
		checkBuiltImage(t, cli, b, app, n, res)
		contains(t, out, "-----> Making the image\n")
		if got, code := runImage(t, cli, res.Slug, "python3", "app.py"); code != 0 || got != "hi\n" {
			t.Errorf("running the image: %q, exit %d", got, code)
		}
	}
	if n := engine.calls.Load(); n != 1 {
		t.Errorf("%d loads tried, want 1", n)
	}
	if n := commitContainers(t, cli, app); n != 0 {
		t.Errorf("%d commit containers left", n)
	}
}
