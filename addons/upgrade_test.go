package addons

import (
	"context"
	"io"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
)

// labelledCopy makes an image of base with extra labels, removed at the
// test's end, and returns its name.
func labelledCopy(t *testing.T, env *testEnv, base string, labels map[string]string) string {
	t.Helper()
	ref := "paas/" + randomName("addon-test-copy") + ":t"
	if err := env.d.build(t.Context(), ref, "FROM "+base+"\n", nil, labels, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		env.cli.ImageRemove(context.Background(), ref, image.RemoveOptions{PruneChildren: true})
	})
	return ref
}

// TestUpgrade gives a running redis service's engine another image of the
// same major version: Upgrade recreates the container from it on the same
// volume, name, networks and alias, and the data survives. An image of
// another major version is not used.
func TestUpgrade(t *testing.T) {
	env := testDocker(t)
	s := createService(t, env, Redis)
	app, net := s.attachApp(t)
	_ = app
	url := URL(Redis, "default", s.password, s.name, 6379)
	cli := func(args ...string) (int, string) {
		return runClient(t, env, engines[Redis].image, net, append([]string{"redis-cli", "--no-auth-warning", "-u", url}, args...)...)
	}
	if code, out := cli("set", "k", "kept"); code != 0 || strings.TrimSpace(out) != "OK" {
		t.Fatalf("set: %d %s", code, out)
	}
	before, err := env.cli.ContainerInspect(t.Context(), containerName(s.name))
	if err != nil {
		t.Fatal(err)
	}

	// Nothing to do: the service runs the current image.
	if err := env.d.Upgrade(t.Context()); err != nil {
		t.Fatalf("Upgrade: %v", err)
	}
	if same, err := env.cli.ContainerInspect(t.Context(), containerName(s.name)); err != nil || same.ID != before.ID {
		t.Fatalf("Upgrade without a new image recreated the container: %v", err)
	}

	major := labelledCopy(t, env, engines[Redis].image, map[string]string{LabelVersion: "8.0.1"})
	env.d.cfg.Images = map[string]string{Redis: major}
	if err := env.d.Upgrade(t.Context()); err != nil {
		t.Fatalf("Upgrade to another major: %v", err)
	}
	if same, err := env.cli.ContainerInspect(t.Context(), containerName(s.name)); err != nil || same.ID != before.ID || !same.State.Running {
		t.Fatalf("Upgrade to another major version changed the container: %v", err)
	}

	minor := labelledCopy(t, env, engines[Redis].image, map[string]string{LabelVersion: "7.0.99"})
	env.d.cfg.Images = map[string]string{Redis: minor}
	if err := env.d.Upgrade(t.Context()); err != nil {
		t.Fatalf("Upgrade: %v", err)
	}
	after, err := env.cli.ContainerInspect(t.Context(), containerName(s.name))
	if err != nil {
		t.Fatal(err)
	}
	minorInsp, err := env.cli.ImageInspect(t.Context(), minor)
	if err != nil {
		t.Fatal(err)
	}
	if after.ID == before.ID || after.Image != minorInsp.ID || !after.State.Running {
		t.Errorf("after Upgrade: container %s (was %s), image %s (want %s), running %v", after.ID, before.ID, after.Image, minorInsp.ID, after.State.Running)
	}
	for k, v := range before.Config.Labels {
		if after.Config.Labels[k] != v {
			t.Errorf("label %s: %q, was %q", k, after.Config.Labels[k], v)
		}
	}
	if _, ok := after.NetworkSettings.Networks[net]; !ok {
		t.Errorf("networks after Upgrade: %v", after.NetworkSettings.Networks)
	}
	if code, out := cli("get", "k"); code != 0 || strings.TrimSpace(out) != "kept" {
		t.Errorf("after Upgrade, through the app's network: %d %s", code, out)
	}
	st, err := env.d.Status(t.Context(), s.name)
	if err != nil || st.Version != "7.0.99" || st.State != StateUp {
		t.Errorf("Status after Upgrade: %+v, %v", st, err)
	}
	s.version = "7.0.99"
	checkConfined(t, s)
	if names, err := env.d.Names(t.Context()); err != nil || len(names) != 1 || names[0] != s.name {
		t.Errorf("Names after Upgrade: %v, %v", names, err)
	}

	// An upgrade interrupted after the old container was put aside: the
	// next Upgrade puts it back and starts it.
	secs := 30
	if err := env.cli.ContainerStop(t.Context(), after.ID, container.StopOptions{Timeout: &secs}); err != nil {
		t.Fatal(err)
	}
	if err := env.cli.ContainerRename(t.Context(), after.ID, asideName(s.name)); err != nil {
		t.Fatal(err)
	}
	if names, err := env.d.Names(t.Context()); err != nil || len(names) != 1 || names[0] != s.name {
		t.Errorf("Names with the container aside: %v, %v", names, err)
	}
	if err := env.d.Upgrade(t.Context()); err != nil {
		t.Fatalf("Upgrade after an interruption: %v", err)
	}
	back, err := env.cli.ContainerInspect(t.Context(), containerName(s.name))
	if err != nil || back.ID != after.ID || !back.State.Running {
		t.Fatalf("after an interrupted upgrade: %v", err)
	}
	if err := env.d.waitAlive(t.Context(), back.ID, engines[Redis]); err != nil {
		t.Fatal(err)
	}
	if code, out := cli("get", "k"); code != 0 || strings.TrimSpace(out) != "kept" {
		t.Errorf("after an interrupted upgrade: %d %s", code, out)
	}
	// An upgrade interrupted after the new container was made: the old
	// one is removed.
	old, err := env.cli.ContainerCreate(t.Context(), &container.Config{Image: minor, Labels: before.Config.Labels, Cmd: []string{"true"}},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, asideName(s.name))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.d.Upgrade(t.Context()); err != nil {
		t.Fatalf("Upgrade after an interruption: %v", err)
	}
	if _, err := env.cli.ContainerInspect(t.Context(), old.ID); !cerrdefs.IsNotFound(err) {
		t.Errorf("the old container of an interrupted upgrade is left: %v", err)
	}
	if same, err := env.cli.ContainerInspect(t.Context(), containerName(s.name)); err != nil || same.ID != after.ID || !same.State.Running {
		t.Errorf("the service after settling an interrupted upgrade: %v", err)
	}
}

// TestImagesOverride runs a service on an image DockerConfig.Images names;
// a missing image and one of another engine are refused at Create.
func TestImagesOverride(t *testing.T) {
	env := testDocker(t)
	mine := labelledCopy(t, env, engines[Redis].image, map[string]string{LabelVersion: "7.0.98"})
	env.d.cfg.Images = map[string]string{Redis: mine, Postgres: engines[Redis].image}
	s := createService(t, env, Redis)
	if s.version != "7.0.98" {
		t.Errorf("version %q on the image of the setting", s.version)
	}
	_, err := env.d.Create(t.Context(), randomName("t-wrong"), Postgres, NewPassword(), env.out)
	checkRefused(t, "Create on another engine's image", err, "is not a postgres service image")
	env.d.cfg.Images[Redis] = "paas/" + randomName("missing") + ":t"
	name := randomName("t-missing")
	_, err = env.d.Create(t.Context(), name, Redis, NewPassword(), env.out)
	checkRefused(t, "Create on a missing image", err, "is missing")
	checkNothingLeft(t, env, name)
}
